package graph_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/cart"
	"github.com/omnicanal/omnicanal/commerce/customer"
	"github.com/omnicanal/omnicanal/commerce/demo"
	"github.com/omnicanal/omnicanal/commerce/inventory"
	"github.com/omnicanal/omnicanal/commerce/offer"
	"github.com/omnicanal/omnicanal/commerce/order"
	"github.com/omnicanal/omnicanal/commerce/payment"
	"github.com/omnicanal/omnicanal/commerce/payment/paymenttest"
	"github.com/omnicanal/omnicanal/commerce/returns"
	"github.com/omnicanal/omnicanal/commerce/staff"
	"github.com/omnicanal/omnicanal/graph"
)

const (
	returnFields = `fragment R on Return { id status store { code } reason refundMethod refund { amount currencyCode }
  clawback { amount } refundStatus lines { orderLineId variantId quantity paid { amount } } createdAt receivedAt refundedAt }`
	returnCreateOp  = `mutation($input: ReturnCreateInput!) { returnCreate(input: $input) { return { ...R } userErrors { field message code } } }` + returnFields
	returnReceiveOp = `mutation($id: ID!) { returnReceive(id: $id) { return { ...R } userErrors { field message code } } }` + returnFields
	orderReturnsOp  = `query($id: ID!, $token: String) { order(id: $id, token: $token) { paymentStatus returns { ...R } } }` + returnFields
)

// An online guest order picked up in Paris, returned over the counter in
// Lyon and by its guest, through the API.
func TestReturnsThroughTheAPI(t *testing.T) {
	pool := demoDB(t)
	svc := services(pool)
	svc.Customers = customer.NewService(pool, customer.WithPasswordParams(customer.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}))
	svc.Offers = offer.NewService(pool)
	svc.Carts = cart.NewService(pool, svc.Offers)
	gw := paymenttest.New()
	inv := inventory.NewService(pool)
	svc.Orders = order.NewService(pool, svc.Carts, inv, order.WithOffers(svc.Offers), order.WithGateway(gw))
	svc.Returns = returns.NewService(pool, svc.Orders, inv, svc.Offers, nil)
	staffSvc := staff.NewService(pool)
	s := &orderServer{cartServer: &cartServer{server: newServer(t, svc, func(o *graph.Options) { o.Staff = staffSvc }), pool: pool,
		customers: svc.Customers}, gw: gw}
	token := func(loc string) string {
		st, err := staffSvc.CreateStaff(t.Context(), staff.Input{Email: uuid.NewString() + "@maison-sentier.example", Name: "Associate",
			Role: commerce.RoleAssociate, LocationIDs: []commerce.ID{demo.LocationID(loc)}})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := staffSvc.IssueToken(t.Context(), st.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	parisDesk, lyonDesk := token(demo.CodeParis), token(demo.CodeLyon)

	v := demo.StockedVariants(1, 20)[0]
	s.setStock(t, v, demo.CodeParis, 10)
	s.setStock(t, v, demo.CodeLyon, 5)
	cartID, cartToken := s.createCart(t, demo.KeyWebEU, line(v, 2))
	r := s.send(t, demo.KeyWebEU, "", checkoutOp, checkoutVars(cartID, cartToken, demo.LocationID(demo.CodeParis), "ONLINE")).ok(t)
	noUserErrors(t, r, "cartCheckout")
	orderID := uuid.MustParse(at(r.Data, "cartCheckout", "order", "id").(string))
	orderToken := at(r.Data, "cartCheckout", "orderToken").(string)
	in := gw.Succeed(at(r.Data, "cartCheckout", "payment", "intentId").(string))
	ctx := context.Background()
	if err := svc.Orders.HandlePaymentEvent(ctx, payment.Event{ID: "evt_api", Type: payment.IntentSucceeded, IntentID: in.ID,
		OrderID: &orderID, Amount: in.Amount, Received: in.Received}); err != nil {
		t.Fatal(err)
	}
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		o, err := order.FindOrderByIDTx(ctx, tx, orderID, true)
		if err != nil {
			return err
		}
		for _, to := range []order.Status{order.Preparing, order.ReadyForPickup, order.PickedUp} {
			if err := order.TransitionTx(ctx, tx, o, to, order.SystemActor, "test"); err != nil {
				return err
			}
		}
		return inv.FulfilTx(ctx, tx, orderID)
	}); err != nil {
		t.Fatal(err)
	}
	o, err := svc.Orders.FindOrder(commerce.WithPrincipal(ctx, commerce.Principal{StaffID: commerce.NewID(), Role: commerce.RoleAdmin}), orderID, "")
	if err != nil {
		t.Fatal(err)
	}
	vars := func(store string, n int, method string) map[string]any {
		return map[string]any{"input": map[string]any{"orderId": orderID.String(), "storeId": demo.LocationID(store).String(),
			"lines":  []any{map[string]any{"orderLineId": o.Lines[0].ID.String(), "quantity": n}},
			"refund": map[string]any{"method": method}, "reason": "too small", "idempotencyKey": uuid.NewString()}}
	}

	// Paris's associate cannot take it into Lyon.
	r = s.send(t, demo.KeyPOSParis, parisDesk, returnCreateOp, vars(demo.CodeLyon, 1, "ORIGINAL")).ok(t)
	if at(r.Data, "returnCreate", "userErrors", 0, "code") != commerce.ErrForbidden ||
		at(r.Data, "returnCreate", "userErrors", 0, "field", 1) != "storeId" {
		t.Errorf("Paris into Lyon: %s", r.Raw)
	}
	// Lyon's associate takes one unit: restocked in Lyon, refunded to the card.
	r = s.send(t, demo.KeyPOSParis, lyonDesk, returnCreateOp, vars(demo.CodeLyon, 1, "ORIGINAL")).ok(t)
	noUserErrors(t, r, "returnCreate")
	ret := at(r.Data, "returnCreate", "return")
	if at(ret, "status") != "RECEIVED" || at(ret, "store", "code") != demo.CodeLyon || at(ret, "refundStatus") != "REFUNDED" ||
		at(ret, "lines", 0, "quantity") != float64(1) || gw.RefundCalls.Load() != 1 {
		t.Errorf("return %s", r.Raw)
	}
	if lv, _ := inv.FindLevel(ctx, v, demo.LocationID(demo.CodeLyon)); lv.OnHand != 6 {
		t.Errorf("Lyon on hand %d", lv.OnHand)
	}
	// A guest without the token: NOT_FOUND; with it: a requested return.
	r = s.send(t, demo.KeyWebEU, "", returnCreateOp, vars(demo.CodeParis, 1, "ORIGINAL")).ok(t)
	if at(r.Data, "returnCreate", "userErrors", 0, "code") != commerce.ErrNotFound {
		t.Errorf("guest without token: %s", r.Raw)
	}
	gv := vars(demo.CodeParis, 1, "ORIGINAL")
	gv["input"].(map[string]any)["token"] = orderToken
	r = s.send(t, demo.KeyWebEU, "", returnCreateOp, gv).ok(t)
	noUserErrors(t, r, "returnCreate")
	if at(r.Data, "returnCreate", "return", "status") != "REQUESTED" {
		t.Errorf("guest return %s", r.Raw)
	}
	requested := at(r.Data, "returnCreate", "return", "id").(string)
	// More than is left: refused, with the field.
	r = s.send(t, demo.KeyPOSParis, parisDesk, returnCreateOp, vars(demo.CodeParis, 1, "CASH")).ok(t)
	if at(r.Data, "returnCreate", "userErrors", 0, "code") != commerce.ErrInvalidInput {
		t.Errorf("over-return: %s", r.Raw)
	}
	// Paris receives the guest's unit.
	r = s.send(t, demo.KeyPOSParis, parisDesk, returnReceiveOp, map[string]any{"id": requested}).ok(t)
	noUserErrors(t, r, "returnReceive")
	if at(r.Data, "returnReceive", "return", "status") != "RECEIVED" || at(r.Data, "returnReceive", "return", "refundStatus") != "REFUNDED" {
		t.Errorf("receive %s", r.Raw)
	}
	r = s.send(t, demo.KeyWebEU, "", orderReturnsOp, map[string]any{"id": orderID.String(), "token": orderToken}).ok(t)
	if rs, _ := at(r.Data, "order", "returns").([]any); len(rs) != 2 || at(r.Data, "order", "paymentStatus") != "REFUNDED" {
		t.Errorf("order returns %s", r.Raw)
	}
}
