package migrations_test

import (
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce/commercetest"
	"github.com/omnicanal/omnicanal/migrations"
)

func TestMain(m *testing.M) { commercetest.Main(m) }

func TestAllAreNumberedAndOrdered(t *testing.T) {
	ms, err := migrations.All()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 {
		t.Fatal("no migrations embedded")
	}
	for i := 1; i < len(ms); i++ {
		if ms[i].Version <= ms[i-1].Version {
			t.Errorf("%s does not come after %s", ms[i].Name, ms[i-1].Name)
		}
	}
	if migrations.Latest() != ms[len(ms)-1].Version {
		t.Error("Latest is not the last version")
	}
}

// Servers starting together all run Up; the advisory lock makes exactly one
// of them apply each migration, and the others find nothing to do.
func TestConcurrentUpAppliesEachMigrationOnce(t *testing.T) {
	pool := commercetest.NewDB(t)
	ctx := t.Context()
	// Start from an empty database.
	if _, err := pool.Exec(ctx, `DROP SCHEMA public CASCADE; CREATE SCHEMA public`); err != nil {
		t.Fatal(err)
	}
	if p, err := migrations.Pending(ctx, pool); err != nil || len(p) == 0 {
		t.Fatalf("an empty database must have every migration pending: %d, %v", len(p), err)
	}
	all, _ := migrations.All()

	var wg sync.WaitGroup
	applied := make([][]string, 4)
	errs := make([]error, 4)
	for i := range applied {
		wg.Go(func() {
			p, err := pgxpool.New(ctx, pool.Config().ConnString())
			if err != nil {
				errs[i] = err
				return
			}
			defer p.Close()
			applied[i], errs[i] = migrations.Up(ctx, p)
		})
	}
	wg.Wait()
	total := 0
	for i := range applied {
		if errs[i] != nil {
			t.Fatalf("Up %d: %v", i, errs[i])
		}
		total += len(applied[i])
	}
	if total != len(all) {
		t.Errorf("%d migrations applied in all, want each of the %d once", total, len(all))
	}
	if p, err := migrations.Pending(ctx, pool); err != nil || len(p) != 0 {
		t.Errorf("pending after Up: %d, %v", len(p), err)
	}
	var tables int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_name IN ('products', 'channels')`).Scan(&tables); err != nil || tables != 2 {
		t.Errorf("schema not created: %d tables, %v", tables, err)
	}
}
