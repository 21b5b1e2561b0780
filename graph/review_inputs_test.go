package graph_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/cart"
	"github.com/omnicanal/omnicanal/commerce/customer"
	"github.com/omnicanal/omnicanal/commerce/demo"
	"github.com/omnicanal/omnicanal/commerce/inventory"
	"github.com/omnicanal/omnicanal/commerce/offer"
	"github.com/omnicanal/omnicanal/commerce/order"
	"github.com/omnicanal/omnicanal/commerce/payment/paymenttest"
	"github.com/omnicanal/omnicanal/commerce/pickup"
	"github.com/omnicanal/omnicanal/commerce/returns"
	"github.com/omnicanal/omnicanal/commerce/staff"
	"github.com/omnicanal/omnicanal/graph"
)

// Odd inputs to the order, pickup, returns and stock operations are the
// client's mistakes: never an internal error.
func TestReviewOddInputsAreNotInternal(t *testing.T) {
	s := reviewServer(t)
	v := demo.StockedVariants(1, 20)[0]
	s.setStock(t, v, demo.CodeParis, 5)
	cartID, token := s.createCart(t, demo.KeyWebEU, line(v, 1))
	long := strings.Repeat("x", 100_000)
	shipping := func(addr map[string]any) map[string]any {
		return map[string]any{"input": map[string]any{"cartId": cartID, "token": token, "idempotencyKey": uuid.NewString(),
			"fulfillment": map[string]any{"shipping": map[string]any{"address": addr}}, "payment": map[string]any{"method": "ONLINE"}}}
	}
	addr := map[string]any{"name": "A", "line1": "1 rue", "city": "Paris", "postalCode": "75001", "countryCode": "FR"}
	withCoords := map[string]any{"name": "A", "line1": "1 rue", "city": "Paris", "postalCode": "75001", "countryCode": "FR",
		"coordinates": map[string]any{"lat": 1e300, "lng": -1e300}}
	bothKinds := checkoutVars(cartID, token, demo.LocationID(demo.CodeParis), "ONLINE")
	bothKinds["input"].(map[string]any)["fulfillment"].(map[string]any)["shipping"] = map[string]any{"address": addr}
	longKey := checkoutVars(cartID, token, demo.LocationID(demo.CodeParis), "ONLINE")
	longKey["input"].(map[string]any)["idempotencyKey"] = long
	unknownStore := checkoutVars(cartID, token, uuid.New(), "ONLINE")
	unknownCart := checkoutVars(uuid.NewString(), token, demo.LocationID(demo.CodeParis), "ONLINE")
	fromNowhere := shipping(addr)
	fromNowhere["input"].(map[string]any)["fulfillment"].(map[string]any)["shipping"].(map[string]any)["fromLocationId"] = uuid.NewString()
	returnOp := `mutation($input: ReturnCreateInput!) { returnCreate(input: $input) { userErrors { field message code } } }`
	for name, c := range map[string]struct {
		bearer, query string
		vars          map[string]any
	}{
		"checkout both kinds":      {"", checkoutOp, bothKinds},
		"checkout long key":        {"", checkoutOp, longKey},
		"checkout unknown store":   {"", checkoutOp, unknownStore},
		"checkout unknown cart":    {"", checkoutOp, unknownCart},
		"checkout far coordinates": {"", checkoutOp, shipping(withCoords)},
		"checkout from nowhere":    {"", checkoutOp, fromNowhere},
		"checkout long email": {"", checkoutOp, func() map[string]any {
			v := checkoutVars(cartID, token, demo.LocationID(demo.CodeParis), "ONLINE")
			v["input"].(map[string]any)["email"] = long + "@example.com"
			return v
		}()},
		"order unknown":        {"", orderQuery, map[string]any{"id": uuid.NewString(), "token": long}},
		"cancel unknown":       {"", cancelOp, map[string]any{"id": uuid.NewString(), "token": "ot_x"}},
		"confirm unknown":      {"", confirmOp, map[string]any{"id": uuid.NewString()}},
		"hand over long code":  {s.associate, `mutation($id: ID!, $code: String!) { pickupOrderHandOver(orderId: $id, code: $code) { userErrors { code } } }`, map[string]any{"id": uuid.NewString(), "code": long}},
		"arrive long spot":     {"", `mutation($id: ID!, $spot: String) { orderPickupArrive(orderId: $id, spot: $spot) { userErrors { code } } }`, map[string]any{"id": uuid.NewString(), "spot": long}},
		"queue of nowhere":     {s.associate, `query($id: ID!) { pickupQueue(locationId: $id) { order { id } } }`, map[string]any{"id": uuid.NewString()}},
		"receive unknown":      {s.associate, `mutation($id: ID!) { returnReceive(id: $id) { userErrors { code } } }`, map[string]any{"id": uuid.NewString()}},
		"return unknown order": {s.associate, returnOp, map[string]any{"input": map[string]any{"orderId": uuid.NewString(), "storeId": demo.LocationID(demo.CodeParis).String(), "idempotencyKey": uuid.NewString(), "refund": map[string]any{"method": "ORIGINAL"}, "lines": []any{map[string]any{"orderLineId": uuid.NewString(), "quantity": -5}}}}},
		"adjust beyond int32": {s.associate, `mutation($input: InventoryAdjustInput!) { inventoryAdjust(input: $input) { userErrors { code } } }`,
			map[string]any{"input": map[string]any{"variantId": v.String(), "locationId": demo.LocationID(demo.CodeParis).String(), "delta": 2147483647, "kind": "RECEIVED"}}},
		"return huge quantity": {s.associate, returnOp, map[string]any{"input": map[string]any{"orderId": uuid.NewString(), "storeId": demo.LocationID(demo.CodeParis).String(), "idempotencyKey": uuid.NewString(), "refund": map[string]any{"method": "ORIGINAL"}, "lines": []any{map[string]any{"orderLineId": uuid.NewString(), "quantity": 2147483647}}}}},
	} {
		r := s.send(t, demo.KeyWebEU, c.bearer, c.query, c.vars)
		if r.Status >= 500 || strings.Contains(string(r.Raw), "INTERNAL") {
			t.Errorf("%s: %d %.300s", name, r.Status, r.Raw)
		}
	}
}

// reviewServer is newOrderServer with the pickup desk and returns wired.
func reviewServer(t *testing.T) *orderServer {
	t.Helper()
	pool := demoDB(t)
	svc := services(pool)
	svc.Customers = customer.NewService(pool, customer.WithPasswordParams(customer.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}))
	svc.Offers = offer.NewService(pool)
	svc.Carts = cart.NewService(pool, svc.Offers)
	gw := paymenttest.New()
	inv := inventory.NewService(pool)
	svc.Orders = order.NewService(pool, svc.Carts, inv, order.WithOffers(svc.Offers), order.WithGateway(gw))
	svc.Pickup = pickup.NewService(pool, svc.Orders, inv)
	svc.Returns = returns.NewService(pool, svc.Orders, inv, svc.Offers, nil)
	staffSvc := staff.NewService(pool)
	s := &orderServer{cartServer: &cartServer{server: newServer(t, svc, func(o *graph.Options) { o.Staff = staffSvc }), pool: pool,
		customers: svc.Customers}, gw: gw}
	st, err := staffSvc.CreateStaff(t.Context(), staff.Input{Email: uuid.NewString() + "@maison-sentier.example", Name: "Associate",
		Role: commerce.RoleAssociate, LocationIDs: []commerce.ID{demo.LocationID(demo.CodeParis)}})
	if err != nil {
		t.Fatal(err)
	}
	if s.associate, err = staffSvc.IssueToken(t.Context(), st.ID, time.Hour); err != nil {
		t.Fatal(err)
	}
	return s
}
