package order_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/demo"
	"github.com/omnicanal/omnicanal/commerce/order"
	"github.com/omnicanal/omnicanal/commerce/payment"
)

// A payment that succeeds after its order expired, while the provider
// cannot be reached to refund it, is refunded by a later run of
// ExpireUnpaid with the same key, once.
func TestLateRefundRetried(t *testing.T) {
	e := newEnv(t)
	v := e.variant(t, 0, 3)
	res := e.onlineOrder(t, v)
	e.clock.add(order.DefaultPaymentHold + time.Second)
	if n, err := e.orders.ExpireUnpaid(context.Background(), e.clock.now()); err != nil || n != 1 {
		t.Fatalf("expired %d, %v", n, err)
	}
	in := e.gw.Succeed(res.Payment.IntentID)
	e.gw.Fail.Store(true)
	if err := e.orders.HandlePaymentEvent(context.Background(), event("evt_late", payment.IntentSucceeded, in, res.Order.ID)); err != nil {
		t.Fatal(err)
	}
	// Still down: nothing is recorded, the next run tries again.
	if _, err := e.orders.ExpireUnpaid(context.Background(), e.clock.now()); err != nil {
		t.Fatal(err)
	}
	if n := e.count(t, `SELECT count(*) FROM order_refunds WHERE order_id = $1`, res.Order.ID); n != 0 {
		t.Fatalf("%d refunds recorded while the provider was down", n)
	}
	e.gw.Fail.Store(false)
	for range 2 {
		e.clock.add(time.Minute)
		if _, err := e.orders.ExpireUnpaid(context.Background(), e.clock.now()); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.count(t, `SELECT count(*) FROM order_refunds WHERE order_id = $1 AND idempotency_key = $2`,
		res.Order.ID, "refund:"+res.Order.ID.String()+":late"); n != 1 {
		t.Errorf("%d late refunds recorded, want 1", n)
	}
	if n := e.count(t, `SELECT count(*) FROM order_refunds WHERE order_id = $1`, res.Order.ID); n != 1 {
		t.Errorf("%d refunds recorded, want 1", n)
	}
	if got := e.gw.RefundCalls.Load(); got != 1 {
		t.Errorf("%d refunds at the provider, want 1", got)
	}
	o, err := e.orders.FindOrder(e.web(t), res.Order.ID, res.Token)
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != order.Expired || o.PaymentStatus != order.Refunded {
		t.Errorf("order %s/%s, want expired/refunded", o.Status, o.PaymentStatus)
	}
	if n := e.orders.RetryLateRefunds(context.Background()); n != 0 {
		t.Errorf("a further run refunded %d", n)
	}
}

// An intent that succeeded with another amount is left for staff while its
// order is open; once the order expired, the captured money is recorded and
// refunded (once), even when the provider was down at the expiry.
func TestMismatchedCaptureRefundedAfterExpiry(t *testing.T) {
	e := newEnv(t)
	v := e.variant(t, 0, 3)
	res := e.onlineOrder(t, v)
	in := e.gw.Succeed(res.Payment.IntentID)
	ev := event("evt_mismatch", payment.IntentSucceeded, in, res.Order.ID)
	ev.Received.Amount--
	if err := e.orders.HandlePaymentEvent(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if o, _ := e.orders.FindOrder(e.web(t), res.Order.ID, res.Token); o.Status != order.PendingPayment || o.PaymentStatus == order.Paid {
		t.Fatalf("a wrong amount paid the order: %s/%s", o.Status, o.PaymentStatus)
	}
	e.clock.add(order.DefaultPaymentHold + time.Second)
	e.gw.Fail.Store(true)
	if n, err := e.orders.ExpireUnpaid(context.Background(), e.clock.now()); err != nil || n != 1 {
		t.Fatalf("expired %d, %v", n, err)
	}
	e.gw.Fail.Store(false)
	for range 2 {
		e.clock.add(time.Minute)
		if _, err := e.orders.ExpireUnpaid(context.Background(), e.clock.now()); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.count(t, `SELECT count(*) FROM order_refunds WHERE order_id = $1 AND idempotency_key = $2 AND amount = $3`,
		res.Order.ID, "refund:"+res.Order.ID.String()+":late", in.Received.Amount); n != 1 {
		t.Errorf("%d late refunds of %d recorded, want 1", n, in.Received.Amount)
	}
	if got := e.gw.RefundCalls.Load(); got != 1 {
		t.Errorf("%d refunds at the provider, want 1", got)
	}
	o, err := e.orders.FindOrder(e.web(t), res.Order.ID, res.Token)
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != order.Expired || o.PaymentStatus != order.Refunded {
		t.Errorf("order %s/%s, want expired/refunded", o.Status, o.PaymentStatus)
	}
}

// An invalid email or payment method is not echoed back in full.
func TestCheckoutMessagesDoNotEchoLongInput(t *testing.T) {
	e := newEnv(t)
	v := e.variant(t, 0, 3)
	ctx := e.web(t)
	cartID, token := e.cart(t, ctx, one(v, 1))
	long := strings.Repeat("x", 100_000)
	f, p := pickupAt(paris, order.AtPickup)
	_, err := e.orders.Checkout(ctx, order.CheckoutInput{CartID: cartID, Token: token, Fulfillment: f, Payment: p,
		IdempotencyKey: uuid.NewString(), Email: "a" + long + "@"})
	var ce *commerce.Error
	if !errors.As(err, &ce) || ce.Code != commerce.ErrInvalidInput || ce.Field != "email" {
		t.Fatalf("email: %v", err)
	}
	if len(ce.Message) > 200 || !strings.Contains(ce.Message, "axxx") {
		t.Errorf("email message of %d bytes: %.80s", len(ce.Message), ce.Message)
	}
	p.Method = order.PaymentMethod(long)
	_, err = e.orders.Checkout(ctx, order.CheckoutInput{CartID: cartID, Token: token, Fulfillment: f, Payment: p,
		IdempotencyKey: uuid.NewString()})
	if !errors.As(err, &ce) || ce.Code != commerce.ErrInvalidInput || ce.Field != "payment.method" {
		t.Fatalf("method: %v", err)
	}
	if len(ce.Message) > 200 {
		t.Errorf("method message of %d bytes: %.80s", len(ce.Message), ce.Message)
	}
}

// An order paid at the till is cancelled (and its money given back) by an
// associate of the store or an admin, not by a merchandiser; a
// merchandiser still cancels an order paid online.
func TestInStoreCancelIsADeskOperation(t *testing.T) {
	e := newEnv(t)
	v := e.variant(t, 0, 10)
	pos := e.staffCtx(t, demo.KeyPOSParis, commerce.RoleAssociate, paris)
	inStore := func() *order.CheckoutResult {
		t.Helper()
		cartID, token := e.cart(t, pos, one(v, 1))
		res, err := e.orders.Checkout(pos, order.CheckoutInput{CartID: cartID, Token: token,
			Fulfillment: order.Fulfillment{Pickup: &order.PickupInput{LocationID: paris}},
			Payment:     order.PaymentInput{Method: order.InStore, Tender: order.Cash}})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := inStore()
	merch := e.staffCtx(t, demo.KeyWebEU, commerce.RoleMerchandiser)
	if _, err := e.orders.CancelOrder(merch, res.Order.ID, "", ""); code(err) != commerce.ErrForbidden {
		t.Errorf("merchandiser cancels an order paid at the till: %v", err)
	}
	if _, err := e.orders.CancelOrder(e.staffCtx(t, demo.KeyPOSParis, commerce.RoleAssociate, lyon), res.Order.ID, "", ""); err == nil {
		t.Error("a Lyon associate cancelled a Paris till order")
	}
	if n := e.count(t, `SELECT count(*) FROM orders WHERE id = $1 AND status = 'placed' AND payment_status = 'paid'`, res.Order.ID); n != 1 {
		t.Fatal("the refused cancellations changed the order")
	}
	if o, err := e.orders.CancelOrder(pos, res.Order.ID, "", ""); err != nil || o.PaymentStatus != order.Refunded {
		t.Errorf("associate: %v", err)
	}
	res = inStore()
	if o, err := e.orders.CancelOrder(e.staffCtx(t, demo.KeyWebEU, commerce.RoleAdmin), res.Order.ID, "", ""); err != nil || o.Status != order.Cancelled {
		t.Errorf("admin: %v", err)
	}
	online := e.onlineOrder(t, v)
	if o, err := e.orders.CancelOrder(merch, online.Order.ID, "", ""); err != nil || o.Status != order.Cancelled {
		t.Errorf("merchandiser cancels an online order: %v", err)
	}
}

// An online order with nothing to pay (a 100 % discount) is placed and paid
// at checkout without an intent, its stock allocated.
func TestFreeOnlineOrderPlacedAndPaid(t *testing.T) {
	e := newEnv(t)
	ctx := e.web(t)
	v := e.variant(t, 0, 10)
	e.categoryOffer(t, v, "all free", "100")
	cartID, token := e.cart(t, ctx, one(v, 2))
	res := e.checkout(t, ctx, cartID, token, order.Online, uuid.NewString())
	o := res.Order
	if o.Total.Amount != 0 {
		t.Fatalf("total %s, want 0", o.Total)
	}
	if o.Status != order.Placed || o.PaymentStatus != order.Paid || o.ExpiresAt != nil || res.Payment != nil {
		t.Errorf("order %s/%s expires %v, payment session %+v", o.Status, o.PaymentStatus, o.ExpiresAt, res.Payment)
	}
	if n := e.gw.CreateCalls.Load(); n != 0 {
		t.Errorf("%d intents created", n)
	}
	if n := e.count(t, `SELECT count(*) FROM order_transitions WHERE order_id = $1 AND field = 'payment_status'
		AND from_state = 'unpaid' AND to_state = 'paid' AND reason = 'nothing to pay'`, o.ID); n != 1 {
		t.Errorf("%d 'nothing to pay' transitions", n)
	}
	if n := e.count(t, `SELECT count(*) FROM outbox WHERE payload->>'orderId' = $1 AND payload->>'type' = 'order.paid'`, o.ID.String()); n != 1 {
		t.Errorf("%d order.paid events", n)
	}
	// Allocated, not held: the expiry leaves it alone.
	e.clock.add(order.DefaultPaymentHold + time.Hour)
	if n, err := e.orders.ExpireUnpaid(context.Background(), e.clock.now()); err != nil || n != 0 {
		t.Errorf("expired %d, %v", n, err)
	}
	if n := e.count(t, `SELECT count(*) FROM stock_reservations WHERE order_id = $1 AND expires_at IS NULL AND status = 'allocated'`, o.ID); n != 1 {
		t.Errorf("%d allocated reservations", n)
	}
	got, err := e.orders.FindOrder(ctx, o.ID, res.Token)
	if err != nil || got.Status != order.Placed || got.PaymentStatus != order.Paid {
		t.Errorf("after the hold: %+v, %v", got, err)
	}
	// It can still be cancelled (nothing to refund).
	if c, err := e.orders.CancelOrder(ctx, o.ID, res.Token, ""); err != nil || c.Status != order.Cancelled {
		t.Errorf("cancel: %v", err)
	}
	if n := e.gw.RefundCalls.Load(); n != 0 {
		t.Errorf("%d refunds of nothing", n)
	}
}

// A late payment of a cancelled order whose refund failed, settled again by
// a second cancellation, is refunded under the late payment's key (the
// retry pass and the cancellation never make two refunds of it).
func TestLateRefundOfCancelledOrderOneKey(t *testing.T) {
	e := newEnv(t)
	v := e.variant(t, 0, 3)
	res := e.onlineOrder(t, v)
	if _, err := e.orders.CancelOrder(e.web(t), res.Order.ID, res.Token, ""); err != nil {
		t.Fatal(err)
	}
	in := e.gw.Succeed(res.Payment.IntentID)
	e.gw.Fail.Store(true)
	if err := e.orders.HandlePaymentEvent(context.Background(), event("evt_late_cancel", payment.IntentSucceeded, in, res.Order.ID)); err != nil {
		t.Fatal(err)
	}
	e.gw.Fail.Store(false)
	if o, err := e.orders.CancelOrder(e.web(t), res.Order.ID, res.Token, ""); err != nil || o.PaymentStatus != order.Refunded {
		t.Fatalf("cancel again: %+v, %v", o, err)
	}
	if n := e.orders.RetryLateRefunds(context.Background()); n != 0 {
		t.Errorf("the retry pass refunded %d more", n)
	}
	if n := e.count(t, `SELECT count(*) FROM order_refunds WHERE order_id = $1`, res.Order.ID); n != 1 {
		t.Errorf("%d refunds, want 1", n)
	}
	if n := e.count(t, `SELECT count(*) FROM order_refunds WHERE idempotency_key = $1`, "refund:"+res.Order.ID.String()+":late"); n != 1 {
		t.Errorf("the refund is not under the late key")
	}
}
