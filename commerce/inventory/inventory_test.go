package inventory_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/commercetest"
	"github.com/omnicanal/omnicanal/commerce/internal/db"
	"github.com/omnicanal/omnicanal/commerce/inventory"
)

func TestMain(m *testing.M) { commercetest.Main(m) }

// fixture is a fresh database with one product, its variants and two
// locations, and no stock yet.
type fixture struct {
	pool     *pgxpool.Pool
	svc      *inventory.Service
	product  commerce.ID
	variants []commerce.ID
	store    commerce.ID // code PAR, a store
	other    commerce.ID // code LYO, a store
}

func newFixture(t *testing.T, nVariants int) *fixture {
	t.Helper()
	pool := commercetest.NewDB(t)
	f := &fixture{pool: pool, svc: inventory.NewService(pool), product: commerce.NewID(),
		store: commerce.NewID(), other: commerce.NewID()}
	ctx := t.Context()
	for _, l := range []struct {
		id   commerce.ID
		code string
	}{{f.store, "PAR"}, {f.other, "LYO"}} {
		mustExec(t, pool, `INSERT INTO locations (id, code, kind, name, address_line1, city, postal_code, country_code, currency_code, latitude, longitude, time_zone)
			VALUES ($1, $2, 'store', $2, '1 rue', 'Ville', '75001', 'FR', 'EUR', 48.8, 2.3, 'Europe/Paris')`, l.id, l.code)
	}
	mustExec(t, pool, `INSERT INTO products (id, handle, title) VALUES ($1, 'shoe', 'Shoe')`, f.product)
	for i := range nVariants {
		id := commerce.NewID()
		f.variants = append(f.variants, id)
		mustExec(t, pool, `INSERT INTO variants (id, product_id, sku, title) VALUES ($1, $2, $3, $3)`, id, f.product, fmt.Sprintf("SKU-%d", i))
	}
	_ = ctx
	return f
}

func mustExec(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	if _, err := pool.Exec(t.Context(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func (f *fixture) setStock(t *testing.T, variant, location commerce.ID, onHand int) {
	t.Helper()
	mustExec(t, f.pool, `INSERT INTO stock_levels (variant_id, location_id, on_hand) VALUES ($1, $2, $3)
		ON CONFLICT (variant_id, location_id) DO UPDATE SET on_hand = EXCLUDED.on_hand`, variant, location, onHand)
}

func (f *fixture) level(t *testing.T, variant, location commerce.ID) inventory.Level {
	t.Helper()
	l, err := f.svc.FindLevel(t.Context(), variant, location)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func (f *fixture) inTx(t *testing.T, fn func(tx pgx.Tx) error) error {
	t.Helper()
	return db.InTx(t.Context(), f.pool, fn)
}

func (f *fixture) reserve(t *testing.T, order, location commerce.ID, lines []inventory.Line, expires *time.Time) error {
	t.Helper()
	return f.inTx(t, func(tx pgx.Tx) error {
		if err := commercetest.EnsureOrder(t.Context(), tx, order, location); err != nil {
			return err
		}
		return f.svc.ReserveTx(t.Context(), tx, order, location, lines, expires, "checkout")
	})
}

func (f *fixture) countMovements(t *testing.T, order commerce.ID, kind inventory.Kind) int {
	t.Helper()
	var n int
	if err := f.pool.QueryRow(t.Context(), `SELECT count(*) FROM stock_movements WHERE order_id = $1 AND kind = $2`, order, string(kind)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func later() *time.Time { t := time.Now().Add(15 * time.Minute); return &t }

func TestAvailable(t *testing.T) {
	for _, c := range []struct{ onHand, reserved, want int }{
		{5, 0, 5}, {5, 3, 2}, {5, 5, 0}, {2, 5, 0}, {0, 0, 0},
	} {
		if got := (inventory.Level{OnHand: c.onHand, Reserved: c.reserved}).Available(); got != c.want {
			t.Errorf("on hand %d reserved %d: available %d, want %d", c.onHand, c.reserved, got, c.want)
		}
	}
}

// 200 shoppers race for the last 5 units at one store: exactly 5 win, every
// other gets OUT_OF_STOCK and nothing else, and the level never goes wrong.
func TestReserveConcurrentLastUnits(t *testing.T) {
	f := newFixture(t, 1)
	v := f.variants[0]
	f.setStock(t, v, f.store, 5)

	const shoppers = 200
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		won     int
		badErrs []error
	)
	start := make(chan struct{})
	for range shoppers {
		wg.Go(func() {
			<-start
			err := f.reserve(t, commerce.NewID(), f.store, []inventory.Line{{VariantID: v, Quantity: 1}}, later())
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case commerce.ErrorCode(err) == commerce.ErrOutOfStock:
				var se *inventory.ShortageError
				if !errors.As(err, &se) || len(se.Short) != 1 || se.Short[0].VariantID != v || se.Short[0].Available != 0 {
					badErrs = append(badErrs, fmt.Errorf("shortage not described: %#v", se))
				}
			default:
				badErrs = append(badErrs, err)
			}
		})
	}
	close(start)
	wg.Wait()
	for _, err := range badErrs {
		t.Error(err)
	}
	if won != 5 {
		t.Errorf("%d reservations succeeded, want 5", won)
	}
	l := f.level(t, v, f.store)
	if l.OnHand != 5 || l.Reserved != 5 || l.Available() != 0 {
		t.Errorf("level after the race: %+v, want on hand 5, reserved 5", l)
	}
	var movements int
	if err := f.pool.QueryRow(t.Context(), `SELECT count(*) FROM stock_movements WHERE kind = 'reserved'`).Scan(&movements); err != nil {
		t.Fatal(err)
	}
	if movements != 5 {
		t.Errorf("%d reserved ledger rows, want 5 (losers roll theirs back)", movements)
	}
}

// Two lines of one variant are one demand: 2 + 2 of a variant with 3 left
// is refused, not reserved twice against the same 3.
func TestReserveSumsLinesOfOneVariant(t *testing.T) {
	f := newFixture(t, 2)
	v, w := f.variants[0], f.variants[1]
	f.setStock(t, v, f.store, 3)
	f.setStock(t, w, f.store, 1)

	order := commerce.NewID()
	err := f.reserve(t, order, f.store, []inventory.Line{{VariantID: v, Quantity: 2}, {VariantID: w, Quantity: 2}, {VariantID: v, Quantity: 2}}, later())
	var se *inventory.ShortageError
	if commerce.ErrorCode(err) != commerce.ErrOutOfStock || !errors.As(err, &se) {
		t.Fatalf("got %v, want OUT_OF_STOCK", err)
	}
	want := map[commerce.ID][2]int{v: {4, 3}, w: {2, 1}}
	if len(se.Short) != 2 {
		t.Fatalf("short %+v, want both variants", se.Short)
	}
	for _, s := range se.Short {
		if want[s.VariantID] != [2]int{s.Requested, s.Available} {
			t.Errorf("shortage %+v, want requested/available %v", s, want[s.VariantID])
		}
	}
	if l := f.level(t, v, f.store); l.Reserved != 0 {
		t.Errorf("a refused reservation left %d reserved", l.Reserved)
	}

	// 1 + 2 fits exactly, as one reservation row of 3.
	if err := f.reserve(t, order, f.store, []inventory.Line{{VariantID: v, Quantity: 1}, {VariantID: v, Quantity: 2}}, later()); err != nil {
		t.Fatal(err)
	}
	rs, err := f.svc.FindReservations(t.Context(), order)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].Quantity != 3 || rs[0].Status != inventory.StatusReserved || rs[0].ExpiresAt == nil {
		t.Errorf("reservations %+v, want one reserved row of 3 with an expiry", rs)
	}
	if l := f.level(t, v, f.store); l.Reserved != 3 || l.Available() != 0 {
		t.Errorf("level %+v, want 3 reserved", l)
	}
}

func TestReserveRejectsBadLines(t *testing.T) {
	f := newFixture(t, 1)
	for _, lines := range [][]inventory.Line{nil, {{VariantID: f.variants[0], Quantity: 0}}, {{Quantity: 1}}} {
		if err := f.reserve(t, commerce.NewID(), f.store, lines, nil); commerce.ErrorCode(err) != commerce.ErrInvalidInput {
			t.Errorf("%v: got %v, want INVALID_INPUT", lines, err)
		}
	}
	// Never stocked here: out of stock, not an error of another kind.
	err := f.reserve(t, commerce.NewID(), f.other, []inventory.Line{{VariantID: f.variants[0], Quantity: 1}}, nil)
	if commerce.ErrorCode(err) != commerce.ErrOutOfStock {
		t.Errorf("unstocked location: got %v, want OUT_OF_STOCK", err)
	}
}

// Orders naming two variants in opposite orders lock levels in one fixed
// order, so they never deadlock (InTx would retry a deadlock, hiding it:
// these run in plain transactions).
func TestReserveOppositeOrdersDoNotDeadlock(t *testing.T) {
	f := newFixture(t, 2)
	a, b := f.variants[0], f.variants[1]
	f.setStock(t, a, f.store, 1000)
	f.setStock(t, b, f.store, 1000)

	const rounds = 100
	var wg sync.WaitGroup
	errs := make(chan error, 2*rounds)
	for i := range 2 * rounds {
		lines := []inventory.Line{{VariantID: a, Quantity: 1}, {VariantID: b, Quantity: 1}}
		if i%2 == 1 {
			lines[0], lines[1] = lines[1], lines[0]
		}
		wg.Go(func() {
			errs <- pgx.BeginFunc(t.Context(), f.pool, func(tx pgx.Tx) error {
				order := commerce.NewID()
				if err := commercetest.EnsureOrder(t.Context(), tx, order, f.store); err != nil {
					return err
				}
				if err := f.svc.ReserveTx(t.Context(), tx, order, f.store, lines, later(), ""); err != nil {
					return err
				}
				// Hold the locks a moment so that the others pile up.
				_, err := tx.Exec(t.Context(), `SELECT pg_sleep(0.001)`)
				return err
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if l := f.level(t, a, f.store); l.Reserved != 2*rounds {
		t.Errorf("a reserved %d, want %d", l.Reserved, 2*rounds)
	}
	if l := f.level(t, b, f.store); l.Reserved != 2*rounds {
		t.Errorf("b reserved %d, want %d", l.Reserved, 2*rounds)
	}
}

func TestLifecycleIsIdempotent(t *testing.T) {
	f := newFixture(t, 2)
	a, b := f.variants[0], f.variants[1]
	f.setStock(t, a, f.store, 5)
	f.setStock(t, b, f.store, 5)
	ctx := t.Context()
	tx := func(fn func(tx pgx.Tx) error) {
		t.Helper()
		if err := f.inTx(t, fn); err != nil {
			t.Fatal(err)
		}
	}
	check := func(v commerce.ID, onHand, reserved int) {
		t.Helper()
		if l := f.level(t, v, f.store); l.OnHand != onHand || l.Reserved != reserved {
			t.Errorf("level %+v, want on hand %d reserved %d", l, onHand, reserved)
		}
	}

	// Paid order: reserve, allocate twice, fulfil twice.
	paid := commerce.NewID()
	if err := f.reserve(t, paid, f.store, []inventory.Line{{VariantID: a, Quantity: 2}, {VariantID: b, Quantity: 1}}, later()); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		tx(func(tx pgx.Tx) error { return f.svc.AllocateTx(ctx, tx, paid) })
	}
	rs, _ := f.svc.FindReservations(ctx, paid)
	for _, r := range rs {
		if r.Status != inventory.StatusAllocated || r.ExpiresAt != nil {
			t.Errorf("after allocate: %+v", r)
		}
	}
	check(a, 5, 2)
	if n := f.countMovements(t, paid, inventory.KindAllocated); n != 2 {
		t.Errorf("%d allocated ledger rows, want 2", n)
	}
	for range 2 {
		tx(func(tx pgx.Tx) error { return f.svc.FulfilTx(ctx, tx, paid) })
	}
	check(a, 3, 0)
	check(b, 4, 0)
	if n := f.countMovements(t, paid, inventory.KindFulfilled); n != 2 {
		t.Errorf("%d fulfilled ledger rows, want 2", n)
	}
	// A fulfilled order has nothing left to release.
	tx(func(tx pgx.Tx) error { return f.svc.ReleaseTx(ctx, tx, paid, "too late") })
	check(a, 3, 0)

	// Cancelled order: release twice gives the units back once.
	cancelled := commerce.NewID()
	if err := f.reserve(t, cancelled, f.store, []inventory.Line{{VariantID: a, Quantity: 3}}, nil); err != nil {
		t.Fatal(err)
	}
	check(a, 3, 3)
	for range 2 {
		tx(func(tx pgx.Tx) error { return f.svc.ReleaseTx(ctx, tx, cancelled, "cancelled") })
	}
	check(a, 3, 0)
	if n := f.countMovements(t, cancelled, inventory.KindReleased); n != 1 {
		t.Errorf("%d released ledger rows, want 1", n)
	}
	var reason string
	if err := f.pool.QueryRow(ctx, `SELECT reason FROM stock_movements WHERE order_id = $1 AND kind = 'released'`, cancelled).Scan(&reason); err != nil || reason != "cancelled" {
		t.Errorf("release reason %q, %v", reason, err)
	}
	// Released stock can be neither allocated nor fulfilled...
	for name, fn := range map[string]func(tx pgx.Tx) error{
		"allocate": func(tx pgx.Tx) error { return f.svc.AllocateTx(ctx, tx, cancelled) },
		"fulfil":   func(tx pgx.Tx) error { return f.svc.FulfilTx(ctx, tx, cancelled) },
	} {
		if err := f.inTx(t, fn); commerce.ErrorCode(err) != commerce.ErrConflict {
			t.Errorf("%s a released order: got %v, want CONFLICT", name, err)
		}
	}
	// ...until it is reserved again.
	if err := f.reserve(t, cancelled, f.store, []inventory.Line{{VariantID: a, Quantity: 1}}, later()); err != nil {
		t.Fatal(err)
	}
	tx(func(tx pgx.Tx) error { return f.svc.AllocateTx(ctx, tx, cancelled) })
	check(a, 3, 1)
	// Reserving again what is held is a conflict.
	if err := f.reserve(t, cancelled, f.store, []inventory.Line{{VariantID: a, Quantity: 1}}, nil); commerce.ErrorCode(err) != commerce.ErrConflict {
		t.Errorf("double reservation: got %v, want CONFLICT", err)
	}

	// Restock after a return.
	tx(func(tx pgx.Tx) error {
		return f.svc.RestockTx(ctx, tx, f.other, []inventory.Line{{VariantID: b, Quantity: 1}}, &paid, "returned in Lyon")
	})
	if l := f.level(t, b, f.other); l.OnHand != 1 {
		t.Errorf("restocked level %+v", l)
	}
	if n := f.countMovements(t, paid, inventory.KindReturned); n != 1 {
		t.Errorf("%d returned ledger rows, want 1", n)
	}

	// Every ledger row's after values add up from its deltas.
	var bad int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM (
		SELECT on_hand_after - sum(on_hand_delta) OVER w AS base_on_hand, reserved_after - sum(reserved_delta) OVER w AS base_reserved
		FROM stock_movements WINDOW w AS (PARTITION BY variant_id, location_id ORDER BY created_at, id)) x
		WHERE base_reserved <> 0`).Scan(&bad); err != nil || bad != 0 {
		t.Errorf("%d ledger rows whose reserved does not follow from the deltas (%v)", bad, err)
	}
	// Append-only.
	if _, err := f.pool.Exec(ctx, `UPDATE stock_movements SET reason = 'x'`); err == nil {
		t.Error("a ledger row was updated")
	}
}

// Shrinkage below what is promised: available is 0, nothing more can be
// reserved, and fulfilment takes on_hand to zero, not below.
func TestShrinkageBelowReserved(t *testing.T) {
	f := newFixture(t, 1)
	v := f.variants[0]
	f.setStock(t, v, f.store, 3)
	order := commerce.NewID()
	if err := f.reserve(t, order, f.store, []inventory.Line{{VariantID: v, Quantity: 3}}, nil); err != nil {
		t.Fatal(err)
	}
	mustExec(t, f.pool, `UPDATE stock_levels SET on_hand = 1 WHERE variant_id = $1`, v)
	if l := f.level(t, v, f.store); l.Available() != 0 {
		t.Errorf("available %d under shrinkage", l.Available())
	}
	if err := f.reserve(t, commerce.NewID(), f.store, []inventory.Line{{VariantID: v, Quantity: 1}}, nil); commerce.ErrorCode(err) != commerce.ErrOutOfStock {
		t.Errorf("got %v, want OUT_OF_STOCK", err)
	}
	if err := f.inTx(t, func(tx pgx.Tx) error { return f.svc.FulfilTx(t.Context(), tx, order) }); err != nil {
		t.Fatal(err)
	}
	if l := f.level(t, v, f.store); l.OnHand != 0 || l.Reserved != 0 {
		t.Errorf("after fulfilment %+v", l)
	}
}

func TestExpiredOrderIDs(t *testing.T) {
	f := newFixture(t, 1)
	v := f.variants[0]
	f.setStock(t, v, f.store, 10)
	now := time.Now()
	past1, past2, future := now.Add(-2*time.Minute), now.Add(-time.Minute), now.Add(time.Minute)
	old, older, fresh, paid := commerce.NewID(), commerce.NewID(), commerce.NewID(), commerce.NewID()
	for _, r := range []struct {
		order commerce.ID
		exp   *time.Time
	}{{old, &past2}, {older, &past1}, {fresh, &future}, {paid, &past1}} {
		if err := f.reserve(t, r.order, f.store, []inventory.Line{{VariantID: v, Quantity: 1}}, r.exp); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.inTx(t, func(tx pgx.Tx) error { return f.svc.AllocateTx(t.Context(), tx, paid) }); err != nil {
		t.Fatal(err)
	}
	ids, err := f.svc.ExpiredOrderIDs(t.Context(), now, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 || ids[0] != older || ids[1] != old {
		t.Errorf("expired %v, want [%v %v]", ids, older, old)
	}
	if ids, _ := f.svc.ExpiredOrderIDs(t.Context(), now, 1); len(ids) != 1 {
		t.Errorf("limit 1 gave %d", len(ids))
	}
	// The job releases them; they are not listed again.
	if err := f.inTx(t, func(tx pgx.Tx) error { return f.svc.ReleaseTx(context.Background(), tx, older, "expired") }); err != nil {
		t.Fatal(err)
	}
	if ids, _ := f.svc.ExpiredOrderIDs(t.Context(), now, 10); len(ids) != 1 || ids[0] != old {
		t.Errorf("after release: %v", ids)
	}
}
