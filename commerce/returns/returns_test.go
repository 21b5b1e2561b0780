package returns_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

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
	"github.com/omnicanal/omnicanal/commerce/pricing"
	"github.com/omnicanal/omnicanal/commerce/returns"
	"github.com/omnicanal/omnicanal/commerce/staff"
)

func TestMain(m *testing.M) { commercetest.Main(m) }

var (
	paris = demo.LocationID(demo.CodeParis)
	lyon  = demo.LocationID(demo.CodeLyon)
)

type env struct {
	pool    *pgxpool.Pool
	carts   *cart.Service
	inv     *inventory.Service
	offers  *offer.Service
	orders  *order.Service
	returns *returns.Service
	gw      *paymenttest.Gateway
}

func newEnv(t testing.TB) *env {
	t.Helper()
	pool := commercetest.NewDB(t, commercetest.WithDemo())
	e := &env{pool: pool, offers: offer.NewService(pool), inv: inventory.NewService(pool), gw: paymenttest.New()}
	e.carts = cart.NewService(pool, e.offers)
	e.orders = order.NewService(pool, e.carts, e.inv, order.WithOffers(e.offers), order.WithGateway(e.gw))
	e.returns = returns.NewService(pool, e.orders, e.inv, e.offers, nil)
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

func (e *env) web(t testing.TB) context.Context { return e.on(t, context.Background(), demo.KeyWebEU) }

// staffCtx acts for a new staff user of role (associate of locs).
func (e *env) staffCtx(t testing.TB, role commerce.Role, locs ...commerce.ID) context.Context {
	t.Helper()
	st, err := staff.NewService(e.pool).CreateStaff(context.Background(), staff.Input{
		Email: fmt.Sprintf("%s-%s@example.com", role, commerce.NewID()), Name: string(role), Role: role, LocationIDs: locs})
	if err != nil {
		t.Fatal(err)
	}
	ctx := commerce.WithPrincipal(context.Background(), commerce.Principal{StaffID: st.ID, Role: st.Role, LocationIDs: st.LocationIDs})
	return e.on(t, ctx, demo.KeyPOSParis)
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

func (e *env) variant(t testing.TB, i int) commerce.ID {
	t.Helper()
	v := demo.StockedVariants(i+1, 20)[i]
	for _, loc := range []commerce.ID{paris, lyon} {
		if _, err := e.pool.Exec(context.Background(), `INSERT INTO stock_levels (variant_id, location_id, on_hand) VALUES ($1, $2, 10)
			ON CONFLICT (variant_id, location_id) DO UPDATE SET on_hand = 10, reserved = 0`, v, loc); err != nil {
			t.Fatal(err)
		}
	}
	return v
}

func (e *env) level(t testing.TB, v, loc commerce.ID) inventory.Level {
	t.Helper()
	l, err := e.inv.FindLevel(context.Background(), v, loc)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func (e *env) count(t testing.TB, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// paidOrder checks out, on ctx, lines for pickup at Paris paid online, pays
// it and hands it over. The token is "" for a customer.
func (e *env) paidOrder(t testing.TB, ctx context.Context, lines ...cart.LineInput) (*order.Order, string) {
	t.Helper()
	c, token, err := e.carts.CreateCart(ctx, cart.CreateInput{Lines: lines})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.orders.Checkout(ctx, order.CheckoutInput{CartID: c.ID, Token: token, IdempotencyKey: uuid.NewString(),
		Fulfillment: order.Fulfillment{Pickup: &order.PickupInput{LocationID: paris}}, Payment: order.PaymentInput{Method: order.Online}})
	if err != nil {
		t.Fatal(err)
	}
	in := e.gw.Succeed(res.Payment.IntentID)
	id := res.Order.ID
	if err := e.orders.HandlePaymentEvent(context.Background(), payment.Event{ID: "evt_" + uuid.NewString(), Type: payment.IntentSucceeded,
		IntentID: in.ID, OrderID: &id, Amount: in.Amount, Received: in.Received}); err != nil {
		t.Fatal(err)
	}
	e.handOver(t, id)
	o, err := e.orders.FindOrder(ctx, id, res.Token)
	if err != nil {
		t.Fatal(err)
	}
	if o.PaymentStatus != order.Paid || o.Status != order.PickedUp {
		t.Fatalf("order %s / %s", o.Status, o.PaymentStatus)
	}
	return o, res.Token
}

// handOver moves a placed pickup order to picked_up, as the pickup desk would.
func (e *env) handOver(t testing.TB, id commerce.ID) {
	t.Helper()
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		o, err := order.FindOrderByIDTx(ctx, tx, id, true)
		if err != nil {
			return err
		}
		for _, to := range []order.Status{order.Preparing, order.ReadyForPickup, order.PickedUp} {
			if err := order.TransitionTx(ctx, tx, o, to, order.SystemActor, "test"); err != nil {
				return err
			}
		}
		return e.inv.FulfilTx(ctx, tx, id)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func line(v commerce.ID, n int) cart.LineInput { return cart.LineInput{VariantID: v, Quantity: n} }

func code(err error) string { return commerce.ErrorCode(err) }

func input(o *order.Order, token string, loc commerce.ID, n int, m returns.RefundMethod) returns.Input {
	return returns.Input{OrderID: o.ID, Token: token, LocationID: loc, Reason: "too small",
		Lines: []returns.LineInput{{OrderLineID: o.Lines[0].ID, Quantity: n}}, Refund: returns.RefundInput{Method: m},
		IdempotencyKey: uuid.NewString()}
}

func (e *env) order(t testing.TB, id commerce.ID) *order.Order {
	t.Helper()
	o, err := order.FindOrderByIDTx(context.Background(), e.pool, id, false)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// An online order picked up in Paris comes back to Lyon: the units go on
// hand in Lyon, the card is refunded once, and no more than was bought
// can be returned.
func TestOnlineOrderReturnedInAnotherStore(t *testing.T) {
	e := newEnv(t)
	v := e.variant(t, 0)
	o, _ := e.paidOrder(t, e.web(t), line(v, 2))
	lyonDesk := e.staffCtx(t, commerce.RoleAssociate, lyon)
	parisBefore, lyonBefore := e.level(t, v, paris), e.level(t, v, lyon)

	in := input(o, "", lyon, 1, returns.Original)
	r, err := e.returns.CreateReturn(lyonDesk, in)
	if err != nil {
		t.Fatal(err)
	}
	half := o.Lines[0].Total.Amount / 2
	if r.Status != returns.Received || r.RefundStatus != returns.RefundRefunded || r.Refund.Amount != half || r.LocationID != lyon {
		t.Fatalf("return %+v", r)
	}
	if got := e.level(t, v, lyon); got.OnHand != lyonBefore.OnHand+1 {
		t.Errorf("Lyon on hand %d → %d", lyonBefore.OnHand, got.OnHand)
	}
	if got := e.level(t, v, paris); got != parisBefore {
		t.Errorf("Paris changed: %+v → %+v", parisBefore, got)
	}
	if n := e.count(t, `SELECT count(*) FROM stock_movements WHERE kind = 'returned' AND location_id = $1 AND order_id = $2 AND on_hand_delta = 1`,
		lyon, o.ID); n != 1 {
		t.Errorf("%d returned ledger rows", n)
	}
	if e.gw.RefundCalls.Load() != 1 {
		t.Errorf("%d provider refunds", e.gw.RefundCalls.Load())
	}
	if n := e.count(t, `SELECT count(*) FROM order_refunds WHERE order_id = $1 AND idempotency_key = $2 AND amount = $3 AND provider_refund_id IS NOT NULL`,
		o.ID, "return:"+r.ID.String(), half); n != 1 {
		t.Errorf("%d recorded refunds", n)
	}
	if got := e.order(t, o.ID); got.PaymentStatus != order.PartiallyRefunded {
		t.Errorf("payment %s", got.PaymentStatus)
	}

	// The same request again: the same return, no second refund.
	again, err := e.returns.CreateReturn(lyonDesk, in)
	if err != nil || again.ID != r.ID {
		t.Fatalf("retry: %+v, %v", again, err)
	}
	if e.gw.RefundCalls.Load() != 1 || e.level(t, v, lyon).OnHand != lyonBefore.OnHand+1 {
		t.Errorf("retry refunded or restocked again: %d refunds", e.gw.RefundCalls.Load())
	}
	// Two more units of a line of two, one returned: refused.
	if _, err := e.returns.CreateReturn(lyonDesk, input(o, "", lyon, 2, returns.Original)); code(err) != commerce.ErrInvalidInput {
		t.Errorf("over-return: %v", err)
	}
	// The last unit, in cash at the till.
	r2, err := e.returns.CreateReturn(lyonDesk, input(o, "", lyon, 1, returns.Cash))
	if err != nil {
		t.Fatal(err)
	}
	if r2.Refund.Amount != o.Lines[0].Total.Amount-half || r2.RefundStatus != returns.RefundRefunded || e.gw.RefundCalls.Load() != 1 {
		t.Errorf("cash return %+v, %d provider refunds", r2, e.gw.RefundCalls.Load())
	}
	if got := e.order(t, o.ID); got.PaymentStatus != order.Refunded {
		t.Errorf("payment %s after everything came back", got.PaymentStatus)
	}
	if n := e.count(t, `SELECT coalesce(sum(amount), 0) FROM order_refunds WHERE order_id = $1`, o.ID); int64(n) != o.Total.Amount {
		t.Errorf("refunded %d of %d", n, o.Total.Amount)
	}
	if n := e.count(t, `SELECT count(*) FROM outbox WHERE queue = 'return_events' AND payload->>'type' = 'return.created'`); n != 2 {
		t.Errorf("%d return.created events", n)
	}
	if n := e.count(t, `SELECT count(*) FROM outbox WHERE queue = 'order_events' AND aggregate_id = $1 AND payload->>'type' = 'order.refunded'`, o.ID); n != 2 {
		t.Errorf("%d order.refunded events, want one per refund", n)
	}
	rs, err := e.returns.FindReturnsByOrderID(context.Background(), o.ID)
	if err != nil || len(rs) != 2 || rs[0].ID != r.ID || len(rs[0].Lines) != 1 || rs[0].Lines[0].Quantity != 1 {
		t.Errorf("returns of the order: %+v, %v", rs, err)
	}
}

// Concurrent returns of one line never take back more than was bought.
func TestConcurrentReturnsCannotOverReturn(t *testing.T) {
	e := newEnv(t)
	v := e.variant(t, 0)
	o, _ := e.paidOrder(t, e.web(t), line(v, 3))
	desk := e.staffCtx(t, commerce.RoleAssociate, paris)
	before := e.level(t, v, paris)
	const n = 12
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		ok, over int
		others   []error
	)
	for range n {
		wg.Go(func() {
			_, err := e.returns.CreateReturn(desk, input(o, "", paris, 1, returns.Original))
			mu.Lock()
			defer mu.Unlock()
			switch code(err) {
			case "":
				ok++
			case commerce.ErrInvalidInput:
				over++
			default:
				others = append(others, err)
			}
		})
	}
	wg.Wait()
	if ok != 3 || over != n-3 || len(others) > 0 {
		t.Fatalf("%d returned, %d refused, other errors %v", ok, over, others)
	}
	if got := e.level(t, v, paris); got.OnHand != before.OnHand+3 {
		t.Errorf("on hand %d → %d", before.OnHand, got.OnHand)
	}
	if e.gw.RefundCalls.Load() != 3 {
		t.Errorf("%d refunds", e.gw.RefundCalls.Load())
	}
	if n := e.count(t, `SELECT returned_quantity FROM order_lines WHERE order_id = $1`, o.ID); n != 3 {
		t.Errorf("returned_quantity %d", n)
	}
	if got := e.order(t, o.ID); got.PaymentStatus != order.Refunded {
		t.Errorf("payment %s", got.PaymentStatus)
	}
	if n := e.count(t, `SELECT coalesce(sum(amount), 0) FROM order_refunds WHERE order_id = $1`, o.ID); int64(n) != o.Total.Amount {
		t.Errorf("refunded %d of %d", n, o.Total.Amount)
	}
}

// Concurrent retries of one request make one return and one refund.
func TestIdempotentRetries(t *testing.T) {
	e := newEnv(t)
	v := e.variant(t, 0)
	o, _ := e.paidOrder(t, e.web(t), line(v, 2))
	desk := e.staffCtx(t, commerce.RoleAssociate, paris)
	in := input(o, "", paris, 1, returns.Original)
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		ids = map[commerce.ID]bool{}
	)
	for range 10 {
		wg.Go(func() {
			r, err := e.returns.CreateReturn(desk, in)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			ids[r.ID] = true
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(ids) != 1 || e.gw.RefundCalls.Load() != 1 || e.count(t, `SELECT count(*) FROM returns`) != 1 {
		t.Errorf("%d returns, %d refunds", len(ids), e.gw.RefundCalls.Load())
	}
	// The key for another order is a conflict.
	o2, _ := e.paidOrder(t, e.web(t), line(v, 1))
	other := input(o2, "", paris, 1, returns.Original)
	other.IdempotencyKey = in.IdempotencyKey
	if _, err := e.returns.CreateReturn(desk, other); code(err) != commerce.ErrConflict {
		t.Errorf("key reused for another order: %v", err)
	}
}

// A provider refund that failed leaves the return pending; the same
// request again refunds it, once.
func TestRefundRetriedAfterProviderFailure(t *testing.T) {
	e := newEnv(t)
	v := e.variant(t, 0)
	o, _ := e.paidOrder(t, e.web(t), line(v, 1))
	desk := e.staffCtx(t, commerce.RoleAssociate, paris)
	in := input(o, "", paris, 1, returns.Original)
	e.gw.Fail.Store(true)
	if _, err := e.returns.CreateReturn(desk, in); code(err) != commerce.ErrPaymentFailed {
		t.Fatalf("provider down: %v", err)
	}
	if n := e.count(t, `SELECT count(*) FROM returns WHERE refund_status = 'pending' AND status = 'received'`); n != 1 {
		t.Fatalf("%d pending returns", n)
	}
	e.gw.Fail.Store(false)
	r, err := e.returns.CreateReturn(desk, in)
	if err != nil || r.RefundStatus != returns.RefundRefunded {
		t.Fatalf("retry: %+v, %v", r, err)
	}
	if _, err := e.returns.CreateReturn(desk, in); err != nil {
		t.Fatal(err)
	}
	if e.gw.RefundCalls.Load() != 1 || e.order(t, o.ID).PaymentStatus != order.Refunded {
		t.Errorf("%d refunds, payment %s", e.gw.RefundCalls.Load(), e.order(t, o.ID).PaymentStatus)
	}
}

// Customers return their own orders only; the units and the money move
// when the store receives them.
func TestCustomerReturn(t *testing.T) {
	e := newEnv(t)
	v := e.variant(t, 0)
	anna := e.customerCtx(t)
	o, _ := e.paidOrder(t, anna, line(v, 2))
	bob := e.customerCtx(t)
	if _, err := e.returns.CreateReturn(bob, input(o, "", lyon, 1, returns.Original)); code(err) != commerce.ErrNotFound {
		t.Errorf("another customer: %v", err)
	}
	if _, err := e.returns.CreateReturn(e.web(t), input(o, "", lyon, 1, returns.Original)); code(err) != commerce.ErrNotFound {
		t.Errorf("a guest without the token: %v", err)
	}
	if _, err := e.returns.CreateReturn(anna, input(o, "", lyon, 1, returns.Cash)); code(err) != commerce.ErrInvalidInput {
		t.Errorf("cash asked by the customer: %v", err)
	}
	before := e.level(t, v, lyon)
	r, err := e.returns.CreateReturn(anna, input(o, "", lyon, 1, returns.Original))
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != returns.Requested || r.RefundStatus != returns.RefundPending || e.gw.RefundCalls.Load() != 0 ||
		e.level(t, v, lyon) != before {
		t.Fatalf("requested return moved stock or money: %+v", r)
	}
	// Not Paris's to receive.
	if _, err := e.returns.ReceiveReturn(e.staffCtx(t, commerce.RoleAssociate, paris), r.ID); code(err) != commerce.ErrNotFound {
		t.Errorf("received by another store: %v", err)
	}
	lyonDesk := e.staffCtx(t, commerce.RoleAssociate, lyon)
	for range 2 {
		r, err = e.returns.ReceiveReturn(lyonDesk, r.ID)
		if err != nil {
			t.Fatal(err)
		}
	}
	if r.Status != returns.Received || r.RefundStatus != returns.RefundRefunded || e.gw.RefundCalls.Load() != 1 ||
		e.level(t, v, lyon).OnHand != before.OnHand+1 {
		t.Errorf("received: %+v, %d refunds, on hand %d", r, e.gw.RefundCalls.Load(), e.level(t, v, lyon).OnHand)
	}
	// A guest with the order token reaches their order.
	guest := e.web(t)
	g, token := e.paidOrder(t, guest, line(v, 1))
	if _, err := e.returns.CreateReturn(guest, input(g, token, paris, 1, returns.Original)); err != nil {
		t.Errorf("guest with token: %v", err)
	}
}

// An associate of Paris takes returns into Paris, not into Lyon; an order
// not handed over yet cannot be returned.
func TestAssociateScope(t *testing.T) {
	e := newEnv(t)
	v := e.variant(t, 0)
	o, _ := e.paidOrder(t, e.web(t), line(v, 2))
	desk := e.staffCtx(t, commerce.RoleAssociate, paris)
	if _, err := e.returns.CreateReturn(desk, input(o, "", lyon, 1, returns.Original)); code(err) != commerce.ErrForbidden {
		t.Errorf("into Lyon: %v", err)
	}
	if _, err := e.returns.CreateReturn(desk, input(o, "", paris, 1, returns.Original)); err != nil {
		t.Errorf("into Paris: %v", err)
	}
	if _, err := e.returns.CreateReturn(e.staffCtx(t, commerce.RoleAdmin), input(o, "", lyon, 1, returns.Original)); err != nil {
		t.Errorf("an admin into Lyon: %v", err)
	}
	// Placed, not picked up: cancel it instead.
	ctx := e.web(t)
	c, token, err := e.carts.CreateCart(ctx, cart.CreateInput{Lines: []cart.LineInput{line(v, 1)}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.orders.Checkout(ctx, order.CheckoutInput{CartID: c.ID, Token: token, IdempotencyKey: uuid.NewString(),
		Fulfillment: order.Fulfillment{Pickup: &order.PickupInput{LocationID: paris}}, Payment: order.PaymentInput{Method: order.AtPickup}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.returns.CreateReturn(desk, input(res.Order, "", paris, 1, returns.Original)); code(err) != commerce.ErrConflict {
		t.Errorf("an order not handed over: %v", err)
	}
}

// Returning one of two units that together reached a "spend N, get M off"
// tier claws the lost discount back from the refund.
func TestThresholdOfferClawback(t *testing.T) {
	e := newEnv(t)
	v := e.variant(t, 0)
	ctx := e.web(t)
	c, token, err := e.carts.CreateCart(ctx, cart.CreateInput{Lines: []cart.LineInput{line(v, 1)}})
	if err != nil {
		t.Fatal(err)
	}
	unit := c.Lines[0].Price.Price.Amount
	if unit < 400 {
		t.Fatalf("unit price %d too small for the test", unit)
	}
	// Spend 1.5 units, get 2 EUR off: two units reach it, one does not.
	kind := pricing.Tiered
	title := "Spend more, save 2"
	money := func(a int64) offer.MoneyInput {
		return offer.MoneyInput{Amount: fmt.Sprintf("%d.%02d", a/100, a%100), CurrencyCode: string(c.Currency)}
	}
	merch := e.staffCtx(t, commerce.RoleMerchandiser)
	if _, err := e.offers.CreateOffer(merch, offer.Input{Title: &title, Kind: &kind,
		Tiers: []offer.TierInput{{MinSubtotal: money(unit * 3 / 2), AmountOff: money(200)}}}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.carts.UpdateLines(ctx, c.ID, token, []cart.LineUpdate{{ID: c.Lines[0].ID, Quantity: 2}}, nil); err != nil {
		t.Fatal(err)
	}
	res, err := e.orders.Checkout(ctx, order.CheckoutInput{CartID: c.ID, Token: token, IdempotencyKey: uuid.NewString(),
		Fulfillment: order.Fulfillment{Pickup: &order.PickupInput{LocationID: paris}}, Payment: order.PaymentInput{Method: order.Online}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Order.Total.Amount != 2*unit-200 {
		t.Fatalf("total %d, want %d: the offer did not apply", res.Order.Total.Amount, 2*unit-200)
	}
	in := e.gw.Succeed(res.Payment.IntentID)
	id := res.Order.ID
	if err := e.orders.HandlePaymentEvent(context.Background(), payment.Event{ID: "evt_tier", Type: payment.IntentSucceeded,
		IntentID: in.ID, OrderID: &id, Amount: in.Amount, Received: in.Received}); err != nil {
		t.Fatal(err)
	}
	e.handOver(t, id)
	o := e.order(t, id)
	desk := e.staffCtx(t, commerce.RoleAssociate, paris)
	// Paid unit−100 for each; keeping one at full price: unit−200 back.
	r, err := e.returns.CreateReturn(desk, input(o, "", paris, 1, returns.Original))
	if err != nil {
		t.Fatal(err)
	}
	if r.Refund.Amount != unit-200 || r.Clawback.Amount != 100 {
		t.Errorf("refund %d clawback %d, want %d and 100", r.Refund.Amount, r.Clawback.Amount, unit-200)
	}
	// The second unit: the rest of what was paid.
	r2, err := e.returns.CreateReturn(desk, input(o, "", paris, 1, returns.Original))
	if err != nil {
		t.Fatal(err)
	}
	if r.Refund.Amount+r2.Refund.Amount != o.Total.Amount || r2.Clawback.Amount != 0 {
		t.Errorf("refunds %d + %d of %d paid", r.Refund.Amount, r2.Refund.Amount, o.Total.Amount)
	}
}
