package order_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/google/uuid"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/demo"
	"github.com/omnicanal/omnicanal/commerce/offer"
	"github.com/omnicanal/omnicanal/commerce/order"
	"github.com/omnicanal/omnicanal/commerce/payment"
	"github.com/omnicanal/omnicanal/commerce/returns"
)

var warehouseFR = demo.LocationID(demo.CodeWarehouseFR)

// shippingOrder checks out n units of v on the EU web channel, shipped from
// the French warehouse, paid online; paid tells whether the payment
// succeeds.
func (e *env) shippingOrder(t testing.TB, v commerce.ID, n int, paid bool) *order.Order {
	t.Helper()
	ctx := e.web(t)
	cartID, token := e.cart(t, ctx, one(v, n))
	addr := order.Address{Name: "Anna", Line1: "1 rue de la Paix", City: "Paris", PostalCode: "75002", CountryCode: "FR"}
	res, err := e.orders.Checkout(ctx, order.CheckoutInput{CartID: cartID, Token: token, IdempotencyKey: uuid.NewString(),
		Fulfillment: order.Fulfillment{Shipping: &order.ShippingInput{Address: addr, FromLocationID: &warehouseFR}},
		Payment:     order.PaymentInput{Method: order.Online}})
	if err != nil {
		t.Fatal(err)
	}
	if paid {
		in := e.gw.Succeed(res.Payment.IntentID)
		if err := e.orders.HandlePaymentEvent(context.Background(), event("evt_"+uuid.NewString(), payment.IntentSucceeded, in, res.Order.ID)); err != nil {
			t.Fatal(err)
		}
	}
	o, err := order.FindOrderByIDTx(context.Background(), e.pool, res.Order.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestShipAnOrder(t *testing.T) {
	e := newEnv(t)
	v := e.variant(t, 0, 0)
	e.setStock(t, v, warehouseFR, 5)
	o := e.shippingOrder(t, v, 2, true)
	if o.Status != order.Placed || o.PaymentStatus != order.Paid || o.LocationID != warehouseFR {
		t.Fatalf("order %s/%s at %s", o.Status, o.PaymentStatus, o.LocationID)
	}
	wh := e.staffCtx(t, demo.KeyWebEU, commerce.RoleAssociate, warehouseFR)

	// Staff elsewhere, and merchandisers, do not ship it.
	if _, err := e.orders.PrepareShipment(e.staffCtx(t, demo.KeyWebEU, commerce.RoleAssociate, paris), o.ID); code(err) != commerce.ErrNotFound {
		t.Errorf("Paris associate prepared a warehouse order: %v", err)
	}
	if _, err := e.orders.MarkShipped(e.staffCtx(t, demo.KeyWebEU, commerce.RoleMerchandiser), o.ID,
		order.ShipmentInput{Carrier: "Colissimo", TrackingNumber: "6A123"}); code(err) != commerce.ErrForbidden {
		t.Errorf("merchandiser shipped: %v", err)
	}
	if _, err := e.orders.MarkShipped(e.web(t), o.ID, order.ShipmentInput{Carrier: "Colissimo", TrackingNumber: "6A123"}); code(err) != commerce.ErrUnauthenticated {
		t.Errorf("a shopper shipped: %v", err)
	}
	if _, err := e.orders.MarkShipped(wh, o.ID, order.ShipmentInput{Carrier: " ", TrackingNumber: "6A123"}); code(err) != commerce.ErrInvalidInput {
		t.Errorf("no carrier: %v", err)
	}

	p, err := e.orders.PrepareShipment(wh, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != order.Preparing {
		t.Fatalf("prepared: %s", p.Status)
	}
	if _, err := e.orders.PrepareShipment(wh, o.ID); code(err) != commerce.ErrConflict {
		t.Errorf("prepared twice: %v", err)
	}
	s, err := e.orders.MarkShipped(wh, o.ID, order.ShipmentInput{Carrier: "Colissimo", TrackingNumber: " 6A12345678 "})
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != order.Shipped {
		t.Fatalf("shipped: %s", s.Status)
	}
	if lv := e.level(t, v, warehouseFR); lv.OnHand != 3 || lv.Reserved != 0 {
		t.Errorf("warehouse after shipping: %+v", lv)
	}
	if n := e.count(t, `SELECT count(*) FROM stock_reservations WHERE order_id = $1 AND status <> 'fulfilled'`, o.ID); n != 0 {
		t.Errorf("%d reservations not fulfilled", n)
	}
	if n := e.count(t, `SELECT count(*) FROM order_transitions WHERE order_id = $1 AND field = 'status' AND actor_kind = 'staff'
		AND channel_id IS NOT NULL AND to_state IN ('preparing', 'shipped')`, o.ID); n != 2 {
		t.Errorf("%d staff transitions", n)
	}
	if n := e.count(t, `SELECT count(*) FROM outbox WHERE queue = 'order_events' AND aggregate_id = $1 AND payload->>'type' = 'order.shipped'
		AND payload->>'carrier' = 'Colissimo' AND payload->>'trackingNumber' = '6A12345678' AND payload ? 'shippedAt'`, o.ID); n != 1 {
		t.Errorf("%d order.shipped events with the tracking", n)
	}
	sh, err := e.orders.FindShipment(context.Background(), o.ID)
	if err != nil || sh == nil || sh.Carrier != "Colissimo" || sh.TrackingNumber != "6A12345678" || sh.ShippedAt.IsZero() {
		t.Errorf("shipment %+v, %v", sh, err)
	}

	// Shipping again is a CONFLICT that changes nothing.
	if _, err := e.orders.MarkShipped(wh, o.ID, order.ShipmentInput{Carrier: "DHL", TrackingNumber: "X"}); code(err) != commerce.ErrConflict {
		t.Errorf("shipped twice: %v", err)
	}
	if lv := e.level(t, v, warehouseFR); lv.OnHand != 3 {
		t.Errorf("on hand after a second ship: %d", lv.OnHand)
	}
	if sh, _ := e.orders.FindShipment(context.Background(), o.ID); sh == nil || sh.Carrier != "Colissimo" {
		t.Errorf("shipment changed: %+v", sh)
	}

	// The shipped order can be returned in a store.
	offers := offer.NewService(e.pool)
	rs := returns.NewService(e.pool, e.orders, e.inv, offers, slog.New(slog.DiscardHandler))
	o, err = order.FindOrderByIDTx(context.Background(), e.pool, o.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	before := e.level(t, v, paris)
	r, err := rs.CreateReturn(e.staffCtx(t, demo.KeyPOSParis, commerce.RoleAssociate, paris), returns.Input{OrderID: o.ID, LocationID: paris,
		Lines: []returns.LineInput{{OrderLineID: o.Lines[0].ID, Quantity: 1}}, Refund: returns.RefundInput{Method: returns.Original},
		IdempotencyKey: uuid.NewString()})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != returns.Received {
		t.Errorf("return %s", r.Status)
	}
	if lv := e.level(t, v, paris); lv.OnHand != before.OnHand+1 {
		t.Errorf("Paris on hand %d → %d", before.OnHand, lv.OnHand)
	}
}

func TestShipRefusals(t *testing.T) {
	e := newEnv(t)
	v := e.variant(t, 0, 5)
	e.setStock(t, v, warehouseFR, 5)
	wh := e.staffCtx(t, demo.KeyWebEU, commerce.RoleAssociate, warehouseFR)
	admin := e.staffCtx(t, demo.KeyWebEU, commerce.RoleAdmin)
	ship := order.ShipmentInput{Carrier: "Colissimo", TrackingNumber: "6A1"}

	// Not paid yet.
	unpaid := e.shippingOrder(t, v, 1, false)
	if unpaid.Status != order.PendingPayment {
		t.Fatalf("unpaid order %s", unpaid.Status)
	}
	if _, err := e.orders.MarkShipped(wh, unpaid.ID, ship); code(err) != commerce.ErrConflict {
		t.Errorf("unpaid order shipped: %v", err)
	}
	if _, err := e.orders.PrepareShipment(admin, unpaid.ID); code(err) != commerce.ErrConflict {
		t.Errorf("unpaid order prepared: %v", err)
	}

	// A pickup order is not shipped, even by an admin.
	ctx := e.web(t)
	cartID, token := e.cart(t, ctx, one(v, 1))
	pick := e.checkout(t, ctx, cartID, token, order.AtPickup, uuid.NewString())
	if _, err := e.orders.MarkShipped(admin, pick.Order.ID, ship); code(err) != commerce.ErrConflict {
		t.Errorf("pickup order shipped: %v", err)
	}
	if _, err := e.orders.PrepareShipment(e.staffCtx(t, demo.KeyWebEU, commerce.RoleAssociate, paris), pick.Order.ID); code(err) != commerce.ErrConflict {
		t.Errorf("pickup order prepared for shipping: %v", err)
	}
	if n := e.count(t, `SELECT count(*) FROM order_transitions WHERE order_id = ANY($1) AND actor_kind = 'staff'`,
		[]commerce.ID{unpaid.ID, pick.Order.ID}); n != 0 {
		t.Errorf("%d transitions written by refusals", n)
	}

	// A paid order shipped straight from placed goes through preparing;
	// an admin may ship from any location.
	paid := e.shippingOrder(t, v, 1, true)
	s, err := e.orders.MarkShipped(admin, paid.ID, ship)
	if err != nil || s.Status != order.Shipped {
		t.Fatalf("admin ship: %v", err)
	}
	if n := e.count(t, `SELECT count(*) FROM order_transitions WHERE order_id = $1 AND field = 'status' AND to_state IN ('preparing', 'shipped')`, paid.ID); n != 2 {
		t.Errorf("%d transitions", n)
	}
	// A shipped order cannot be cancelled any more.
	if _, err := e.orders.CancelOrder(admin, paid.ID, "", "too late"); err == nil {
		t.Error("shipped order cancelled")
	}
}
