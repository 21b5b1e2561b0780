package inventory_test

import (
	"math"
	"testing"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/inventory"
)

// Units that do not fit the stock columns are the client's mistake
// (INVALID_INPUT), not an internal error.
func TestReviewHugeAdjustmentsAreInvalidInput(t *testing.T) {
	f := newFixture(t, 1)
	v := f.variants[0]
	merch := f.staffCtx(t, commerce.RoleMerchandiser)
	if _, err := f.svc.AdjustStock(merch, inventory.Adjustment{VariantID: v, LocationID: f.store, Delta: ptr(10),
		Kind: inventory.KindReceived, Reason: "PO 7"}); err != nil {
		t.Fatal(err)
	}
	for name, a := range map[string]inventory.Adjustment{
		"delta of MaxInt32":  {VariantID: v, LocationID: f.store, Delta: ptr(math.MaxInt32), Kind: inventory.KindReceived},
		"delta beyond int32": {VariantID: v, LocationID: f.store, Delta: ptr(1 << 40), Kind: inventory.KindReceived},
		"set beyond int32":   {VariantID: v, LocationID: f.store, SetOnHand: ptr(1 << 40), Reason: "count"},
	} {
		if _, err := f.svc.AdjustStock(merch, a); commerce.ErrorCode(err) != commerce.ErrInvalidInput {
			t.Errorf("%s: %v", name, err)
		}
	}
	if l := f.level(t, v, f.store); l.OnHand != 10 {
		t.Errorf("on hand %d", l.OnHand)
	}
	// Allowed deltas that add up beyond the column.
	var err error
	for range 3 {
		_, err = f.svc.AdjustStock(merch, inventory.Adjustment{VariantID: v, LocationID: f.store, Delta: ptr(1_000_000_000),
			Kind: inventory.KindReceived})
	}
	if commerce.ErrorCode(err) != commerce.ErrInvalidInput {
		t.Errorf("on hand beyond the column: %v", err)
	}
}
