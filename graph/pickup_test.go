package graph_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/cart"
	"github.com/omnicanal/omnicanal/commerce/commercetest"
	"github.com/omnicanal/omnicanal/commerce/customer"
	"github.com/omnicanal/omnicanal/commerce/demo"
	"github.com/omnicanal/omnicanal/commerce/inventory"
	"github.com/omnicanal/omnicanal/commerce/offer"
	"github.com/omnicanal/omnicanal/commerce/order"
	"github.com/omnicanal/omnicanal/commerce/payment/paymenttest"
	"github.com/omnicanal/omnicanal/commerce/pickup"
	"github.com/omnicanal/omnicanal/commerce/staff"
	"github.com/omnicanal/omnicanal/graph"
	"github.com/omnicanal/omnicanal/internal/reqid"
)

// pickupServer is one server instance with the pickup desk: its own pool
// and hubs on the shared database.
func pickupServer(t *testing.T, url string) *cartServer {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	hub := pickup.NewHub(pool, nil)
	runHub(t, hub)
	svc := services(pool)
	svc.Customers = customer.NewService(pool, customer.WithPasswordParams(customer.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}))
	svc.Offers = offer.NewService(pool)
	svc.Carts = cart.NewService(pool, svc.Offers)
	svc.Orders = order.NewService(pool, svc.Carts, inventory.NewService(pool), order.WithOffers(svc.Offers), order.WithGateway(paymenttest.New()))
	svc.Pickup = pickup.NewService(pool, svc.Orders, inventory.NewService(pool), pickup.WithHub(hub))
	logs := &logBuffer{}
	opts := graph.Options{Limits: testLimits, Logger: slog.New(slog.NewJSONHandler(logs, nil)), Staff: staff.NewService(pool)}
	srv := httptest.NewServer(reqid.Middleware(graph.NewHandler(svc, opts)))
	t.Cleanup(srv.Close)
	return &cartServer{server: &server{Server: srv, logs: logs}, pool: pool, customers: svc.Customers}
}

// staffToken makes an associate of the store code (admin when code is "")
// and returns their bearer token.
func staffToken(t *testing.T, pool *pgxpool.Pool, code string) string {
	t.Helper()
	svc := staff.NewService(pool)
	in := staff.Input{Email: uuid.NewString() + "@maison-sentier.example", Name: "Desk", Role: commerce.RoleAdmin}
	if code != "" {
		in.Role, in.LocationIDs = commerce.RoleAssociate, []commerce.ID{demo.LocationID(code)}
	}
	st, err := svc.CreateStaff(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := svc.IssueToken(t.Context(), st.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

const (
	queueFields = `fragment Q on PickupQueueEntry { customerName maskedEmail
  order { id number status paymentStatus paymentMethod arrivedAt arrivalSpot holdUntil pickupCode lines { sku quantity } } }`
	pickupQueueOp      = `query($loc: ID!) { pickupQueue(locationId: $loc) { ...Q } }` + queueFields
	pickupQueueSub     = `subscription($loc: ID!) { pickupQueueUpdated(locationId: $loc) { ...Q } }` + queueFields
	pickupOrderPayload = `{ order { id status paymentStatus pickupCode holdUntil arrivedAt arrivalSpot transitions { to actor { kind id channelId } } }
  userErrors { field message code } }`
	prepareOp  = `mutation($id: ID!) { pickupOrderPrepare(orderId: $id) ` + pickupOrderPayload + ` }`
	readyOp    = `mutation($id: ID!) { pickupOrderReady(orderId: $id) ` + pickupOrderPayload + ` }`
	handOverOp = `mutation($id: ID!, $code: String!, $payment: PickupPaymentInput) {
  pickupOrderHandOver(orderId: $id, code: $code, payment: $payment) ` + pickupOrderPayload + ` }`
	arriveOp      = `mutation($id: ID!, $token: String, $spot: String) { orderPickupArrive(orderId: $id, token: $token, spot: $spot) ` + pickupOrderPayload + ` }`
	orderCodeOp   = `query($id: ID!, $token: String) { order(id: $id, token: $token) { status pickupCode pickupQrCodeUrl holdUntil } }`
	checkoutIDsOp = `mutation($input: CartCheckoutInput!) { cartCheckout(input: $input) { order { id number } orderToken userErrors { field message code } } }`
)

func userErrorCode(r *response, field string) string {
	c, _ := at(r.Data, field, "userErrors", 0, "code").(string)
	return c
}

// The desk through the API, across two server instances: the Paris
// associate's queue subscription on B sees a guest's checkout and curbside
// arrival made through A; the associate prepares and marks the order ready
// on A, the guest reads the code with their order token, the associate
// hands over after a wrong code and with the payment taken. Lyon can
// neither see nor touch any of it.
func TestPickupDeskThroughTheAPI(t *testing.T) {
	url := commercetest.URL(t, commercetest.WithSeed("demo", seedDemo))
	a, b := pickupServer(t, url), pickupServer(t, url)
	paris, lyonTok := staffToken(t, a.pool, demo.CodeParis), staffToken(t, a.pool, demo.CodeLyon)
	parisID := demo.LocationID(demo.CodeParis).String()
	v := demo.StockedVariants(1, 20)[0]
	if _, err := a.pool.Exec(t.Context(), `UPDATE stock_levels SET on_hand = 10, reserved = 0 WHERE variant_id = $1 AND location_id = $2`,
		v, demo.LocationID(demo.CodeParis)); err != nil {
		t.Fatal(err)
	}

	ws := dialWS(t, b.server, map[string]any{graph.ChannelKeyHeader: demo.KeyPOSParis, graph.AuthorizationHeader: "Bearer " + paris})
	ws.subscribe("q", pickupQueueSub, map[string]any{"loc": parisID})
	nextQueue := func() []any {
		t.Helper()
		m := ws.read()
		if m.Type != "next" {
			t.Fatalf("want next, got %s %s", m.Type, m.Payload)
		}
		var p struct {
			Data   map[string]any `json:"data"`
			Errors []any          `json:"errors"`
		}
		if err := json.Unmarshal(m.Payload, &p); err != nil || len(p.Errors) > 0 {
			t.Fatalf("push: %v %s", err, m.Payload)
		}
		q, _ := p.Data["pickupQueueUpdated"].([]any)
		return q
	}
	if q := nextQueue(); len(q) != 0 {
		t.Fatalf("first push %v", q)
	}

	// A guest checks out through A: the order appears on B.
	cartID, cartToken := a.createCart(t, demo.KeyWebEU, line(v, 2))
	vars := checkoutVars(cartID, cartToken, demo.LocationID(demo.CodeParis), "AT_PICKUP")
	vars["input"].(map[string]any)["email"] = "zoe.martin@example.com"
	r := a.send(t, demo.KeyWebEU, "", checkoutIDsOp, vars).ok(t)
	noUserErrors(t, r, "cartCheckout")
	id, _ := at(r.Data, "cartCheckout", "order", "id").(string)
	orderToken, _ := at(r.Data, "cartCheckout", "orderToken").(string)
	q := nextQueue()
	if len(q) != 1 || at(q, 0, "order", "id") != id || at(q, 0, "order", "status") != "PLACED" || at(q, 0, "customerName") != nil ||
		at(q, 0, "maskedEmail") != "zo•••@example.com" {
		t.Fatalf("queue after checkout %v", q)
	}

	// Curbside: the guest arrives; the queue on B shows where.
	r = a.send(t, demo.KeyWebEU, "", arriveOp, map[string]any{"id": id, "token": orderToken, "spot": "bay 4"}).ok(t)
	noUserErrors(t, r, "orderPickupArrive")
	if q = nextQueue(); at(q, 0, "order", "arrivalSpot") != "bay 4" || at(q, 0, "order", "arrivedAt") == nil {
		t.Fatalf("queue after arrival %v", q)
	}
	// Without the token, nobody arrives for the guest.
	if r = a.send(t, demo.KeyWebEU, "", arriveOp, map[string]any{"id": id, "spot": "bay 5"}).ok(t); userErrorCode(r, "orderPickupArrive") != commerce.ErrNotFound {
		t.Errorf("arrival without the token: %s", r.Raw)
	}

	// Lyon can neither see Paris's queue nor act on its orders.
	if r = a.send(t, demo.KeyPOSLyon, lyonTok, pickupQueueOp, map[string]any{"loc": parisID}); r.code() != commerce.ErrForbidden {
		t.Errorf("Lyon's view of Paris's queue: %s", r.Raw)
	}
	for _, op := range []struct{ name, query string }{{"pickupOrderPrepare", prepareOp}, {"pickupOrderReady", readyOp}} {
		if r = a.send(t, demo.KeyPOSLyon, lyonTok, op.query, map[string]any{"id": id}).ok(t); userErrorCode(r, op.name) != commerce.ErrNotFound {
			t.Errorf("Lyon %s: %s", op.name, r.Raw)
		}
	}
	if r = a.send(t, demo.KeyWebEU, "", prepareOp, map[string]any{"id": id}).ok(t); userErrorCode(r, "pickupOrderPrepare") != commerce.ErrUnauthenticated {
		t.Errorf("a shopper prepares: %s", r.Raw)
	}
	lyonWS := dialWS(t, b.server, map[string]any{graph.ChannelKeyHeader: demo.KeyPOSLyon, graph.AuthorizationHeader: "Bearer " + lyonTok})
	lyonWS.subscribe("q", pickupQueueSub, map[string]any{"loc": parisID})
	if m := lyonWS.read(); m.Type != "next" || !strings.Contains(string(m.Payload), commerce.ErrForbidden) {
		t.Errorf("Lyon's subscription to Paris: %s %s", m.Type, m.Payload)
	}

	// Paris prepares and marks it ready through A; B pushes each move.
	r = a.send(t, demo.KeyPOSParis, paris, prepareOp, map[string]any{"id": id}).ok(t)
	noUserErrors(t, r, "pickupOrderPrepare")
	if q = nextQueue(); at(q, 0, "order", "status") != "PREPARING" {
		t.Fatalf("queue after prepare %v", q)
	}
	r = a.send(t, demo.KeyPOSParis, paris, readyOp, map[string]any{"id": id}).ok(t)
	noUserErrors(t, r, "pickupOrderReady")
	if at(r.Data, "pickupOrderReady", "order", "pickupCode") != nil || at(r.Data, "pickupOrderReady", "order", "holdUntil") == nil {
		t.Errorf("the associate sees %s", r.Raw)
	}
	if q = nextQueue(); at(q, 0, "order", "status") != "READY_FOR_PICKUP" || at(q, 0, "order", "pickupCode") != nil {
		t.Fatalf("queue after ready %v", q)
	}
	// The guest reads the code with their token.
	r = b.send(t, demo.KeyWebEU, "", orderCodeOp, map[string]any{"id": id, "token": orderToken}).ok(t)
	code, _ := at(r.Data, "order", "pickupCode").(string)
	if len(code) != pickup.CodeLen || at(r.Data, "order", "pickupQrCodeUrl") != graph.PickupQRPath+"?code="+code {
		t.Fatalf("the guest's code: %s", r.Raw)
	}
	r = a.send(t, demo.KeyPOSParis, paris, orderCodeOp, map[string]any{"id": id}).ok(t)
	if at(r.Data, "order", "status") != "READY_FOR_PICKUP" || at(r.Data, "order", "pickupCode") != nil || at(r.Data, "order", "pickupQrCodeUrl") != nil {
		t.Errorf("the associate reads the order: %s", r.Raw)
	}

	// A wrong code, then the right one without and with the payment.
	r = a.send(t, demo.KeyPOSParis, paris, handOverOp, map[string]any{"id": id, "code": "222222", "payment": map[string]any{"tender": "CASH"}}).ok(t)
	if userErrorCode(r, "pickupOrderHandOver") != commerce.ErrInvalidInput || at(r.Data, "pickupOrderHandOver", "userErrors", 0, "field", 0) != "code" {
		t.Errorf("wrong code: %s", r.Raw)
	}
	r = a.send(t, demo.KeyPOSParis, paris, handOverOp, map[string]any{"id": id, "code": code}).ok(t)
	if userErrorCode(r, "pickupOrderHandOver") != commerce.ErrInvalidInput {
		t.Errorf("no payment: %s", r.Raw)
	}
	r = a.send(t, demo.KeyPOSParis, paris, handOverOp, map[string]any{"id": id, "code": strings.ToLower(code),
		"payment": map[string]any{"tender": "CASH"}}).ok(t)
	noUserErrors(t, r, "pickupOrderHandOver")
	if at(r.Data, "pickupOrderHandOver", "order", "status") != "PICKED_UP" || at(r.Data, "pickupOrderHandOver", "order", "paymentStatus") != "PAID" {
		t.Errorf("handed over: %s", r.Raw)
	}
	ts, _ := at(r.Data, "pickupOrderHandOver", "order", "transitions").([]any)
	last := ts[len(ts)-1]
	if at(last, "to") != "picked_up" || at(last, "actor", "kind") != "STAFF" || at(last, "actor", "channelId") == nil {
		t.Errorf("last transition %v", last)
	}
	if q = nextQueue(); len(q) != 0 {
		t.Fatalf("queue after hand-over %v", q)
	}
	// The admin sees every store's queue.
	if r = a.send(t, demo.KeyPOSLyon, staffToken(t, a.pool, ""), pickupQueueOp, map[string]any{"loc": parisID}).ok(t); r.Data["pickupQueue"] == nil {
		t.Errorf("admin: %s", r.Raw)
	}
}
