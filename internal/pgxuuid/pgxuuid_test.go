package pgxuuid_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce/commercetest"
	"github.com/omnicanal/omnicanal/internal/pgxuuid"
)

func TestMain(m *testing.M) { commercetest.Main(m) }

func TestRoundTrips(t *testing.T) {
	cfg, err := pgxpool.ParseConfig(commercetest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.AfterConnect = pgxuuid.AfterConnect
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	ctx := t.Context()
	a, b := uuid.New(), uuid.New()

	var got uuid.UUID
	var text string
	if err := pool.QueryRow(ctx, `SELECT $1::uuid, $1::uuid::text`, a).Scan(&got, &text); err != nil || got != a || text != a.String() {
		t.Fatalf("uuid: %v %q, %v", got, text, err)
	}
	var list []uuid.UUID
	if err := pool.QueryRow(ctx, `SELECT $1::uuid[]`, []uuid.UUID{a, b}).Scan(&list); err != nil || len(list) != 2 || list[1] != b {
		t.Fatalf("uuid[]: %v, %v", list, err)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM unnest($1::uuid[]) u WHERE u = ANY($2)`, []uuid.UUID{a, b}, []uuid.UUID{b}).Scan(&n); err != nil || n != 1 {
		t.Fatalf("= ANY: %d, %v", n, err)
	}
	var null *uuid.UUID
	if err := pool.QueryRow(ctx, `SELECT NULL::uuid`).Scan(&null); err != nil || null != nil {
		t.Fatalf("NULL into *uuid.UUID: %v, %v", null, err)
	}
	var set *uuid.UUID
	if err := pool.QueryRow(ctx, `SELECT $1::uuid`, &a).Scan(&set); err != nil || set == nil || *set != a {
		t.Fatalf("*uuid.UUID: %v, %v", set, err)
	}
	var plain uuid.UUID
	if err := pool.QueryRow(ctx, `SELECT NULL::uuid`).Scan(&plain); err == nil {
		t.Error("NULL into uuid.UUID must fail")
	}
	type row struct {
		ID     uuid.UUID  `db:"id"`
		Parent *uuid.UUID `db:"parent"`
	}
	rows, _ := pool.Query(ctx, `SELECT $1::uuid AS id, NULL::uuid AS parent`, a)
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[row])
	if err != nil || r.ID != a || r.Parent != nil {
		t.Fatalf("struct: %+v, %v", r, err)
	}
}
