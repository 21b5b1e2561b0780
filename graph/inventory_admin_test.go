package graph_test

import (
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/commercetest"
	"github.com/omnicanal/omnicanal/commerce/demo"
	"github.com/omnicanal/omnicanal/commerce/inventory"
)

const inventoryAdjust = `mutation($input: InventoryAdjustInput!, $key: String) {
  inventoryAdjust(input: $input, idempotencyKey: $key) {
    movement { id kind onHandDelta reservedDelta reason staffId level { onHand reserved available } }
    userErrors { field message code }
  }
}`

const stockMovements = `query($first: Int, $after: String, $variant: ID, $location: ID, $kind: StockMovementKind) {
  stockMovements(first: $first, after: $after, variantId: $variant, locationId: $location, kind: $kind) {
    nodes { id kind onHandDelta locationId }
    pageInfo { hasNextPage endCursor }
  }
}`

const variantStock = `query($sku: String!) { variant(sku: $sku) { quantityAvailable quantityAvailableHere } }`

// pickStock returns a variant of a product sold on every channel, stocked
// at Paris, its SKU and its units there.
func pickStock(t *testing.T, s *staffServer) (commerce.ID, string, int) {
	t.Helper()
	var (
		v      commerce.ID
		sku    string
		onHand int
	)
	if err := s.pool.QueryRow(t.Context(), `SELECT s.variant_id, v.sku, s.on_hand FROM stock_levels s JOIN variants v ON v.id = s.variant_id
		WHERE s.location_id = $1 AND s.on_hand >= 3 AND v.id = ANY($2) ORDER BY s.variant_id LIMIT 1`,
		demo.LocationID(demo.CodeParis), demo.StockedVariants(200, 1)).Scan(&v, &sku, &onHand); err != nil {
		t.Fatal(err)
	}
	return v, sku, onHand
}

func TestInventoryAdjust(t *testing.T) {
	s := newStaffServer(t)
	v, sku, onHand := pickStock(t, s)
	paris, lyon := demo.LocationID(demo.CodeParis).String(), demo.LocationID(demo.CodeLyon).String()

	// The associate of Paris counts Paris: the storefront and the POS see it.
	in := map[string]any{"variantId": v.String(), "locationId": paris, "setOnHand": onHand - 1, "reason": "count"}
	r := s.postAs(t, s.associate, demo.KeyPOSParis, inventoryAdjust, map[string]any{"input": in, "key": "count-1"}).ok(t)
	m := at(r.Data, "inventoryAdjust", "movement")
	if at(m, "kind") != "ADJUSTED" || at(m, "onHandDelta") != float64(-1) || at(m, "level", "onHand") != float64(onHand-1) || at(m, "staffId") == nil {
		t.Fatalf("movement %s", r.Raw)
	}
	// A retry with the key changes nothing more and returns the same row.
	r2 := s.postAs(t, s.associate, demo.KeyPOSParis, inventoryAdjust, map[string]any{"input": in, "key": "count-1"}).ok(t)
	if at(r2.Data, "inventoryAdjust", "movement", "id") != at(m, "id") {
		t.Errorf("replay returned another movement: %s", r2.Raw)
	}
	here := s.postAs(t, "", demo.KeyPOSParis, variantStock, map[string]any{"sku": sku}).ok(t)
	if at(here.Data, "variant", "quantityAvailableHere") != float64(onHand-1) {
		t.Errorf("the POS sees %s, want %d", here.Raw, onHand-1)
	}

	// A reservation lowers what every channel sees.
	svc := inventory.NewService(s.pool)
	before := at(s.postAs(t, "", demo.KeyWebEU, variantStock, map[string]any{"sku": sku}).ok(t).Data, "variant", "quantityAvailable").(float64)
	err := pgx.BeginFunc(t.Context(), s.pool, func(tx pgx.Tx) error {
		order := commerce.NewID()
		if err := commercetest.EnsureOrder(t.Context(), tx, order, demo.LocationID(demo.CodeParis)); err != nil {
			return err
		}
		return svc.ReserveTx(t.Context(), tx, order, demo.LocationID(demo.CodeParis), []inventory.Line{{VariantID: v, Quantity: 2}}, nil, "test")
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := at(s.postAs(t, "", demo.KeyPOSParis, variantStock, map[string]any{"sku": sku}).ok(t).Data, "variant"); at(got, "quantityAvailableHere") != float64(onHand-3) || at(got, "quantityAvailable") != before-2 {
		t.Errorf("after reserving 2: %v, want here %d and in all %v", got, onHand-3, before-2)
	}

	// Lyon is not the associate's store; no token is no access.
	in["locationId"] = lyon
	if r := s.postAs(t, s.associate, demo.KeyPOSParis, inventoryAdjust, map[string]any{"input": in}); r.code() != commerce.ErrForbidden {
		t.Errorf("associate of Paris adjusting Lyon: %s", r.Raw)
	}
	if r := s.postAs(t, "", demo.KeyWebEU, stockMovements, nil); r.code() != commerce.ErrUnauthenticated {
		t.Errorf("ledger without a token: %s", r.Raw)
	}
	// Bad input is a userError with the field's path.
	bad := map[string]any{"variantId": v.String(), "locationId": paris, "delta": 1, "setOnHand": 2, "kind": "ADJUSTED", "reason": "x"}
	r = s.postAs(t, s.merchandiser, demo.KeyWebEU, inventoryAdjust, map[string]any{"input": bad}).ok(t)
	if got := userErrorFields(t, at(r.Data, "inventoryAdjust", "userErrors")); got[`["input","delta"]`] != commerce.ErrInvalidInput || at(r.Data, "inventoryAdjust", "movement") != nil {
		t.Errorf("both delta and setOnHand: %s", r.Raw)
	}

	// The ledger, newest first: the reservation, then the count.
	vars := map[string]any{"variant": v.String(), "location": paris, "first": 1}
	r = s.postAs(t, s.merchandiser, demo.KeyWebEU, stockMovements, vars).ok(t)
	if at(r.Data, "stockMovements", "nodes", 0, "kind") != "RESERVED" || at(r.Data, "stockMovements", "pageInfo", "hasNextPage") != true {
		t.Fatalf("first page %s", r.Raw)
	}
	vars["after"] = at(r.Data, "stockMovements", "pageInfo", "endCursor")
	r = s.postAs(t, s.merchandiser, demo.KeyWebEU, stockMovements, vars).ok(t)
	if at(r.Data, "stockMovements", "nodes", 0, "id") != at(m, "id") {
		t.Errorf("second page %s, want the count %v", r.Raw, at(m, "id"))
	}
	vars = map[string]any{"kind": "ADJUSTED"}
	r = s.postAs(t, s.associate, demo.KeyPOSParis, stockMovements, vars).ok(t)
	for _, n := range at(r.Data, "stockMovements", "nodes").([]any) {
		if at(n, "locationId") != paris {
			t.Errorf("the associate of Paris sees %v", n)
		}
	}
}
