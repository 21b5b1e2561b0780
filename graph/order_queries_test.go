package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/cart"
	"github.com/omnicanal/omnicanal/commerce/customer"
	"github.com/omnicanal/omnicanal/commerce/demo"
	"github.com/omnicanal/omnicanal/commerce/inventory"
	"github.com/omnicanal/omnicanal/commerce/offer"
	"github.com/omnicanal/omnicanal/commerce/order"
	"github.com/omnicanal/omnicanal/commerce/payment/paymenttest"
	"github.com/omnicanal/omnicanal/commerce/returns"
	"github.com/omnicanal/omnicanal/commerce/staff"
)

// myOrdersFullOp is an order history page with everything each order
// shows: its lines, transitions, payments, returns and store.
const myOrdersFullOp = `query($n: Int) { me { orders(first: $n) { nodes { id number
  lines { sku quantity total { amount } }
  transitions { field from to actor { kind } reason }
  payments { id provider status tender amount { amount } }
  returns { id status store { code } lines { quantity } }
  fulfillment { location { name } } } } } }`

// A customer's order history with lines, transitions, payments, returns
// and stores costs the same number of statements for 3 orders as for 12:
// no N+1. Half the orders are picked up, paid at the till and partly
// returned, so the batched rows must also reach the right orders.
func TestCustomerOrdersQueryCountIsConstant(t *testing.T) {
	tracer := &sessionTouchFreeTracer{}
	pool, _ := tracedDemoDB(t, tracer)

	svc := services(pool)
	svc.Customers = customer.NewService(pool, customer.WithPasswordParams(customer.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}))
	svc.Offers = offer.NewService(pool)
	svc.Carts = cart.NewService(pool, svc.Offers)
	inv := inventory.NewService(pool)
	svc.Orders = order.NewService(pool, svc.Carts, inv, order.WithOffers(svc.Offers), order.WithGateway(paymenttest.New()))
	svc.Returns = returns.NewService(pool, svc.Orders, inv, svc.Offers, nil)
	s := &orderServer{cartServer: &cartServer{server: newServer(t, svc), pool: pool, customers: svc.Customers}}
	ctx := context.Background()
	desk, err := staff.NewService(pool).CreateStaff(ctx, staff.Input{Email: uuid.NewString() + "@maison-sentier.example",
		Name: "Associate", Role: commerce.RoleAssociate, LocationIDs: []commerce.ID{demo.LocationID(demo.CodeParis)}})
	if err != nil {
		t.Fatal(err)
	}
	v := demo.StockedVariants(1, 20)[0]
	s.setStock(t, v, demo.CodeParis, 100)
	customerID, bearer := s.signUp(t)

	placed := 0
	place := func(n int) {
		t.Helper()
		for range n {
			placed++
			r := s.send(t, demo.KeyWebEU, bearer, cartCreateOp, map[string]any{"input": map[string]any{"lines": []any{line(v, 2)}}}).ok(t)
			noUserErrors(t, r, "cartCreate")
			cartID := at(r.Data, "cartCreate", "cart", "id").(string)
			r = s.send(t, demo.KeyWebEU, bearer, checkoutOp, checkoutVars(cartID, "", demo.LocationID(demo.CodeParis), paymentAtPickup)).ok(t)
			noUserErrors(t, r, "cartCheckout")
			if placed%2 == 1 {
				continue // left placed, unpaid, without returns
			}
			// Collected and paid at the till (the pickup desk's work,
			// done here as fixture), then one unit returned by the
			// customer through the API.
			id := uuid.MustParse(at(r.Data, "cartCheckout", "order", "id").(string))
			var lineID commerce.ID
			if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				o, err := order.FindOrderByIDTx(ctx, tx, id, true)
				if err != nil {
					return err
				}
				lineID = o.Lines[0].ID
				for _, to := range []order.Status{order.Preparing, order.ReadyForPickup} {
					if err := order.TransitionTx(ctx, tx, o, to, order.SystemActor, "test"); err != nil {
						return err
					}
				}
				staffActor := order.Actor{Kind: order.ActorStaff, ID: &desk.ID}
				if err := order.RecordInStorePaymentTx(ctx, tx, o, order.Cash, "", desk.ID, staffActor); err != nil {
					return err
				}
				if err := order.TransitionTx(ctx, tx, o, order.PickedUp, staffActor, "handed over"); err != nil {
					return err
				}
				return inv.FulfilTx(ctx, tx, id)
			}); err != nil {
				t.Fatal(err)
			}
			r = s.send(t, demo.KeyWebEU, bearer, returnCreateOp, map[string]any{"input": map[string]any{
				"orderId": id.String(), "storeId": demo.LocationID(demo.CodeParis).String(),
				"lines":  []any{map[string]any{"orderLineId": lineID.String(), "quantity": 1}},
				"refund": map[string]any{"method": "ORIGINAL"}, "reason": "too small", "idempotencyKey": uuid.NewString()}}).ok(t)
			noUserErrors(t, r, "returnCreate")
		}
	}

	counts := map[int]int64{}
	for _, n := range []int{3, 12} {
		place(n - placed)
		tracer.n.Store(0)
		r := s.send(t, demo.KeyWebEU, bearer, myOrdersFullOp, map[string]any{"n": 20}).ok(t)
		counts[n] = tracer.n.Load()
		nodes, _ := at(r.Data, "me", "orders", "nodes").([]any)
		if len(nodes) != n {
			t.Fatalf("%d orders listed, want %d: %s", len(nodes), n, r.Raw)
		}
		checkOrderFields(t, svc.Orders, svc.Returns, customerID, nodes)
	}
	// The session and the customer, the page and its lines, the
	// transitions, the payments, the returns and their lines, the stores.
	const budget = 9
	for n, got := range counts {
		if got > budget {
			t.Errorf("%d orders cost %d statements, want at most %d", n, got, budget)
		}
	}
	if counts[3] != counts[12] {
		t.Errorf("statement count grows with the orders: %v", counts)
	}
}

// sessionTouchFreeTracer counts as countingTracer does, without the
// customer session's last-used write: authentication makes it at most once
// a minute, on whichever request crosses the minute, so on a slow machine
// it may fall on the query under test and says nothing of it.
type sessionTouchFreeTracer struct{ countingTracer }

func (c *sessionTouchFreeTracer) TraceQueryStart(ctx context.Context, conn *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if strings.HasPrefix(strings.TrimSpace(d.SQL), "UPDATE customer_sessions SET last_used_at") {
		return ctx
	}
	return c.countingTracer.TraceQueryStart(ctx, conn, d)
}

// checkOrderFields compares what the page shows of each order with the
// order's own, unbatched reads.
func checkOrderFields(t *testing.T, orders *order.Service, rets *returns.Service, customerID commerce.ID, nodes []any) {
	t.Helper()
	ctx := commerce.WithCustomer(context.Background(), customerID)
	var withReturns int
	for _, node := range nodes {
		id := uuid.MustParse(at(node, "id").(string))
		ts, err := orders.FindTransitions(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		ps, err := orders.FindPayments(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := rets.FindReturnsByOrderID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var want struct {
			Transitions []map[string]any `json:"transitions"`
			Payments    []map[string]any `json:"payments"`
			Returns     []map[string]any `json:"returns"`
		}
		for _, tr := range ts {
			want.Transitions = append(want.Transitions, map[string]any{"field": tr.Field, "from": tr.From, "to": tr.To,
				"actor": map[string]any{"kind": strings.ToUpper(string(tr.Actor.Kind))}, "reason": tr.Reason})
		}
		for _, p := range ps {
			var tender any
			if p.Tender != nil {
				tender = strings.ToUpper(string(*p.Tender))
			}
			want.Payments = append(want.Payments, map[string]any{"id": p.ID.String(), "provider": p.Provider,
				"status": strings.ToUpper(string(p.Status)), "tender": tender, "amount": map[string]any{"amount": p.Amount.Decimal()}})
		}
		for _, ret := range rs {
			var lines []any
			for _, l := range ret.Lines {
				lines = append(lines, map[string]any{"quantity": l.Quantity})
			}
			want.Returns = append(want.Returns, map[string]any{"id": ret.ID.String(), "status": strings.ToUpper(string(ret.Status)),
				"store": map[string]any{"code": demo.CodeParis}, "lines": lines})
		}
		withReturns += min(len(rs), 1)
		for field, w := range map[string]any{"transitions": want.Transitions, "payments": want.Payments, "returns": want.Returns} {
			if !sameJSON(t, w, at(node, field)) {
				t.Errorf("order %s %s: got %s, want %s", at(node, "number"), field, jsonOf(t, at(node, field)), jsonOf(t, w))
			}
		}
		if len(ts) == 0 || at(node, "fulfillment", "location", "name") == nil || at(node, "lines", 0, "quantity") != float64(2) {
			t.Errorf("order %s: %s", at(node, "number"), jsonOf(t, node))
		}
	}
	if withReturns != len(nodes)/2 {
		t.Errorf("%d of %d orders have returns, want half", withReturns, len(nodes))
	}
}

// sameJSON tells whether want, marshalled, reads back as got (a decoded
// response value); an empty want matches an empty list.
func sameJSON(t *testing.T, want, got any) bool {
	t.Helper()
	var w any
	if err := json.Unmarshal([]byte(jsonOf(t, want)), &w); err != nil {
		t.Fatal(err)
	}
	if w == nil {
		w = []any{}
	}
	return jsonOf(t, w) == jsonOf(t, got)
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(fmt.Errorf("marshal: %w", err))
	}
	return string(b)
}
