package graph_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/cart"
	"github.com/omnicanal/omnicanal/commerce/channel"
	"github.com/omnicanal/omnicanal/commerce/commercetest"
	"github.com/omnicanal/omnicanal/commerce/demo"
	"github.com/omnicanal/omnicanal/commerce/inventory"
	"github.com/omnicanal/omnicanal/commerce/offer"
	"github.com/omnicanal/omnicanal/commerce/order"
	"github.com/omnicanal/omnicanal/commerce/payment"
	"github.com/omnicanal/omnicanal/commerce/payment/paymenttest"
	"github.com/omnicanal/omnicanal/commerce/staff"
	"github.com/omnicanal/omnicanal/graph"
	"github.com/omnicanal/omnicanal/internal/reqid"
)

const (
	shipmentPayload = `{ order { id status carrier trackingNumber shippedAt transitions { to actor { kind id } } } userErrors { field message code } }`
	shipPrepareOp   = `mutation($id: ID!) { orderShipmentPrepare(orderId: $id) ` + shipmentPayload + ` }`
	shipOp          = `mutation($id: ID!, $carrier: String!, $tracking: String!) {
  orderShip(orderId: $id, carrier: $carrier, trackingNumber: $tracking) ` + shipmentPayload + ` }`
)

// Staff of the warehouse prepare and ship a paid online order through the
// API; Lyon cannot reach it, shipping twice is a CONFLICT, a pickup order
// is not shipped, an unpaid one neither.
func TestShippingThroughTheAPI(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, commercetest.URL(t, commercetest.WithSeed("demo", seedDemo)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	gw := paymenttest.New()
	svc := services(pool)
	svc.Offers = offer.NewService(pool)
	svc.Carts = cart.NewService(pool, svc.Offers)
	svc.Orders = order.NewService(pool, svc.Carts, inventory.NewService(pool), order.WithOffers(svc.Offers), order.WithGateway(gw))
	srv := httptest.NewServer(reqid.Middleware(graph.NewHandler(svc, graph.Options{Limits: testLimits,
		Logger: slog.New(slog.DiscardHandler), Staff: staff.NewService(pool)})))
	t.Cleanup(srv.Close)
	s := &cartServer{server: &server{Server: srv, logs: &logBuffer{}}, pool: pool}

	wh := demo.LocationID(demo.CodeWarehouseFR)
	v := demo.StockedVariants(1, 20)[0]
	if _, err := pool.Exec(ctx, `INSERT INTO stock_levels (variant_id, location_id, on_hand) VALUES ($1, $2, 5)
		ON CONFLICT (variant_id, location_id) DO UPDATE SET on_hand = 5, reserved = 0`, v, wh); err != nil {
		t.Fatal(err)
	}
	ch, err := channel.NewService(pool).FindChannelByKey(ctx, demo.KeyWebEU)
	if err != nil {
		t.Fatal(err)
	}
	web := channel.NewContext(ctx, ch)
	checkout := func(f order.Fulfillment, m order.PaymentMethod) *order.CheckoutResult {
		t.Helper()
		c, token, err := svc.Carts.CreateCart(web, cart.CreateInput{Lines: []cart.LineInput{{VariantID: v, Quantity: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		res, err := svc.Orders.Checkout(web, order.CheckoutInput{CartID: c.ID, Token: token, Fulfillment: f,
			Payment: order.PaymentInput{Method: m}, IdempotencyKey: uuid.NewString()})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	shipping := order.Fulfillment{Shipping: &order.ShippingInput{FromLocationID: &wh,
		Address: order.Address{Name: "Anna", Line1: "1 rue de la Paix", City: "Paris", PostalCode: "75002", CountryCode: "FR"}}}
	res := checkout(shipping, order.Online)
	unpaid := checkout(shipping, order.Online)
	in := gw.Succeed(res.Payment.IntentID)
	if err := svc.Orders.HandlePaymentEvent(ctx, payment.Event{ID: "evt_ship", Type: payment.IntentSucceeded, IntentID: in.ID,
		OrderID: &res.Order.ID, Amount: in.Amount, Received: in.Received}); err != nil {
		t.Fatal(err)
	}
	id := res.Order.ID.String()
	whTok, lyonTok := staffToken(t, pool, demo.CodeWarehouseFR), staffToken(t, pool, demo.CodeLyon)
	ship := map[string]any{"id": id, "carrier": "Colissimo", "tracking": "6A98765"}

	if r := s.send(t, demo.KeyWebEU, lyonTok, shipPrepareOp, map[string]any{"id": id}).ok(t); userErrorCode(r, "orderShipmentPrepare") != commerce.ErrNotFound {
		t.Errorf("Lyon prepares: %s", r.Raw)
	}
	if r := s.send(t, demo.KeyWebEU, "", shipOp, ship).ok(t); userErrorCode(r, "orderShip") != commerce.ErrUnauthenticated {
		t.Errorf("a shopper ships: %s", r.Raw)
	}
	if r := s.send(t, demo.KeyWebEU, whTok, shipOp, map[string]any{"id": unpaid.Order.ID.String(), "carrier": "Colissimo", "tracking": "1"}).ok(t); userErrorCode(r, "orderShip") != commerce.ErrConflict {
		t.Errorf("unpaid order shipped: %s", r.Raw)
	}
	r := s.send(t, demo.KeyWebEU, whTok, shipPrepareOp, map[string]any{"id": id}).ok(t)
	noUserErrors(t, r, "orderShipmentPrepare")
	if at(r.Data, "orderShipmentPrepare", "order", "status") != "PREPARING" || at(r.Data, "orderShipmentPrepare", "order", "carrier") != nil {
		t.Errorf("prepared: %s", r.Raw)
	}
	r = s.send(t, demo.KeyWebEU, whTok, shipOp, ship).ok(t)
	noUserErrors(t, r, "orderShip")
	o := at(r.Data, "orderShip", "order")
	if at(o, "status") != "SHIPPED" || at(o, "carrier") != "Colissimo" || at(o, "trackingNumber") != "6A98765" || at(o, "shippedAt") == nil {
		t.Errorf("shipped: %s", r.Raw)
	}
	if r = s.send(t, demo.KeyWebEU, whTok, shipOp, ship).ok(t); userErrorCode(r, "orderShip") != commerce.ErrConflict {
		t.Errorf("shipped twice: %s", r.Raw)
	}
	var onHand int
	if err := pool.QueryRow(ctx, `SELECT on_hand FROM stock_levels WHERE variant_id = $1 AND location_id = $2`, v, wh).Scan(&onHand); err != nil || onHand != 4 {
		t.Errorf("warehouse on hand %d, %v", onHand, err)
	}
	if r = s.send(t, demo.KeyWebEU, whTok, shipOp, map[string]any{"id": id, "carrier": "", "tracking": "1"}).ok(t); userErrorCode(r, "orderShip") != commerce.ErrInvalidInput {
		t.Errorf("empty carrier: %s", r.Raw)
	}

	// A pickup order is not shipped, even by an admin.
	if _, err := pool.Exec(ctx, `UPDATE stock_levels SET on_hand = 5, reserved = 0 WHERE variant_id = $1 AND location_id = $2`, v, demo.LocationID(demo.CodeParis)); err != nil {
		t.Fatal(err)
	}
	pick := checkout(order.Fulfillment{Pickup: &order.PickupInput{LocationID: demo.LocationID(demo.CodeParis)}}, order.AtPickup)
	if r = s.send(t, demo.KeyWebEU, staffToken(t, pool, ""), shipOp, map[string]any{"id": pick.Order.ID.String(), "carrier": "C", "tracking": "1"}).ok(t); userErrorCode(r, "orderShip") != commerce.ErrConflict {
		t.Errorf("pickup order shipped: %s", r.Raw)
	}
}
