package inventory_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/inventory"
)

// staffCtx creates a staff user and returns a context acting for them.
func (f *fixture) staffCtx(t *testing.T, role commerce.Role, locations ...commerce.ID) context.Context {
	t.Helper()
	id := commerce.NewID()
	if locations == nil {
		locations = []commerce.ID{}
	}
	mustExec(t, f.pool, `INSERT INTO staff_users (id, email, name, role, location_ids) VALUES ($1, $2, 'S', $3, $4)`,
		id, id.String()+"@example.com", string(role), locations)
	return commerce.WithPrincipal(t.Context(), commerce.Principal{StaffID: id, Role: role, LocationIDs: locations})
}

func ptr[T any](v T) *T { return &v }

func TestAdjustStock(t *testing.T) {
	f := newFixture(t, 1)
	v := f.variants[0]
	merch := f.staffCtx(t, commerce.RoleMerchandiser)

	// Received into a level that did not exist.
	m, err := f.svc.AdjustStock(merch, inventory.Adjustment{VariantID: v, LocationID: f.store, Delta: ptr(10),
		Kind: inventory.KindReceived, Reason: "PO 7"})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := commerce.PrincipalFrom(merch)
	if m.Kind != inventory.KindReceived || m.OnHandDelta != 10 || m.OnHandAfter != 10 || m.StaffID == nil || *m.StaffID != p.StaffID || m.Reason != "PO 7" {
		t.Errorf("movement %+v", m)
	}
	// A count sets the number; the ledger shows the difference.
	m, err = f.svc.AdjustStock(merch, inventory.Adjustment{VariantID: v, LocationID: f.store, SetOnHand: ptr(7), Reason: "count"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Kind != inventory.KindAdjusted || m.OnHandDelta != -3 || m.OnHandAfter != 7 {
		t.Errorf("movement %+v", m)
	}
	// Never below zero.
	_, err = f.svc.AdjustStock(merch, inventory.Adjustment{VariantID: v, LocationID: f.store, Delta: ptr(-8), Reason: "lost"})
	if commerce.ErrorCode(err) != commerce.ErrInvalidInput {
		t.Errorf("removing more than on hand: %v", err)
	}
	if l := f.level(t, v, f.store); l.OnHand != 7 {
		t.Errorf("on hand %d", l.OnHand)
	}

	for name, a := range map[string]inventory.Adjustment{
		"both":             {VariantID: v, LocationID: f.store, Delta: ptr(1), SetOnHand: ptr(1), Reason: "x"},
		"neither":          {VariantID: v, LocationID: f.store, Reason: "x"},
		"no reason":        {VariantID: v, LocationID: f.store, Delta: ptr(-1)},
		"negative receipt": {VariantID: v, LocationID: f.store, Delta: ptr(-1), Kind: inventory.KindReceived},
		"other kind":       {VariantID: v, LocationID: f.store, Delta: ptr(1), Kind: inventory.KindFulfilled, Reason: "x"},
	} {
		if _, err := f.svc.AdjustStock(merch, a); commerce.ErrorCode(err) != commerce.ErrInvalidInput {
			t.Errorf("%s: got %v, want INVALID_INPUT", name, err)
		}
	}
	if _, err := f.svc.AdjustStock(merch, inventory.Adjustment{VariantID: commerce.NewID(), LocationID: f.store, Delta: ptr(1), Reason: "x"}); commerce.ErrorCode(err) != commerce.ErrNotFound {
		t.Errorf("unknown variant: %v", err)
	}

	// Roles: an associate of the store may, of another store may not; no token is UNAUTHENTICATED.
	paris := f.staffCtx(t, commerce.RoleAssociate, f.store)
	if _, err := f.svc.AdjustStock(paris, inventory.Adjustment{VariantID: v, LocationID: f.store, Delta: ptr(-1), Reason: "damaged"}); err != nil {
		t.Errorf("associate at own store: %v", err)
	}
	if _, err := f.svc.AdjustStock(paris, inventory.Adjustment{VariantID: v, LocationID: f.other, Delta: ptr(1), Reason: "x"}); commerce.ErrorCode(err) != commerce.ErrForbidden {
		t.Errorf("associate elsewhere: %v", err)
	}
	if _, err := f.svc.AdjustStock(t.Context(), inventory.Adjustment{VariantID: v, LocationID: f.store, Delta: ptr(1), Reason: "x"}); commerce.ErrorCode(err) != commerce.ErrUnauthenticated {
		t.Errorf("no principal: %v", err)
	}
}

func TestAdjustStockIdempotencyKey(t *testing.T) {
	f := newFixture(t, 1)
	v := f.variants[0]
	merch := f.staffCtx(t, commerce.RoleMerchandiser)
	a := inventory.Adjustment{VariantID: v, LocationID: f.store, Delta: ptr(4), Kind: inventory.KindReceived, IdempotencyKey: "receipt-1"}

	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		ids = map[commerce.ID]bool{}
	)
	for range 10 {
		wg.Go(func() {
			m, err := f.svc.AdjustStock(merch, a)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			ids[m.ID] = true
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(ids) != 1 {
		t.Errorf("%d different movements for one key", len(ids))
	}
	if l := f.level(t, v, f.store); l.OnHand != 4 {
		t.Errorf("on hand %d after 10 retries of +4", l.OnHand)
	}
	a.Delta = ptr(5)
	if _, err := f.svc.AdjustStock(merch, a); commerce.ErrorCode(err) != commerce.ErrConflict {
		t.Errorf("key reused for another request: %v", err)
	}
}

func TestFindMovements(t *testing.T) {
	f := newFixture(t, 2)
	a, b := f.variants[0], f.variants[1]
	merch := f.staffCtx(t, commerce.RoleMerchandiser)
	for i := range 5 {
		for _, loc := range []commerce.ID{f.store, f.other} {
			if _, err := f.svc.AdjustStock(merch, inventory.Adjustment{VariantID: a, LocationID: loc, Delta: ptr(i + 1), Kind: inventory.KindReceived}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := f.svc.AdjustStock(merch, inventory.Adjustment{VariantID: b, LocationID: f.store, Delta: ptr(1), Kind: inventory.KindReceived}); err != nil {
		t.Fatal(err)
	}

	// Pages of 3 of a at the store, newest first: 5, 4, 3 then 2, 1.
	var deltas []int
	var after *commerce.ID
	for range 3 {
		page, err := f.svc.FindMovements(merch, inventory.MovementFilter{VariantID: &a, LocationID: &f.store, First: 3, After: after})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Movements {
			deltas = append(deltas, m.OnHandDelta)
		}
		if !page.HasNext {
			break
		}
		after = &page.Movements[len(page.Movements)-1].ID
	}
	if got, _ := json.Marshal(deltas); string(got) != "[5,4,3,2,1]" {
		t.Errorf("deltas %s, want newest first [5,4,3,2,1]", got)
	}

	// An associate sees only their store.
	lyon := f.staffCtx(t, commerce.RoleAssociate, f.other)
	page, err := f.svc.FindMovements(lyon, inventory.MovementFilter{First: 50})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Movements) != 5 {
		t.Errorf("associate of Lyon sees %d movements, want Lyon's 5", len(page.Movements))
	}
	for _, m := range page.Movements {
		if m.LocationID != f.other {
			t.Errorf("associate of Lyon sees a movement at %v", m.LocationID)
		}
	}
	if _, err := f.svc.FindMovements(lyon, inventory.MovementFilter{LocationID: &f.store}); commerce.ErrorCode(err) != commerce.ErrForbidden {
		t.Errorf("associate of Lyon reading Paris: %v", err)
	}
	kind := inventory.KindAdjusted
	if page, err := f.svc.FindMovements(merch, inventory.MovementFilter{Kind: &kind, First: 50}); err != nil || len(page.Movements) != 0 {
		t.Errorf("kind filter: %d, %v", len(page.Movements), err)
	}
}

// outboxRows counts the outbox rows of queue (and their payloads).
func (f *fixture) outboxRows(t *testing.T, queue string) []inventory.LowStockEvent {
	t.Helper()
	rows, err := f.pool.Query(t.Context(), `SELECT payload FROM outbox WHERE queue = $1 ORDER BY id`, queue)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []inventory.LowStockEvent
	for rows.Next() {
		var ev inventory.LowStockEvent
		if err := rows.Scan(&ev); err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// Low stock is raised once per crossing of the threshold, and a crossing of
// zero available re-indexes the product for search.
func TestLowStockAndSearchEvents(t *testing.T) {
	f := newFixture(t, 1)
	v := f.variants[0]
	merch := f.staffCtx(t, commerce.RoleMerchandiser)
	adjust := func(delta int) {
		t.Helper()
		if _, err := f.svc.AdjustStock(merch, inventory.Adjustment{VariantID: v, LocationID: f.store, Delta: ptr(delta), Reason: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	counts := func() (low, search int) {
		t.Helper()
		return len(f.outboxRows(t, inventory.LowStockQueue)), len(f.outboxRows(t, "search"))
	}
	adjust(5) // 0 → 5: in stock again (search), not low
	if low, search := counts(); low != 0 || search != 1 {
		t.Fatalf("after +5: %d low, %d search, want 0, 1", low, search)
	}
	adjust(-2) // 3: still above 2
	adjust(-1) // 2: crosses
	adjust(-1) // 1: already low, no second event
	if low, search := counts(); low != 1 || search != 1 {
		t.Fatalf("after 5 → 1: %d low, %d search, want 1, 1", low, search)
	}
	// A reservation takes the last unit: out of stock for search, no new low event.
	if err := f.reserve(t, commerce.NewID(), f.store, []inventory.Line{{VariantID: v, Quantity: 1}}, later()); err != nil {
		t.Fatal(err)
	}
	if low, search := counts(); low != 1 || search != 2 {
		t.Fatalf("after reserving the last unit: %d low, %d search, want 1, 2", low, search)
	}
	adjust(10) // available 10: back above, and back in stock
	adjust(-9) // available 1: a second crossing
	evs := f.outboxRows(t, inventory.LowStockQueue)
	if len(evs) != 2 {
		t.Fatalf("%d low-stock events, want 2", len(evs))
	}
	if e := evs[1]; e.VariantID != v || e.LocationID != f.store || e.Available != 1 || e.Threshold != inventory.DefaultLowStockThreshold {
		t.Errorf("event %+v", e)
	}
	// A per-level threshold replaces the default.
	mustExec(t, f.pool, `UPDATE stock_levels SET low_stock_threshold = 5 WHERE variant_id = $1`, v)
	adjust(20) // 21
	adjust(-16)
	if evs := f.outboxRows(t, inventory.LowStockQueue); len(evs) != 3 || evs[2].Threshold != 5 || evs[2].Available != 5 {
		t.Errorf("events %+v, want a third at threshold 5", evs)
	}
}
