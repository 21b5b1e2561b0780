package pickup_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
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
	"github.com/omnicanal/omnicanal/commerce/pickup"
	"github.com/omnicanal/omnicanal/commerce/staff"
)

func TestMain(m *testing.M) { commercetest.Main(m) }

var (
	paris = demo.LocationID(demo.CodeParis)
	lyon  = demo.LocationID(demo.CodeLyon)
)

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

type env struct {
	pool   *pgxpool.Pool
	carts  *cart.Service
	inv    *inventory.Service
	orders *order.Service
	desk   *pickup.Service
	hub    *pickup.Hub
	gw     *paymenttest.Gateway
	clock  *clock
}

func newEnv(t testing.TB) *env {
	t.Helper()
	pool := commercetest.NewDB(t, commercetest.WithDemo())
	offers := offer.NewService(pool)
	e := &env{pool: pool, carts: cart.NewService(pool, offers), inv: inventory.NewService(pool), gw: paymenttest.New(),
		clock: &clock{at: time.Now()}}
	e.orders = order.NewService(pool, e.carts, e.inv, order.WithOffers(offers), order.WithGateway(e.gw), order.WithClock(e.clock.now))
	e.hub = pickup.NewHub(pool, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.hub.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	e.desk = pickup.NewService(pool, e.orders, e.inv, pickup.WithClock(e.clock.now), pickup.WithHub(e.hub))
	return e
}

func (e *env) on(t testing.TB, ctx context.Context, key string) context.Context {
	t.Helper()
	ch, err := channel.NewService(e.pool).FindChannelByKey(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	return channel.NewContext(ctx, ch)
}

// staffCtx acts for a new staff user of role (associates of locs) at the
// Paris POS channel.
func (e *env) staffCtx(t testing.TB, role commerce.Role, locs ...commerce.ID) (context.Context, commerce.ID) {
	t.Helper()
	st, err := staff.NewService(e.pool).CreateStaff(context.Background(), staff.Input{
		Email: fmt.Sprintf("%s-%s@example.com", role, commerce.NewID()), Name: string(role), Role: role, LocationIDs: locs})
	if err != nil {
		t.Fatal(err)
	}
	ctx := commerce.WithPrincipal(context.Background(), commerce.Principal{StaffID: st.ID, Role: st.Role, LocationIDs: st.LocationIDs})
	return e.on(t, ctx, demo.KeyPOSParis), st.ID
}

func (e *env) customerCtx(t testing.TB, name string) context.Context {
	t.Helper()
	svc := customer.NewService(e.pool, customer.WithPasswordParams(customer.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}))
	c, _, err := svc.SignUp(context.Background(), uuid.NewString()+"@example.com", "correct horse battery", name)
	if err != nil {
		t.Fatal(err)
	}
	return e.on(t, commerce.WithCustomer(context.Background(), c.ID), demo.KeyWebEU)
}

func (e *env) variant(t testing.TB, i, onHand int) commerce.ID {
	t.Helper()
	v := demo.StockedVariants(i+1, 20)[i]
	if _, err := e.pool.Exec(context.Background(), `INSERT INTO stock_levels (variant_id, location_id, on_hand) VALUES ($1, $2, $3)
		ON CONFLICT (variant_id, location_id) DO UPDATE SET on_hand = $3, reserved = 0`, v, paris, onHand); err != nil {
		t.Fatal(err)
	}
	return v
}

func (e *env) level(t testing.TB, v commerce.ID) inventory.Level {
	t.Helper()
	l, err := e.inv.FindLevel(context.Background(), v, paris)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// order checks a cart of one unit of v out for pickup at Paris, paid by m;
// the token is "" for a customer.
func (e *env) order(t testing.TB, ctx context.Context, v commerce.ID, m order.PaymentMethod) *order.CheckoutResult {
	t.Helper()
	c, token, err := e.carts.CreateCart(ctx, cart.CreateInput{Lines: []cart.LineInput{{VariantID: v, Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.orders.Checkout(ctx, order.CheckoutInput{CartID: c.ID, Token: token, IdempotencyKey: uuid.NewString(),
		Fulfillment: order.Fulfillment{Pickup: &order.PickupInput{LocationID: paris}}, Payment: order.PaymentInput{Method: m}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// readyEvent returns the payload of the order's order.ready_for_pickup event.
func (e *env) readyEvent(t testing.TB, id commerce.ID) map[string]any {
	t.Helper()
	var raw []byte
	if err := e.pool.QueryRow(context.Background(), `SELECT payload FROM outbox WHERE queue = $1 AND aggregate_id = $2
		AND payload->>'type' = 'order.ready_for_pickup'`, order.EventQueue, id).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func code(err error) string { return commerce.ErrorCode(err) }

func TestHappyPathPayAtPickup(t *testing.T) {
	e := newEnv(t)
	v := e.variant(t, 0, 5)
	shopper := e.customerCtx(t, "Anna Dupont")
	res := e.order(t, shopper, v, order.AtPickup)
	desk, staffID := e.staffCtx(t, commerce.RoleAssociate, paris)

	q, err := e.desk.FindQueue(desk, paris)
	if err != nil || len(q) != 1 || q[0].Order.ID != res.Order.ID {
		t.Fatalf("queue %+v, %v", q, err)
	}
	if q[0].CustomerName == nil || *q[0].CustomerName != "Anna D." || !strings.Contains(q[0].MaskedEmail, "•••@example.com") ||
		strings.Contains(q[0].MaskedEmail, res.Order.Email[:5]) {
		t.Errorf("entry name %v email %q", q[0].CustomerName, q[0].MaskedEmail)
	}
	o, err := e.desk.Prepare(desk, res.Order.ID)
	if err != nil || o.Status != order.Preparing {
		t.Fatalf("prepare: %+v %v", o, err)
	}
	if _, err := e.desk.Prepare(desk, res.Order.ID); code(err) != commerce.ErrConflict {
		t.Errorf("prepared twice: %v", err)
	}
	// Not ready yet: no code, and no hand-over.
	if c, _ := e.desk.Code(shopper, o); c != nil {
		t.Errorf("code before ready: %s", *c)
	}
	o, err = e.desk.MarkReady(desk, res.Order.ID)
	if err != nil || o.Status != order.ReadyForPickup || o.ReadyAt == nil || o.HoldUntil == nil {
		t.Fatalf("ready: %+v %v", o, err)
	}
	if got := o.HoldUntil.Sub(*o.ReadyAt); got != 7*24*time.Hour { // Paris holds 7 days
		t.Errorf("hold %s", got)
	}
	// The owner sees the code, staff do not; the event carries it.
	mine, err := e.orders.FindOrder(shopper, res.Order.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.desk.Code(shopper, mine)
	if err != nil || c == nil || len(*c) != pickup.CodeLen {
		t.Fatalf("code %v %v", c, err)
	}
	if sc, _ := e.desk.Code(desk, mine); sc != nil {
		t.Error("staff are shown the code")
	}
	if ev := e.readyEvent(t, res.Order.ID); ev["pickupCode"] != *c || ev["status"] != "ready_for_pickup" {
		t.Errorf("event %v (code %s)", ev, *c)
	}
	var stored []byte
	if err := e.pool.QueryRow(context.Background(), `SELECT pickup_code_hash FROM orders WHERE id = $1`, res.Order.ID).Scan(&stored); err != nil ||
		len(stored) != 32 || strings.Contains(string(stored), *c) {
		t.Errorf("stored %x %v", stored, err)
	}

	// A wrong code is refused; a right one without the payment too.
	if _, err := e.desk.HandOver(desk, res.Order.ID, "ZZZZZZ", &pickup.Payment{Tender: order.Cash}); code(err) != commerce.ErrInvalidInput {
		t.Errorf("wrong code: %v", err)
	}
	if _, err := e.desk.HandOver(desk, res.Order.ID, *c, nil); code(err) != commerce.ErrInvalidInput {
		t.Errorf("no payment: %v", err)
	}
	typed := strings.ToLower((*c)[:3] + "-" + (*c)[3:])
	o, err = e.desk.HandOver(desk, res.Order.ID, typed, &pickup.Payment{Tender: order.Terminal, Reference: "T-42"})
	if err != nil || o.Status != order.PickedUp || o.PaymentStatus != order.Paid || o.PickedUpAt == nil {
		t.Fatalf("hand over: %+v %v", o, err)
	}
	if lv := e.level(t, v); lv.OnHand != 4 || lv.Reserved != 0 {
		t.Errorf("stock %+v", lv)
	}
	pays, _ := e.orders.FindPayments(context.Background(), res.Order.ID)
	if len(pays) != 1 || pays[0].Provider != "in_store" || pays[0].StaffID == nil || *pays[0].StaffID != staffID || pays[0].Reference != "T-42" {
		t.Errorf("payments %+v", pays)
	}
	// Every move is a transition by this associate through the POS channel.
	ts, _ := e.orders.FindTransitions(context.Background(), res.Order.ID)
	var moves []string
	for _, tr := range ts {
		if tr.Field != "status" || tr.From == "" {
			continue
		}
		moves = append(moves, tr.To)
		if tr.Actor.Kind != order.ActorStaff || tr.Actor.ID == nil || *tr.Actor.ID != staffID || tr.Actor.ChannelID == nil {
			t.Errorf("transition %+v", tr)
		}
	}
	if strings.Join(moves, ",") != "preparing,ready_for_pickup,picked_up" {
		t.Errorf("moves %v", moves)
	}
	if q, _ := e.desk.FindQueue(desk, paris); len(q) != 0 {
		t.Errorf("queue after hand-over: %d", len(q))
	}
	if _, err := e.desk.HandOver(desk, res.Order.ID, *c, nil); code(err) != commerce.ErrConflict {
		t.Errorf("handed over twice: %v", err)
	}
}

func TestWrongCodesAreRateLimited(t *testing.T) {
	e := newEnv(t)
	v := e.variant(t, 0, 5)
	guest := e.on(t, context.Background(), demo.KeyWebEU)
	res := e.order(t, guest, v, order.Online)
	in := e.gw.Succeed(res.Payment.IntentID)
	if err := e.orders.HandlePaymentEvent(context.Background(), payment.Event{ID: "evt_1", Type: payment.IntentSucceeded, Created: time.Now(),
		IntentID: in.ID, OrderID: &res.Order.ID, Amount: in.Amount, Received: in.Received}); err != nil {
		t.Fatal(err)
	}
	desk, _ := e.staffCtx(t, commerce.RoleAssociate, paris)
	if _, err := e.desk.MarkReady(desk, res.Order.ID); err != nil { // placed → preparing → ready
		t.Fatal(err)
	}
	mine, _ := e.orders.FindOrder(guest, res.Order.ID, res.Token)
	c, _ := e.desk.Code(guest, mine)
	for i := range pickup.DefaultCodeLimitPerOrder.Max {
		if _, err := e.desk.HandOver(desk, res.Order.ID, fmt.Sprintf("WRONG%d", i), nil); code(err) != commerce.ErrInvalidInput {
			t.Fatalf("wrong code %d: %v", i, err)
		}
	}
	// Now even the right code waits: the guesser cannot tell.
	if _, err := e.desk.HandOver(desk, res.Order.ID, *c, nil); code(err) != commerce.ErrRateLimited {
		t.Fatalf("after %d wrong codes: %v", pickup.DefaultCodeLimitPerOrder.Max, err)
	}
	// Another associate counts against the same order.
	other, _ := e.staffCtx(t, commerce.RoleAssociate, paris)
	if _, err := e.desk.HandOver(other, res.Order.ID, *c, nil); code(err) != commerce.ErrRateLimited {
		t.Errorf("another associate: %v", err)
	}
	if _, err := e.pool.Exec(context.Background(), `DELETE FROM rate_limits`); err != nil {
		t.Fatal(err)
	}
	o, err := e.desk.HandOver(desk, res.Order.ID, *c, nil)
	if err != nil || o.Status != order.PickedUp {
		t.Fatalf("after the window: %+v %v", o, err)
	}
	// A paid order takes no payment at the desk.
	if _, err := e.desk.HandOver(desk, res.Order.ID, *c, &pickup.Payment{Tender: order.Cash}); code(err) == "" {
		t.Error("handed over twice")
	}
}

func TestStoresAndCustomersKeepToTheirOwn(t *testing.T) {
	e := newEnv(t)
	v := e.variant(t, 0, 5)
	anna := e.customerCtx(t, "Anna")
	res := e.order(t, anna, v, order.AtPickup)
	lyonDesk, _ := e.staffCtx(t, commerce.RoleAssociate, lyon)
	if _, err := e.desk.FindQueue(lyonDesk, paris); code(err) != commerce.ErrForbidden {
		t.Errorf("Lyon reads Paris's queue: %v", err)
	}
	if _, err := e.desk.Watch(lyonDesk, paris); code(err) != commerce.ErrForbidden {
		t.Errorf("Lyon watches Paris's queue: %v", err)
	}
	for name, f := range map[string]func() error{
		"prepare":   func() error { _, err := e.desk.Prepare(lyonDesk, res.Order.ID); return err },
		"ready":     func() error { _, err := e.desk.MarkReady(lyonDesk, res.Order.ID); return err },
		"hand over": func() error { _, err := e.desk.HandOver(lyonDesk, res.Order.ID, "ABCDEF", nil); return err },
	} {
		if err := f(); code(err) != commerce.ErrNotFound {
			t.Errorf("Lyon %s Paris's order: %v", name, err)
		}
	}
	if q, err := e.desk.FindQueue(lyonDesk, lyon); err != nil || len(q) != 0 {
		t.Errorf("Lyon's own queue: %v %v", q, err)
	}
	merch, _ := e.staffCtx(t, commerce.RoleMerchandiser)
	if _, err := e.desk.FindQueue(merch, paris); code(err) != commerce.ErrForbidden {
		t.Errorf("merchandiser: %v", err)
	}
	if _, err := e.desk.FindQueue(context.Background(), paris); code(err) != commerce.ErrUnauthenticated {
		t.Errorf("nobody: %v", err)
	}
	// Customers cannot work the desk, nor arrive for someone else.
	if _, err := e.desk.Prepare(anna, res.Order.ID); code(err) != commerce.ErrUnauthenticated {
		t.Errorf("customer prepares: %v", err)
	}
	bob := e.customerCtx(t, "Bob")
	if _, err := e.desk.Arrive(bob, res.Order.ID, "", "bay 1"); code(err) != commerce.ErrNotFound {
		t.Errorf("Bob arrives for Anna: %v", err)
	}
	guest := e.on(t, context.Background(), demo.KeyWebEU)
	if _, err := e.desk.Arrive(guest, res.Order.ID, order.TokenPrefix+strings.Repeat("A", 43), ""); code(err) != commerce.ErrNotFound {
		t.Errorf("a stranger's token: %v", err)
	}
	admin, _ := e.staffCtx(t, commerce.RoleAdmin)
	if q, err := e.desk.FindQueue(admin, paris); err != nil || len(q) != 1 {
		t.Errorf("admin: %v %v", q, err)
	}
	// Nobody but the owner sees the code: Lyon cannot even read the order.
	if _, err := e.orders.FindOrder(lyonDesk, res.Order.ID, ""); code(err) != commerce.ErrNotFound {
		t.Errorf("Lyon reads the order: %v", err)
	}
}

func TestArrivalReachesTheQueueLive(t *testing.T) {
	e := newEnv(t)
	v := e.variant(t, 0, 5)
	guest := e.on(t, context.Background(), demo.KeyWebEU)
	res := e.order(t, guest, v, order.AtPickup)
	desk, _ := e.staffCtx(t, commerce.RoleAssociate, paris)
	for !e.hub.Listening() {
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithCancel(desk)
	defer cancel()
	ch, err := e.desk.Watch(ctx, paris)
	if err != nil {
		t.Fatal(err)
	}
	next := func(what string) []pickup.Entry {
		t.Helper()
		select {
		case q := <-ch:
			return q
		case <-time.After(10 * time.Second):
			t.Fatalf("no push: %s", what)
		}
		return nil
	}
	if q := next("first"); len(q) != 1 || q[0].Order.ArrivedAt != nil {
		t.Fatalf("first push %+v", q)
	}
	if _, err := e.desk.Arrive(guest, res.Order.ID, res.Token, "  bay 3 "); err != nil {
		t.Fatal(err)
	}
	q := next("arrival")
	if len(q) != 1 || q[0].Order.ArrivedAt == nil || q[0].Order.ArrivalSpot == nil || *q[0].Order.ArrivalSpot != "bay 3" {
		t.Fatalf("after arrival %+v", q)
	}
	// A new order placed elsewhere (through checkout) appears too, after
	// the arrived one.
	res2 := e.order(t, e.customerCtx(t, "Chloé Martin"), v, order.AtPickup)
	q = next("new order")
	if len(q) != 2 || q[0].Order.ID != res.Order.ID || q[1].Order.ID != res2.Order.ID {
		t.Fatalf("after the second order %+v", q)
	}
}

func TestUncollectedPickupsExpire(t *testing.T) {
	e := newEnv(t)
	v := e.variant(t, 0, 5)
	guest := e.on(t, context.Background(), demo.KeyWebEU)
	desk, _ := e.staffCtx(t, commerce.RoleAssociate, paris)

	// Paid online, made ready, never collected.
	paid := e.order(t, guest, v, order.Online)
	in := e.gw.Succeed(paid.Payment.IntentID)
	if err := e.orders.HandlePaymentEvent(context.Background(), payment.Event{ID: "evt_p", Type: payment.IntentSucceeded, Created: time.Now(),
		IntentID: in.ID, OrderID: &paid.Order.ID, Amount: in.Amount, Received: in.Received}); err != nil {
		t.Fatal(err)
	}
	o, err := e.desk.MarkReady(desk, paid.Order.ID)
	if err != nil {
		t.Fatal(err)
	}
	// To be paid at pickup, never prepared.
	unpaid := e.order(t, guest, v, order.AtPickup)
	if lv := e.level(t, v); lv.Reserved != 2 {
		t.Fatalf("level %+v", lv)
	}
	if n, err := e.desk.ExpireUncollected(context.Background(), o.HoldUntil.Add(-time.Minute)); err != nil || n != 0 {
		t.Fatalf("expired %d early: %v", n, err)
	}
	// The ready order at the end of its hold, while the provider is
	// down: expired, stock released, the refund left to retry.
	e.gw.Fail.Store(true)
	n, err := e.desk.ExpireUncollected(context.Background(), o.HoldUntil.Add(time.Second))
	if err != nil || n != 1 {
		t.Fatalf("expired %d: %v", n, err)
	}
	if got, _ := e.orders.FindOrder(guest, paid.Order.ID, paid.Token); got.Status != order.Expired || got.PaymentStatus != order.Paid {
		t.Errorf("paid order while the provider is down: %s/%s", got.Status, got.PaymentStatus)
	}
	e.gw.Fail.Store(false)
	// The next run refunds it, and expires the unprepared one once its
	// preparation time (60 minutes in Paris) has passed too.
	n, err = e.desk.ExpireUncollected(context.Background(), o.HoldUntil.Add(61*time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("expired %d: %v", n, err)
	}
	got, _ := e.orders.FindOrder(guest, paid.Order.ID, paid.Token)
	if got.Status != order.Expired || got.PaymentStatus != order.Refunded || e.gw.RefundCalls.Load() != 1 {
		t.Errorf("paid order %s/%s, %d refunds", got.Status, got.PaymentStatus, e.gw.RefundCalls.Load())
	}
	got, _ = e.orders.FindOrder(guest, unpaid.Order.ID, unpaid.Token)
	if got.Status != order.Expired || got.PaymentStatus != order.Unpaid {
		t.Errorf("pay-at-pickup order %s/%s", got.Status, got.PaymentStatus)
	}
	if lv := e.level(t, v); lv.Reserved != 0 || lv.OnHand != 5 {
		t.Errorf("stock not released: %+v", lv)
	}
	if n, err := e.desk.ExpireUncollected(context.Background(), o.HoldUntil.Add(3*time.Hour)); err != nil || n != 0 {
		t.Errorf("expired %d again: %v", n, err)
	}
	// The code no longer works.
	if _, err := e.desk.HandOver(desk, paid.Order.ID, "ABCDEF", nil); code(err) != commerce.ErrConflict && code(err) != commerce.ErrInvalidInput {
		t.Errorf("hand over an expired order: %v", err)
	}
}

func TestMaskEmail(t *testing.T) {
	for in, want := range map[string]string{
		"anna.dupont@example.com": "an•••@example.com",
		"a@b.c":                   "a•••@b.c",
		"élise@exemple.fr":        "él•••@exemple.fr",
		"nope":                    "•••",
	} {
		if got := pickup.MaskEmail(in); got != want {
			t.Errorf("MaskEmail(%q) = %q, want %q", in, got, want)
		}
	}
}
