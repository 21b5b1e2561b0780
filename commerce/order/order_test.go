package order_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/cart"
	"github.com/omnicanal/omnicanal/commerce/channel"
	"github.com/omnicanal/omnicanal/commerce/commercetest"
	"github.com/omnicanal/omnicanal/commerce/customer"
	"github.com/omnicanal/omnicanal/commerce/demo"
	"github.com/omnicanal/omnicanal/commerce/inventory"
	"github.com/omnicanal/omnicanal/commerce/offer"
	"github.com/omnicanal/omnicanal/commerce/order"
	"github.com/omnicanal/omnicanal/commerce/payment"
	"github.com/omnicanal/omnicanal/commerce/payment/paymenttest"
	"github.com/omnicanal/omnicanal/commerce/staff"
)

func TestMain(m *testing.M) { commercetest.Main(m) }

var (
	paris = demo.LocationID(demo.CodeParis)
	lyon  = demo.LocationID(demo.CodeLyon)
)

type env struct {
	pool   *pgxpool.Pool
	carts  *cart.Service
	inv    *inventory.Service
	orders *order.Service
	gw     *paymenttest.Gateway
	clock  *clock
}

type clock struct {
	mu sync.Mutex
	at time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = c.at.Add(d)
}

func newEnv(t testing.TB) *env {
	t.Helper()
	pool := commercetest.NewDB(t, commercetest.WithDemo())
	offers := offer.NewService(pool)
	e := &env{pool: pool, carts: cart.NewService(pool, offers), inv: inventory.NewService(pool), gw: paymenttest.New(),
		clock: &clock{at: time.Now()}}
	e.orders = order.NewService(pool, e.carts, e.inv, order.WithOffers(offers), order.WithGateway(e.gw), order.WithClock(e.clock.now))
	return e
}

// on returns ctx speaking through the demo channel with that key.
func (e *env) on(t testing.TB, ctx context.Context, key string) context.Context {
	t.Helper()
	ch, err := channel.NewService(e.pool).FindChannelByKey(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	return channel.NewContext(ctx, ch)
}

func (e *env) web(t testing.TB) context.Context { return e.on(t, context.Background(), demo.KeyWebEU) }

// staffCtx acts for a new staff user of role (associates of locs).
func (e *env) staffCtx(t testing.TB, key string, role commerce.Role, locs ...commerce.ID) context.Context {
	t.Helper()
	st, err := staff.NewService(e.pool).CreateStaff(context.Background(), staff.Input{
		Email: fmt.Sprintf("%s-%s@example.com", role, commerce.NewID()), Name: string(role), Role: role, LocationIDs: locs})
	if err != nil {
		t.Fatal(err)
	}
	ctx := commerce.WithPrincipal(context.Background(), commerce.Principal{StaffID: st.ID, Role: st.Role, LocationIDs: st.LocationIDs})
	return e.on(t, ctx, key)
}

func (e *env) customerCtx(t testing.TB) context.Context {
	t.Helper()
	svc := customer.NewService(e.pool, customer.WithPasswordParams(customer.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}))
	c, _, err := svc.SignUp(context.Background(), uuid.NewString()+"@example.com", "correct horse battery", "Anna")
	if err != nil {
		t.Fatal(err)
	}
	return e.on(t, commerce.WithCustomer(context.Background(), c.ID), demo.KeyWebEU)
}

// variant returns a demo variant sold everywhere, with its stock set to
// onHand at Paris (and left as it is elsewhere).
func (e *env) variant(t testing.TB, i, onHand int) commerce.ID {
	t.Helper()
	vs := demo.StockedVariants(i+1, 20)
	v := vs[i]
	e.setStock(t, v, paris, onHand)
	return v
}

func (e *env) setStock(t testing.TB, v, loc commerce.ID, onHand int) {
	t.Helper()
	if _, err := e.pool.Exec(context.Background(), `INSERT INTO stock_levels (variant_id, location_id, on_hand) VALUES ($1, $2, $3)
		ON CONFLICT (variant_id, location_id) DO UPDATE SET on_hand = $3, reserved = 0`, v, loc, onHand); err != nil {
		t.Fatal(err)
	}
}

func (e *env) level(t testing.TB, v, loc commerce.ID) inventory.Level {
	t.Helper()
	l, err := e.inv.FindLevel(context.Background(), v, loc)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// cart makes a cart with lines on ctx's channel; the token is "" for a
// customer.
func (e *env) cart(t testing.TB, ctx context.Context, lines ...cart.LineInput) (commerce.ID, string) {
	t.Helper()
	c, token, err := e.carts.CreateCart(ctx, cart.CreateInput{Lines: lines})
	if err != nil {
		t.Fatal(err)
	}
	return c.ID, token
}

func one(v commerce.ID, n int) cart.LineInput { return cart.LineInput{VariantID: v, Quantity: n} }

func pickupAt(loc commerce.ID, m order.PaymentMethod) (order.Fulfillment, order.PaymentInput) {
	return order.Fulfillment{Pickup: &order.PickupInput{LocationID: loc}}, order.PaymentInput{Method: m}
}

func (e *env) checkout(t testing.TB, ctx context.Context, cartID commerce.ID, token string, m order.PaymentMethod, key string) *order.CheckoutResult {
	t.Helper()
	f, p := pickupAt(paris, m)
	res, err := e.orders.Checkout(ctx, order.CheckoutInput{CartID: cartID, Token: token, Fulfillment: f, Payment: p, IdempotencyKey: key})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (e *env) count(t testing.TB, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func code(err error) string { return commerce.ErrorCode(err) }

func TestCheckoutPickupPayAtPickup(t *testing.T) {
	e := newEnv(t)
	ctx := e.web(t)
	v := e.variant(t, 0, 10)
	cartID, token := e.cart(t, ctx, one(v, 2))
	key := uuid.NewString()
	res := e.checkout(t, ctx, cartID, token, order.AtPickup, key)
	o := res.Order
	if !regexp.MustCompile(`^MS-\d{6,}$`).MatchString(o.Number) {
		t.Errorf("number %q", o.Number)
	}
	if o.Status != order.Placed || o.PaymentStatus != order.Unpaid || o.Fulfillment != order.Pickup || o.LocationID != paris {
		t.Errorf("order %+v", o)
	}
	if res.Token == "" || res.Payment != nil {
		t.Errorf("guest token %q, payment %+v", res.Token, res.Payment)
	}
	if len(o.Lines) != 1 || o.Lines[0].Quantity != 2 || o.Lines[0].VariantID != v || o.Lines[0].TaxRatePPM != 200000 {
		t.Fatalf("lines %+v", o.Lines)
	}
	l := o.Lines[0]
	if l.Total.Amount != l.Subtotal.Amount-l.Discount.Amount || o.Total.Amount != l.Total.Amount ||
		o.Tax.Amount != order.InclusiveTax(l.Total.Amount, 200000) || o.Tax.Amount == 0 {
		t.Errorf("amounts: line %+v, order total %v tax %v", l, o.Total, o.Tax)
	}
	// Allocated at Paris, no expiry.
	if lv := e.level(t, v, paris); lv.OnHand != 10 || lv.Reserved != 2 {
		t.Errorf("level %+v", lv)
	}
	if o.ExpiresAt != nil {
		t.Errorf("an order paid at pickup expires at %v", o.ExpiresAt)
	}
	// The cart is converted.
	c, err := e.carts.FindCart(ctx, cartID, token)
	if err != nil || c.Status != cart.Converted {
		t.Fatalf("cart %v, %v", c, err)
	}
	// Transitions and event.
	ts, err := e.orders.FindTransitions(ctx, o.ID)
	if err != nil || len(ts) != 2 || ts[0].To != "placed" || ts[0].Actor.Kind != order.ActorCustomer || ts[0].Actor.ChannelID == nil {
		t.Errorf("transitions %+v, %v", ts, err)
	}
	if n := e.count(t, `SELECT count(*) FROM outbox WHERE queue = 'order_events' AND aggregate_id = $1 AND payload->>'type' = 'order.placed'`, o.ID); n != 1 {
		t.Errorf("%d order.placed events", n)
	}
	// Same key: same order. Another key: the cart's order all the same.
	for _, k := range []string{key, uuid.NewString(), ""} {
		again := e.checkout(t, ctx, cartID, token, order.AtPickup, k)
		if again.Order.ID != o.ID || !again.Replayed || again.Token == "" || again.Token == res.Token {
			t.Errorf("key %q: replay %+v", k, again)
		}
		if _, err := e.orders.FindOrder(ctx, o.ID, again.Token); err != nil {
			t.Errorf("replay token: %v", err)
		}
	}
	if lv := e.level(t, v, paris); lv.Reserved != 2 {
		t.Errorf("replays reserved again: %+v", lv)
	}
	// The key on another cart is a conflict.
	other, otherToken := e.cart(t, ctx, one(v, 1))
	f, p := pickupAt(paris, order.AtPickup)
	_, err = e.orders.Checkout(ctx, order.CheckoutInput{CartID: other, Token: otherToken, Fulfillment: f, Payment: p, IdempotencyKey: key})
	if code(err) != commerce.ErrConflict {
		t.Errorf("key reused on another cart: %v", err)
	}
	// Someone without the cart's token cannot get the order by replaying.
	_, err = e.orders.Checkout(ctx, order.CheckoutInput{CartID: cartID, Fulfillment: f, Payment: p})
	if code(err) != commerce.ErrNotFound {
		t.Errorf("replay without token: %v", err)
	}
}

func TestCheckoutRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := e.web(t)
	v := e.variant(t, 0, 10)
	cartID, token := e.cart(t, ctx, one(v, 1))
	for name, tc := range map[string]struct {
		in   order.CheckoutInput
		code string
	}{
		"no fulfillment": {order.CheckoutInput{Payment: order.PaymentInput{Method: order.AtPickup}}, commerce.ErrInvalidInput},
		"both": {order.CheckoutInput{Fulfillment: order.Fulfillment{Pickup: &order.PickupInput{LocationID: paris},
			Shipping: &order.ShippingInput{}}, Payment: order.PaymentInput{Method: order.AtPickup}}, commerce.ErrInvalidInput},
		"warehouse pickup": {order.CheckoutInput{Fulfillment: order.Fulfillment{Pickup: &order.PickupInput{LocationID: demo.LocationID(demo.CodeWarehouseFR)}},
			Payment: order.PaymentInput{Method: order.AtPickup}}, commerce.ErrInvalidInput},
		"shipping at pickup": {order.CheckoutInput{Fulfillment: order.Fulfillment{Shipping: &order.ShippingInput{Address: order.Address{
			Name: "A", Line1: "1 rue", City: "Paris", PostalCode: "75001", CountryCode: "FR"}}},
			Payment: order.PaymentInput{Method: order.AtPickup}}, commerce.ErrInvalidInput},
		"in store without staff": {order.CheckoutInput{Fulfillment: order.Fulfillment{Pickup: &order.PickupInput{LocationID: paris}},
			Payment: order.PaymentInput{Method: order.InStore, Tender: order.Cash}}, commerce.ErrUnauthenticated},
		"short key": {order.CheckoutInput{Fulfillment: order.Fulfillment{Pickup: &order.PickupInput{LocationID: paris}},
			Payment: order.PaymentInput{Method: order.AtPickup}, IdempotencyKey: "short"}, commerce.ErrInvalidInput},
	} {
		tc.in.CartID, tc.in.Token = cartID, token
		if _, err := e.orders.Checkout(ctx, tc.in); code(err) != tc.code {
			t.Errorf("%s: %v, want %s", name, err, tc.code)
		}
	}
	// Online without a gateway.
	noGW := order.NewService(e.pool, e.carts, e.inv)
	f, p := pickupAt(paris, order.Online)
	if _, err := noGW.Checkout(ctx, order.CheckoutInput{CartID: cartID, Token: token, Fulfillment: f, Payment: p}); code(err) != commerce.ErrPaymentFailed {
		t.Errorf("online without gateway: %v", err)
	}
	// Nothing was written.
	if n := e.count(t, `SELECT count(*) FROM orders`); n != 0 {
		t.Errorf("%d orders after refusals", n)
	}
	// An empty cart.
	empty, emptyToken := e.cart(t, ctx)
	f, p = pickupAt(paris, order.AtPickup)
	if _, err := e.orders.Checkout(ctx, order.CheckoutInput{CartID: empty, Token: emptyToken, Fulfillment: f, Payment: p}); code(err) != commerce.ErrInvalidInput {
		t.Errorf("empty cart: %v", err)
	}
}

// 200 shoppers race for the last 5 units at one store: exactly 5 orders,
// the stock never below zero, every other shopper told OUT_OF_STOCK.
func TestCheckoutRaceForLastUnits(t *testing.T) {
	e := newEnv(t)
	ctx := e.web(t)
	v := e.variant(t, 0, 100)
	const shoppers = 200
	type shopper struct {
		id    commerce.ID
		token string
	}
	carts := make([]shopper, shoppers)
	for i := range carts {
		carts[i].id, carts[i].token = e.cart(t, ctx, one(v, 1))
	}
	e.setStock(t, v, paris, 5)
	var (
		wg         sync.WaitGroup
		mu         sync.Mutex
		won, oos   int
		unexpected []error
		start      = make(chan struct{})
	)
	for _, c := range carts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			f, p := pickupAt(paris, order.AtPickup)
			_, err := e.orders.Checkout(ctx, order.CheckoutInput{CartID: c.id, Token: c.token, Fulfillment: f, Payment: p,
				IdempotencyKey: uuid.NewString()})
			mu.Lock()
			defer mu.Unlock()
			switch code(err) {
			case "":
				won++
			case commerce.ErrOutOfStock:
				oos++
				var se *order.StockError
				if !errors.As(err, &se) {
					unexpected = append(unexpected, err)
				}
			default:
				unexpected = append(unexpected, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if won != 5 || oos != shoppers-5 || len(unexpected) > 0 {
		t.Fatalf("won %d, out of stock %d, unexpected %v", won, oos, unexpected)
	}
	if n := e.count(t, `SELECT count(*) FROM orders`); n != 5 {
		t.Errorf("%d orders", n)
	}
	if lv := e.level(t, v, paris); lv.OnHand != 5 || lv.Reserved != 5 || lv.Available() != 0 {
		t.Errorf("level %+v", lv)
	}
	if n := e.count(t, `SELECT count(*) FROM stock_levels WHERE on_hand < 0 OR reserved < 0 OR reserved > on_hand`); n != 0 {
		t.Errorf("%d levels oversold", n)
	}
}

func TestOutOfStockListsStores(t *testing.T) {
	e := newEnv(t)
	ctx := e.web(t)
	v := e.variant(t, 0, 5)
	e.setStock(t, v, lyon, 10)
	// Montréal has plenty, but sells in CAD: never named to a EUR cart.
	montreal := demo.LocationID(demo.CodeMontreal)
	e.setStock(t, v, montreal, 50)
	// Two adds of one variant are one line of 6: more than Paris has.
	cartID, token := e.cart(t, ctx, one(v, 3))
	if _, err := e.carts.AddLines(ctx, cartID, token, []cart.LineInput{one(v, 3)}, nil); err != nil {
		t.Fatal(err)
	}
	f, p := pickupAt(paris, order.AtPickup)
	_, err := e.orders.Checkout(ctx, order.CheckoutInput{CartID: cartID, Token: token, Fulfillment: f, Payment: p})
	var stockErr *order.StockError
	if code(err) != commerce.ErrOutOfStock || !errors.As(err, &stockErr) {
		t.Fatalf("checkout of 6 with 5 in store: %v", err)
	}
	if stockErr == nil || len(stockErr.Shortages) != 1 || stockErr.Shortages[0].Requested != 6 || stockErr.Shortages[0].Available != 5 {
		t.Fatalf("stock error %+v", stockErr)
	}
	found := false
	for _, s := range stockErr.Stores {
		found = found || s.ID == lyon
		if s.ID == paris {
			t.Error("Paris listed as having the stock")
		}
		if s.ID == montreal {
			t.Error("Montréal (CAD) listed to a EUR cart")
		}
	}
	if !found {
		t.Errorf("Lyon not listed: %+v", stockErr.Stores)
	}
	if lv := e.level(t, v, paris); lv.Reserved != 0 {
		t.Errorf("a refused checkout reserved: %+v", lv)
	}
	// At Lyon it works.
	f, p = pickupAt(lyon, order.AtPickup)
	if _, err := e.orders.Checkout(ctx, order.CheckoutInput{CartID: cartID, Token: token, Fulfillment: f, Payment: p}); err != nil {
		t.Fatal(err)
	}
}

func TestShippingChoosesALocationWithEverything(t *testing.T) {
	e := newEnv(t)
	ctx := e.web(t)
	v := e.variant(t, 0, 3)
	wh := demo.LocationID(demo.CodeWarehouseFR)
	e.setStock(t, v, wh, 0)
	cartID, token := e.cart(t, ctx, one(v, 2))
	addr := order.Address{Name: "Anna", Line1: "1 rue de la Paix", City: "Paris", PostalCode: "75002", CountryCode: "fr"}
	res, err := e.orders.Checkout(ctx, order.CheckoutInput{CartID: cartID, Token: token,
		Fulfillment: order.Fulfillment{Shipping: &order.ShippingInput{Address: addr}}, Payment: order.PaymentInput{Method: order.Online}})
	if err != nil {
		t.Fatal(err)
	}
	o := res.Order
	if o.Fulfillment != order.Shipping || o.ShippingAddress == nil || o.ShippingAddress.CountryCode != "FR" {
		t.Errorf("order %+v", o)
	}
	// The warehouse is empty: a French store ships.
	var kind, country string
	if err := e.pool.QueryRow(context.Background(), `SELECT kind, country_code FROM locations WHERE id = $1`, o.LocationID).Scan(&kind, &country); err != nil {
		t.Fatal(err)
	}
	if kind != "store" || country != "FR" {
		t.Errorf("shipped from a %s in %s", kind, country)
	}
	if res.Payment == nil || res.Payment.ClientSecret == "" || o.ExpiresAt == nil {
		t.Errorf("online shipping order: payment %+v, expires %v", res.Payment, o.ExpiresAt)
	}
}

// 50 concurrent retries of one checkout with one key: one order, one intent.
func TestCheckoutRetriesMakeOneOrderAndOneIntent(t *testing.T) {
	e := newEnv(t)
	ctx := e.web(t)
	v := e.variant(t, 0, 10)
	cartID, token := e.cart(t, ctx, one(v, 1))
	key := uuid.NewString()
	const retries = 50
	var wg sync.WaitGroup
	results := make([]*order.CheckoutResult, retries)
	errs := make([]error, retries)
	start := make(chan struct{})
	for i := range retries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			f, p := pickupAt(paris, order.Online)
			results[i], errs[i] = e.orders.Checkout(ctx, order.CheckoutInput{CartID: cartID, Token: token, Fulfillment: f, Payment: p, IdempotencyKey: key})
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("retry %d: %v", i, err)
		}
	}
	first := results[0]
	for _, r := range results {
		if r.Order.ID != first.Order.ID || r.Payment == nil || r.Payment.IntentID != first.Payment.IntentID || r.Payment.ClientSecret == "" {
			t.Fatalf("results differ: %+v vs %+v", r, first)
		}
	}
	if n := e.count(t, `SELECT count(*) FROM orders`); n != 1 {
		t.Errorf("%d orders", n)
	}
	if n := e.gw.CreateCalls.Load() + e.gw.CreateReplays.Load(); n != 1 {
		t.Errorf("%d CreateIntent calls", n)
	}
	if n := e.count(t, `SELECT count(*) FROM order_payments WHERE intent_id IS NOT NULL`); n != 1 {
		t.Errorf("%d intents recorded", n)
	}
	o, err := e.orders.FindOrder(ctx, first.Order.ID, first.Token)
	if err != nil || o.Status != order.PendingPayment || o.PaymentStatus != order.PaymentPending {
		t.Errorf("order %+v, %v", o, err)
	}
	if lv := e.level(t, v, paris); lv.Reserved != 1 {
		t.Errorf("level %+v", lv)
	}
}

// onlineOrder checks out one unit for online payment and returns the
// result.
func (e *env) onlineOrder(t testing.TB, v commerce.ID) *order.CheckoutResult {
	t.Helper()
	ctx := e.web(t)
	cartID, token := e.cart(t, ctx, one(v, 1))
	res := e.checkout(t, ctx, cartID, token, order.Online, uuid.NewString())
	if res.Payment == nil {
		t.Fatal("no payment session")
	}
	return res
}

func event(id string, typ payment.EventType, in payment.Intent, orderID commerce.ID) payment.Event {
	return payment.Event{ID: id, Type: typ, Created: time.Now(), IntentID: in.ID, OrderID: &orderID, Amount: in.Amount, Received: in.Received}
}

func (e *env) paidTransitions(t testing.TB, orderID commerce.ID) int {
	return e.count(t, `SELECT count(*) FROM order_transitions WHERE order_id = $1 AND field = 'payment_status' AND to_state = 'paid'`, orderID)
}

func TestWebhookReplayedAppliesOnce(t *testing.T) {
	e := newEnv(t)
	v := e.variant(t, 0, 10)
	res := e.onlineOrder(t, v)
	in := e.gw.Succeed(res.Payment.IntentID)
	ev := event("evt_1", payment.IntentSucceeded, in, res.Order.ID)
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.orders.HandlePaymentEvent(context.Background(), ev); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	o, err := e.orders.FindOrder(e.web(t), res.Order.ID, res.Token)
	if err != nil || o.Status != order.Placed || o.PaymentStatus != order.Paid {
		t.Fatalf("order %+v, %v", o, err)
	}
	if n := e.paidTransitions(t, o.ID); n != 1 {
		t.Errorf("%d paid transitions", n)
	}
	if n := e.count(t, `SELECT count(*) FROM order_transitions WHERE order_id = $1 AND field = 'status' AND to_state = 'placed'`, o.ID); n != 1 {
		t.Errorf("%d placed transitions", n)
	}
	var status string
	if err := e.pool.QueryRow(context.Background(), `SELECT status FROM stock_reservations WHERE order_id = $1`, o.ID).Scan(&status); err != nil || status != "allocated" {
		t.Errorf("reservation %q, %v", status, err)
	}
	if o.ExpiresAt != nil {
		t.Errorf("a paid order expires at %v", o.ExpiresAt)
	}
}

func TestWebhookOutOfOrder(t *testing.T) {
	e := newEnv(t)
	v := e.variant(t, 0, 10)
	ctx := context.Background()

	// succeeded, then a late processing: still paid.
	a := e.onlineOrder(t, v)
	in := e.gw.Succeed(a.Payment.IntentID)
	for _, ev := range []payment.Event{event("evt_a1", payment.IntentSucceeded, in, a.Order.ID), event("evt_a2", payment.IntentProcessing, in, a.Order.ID)} {
		if err := e.orders.HandlePaymentEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	o, _ := e.orders.FindOrder(e.web(t), a.Order.ID, a.Token)
	if o.PaymentStatus != order.Paid || o.Status != order.Placed {
		t.Errorf("succeeded then processing: %s/%s", o.Status, o.PaymentStatus)
	}

	// failed, then succeeded (another card): paid.
	b := e.onlineOrder(t, v)
	inB, _ := e.gw.Intent(b.Payment.IntentID)
	if err := e.orders.HandlePaymentEvent(ctx, event("evt_b1", payment.IntentPaymentFailed, inB, b.Order.ID)); err != nil {
		t.Fatal(err)
	}
	o, _ = e.orders.FindOrder(e.web(t), b.Order.ID, b.Token)
	if o.PaymentStatus != order.PaymentFailed || o.Status != order.PendingPayment {
		t.Errorf("after failure: %s/%s", o.Status, o.PaymentStatus)
	}
	if lv := e.level(t, v, paris); lv.Reserved != 2 {
		t.Errorf("a failed payment released the stock: %+v", lv)
	}
	inB = e.gw.Succeed(b.Payment.IntentID)
	if err := e.orders.HandlePaymentEvent(ctx, event("evt_b2", payment.IntentSucceeded, inB, b.Order.ID)); err != nil {
		t.Fatal(err)
	}
	// And the failure delivered again late changes nothing.
	if err := e.orders.HandlePaymentEvent(ctx, event("evt_b3", payment.IntentPaymentFailed, inB, b.Order.ID)); err != nil {
		t.Fatal(err)
	}
	o, _ = e.orders.FindOrder(e.web(t), b.Order.ID, b.Token)
	if o.PaymentStatus != order.Paid || o.Status != order.Placed {
		t.Errorf("failed then succeeded: %s/%s", o.Status, o.PaymentStatus)
	}

	// A wrong amount does not pay.
	c := e.onlineOrder(t, v)
	inC := e.gw.Succeed(c.Payment.IntentID)
	inC.Received.Amount--
	if err := e.orders.HandlePaymentEvent(ctx, event("evt_c1", payment.IntentSucceeded, inC, c.Order.ID)); err != nil {
		t.Fatal(err)
	}
	o, _ = e.orders.FindOrder(e.web(t), c.Order.ID, c.Token)
	if o.PaymentStatus == order.Paid || o.Status != order.PendingPayment {
		t.Errorf("wrong amount: %s/%s", o.Status, o.PaymentStatus)
	}
}

func TestWebhookRacingConfirmation(t *testing.T) {
	e := newEnv(t)
	v := e.variant(t, 0, 10)
	res := e.onlineOrder(t, v)
	in := e.gw.Succeed(res.Payment.IntentID)
	ctx := e.web(t)
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := e.orders.HandlePaymentEvent(context.Background(), event(fmt.Sprintf("evt_%d", i), payment.IntentSucceeded, in, res.Order.ID)); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			o, err := e.orders.ConfirmPayment(ctx, res.Order.ID, res.Token)
			if err != nil {
				t.Error(err)
			} else if o.PaymentStatus != order.Paid && o.PaymentStatus != order.PaymentPending {
				t.Errorf("confirmation saw %s", o.PaymentStatus)
			}
		}()
	}
	wg.Wait()
	if n := e.paidTransitions(t, res.Order.ID); n != 1 {
		t.Errorf("%d paid transitions", n)
	}
	// Confirming someone else's order is NOT_FOUND.
	if _, err := e.orders.ConfirmPayment(ctx, res.Order.ID, ""); code(err) != commerce.ErrNotFound {
		t.Errorf("confirm without token: %v", err)
	}
}

func TestUnpaidReservationExpires(t *testing.T) {
	e := newEnv(t)
	v := e.variant(t, 0, 3)
	res := e.onlineOrder(t, v)
	if lv := e.level(t, v, paris); lv.Available() != 2 {
		t.Fatalf("level %+v", lv)
	}
	// Not yet.
	if n, err := e.orders.ExpireUnpaid(context.Background(), e.clock.now().Add(time.Minute)); err != nil || n != 0 {
		t.Fatalf("expired %d early, %v", n, err)
	}
	e.clock.add(order.DefaultPaymentHold + time.Second)
	n, err := e.orders.ExpireUnpaid(context.Background(), e.clock.now())
	if err != nil || n != 1 {
		t.Fatalf("expired %d, %v", n, err)
	}
	o, _ := e.orders.FindOrder(e.web(t), res.Order.ID, res.Token)
	if o.Status != order.Expired || o.PaymentStatus != order.Voided {
		t.Errorf("order %s/%s", o.Status, o.PaymentStatus)
	}
	if lv := e.level(t, v, paris); lv.Available() != 3 || lv.Reserved != 0 {
		t.Errorf("units not back: %+v", lv)
	}
	if in, _ := e.gw.Intent(res.Payment.IntentID); in.Status != payment.Canceled {
		t.Errorf("intent %s", in.Status)
	}
	// Again: nothing.
	if n, err := e.orders.ExpireUnpaid(context.Background(), e.clock.now()); err != nil || n != 0 {
		t.Errorf("expired %d again, %v", n, err)
	}
	// Paid late: refunded.
	in := e.gw.SetStatus(res.Payment.IntentID, payment.Succeeded)
	in.Received = in.Amount
	e.gw.Succeed(in.ID)
	if err := e.orders.HandlePaymentEvent(context.Background(), event("evt_late", payment.IntentSucceeded, in, res.Order.ID)); err != nil {
		t.Fatal(err)
	}
	o, _ = e.orders.FindOrder(e.web(t), res.Order.ID, res.Token)
	if o.Status != order.Expired || o.PaymentStatus != order.Refunded || e.gw.RefundCalls.Load() != 1 {
		t.Errorf("late payment: %s/%s, %d refunds", o.Status, o.PaymentStatus, e.gw.RefundCalls.Load())
	}
}

func TestAccess(t *testing.T) {
	e := newEnv(t)
	v := e.variant(t, 0, 10)
	e.setStock(t, v, lyon, 10)
	anna, bob := e.customerCtx(t), e.customerCtx(t)
	cartID, _ := e.cart(t, anna, one(v, 1))
	res, err := e.orders.Checkout(anna, order.CheckoutInput{CartID: cartID,
		Fulfillment: order.Fulfillment{Pickup: &order.PickupInput{LocationID: lyon}}, Payment: order.PaymentInput{Method: order.AtPickup}})
	if err != nil {
		t.Fatal(err)
	}
	id := res.Order.ID
	if res.Token != "" {
		t.Error("a customer got a guest token")
	}
	if _, err := e.orders.FindOrder(anna, id, ""); err != nil {
		t.Errorf("owner: %v", err)
	}
	page, err := e.orders.FindCustomerOrders(anna, order.Page{First: 10})
	if err != nil || len(page.Orders) != 1 || page.Orders[0].ID != id {
		t.Errorf("anna's orders %+v, %v", page, err)
	}
	for name, ctx := range map[string]context.Context{
		"another customer":      bob,
		"a guest":               e.web(t),
		"an associate of Paris": e.staffCtx(t, demo.KeyWebEU, commerce.RoleAssociate, paris),
	} {
		if _, err := e.orders.FindOrder(ctx, id, ""); code(err) != commerce.ErrNotFound {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := e.orders.CancelOrder(ctx, id, "", ""); code(err) != commerce.ErrNotFound {
			t.Errorf("%s cancels: %v", name, err)
		}
	}
	if page, err := e.orders.FindCustomerOrders(bob, order.Page{First: 10}); err != nil || len(page.Orders) != 0 {
		t.Errorf("bob's orders %+v, %v", page, err)
	}
	for name, ctx := range map[string]context.Context{
		"an associate of Lyon": e.staffCtx(t, demo.KeyWebEU, commerce.RoleAssociate, lyon),
		"an admin":             e.staffCtx(t, demo.KeyWebEU, commerce.RoleAdmin),
	} {
		if _, err := e.orders.FindOrder(ctx, id, ""); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A guest's token reaches only its order.
	gctx := e.web(t)
	gcart, gtoken := e.cart(t, gctx, one(v, 1))
	g := e.checkout(t, gctx, gcart, gtoken, order.AtPickup, "")
	if _, err := e.orders.FindOrder(gctx, g.Order.ID, g.Token); err != nil {
		t.Errorf("guest with token: %v", err)
	}
	if _, err := e.orders.FindOrder(gctx, id, g.Token); code(err) != commerce.ErrNotFound {
		t.Errorf("guest token on another order: %v", err)
	}
}

func TestInStorePayment(t *testing.T) {
	e := newEnv(t)
	v := e.variant(t, 0, 10)
	pos := e.staffCtx(t, demo.KeyPOSParis, commerce.RoleAssociate, paris)
	cartID, token := e.cart(t, pos, one(v, 2))
	in := order.CheckoutInput{CartID: cartID, Token: token, Fulfillment: order.Fulfillment{Pickup: &order.PickupInput{LocationID: paris}},
		Payment: order.PaymentInput{Method: order.InStore, Tender: order.Terminal, Reference: "TX-42"}}
	// A shopper at the Paris till without staff, and a Lyon associate, are refused.
	if _, err := e.orders.Checkout(e.on(t, context.Background(), demo.KeyPOSParis), in); code(err) != commerce.ErrUnauthenticated {
		t.Errorf("without staff: %v", err)
	}
	if _, err := e.orders.Checkout(e.staffCtx(t, demo.KeyPOSParis, commerce.RoleAssociate, lyon), in); code(err) != commerce.ErrForbidden {
		t.Errorf("Lyon associate at the Paris till: %v", err)
	}
	if _, err := e.orders.Checkout(e.staffCtx(t, demo.KeyPOSParis, commerce.RoleMerchandiser), in); code(err) != commerce.ErrForbidden {
		t.Errorf("merchandiser: %v", err)
	}
	res, err := e.orders.Checkout(pos, in)
	if err != nil {
		t.Fatal(err)
	}
	if res.Order.Status != order.Placed || res.Order.PaymentStatus != order.Paid || res.Order.PaymentMethod != order.InStore {
		t.Errorf("order %s/%s/%s", res.Order.Status, res.Order.PaymentStatus, res.Order.PaymentMethod)
	}
	ps, err := e.orders.FindPayments(pos, res.Order.ID)
	if err != nil || len(ps) != 1 || ps[0].Tender == nil || *ps[0].Tender != order.Terminal || ps[0].Reference != "TX-42" ||
		ps[0].StaffID == nil || ps[0].Received != res.Order.Total {
		t.Errorf("payments %+v, %v", ps, err)
	}
	if lv := e.level(t, v, paris); lv.Reserved != 2 {
		t.Errorf("level %+v", lv)
	}
	// The shopper cannot cancel it; the associate can, and it is refunded at the till.
	if _, err := e.orders.CancelOrder(e.web(t), res.Order.ID, res.Token, ""); code(err) != commerce.ErrForbidden {
		t.Errorf("guest cancels an in-store order: %v", err)
	}
	o, err := e.orders.CancelOrder(pos, res.Order.ID, "", "changed their mind")
	if err != nil || o.Status != order.Cancelled || o.PaymentStatus != order.Refunded {
		t.Fatalf("cancel %+v, %v", o, err)
	}
	if lv := e.level(t, v, paris); lv.Reserved != 0 {
		t.Errorf("level after cancel %+v", lv)
	}
}

func TestFrozenPrices(t *testing.T) {
	e := newEnv(t)
	ctx := e.web(t)
	v := e.variant(t, 0, 10)
	cartID, token := e.cart(t, ctx, one(v, 1))
	res := e.checkout(t, ctx, cartID, token, order.AtPickup, "")
	before := res.Order
	if _, err := e.pool.Exec(context.Background(), `UPDATE variant_prices SET amount = amount * 3, compare_at_amount = NULL WHERE variant_id = $1`, v); err != nil {
		t.Fatal(err)
	}
	after, err := e.orders.FindOrder(ctx, before.ID, res.Token)
	if err != nil {
		t.Fatal(err)
	}
	if after.Total != before.Total || after.Lines[0].UnitPrice != before.Lines[0].UnitPrice || after.Tax != before.Tax {
		t.Errorf("order changed with the price: %v → %v", before.Total, after.Total)
	}
}

func TestCancelPaidOnlineRefundsOnce(t *testing.T) {
	e := newEnv(t)
	v := e.variant(t, 0, 10)
	res := e.onlineOrder(t, v)
	in := e.gw.Succeed(res.Payment.IntentID)
	if err := e.orders.HandlePaymentEvent(context.Background(), event("evt_p", payment.IntentSucceeded, in, res.Order.ID)); err != nil {
		t.Fatal(err)
	}
	ctx := e.web(t)
	o, err := e.orders.CancelOrder(ctx, res.Order.ID, res.Token, "")
	if err != nil || o.Status != order.Cancelled || o.PaymentStatus != order.Refunded {
		t.Fatalf("cancel: %+v, %v", o, err)
	}
	if _, err := e.orders.CancelOrder(ctx, res.Order.ID, res.Token, ""); err != nil {
		t.Fatal(err)
	}
	if e.gw.RefundCalls.Load() != 1 {
		t.Errorf("%d refunds", e.gw.RefundCalls.Load())
	}
	if lv := e.level(t, v, paris); lv.Reserved != 0 {
		t.Errorf("level %+v", lv)
	}
	// An unpaid online order cancelled: the intent is cancelled.
	res2 := e.onlineOrder(t, v)
	if _, err := e.orders.CancelOrder(ctx, res2.Order.ID, res2.Token, ""); err != nil {
		t.Fatal(err)
	}
	if in, _ := e.gw.Intent(res2.Payment.IntentID); in.Status != payment.Canceled {
		t.Errorf("intent %s", in.Status)
	}
}

func TestPartialRefunds(t *testing.T) {
	e := newEnv(t)
	v := e.variant(t, 0, 10)
	res := e.onlineOrder(t, v)
	in := e.gw.Succeed(res.Payment.IntentID)
	if err := e.orders.HandlePaymentEvent(context.Background(), event("evt_paid", payment.IntentSucceeded, in, res.Order.ID)); err != nil {
		t.Fatal(err)
	}
	part := commerce.Money{Amount: 100, Currency: res.Order.Currency}
	for range 2 { // the same key twice: one refund
		if err := e.orders.RefundOnline(context.Background(), res.Order.ID, part, "return:r1", "returned"); err != nil {
			t.Fatal(err)
		}
	}
	o, _ := e.orders.FindOrder(e.web(t), res.Order.ID, res.Token)
	ps, _ := e.orders.FindPayments(context.Background(), o.ID)
	if o.PaymentStatus != order.PartiallyRefunded || e.gw.RefundCalls.Load() != 1 || len(ps) != 1 || ps[0].Refunded.Amount != 100 {
		t.Fatalf("after a partial refund: %s, %d calls, %+v", o.PaymentStatus, e.gw.RefundCalls.Load(), ps)
	}
	// The rest in cash at the till.
	st := e.staffCtx(t, demo.KeyPOSParis, commerce.RoleAssociate, paris)
	p, _ := commerce.PrincipalFrom(st)
	rest := commerce.Money{Amount: o.Total.Amount - 100, Currency: o.Currency}
	err := pgx.BeginFunc(context.Background(), e.pool, func(tx pgx.Tx) error {
		o, err := order.FindOrderByIDTx(context.Background(), tx, o.ID, true)
		if err != nil {
			return err
		}
		return order.RecordInStoreRefundTx(context.Background(), tx, o, rest, order.Cash, p.StaffID, "return:r2", "returned in store")
	})
	if err != nil {
		t.Fatal(err)
	}
	o, _ = e.orders.FindOrder(e.web(t), res.Order.ID, res.Token)
	if o.PaymentStatus != order.Refunded {
		t.Errorf("after the rest in cash: %s", o.PaymentStatus)
	}
}

func TestPayAtPickupRecordedInStore(t *testing.T) {
	e := newEnv(t)
	ctx := e.web(t)
	v := e.variant(t, 0, 10)
	cartID, token := e.cart(t, ctx, one(v, 1))
	res := e.checkout(t, ctx, cartID, token, order.AtPickup, "")
	st := e.staffCtx(t, demo.KeyPOSParis, commerce.RoleAssociate, paris)
	p, _ := commerce.PrincipalFrom(st)
	pay := func() error {
		return pgx.BeginFunc(context.Background(), e.pool, func(tx pgx.Tx) error {
			o, err := order.FindOrderByIDTx(context.Background(), tx, res.Order.ID, true)
			if err != nil {
				return err
			}
			return order.RecordInStorePaymentTx(context.Background(), tx, o, order.Cash, "", p.StaffID, order.Actor{Kind: order.ActorStaff, ID: &p.StaffID})
		})
	}
	if err := pay(); err != nil {
		t.Fatal(err)
	}
	if err := pay(); code(err) != commerce.ErrConflict {
		t.Errorf("paid twice: %v", err)
	}
	o, _ := e.orders.FindOrder(st, res.Order.ID, "")
	ps, _ := e.orders.FindPayments(st, o.ID)
	if o.PaymentStatus != order.Paid || len(ps) != 1 || ps[0].Method != order.AtPickup || ps[0].Received != o.Total {
		t.Errorf("order %s, payments %+v", o.PaymentStatus, ps)
	}
}

// Several server instances expiring at once expire each order once.
func TestExpiryByConcurrentInstances(t *testing.T) {
	e := newEnv(t)
	v := e.variant(t, 0, 10)
	for range 3 {
		e.onlineOrder(t, v)
	}
	e.clock.add(order.DefaultPaymentHold + time.Second)
	var (
		wg    sync.WaitGroup
		total atomic.Int64
	)
	for range 4 {
		wg.Go(func() {
			n, err := e.orders.ExpireUnpaid(context.Background(), e.clock.now())
			if err != nil {
				t.Error(err)
			}
			total.Add(int64(n))
		})
	}
	wg.Wait()
	if total.Load() != 3 {
		t.Errorf("%d expirations of 3 orders", total.Load())
	}
	if n := e.count(t, `SELECT count(*) FROM order_transitions WHERE field = 'status' AND to_state = 'expired'`); n != 3 {
		t.Errorf("%d expired transitions", n)
	}
	if lv := e.level(t, v, paris); lv.Reserved != 0 {
		t.Errorf("level %+v", lv)
	}
}
