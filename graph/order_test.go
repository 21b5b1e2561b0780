package graph_test

import (
	"context"
	"regexp"
	"sync"
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
	"github.com/omnicanal/omnicanal/commerce/staff"
	"github.com/omnicanal/omnicanal/graph"
)

type orderServer struct {
	*cartServer
	gw *paymenttest.Gateway
	// lyonAssociate works in the Lyon store.
	lyonAssociate string
}

func newOrderServer(t *testing.T) *orderServer {
	t.Helper()
	pool := demoDB(t)
	svc := services(pool)
	svc.Customers = customer.NewService(pool, customer.WithPasswordParams(customer.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}))
	svc.Offers = offer.NewService(pool)
	svc.Carts = cart.NewService(pool, svc.Offers)
	gw := paymenttest.New()
	svc.Orders = order.NewService(pool, svc.Carts, inventory.NewService(pool), order.WithOffers(svc.Offers), order.WithGateway(gw))
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
	s.associate, s.lyonAssociate = token(demo.CodeParis), token(demo.CodeLyon)
	return s
}

// setStock sets a variant's units at a store (a fixture: the ERP feed's job).
func (s *orderServer) setStock(t *testing.T, v commerce.ID, code string, onHand int) {
	t.Helper()
	if _, err := s.pool.Exec(context.Background(), `INSERT INTO stock_levels (variant_id, location_id, on_hand) VALUES ($1, $2, $3)
		ON CONFLICT (variant_id, location_id) DO UPDATE SET on_hand = $3, reserved = 0`, v, demo.LocationID(code), onHand); err != nil {
		t.Fatal(err)
	}
}

const orderFields = `fragment O on Order {
  id number status paymentStatus paymentMethod email customerId channelId
  fulfillment { kind location { code name } shippingAddress { name city countryCode } }
  lines { sku title variantTitle quantity unitPrice { amount currencyCode } subtotal { amount } discountTotal { amount }
    tax { amount } total { amount } taxRate adjustments { offerId offerVersion description amount { amount } } addedByChannelId }
  adjustments { offerId description }
  cost { subtotal { amount } discountTotal { amount } shipping { amount } tax { amount currencyCode } total { amount currencyCode } }
  expiresAt placedAt createdAt
  transitions { field from to actor { kind id channelId } reason at }
  payments { provider intentId amount { amount } status method tender reference }
}`

const (
	checkoutOp = `mutation($input: CartCheckoutInput!) {
  cartCheckout(input: $input) { order { ...O } orderToken payment { intentId clientSecret status }
    userErrors { field message code stores { code name } } } }` + orderFields
	orderQuery      = `query($id: ID!, $token: String) { order(id: $id, token: $token) { ...O } }` + orderFields
	confirmOp       = `mutation($id: ID!, $token: String) { orderConfirmPayment(orderId: $id, token: $token) { order { ...O } userErrors { field message code } } }` + orderFields
	cancelOp        = `mutation($id: ID!, $token: String) { orderCancel(orderId: $id, token: $token) { order { ...O } userErrors { field message code } } }` + orderFields
	myOrdersOp      = `query { me { orders(first: 10) { nodes { number status } edges { cursor } pageInfo { hasNextPage endCursor } } } }`
	pickupParis     = `PARIS`
	paymentAtPickup = `AT_PICKUP`
)

func checkoutVars(cartID, token string, store commerce.ID, method string) map[string]any {
	return map[string]any{"input": map[string]any{"cartId": cartID, "token": token, "idempotencyKey": uuid.NewString(),
		"fulfillment": map[string]any{"pickup": map[string]any{"storeId": store.String()}},
		"payment":     map[string]any{"method": method}}}
}

func TestCartCheckoutPickupAtPickup(t *testing.T) {
	s := newOrderServer(t)
	v := demo.StockedVariants(1, 20)[0]
	s.setStock(t, v, demo.CodeParis, 10)
	cartID, token := s.createCart(t, demo.KeyWebEU, line(v, 2))
	r := s.send(t, demo.KeyWebEU, "", checkoutOp, checkoutVars(cartID, token, demo.LocationID(demo.CodeParis), paymentAtPickup)).ok(t)
	noUserErrors(t, r, "cartCheckout")
	o, _ := at(r.Data, "cartCheckout", "order").(map[string]any)
	orderToken, _ := at(r.Data, "cartCheckout", "orderToken").(string)
	if o == nil || orderToken == "" {
		t.Fatalf("no order or token: %s", r.Raw)
	}
	if n, _ := o["number"].(string); !regexp.MustCompile(`^MS-\d{6,}$`).MatchString(n) {
		t.Errorf("number %q", n)
	}
	if o["status"] != "PLACED" || o["paymentStatus"] != "UNPAID" || o["paymentMethod"] != "AT_PICKUP" ||
		at(o, "fulfillment", "kind") != "PICKUP" || at(o, "fulfillment", "location", "code") != demo.CodeParis {
		t.Errorf("order %v", o)
	}
	if at(o, "lines", 0, "taxRate") != "20" || at(o, "lines", 0, "quantity") != float64(2) || at(o, "cost", "tax", "currencyCode") != "EUR" {
		t.Errorf("lines %v cost %v", o["lines"], o["cost"])
	}
	if at(o, "transitions", 0, "to") != "placed" || at(o, "transitions", 0, "actor", "kind") != "CUSTOMER" {
		t.Errorf("transitions %v", o["transitions"])
	}
	id := o["id"].(string)
	// The order reads back with its token, and only with it.
	r = s.send(t, demo.KeyWebEU, "", orderQuery, map[string]any{"id": id, "token": orderToken}).ok(t)
	if at(r.Data, "order", "number") != o["number"] {
		t.Errorf("order query %s", r.Raw)
	}
	for name, bearer := range map[string]string{"no token": "", "associate of Lyon": s.lyonAssociate} {
		r = s.send(t, demo.KeyWebEU, bearer, orderQuery, map[string]any{"id": id})
		if r.code() != commerce.ErrNotFound {
			t.Errorf("%s: %s", name, r.Raw)
		}
	}
	r = s.send(t, demo.KeyWebEU, s.associate, orderQuery, map[string]any{"id": id}).ok(t)
	if at(r.Data, "order", "id") != id {
		t.Errorf("associate of Paris: %s", r.Raw)
	}
	// The cart says converted; checking it out again gives the same order.
	r = s.send(t, demo.KeyWebEU, "", checkoutOp, checkoutVars(cartID, token, demo.LocationID(demo.CodeParis), paymentAtPickup)).ok(t)
	noUserErrors(t, r, "cartCheckout")
	if at(r.Data, "cartCheckout", "order", "id") != id {
		t.Errorf("second checkout: %s", r.Raw)
	}
	r = s.send(t, demo.KeyWebEU, "", cartQuery, map[string]any{"id": cartID, "token": token}).ok(t)
	if at(r.Data, "cart", "status") != "CONVERTED" {
		t.Errorf("cart %s", r.Raw)
	}
}

func TestCartCheckoutOnlineAndConfirm(t *testing.T) {
	s := newOrderServer(t)
	v := demo.StockedVariants(1, 20)[0]
	s.setStock(t, v, demo.CodeParis, 10)
	cartID, token := s.createCart(t, demo.KeyWebEU, line(v, 1))
	r := s.send(t, demo.KeyWebEU, "", checkoutOp, checkoutVars(cartID, token, demo.LocationID(demo.CodeParis), "ONLINE")).ok(t)
	noUserErrors(t, r, "cartCheckout")
	intent, _ := at(r.Data, "cartCheckout", "payment", "intentId").(string)
	secret, _ := at(r.Data, "cartCheckout", "payment", "clientSecret").(string)
	if intent == "" || secret == "" || at(r.Data, "cartCheckout", "order", "status") != "PENDING_PAYMENT" {
		t.Fatalf("online checkout %s", r.Raw)
	}
	id := at(r.Data, "cartCheckout", "order", "id").(string)
	orderToken := at(r.Data, "cartCheckout", "orderToken").(string)
	// Confirmed before the provider says so: nothing changes.
	r = s.send(t, demo.KeyWebEU, "", confirmOp, map[string]any{"id": id, "token": orderToken}).ok(t)
	noUserErrors(t, r, "orderConfirmPayment")
	if at(r.Data, "orderConfirmPayment", "order", "paymentStatus") != "PENDING" {
		t.Errorf("before payment: %s", r.Raw)
	}
	s.gw.Succeed(intent)
	r = s.send(t, demo.KeyWebEU, "", confirmOp, map[string]any{"id": id, "token": orderToken}).ok(t)
	noUserErrors(t, r, "orderConfirmPayment")
	if at(r.Data, "orderConfirmPayment", "order", "paymentStatus") != "PAID" || at(r.Data, "orderConfirmPayment", "order", "status") != "PLACED" {
		t.Errorf("after payment: %s", r.Raw)
	}
	// Cancelled by the guest: the stock comes back and the payment is refunded.
	r = s.send(t, demo.KeyWebEU, "", cancelOp, map[string]any{"id": id, "token": orderToken}).ok(t)
	noUserErrors(t, r, "orderCancel")
	if at(r.Data, "orderCancel", "order", "status") != "CANCELLED" || at(r.Data, "orderCancel", "order", "paymentStatus") != "REFUNDED" ||
		s.gw.RefundCalls.Load() != 1 {
		t.Errorf("cancel: %s", r.Raw)
	}
	// The client secret is never stored.
	var n int
	if err := s.pool.QueryRow(context.Background(), `SELECT count(*) FROM order_payments p WHERE p::text LIKE '%' || $1 || '%'`, secret).Scan(&n); err != nil || n != 0 {
		t.Errorf("client secret stored (%d, %v)", n, err)
	}
}

// Shoppers race for the last units through the API: exactly as many orders
// as units, every other shopper an OUT_OF_STOCK user error (never a
// top-level or internal error).
func TestCartCheckoutRaceThroughAPI(t *testing.T) {
	s := newOrderServer(t)
	v := demo.StockedVariants(1, 20)[0]
	const shoppers, units = 200, 5
	type c struct{ id, token string }
	carts := make([]c, shoppers)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range carts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			carts[i].id, carts[i].token = s.createCart(t, demo.KeyWebEU, line(v, 1))
		}()
	}
	wg.Wait()
	s.setStock(t, v, demo.CodeParis, units)
	var (
		mu       sync.Mutex
		won, oos int
		bad      []string
		start    = make(chan struct{})
	)
	for _, cart := range carts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := s.send(t, demo.KeyWebEU, "", checkoutOp, checkoutVars(cart.id, cart.token, demo.LocationID(demo.CodeParis), paymentAtPickup))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case r.Status != 200 || len(r.Errors) > 0:
				bad = append(bad, string(r.Raw))
			case at(r.Data, "cartCheckout", "order", "id") != nil:
				won++
			case at(r.Data, "cartCheckout", "userErrors", 0, "code") == commerce.ErrOutOfStock:
				oos++
			default:
				bad = append(bad, string(r.Raw))
			}
		}()
	}
	close(start)
	wg.Wait()
	if won != units || oos != shoppers-units || len(bad) > 0 {
		t.Fatalf("won %d, out of stock %d, bad %d: %v", won, oos, len(bad), bad[:min(len(bad), 3)])
	}
	var onHand, reserved int
	if err := s.pool.QueryRow(context.Background(), `SELECT on_hand, reserved FROM stock_levels WHERE variant_id = $1 AND location_id = $2`,
		v, demo.LocationID(demo.CodeParis)).Scan(&onHand, &reserved); err != nil || onHand != units || reserved != units {
		t.Errorf("stock %d/%d, %v", onHand, reserved, err)
	}
}

func TestCartCheckoutUserErrors(t *testing.T) {
	s := newOrderServer(t)
	v := demo.StockedVariants(1, 20)[0]
	s.setStock(t, v, demo.CodeParis, 1)
	s.setStock(t, v, demo.CodeLyon, 5)
	cartID, token := s.createCart(t, demo.KeyWebEU, line(v, 2))
	r := s.send(t, demo.KeyWebEU, "", checkoutOp, checkoutVars(cartID, token, demo.LocationID(demo.CodeParis), paymentAtPickup)).ok(t)
	if at(r.Data, "cartCheckout", "order") != nil || at(r.Data, "cartCheckout", "userErrors", 0, "code") != commerce.ErrOutOfStock {
		t.Fatalf("out of stock: %s", r.Raw)
	}
	found := false
	stores, _ := at(r.Data, "cartCheckout", "userErrors", 0, "stores").([]any)
	for _, st := range stores {
		found = found || at(st, "code") == demo.CodeLyon
	}
	if !found {
		t.Errorf("Lyon not suggested: %s", r.Raw)
	}
	// In store without a staff token.
	vars := checkoutVars(cartID, token, demo.LocationID(demo.CodeLyon), "IN_STORE")
	vars["input"].(map[string]any)["payment"] = map[string]any{"method": "IN_STORE", "tender": "CASH"}
	r = s.send(t, demo.KeyPOSLyon, "", checkoutOp, vars).ok(t)
	if at(r.Data, "cartCheckout", "userErrors", 0, "code") != commerce.ErrUnauthenticated {
		t.Errorf("in store without staff: %s", r.Raw)
	}
	// A pickup at a warehouse names the field.
	r = s.send(t, demo.KeyWebEU, "", checkoutOp, checkoutVars(cartID, token, demo.LocationID(demo.CodeWarehouseFR), paymentAtPickup)).ok(t)
	if at(r.Data, "cartCheckout", "userErrors", 0, "code") != commerce.ErrInvalidInput ||
		at(r.Data, "cartCheckout", "userErrors", 0, "field", 3) != "storeId" {
		t.Errorf("warehouse pickup: %s", r.Raw)
	}
}

func TestCustomerOrdersFromEveryChannel(t *testing.T) {
	s := newOrderServer(t)
	v := demo.StockedVariants(1, 20)[0]
	s.setStock(t, v, demo.CodeParis, 10)
	_, bearer := s.signUp(t)
	var numbers []string
	for _, key := range []string{demo.KeyWebEU, demo.KeyKioskParis} {
		r := s.send(t, key, bearer, cartCreateOp, map[string]any{"input": map[string]any{"lines": []any{line(v, 1)}}}).ok(t)
		noUserErrors(t, r, "cartCreate")
		cartID := at(r.Data, "cartCreate", "cart", "id").(string)
		r = s.send(t, key, bearer, checkoutOp, checkoutVars(cartID, "", demo.LocationID(demo.CodeParis), paymentAtPickup)).ok(t)
		noUserErrors(t, r, "cartCheckout")
		if at(r.Data, "cartCheckout", "orderToken") != nil {
			t.Errorf("a customer got an order token: %s", r.Raw)
		}
		numbers = append(numbers, at(r.Data, "cartCheckout", "order", "number").(string))
	}
	r := s.send(t, demo.KeyMobileEU, bearer, myOrdersOp, nil).ok(t)
	nodes, _ := at(r.Data, "me", "orders", "nodes").([]any)
	if len(nodes) != 2 || at(nodes[0], "number") != numbers[1] || at(nodes[1], "number") != numbers[0] {
		t.Errorf("orders %s, want %v newest first", r.Raw, numbers)
	}
	// Someone else sees none of them.
	_, other := s.signUp(t)
	r = s.send(t, demo.KeyWebEU, other, myOrdersOp, nil).ok(t)
	if nodes, _ := at(r.Data, "me", "orders", "nodes").([]any); len(nodes) != 0 {
		t.Errorf("another customer's orders: %s", r.Raw)
	}
}
