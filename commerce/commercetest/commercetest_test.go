package commercetest_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce/commercetest"
	"github.com/omnicanal/omnicanal/migrations"
)

func TestMain(m *testing.M) { commercetest.Main(m) }

func insertProduct(t *testing.T, db *pgxpool.Pool, handle string) {
	t.Helper()
	_, err := db.Exec(context.Background(),
		"INSERT INTO products (id, handle, title) VALUES (gen_random_uuid(), $1, $1)", handle)
	if err != nil {
		t.Fatal(err)
	}
}

func hasProduct(t *testing.T, db *pgxpool.Pool, handle string) bool {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), "SELECT count(*) FROM products WHERE handle = $1", handle).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

func currentDatabase(t *testing.T, db *pgxpool.Pool) string {
	t.Helper()
	var name string
	if err := db.QueryRow(context.Background(), "SELECT current_database()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestDatabasesAreIsolated(t *testing.T) {
	a, b := commercetest.NewDB(t), commercetest.NewDB(t)
	if currentDatabase(t, a) == currentDatabase(t, b) {
		t.Fatalf("both pools are on database %s", currentDatabase(t, a))
	}
	insertProduct(t, a, "only-in-a")
	if !hasProduct(t, a, "only-in-a") {
		t.Fatal("row inserted in a is missing from a")
	}
	if hasProduct(t, b, "only-in-a") {
		t.Fatal("row inserted in a is visible in b")
	}
}

// TestParallelTestsGetTheirOwnDatabase creates databases from parallel tests,
// which races the template cloning.
func TestParallelTestsGetTheirOwnDatabase(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]bool{}
	for i := range 4 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			db := commercetest.NewDB(t)
			insertProduct(t, db, "same-handle") // unique per database, so this fails if shared
			name := currentDatabase(t, db)
			mu.Lock()
			defer mu.Unlock()
			if seen[name] {
				t.Errorf("database %s handed out twice", name)
			}
			seen[name] = true
		})
	}
}

func TestSchemaIsMigrated(t *testing.T) {
	db := commercetest.NewDB(t)
	ctx := context.Background()
	var exists bool
	if err := db.QueryRow(ctx, "SELECT to_regclass('products') IS NOT NULL").Scan(&exists); err != nil || !exists {
		t.Fatalf("table products: exists=%v, %v", exists, err)
	}
	pending, err := migrations.Pending(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 0 {
		t.Fatalf("%d migrations pending in a fresh test database, first %s", len(pending), pending[0].Name)
	}
}

// seedNames makes each run's seed names unique, so -count=N still sees the
// seed run once per name (names are cached for the whole process).
var seedNames atomic.Int64

func TestWithSeedRunsOncePerName(t *testing.T) {
	var calls atomic.Int32
	seed := func(ctx context.Context, pool *pgxpool.Pool) error {
		calls.Add(1)
		_, err := pool.Exec(ctx, "INSERT INTO products (id, handle, title) VALUES (gen_random_uuid(), 'seeded', 'Seeded')")
		return err
	}
	name := fmt.Sprintf("demo-%d", seedNames.Add(1))

	a := commercetest.NewDB(t, commercetest.WithSeed(name, seed))
	b := commercetest.NewDB(t, commercetest.WithSeed(name, seed))
	if got := calls.Load(); got != 1 {
		t.Fatalf("seed ran %d times for two databases under one name, want 1", got)
	}
	if !hasProduct(t, a, "seeded") || !hasProduct(t, b, "seeded") {
		t.Fatal("a seeded database lacks the seeded row")
	}
	insertProduct(t, a, "added-to-a")
	if hasProduct(t, b, "added-to-a") {
		t.Fatal("seeded databases share rows")
	}
	if hasProduct(t, commercetest.NewDB(t), "seeded") {
		t.Fatal("an unseeded database has the seeded row")
	}

	commercetest.NewDB(t, commercetest.WithSeed(fmt.Sprintf("other-%d", seedNames.Add(1)), seed))
	if got := calls.Load(); got != 2 {
		t.Fatalf("seed ran %d times after a second name, want 2", got)
	}
}

func TestDatabaseIsDroppedAfterTest(t *testing.T) {
	var name string
	t.Run("user", func(t *testing.T) {
		name = currentDatabase(t, commercetest.NewDB(t))
	})
	var exists bool
	err := commercetest.NewDB(t).QueryRow(context.Background(),
		"SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists)
	if err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Fatalf("database %s still exists after its test ended", name)
	}
}

// TestPoolServesConcurrentGoroutines holds 20 connections at once, as the
// concurrency tests of the services do; with a smaller pool it times out.
func TestPoolServesConcurrentGoroutines(t *testing.T) {
	db := commercetest.NewDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const n = 20
	var held sync.WaitGroup
	held.Add(n)
	errs := make(chan error, n)
	for range n {
		go func() {
			conn, err := db.Acquire(ctx)
			held.Done()
			if err != nil {
				errs <- err
				return
			}
			defer conn.Release()
			held.Wait() // release only once all n are held together
			errs <- conn.Ping(ctx)
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatalf("%d concurrent connections: %v", n, err)
		}
	}
}

func TestURL(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, commercetest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass('products') IS NOT NULL").Scan(&exists); err != nil || !exists {
		t.Fatalf("table products through URL: exists=%v, %v", exists, err)
	}
}
