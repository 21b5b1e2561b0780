package order

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/internal/db"
	"github.com/omnicanal/omnicanal/commerce/payment"
)

// Payments. The flow (docs/orders.md):
//
//  1. Checkout commits the order (pending_payment, stock reserved) with an
//     order_payments row for the provider, without an intent.
//  2. After commit, ensureIntent creates the intent with the idempotency
//     key "order:<id>" and records its id (not its client secret). One
//     request at a time does so: it claims the order for 30 seconds in a
//     short transaction; concurrent retries wait for the recorded intent
//     and fetch its client secret with GetIntent. A claimant that died is
//     replaced after the claim lapses, and the provider's idempotency key
//     gives the replacement the same intent.
//  3. The provider's verified events (HandlePaymentEvent) and the client's
//     own confirmation (ConfirmPayment) go through one apply path, under
//     the order's row lock, along the payment state machine, which only
//     moves forward: whichever comes first pays the order, the other finds
//     it paid and changes nothing.

// The order service applies the provider's verified events.
var _ payment.EventHandler = (*Service)(nil)

// intentClaim is how long one request may take to create an intent before
// another may try.
const intentClaim = 30 * time.Second

// ensureIntent returns the order's payment intent, creating it once.
func (s *Service) ensureIntent(ctx context.Context, o *Order) (*PaymentSession, error) {
	deadline := time.Now().Add(s.intentWait)
	for {
		var (
			intentID *string
			claimed  bool
			status   Status
		)
		err := db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
			intentID, claimed = nil, false
			var busy bool
			// The order row first, locked; then, in a statement that
			// starts after the lock is ours (so it sees what the
			// previous holder recorded), the payment.
			err := tx.QueryRow(ctx, `SELECT status, coalesce(intent_claimed_until > now(), false)
				FROM orders WHERE id = $1 FOR UPDATE`, o.ID).Scan(&status, &busy)
			if err != nil {
				return err
			}
			err = tx.QueryRow(ctx, `SELECT intent_id FROM order_payments WHERE order_id = $1 AND provider = 'stripe'`, o.ID).Scan(&intentID)
			if err != nil || intentID != nil || busy || status != PendingPayment {
				return err
			}
			claimed = true
			_, err = tx.Exec(ctx, `UPDATE orders SET intent_claimed_until = now() + $2::interval WHERE id = $1`, o.ID, intentClaim)
			return err
		})
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return nil, commerce.Errorf(commerce.ErrConflict, "this order has no online payment")
		case err != nil:
			return nil, err
		case status != PendingPayment:
			return nil, nil // cancelled or expired meanwhile: nothing to pay
		case intentID != nil:
			in, err := s.gateway.GetIntent(ctx, *intentID)
			if err != nil {
				return nil, paymentFailed(err)
			}
			return &PaymentSession{IntentID: in.ID, ClientSecret: in.ClientSecret, Status: in.Status}, nil
		case claimed:
			return s.createIntent(ctx, o)
		}
		if time.Now().After(deadline) {
			return nil, commerce.Errorf(commerce.ErrConflict, "the payment is being started by another request; try again")
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func paymentFailed(err error) error {
	return &commerce.Error{Code: commerce.ErrPaymentFailed, Field: "payment",
		Message: "the payment provider could not be reached; try again", Err: err}
}

// createIntent calls the provider, outside any transaction, and records
// the intent. When the order ended while the provider answered (cancelled
// or expired), the intent is recorded, cancelled after commit and not
// handed out: nil session.
func (s *Service) createIntent(ctx context.Context, o *Order) (*PaymentSession, error) {
	in, err := s.gateway.CreateIntent(ctx, payment.IntentRequest{OrderID: o.ID, Amount: o.Total,
		IdempotencyKey: "order:" + o.ID.String(), Description: "Order " + o.Number})
	if err != nil {
		// Let the next retry try at once.
		if _, uerr := s.pool.Exec(context.WithoutCancel(ctx), `UPDATE orders SET intent_claimed_until = NULL WHERE id = $1`, o.ID); uerr != nil {
			s.log.ErrorContext(ctx, "order: releasing the intent claim", "order", o.ID, "err", uerr)
		}
		return nil, paymentFailed(err)
	}
	var ended bool
	err = db.InTx(context.WithoutCancel(ctx), s.pool, func(tx pgx.Tx) error {
		cur, err := FindOrderByIDTx(ctx, tx, o.ID, true)
		if err != nil {
			return err
		}
		ended = cur.Status != PendingPayment
		if _, err := tx.Exec(ctx, `UPDATE order_payments SET intent_id = $2, updated_at = now(),
				status = CASE WHEN status = 'unpaid' THEN 'pending' ELSE status END
			WHERE order_id = $1 AND provider = 'stripe' AND intent_id IS NULL`, o.ID, in.ID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE orders SET intent_claimed_until = NULL WHERE id = $1`, o.ID); err != nil {
			return err
		}
		if cur.PaymentStatus == Unpaid {
			return SetPaymentStatusTx(ctx, tx, cur, PaymentPending, Actor{Kind: ActorSystem}, "payment intent created")
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("recording intent %s: %w", in.ID, err)
	}
	if ended {
		s.cancelIntent(ctx, o.ID, in.ID)
		return nil, nil
	}
	return &PaymentSession{IntentID: in.ID, ClientSecret: in.ClientSecret, Status: in.Status}, nil
}

// intentUpdate is what a provider event or a fetched intent says.
type intentUpdate struct {
	kind payment.EventType
	// amount is the intent's amount; received what was captured, or for
	// a refund what was refunded so far.
	amount, received commerce.Money
	source           string
}

// HandlePaymentEvent applies a verified provider event once: the event id
// is recorded in the transaction that applies it, so a replay is
// acknowledged without effect. Events apply in any order because the
// payment state machine only moves forward:
//
//   - succeeded: the payment is paid if the amount received equals the
//     order's total in its currency (otherwise it is logged and left for
//     staff: an order is never paid on the client's word or a wrong
//     amount); a pending_payment order is placed and its stock allocated.
//     Paid after the order expired or was cancelled: refunded at once
//     (whatever amount was captured in the order's currency), and again by
//     RetryLateRefunds when the provider could not be reached.
//   - payment_failed: the payment is failed; the reservation is kept until
//     it expires, so the shopper may try another card on the same intent.
//   - canceled: an unpaid payment is voided and a pending_payment order
//     cancelled, its stock released.
//   - processing: an unpaid or failed payment is pending again.
//   - charge.refunded: refunded, or partially_refunded while the refunded
//     amount is below the amount paid.
func (s *Service) HandlePaymentEvent(ctx context.Context, ev payment.Event) error {
	if ev.ID == "" {
		return commerce.InvalidInput("id", "an event needs its provider id")
	}
	var after []func(context.Context)
	err := db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		after = nil
		tag, err := tx.Exec(ctx, `INSERT INTO payment_events (provider_event_id, type, intent_id, order_id)
			VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, ev.ID, string(ev.Type), ev.IntentID, ev.OrderID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return nil // handled before
		}
		outcome, orderID, acts, err := s.applyTx(ctx, tx, ev.IntentID, ev.OrderID,
			intentUpdate{kind: ev.Type, amount: ev.Amount, received: ev.Received, source: "event " + ev.ID}, Actor{Kind: ActorProvider})
		if err != nil {
			return err
		}
		after = acts
		_, err = tx.Exec(ctx, `UPDATE payment_events SET outcome = $2, order_id = coalesce($3, order_id) WHERE provider_event_id = $1`,
			ev.ID, outcome, orderID)
		return err
	})
	if err != nil {
		return fmt.Errorf("order.HandlePaymentEvent: %w", err)
	}
	for _, f := range after {
		f(ctx)
	}
	return nil
}

// ConfirmPayment is the paying client saying it confirmed the intent: the
// intent is fetched from the provider (never trusted from the client) and
// applied as an event would be. Racing the provider's webhook, exactly one
// of them pays the order. It returns the order as it is then.
func (s *Service) ConfirmPayment(ctx context.Context, orderID commerce.ID, token string) (*Order, error) {
	o, err := s.FindOrder(ctx, orderID, token)
	if err != nil {
		return nil, fmt.Errorf("order.ConfirmPayment: %w", err)
	}
	var intentID *string
	err = s.pool.QueryRow(ctx, `SELECT intent_id FROM order_payments WHERE order_id = $1 AND provider = 'stripe'`, o.ID).Scan(&intentID)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && intentID == nil) {
		return nil, fmt.Errorf("order.ConfirmPayment: %w", &commerce.Error{Code: commerce.ErrConflict, Field: "orderId",
			Message: "this order has no online payment started"})
	}
	if err != nil {
		return nil, fmt.Errorf("order.ConfirmPayment: %w", err)
	}
	if s.gateway == nil {
		return nil, fmt.Errorf("order.ConfirmPayment: %w", commerce.Errorf(commerce.ErrPaymentFailed, "online payment is not available"))
	}
	in, err := s.gateway.GetIntent(ctx, *intentID)
	if err != nil {
		return nil, fmt.Errorf("order.ConfirmPayment: %w", paymentFailed(err))
	}
	upd := intentUpdate{amount: in.Amount, received: in.Received, source: "client confirmation"}
	switch in.Status {
	case payment.Succeeded:
		upd.kind = payment.IntentSucceeded
	case payment.Processing:
		upd.kind = payment.IntentProcessing
	case payment.Canceled:
		upd.kind = payment.IntentCanceled
	default:
		// Still waiting for the shopper (requires_payment_method after a
		// decline, requires_action): nothing to apply.
		return o, nil
	}
	actor := actorFrom(ctx)
	var after []func(context.Context)
	err = db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		_, _, after, err = s.applyTx(ctx, tx, *intentID, &o.ID, upd, actor)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("order.ConfirmPayment: %w", err)
	}
	for _, f := range after {
		f(ctx)
	}
	return s.FindOrder(ctx, orderID, token)
}

// applyTx applies upd to the payment of intentID (or, not recorded yet, the
// order's provider payment without an intent), under the order's row lock.
// It returns what it did, the order, and what to do after commit.
func (s *Service) applyTx(ctx context.Context, tx pgx.Tx, intentID string, orderHint *commerce.ID, upd intentUpdate, actor Actor) (string, *commerce.ID, []func(context.Context), error) {
	var orderID commerce.ID
	err := tx.QueryRow(ctx, `SELECT order_id FROM order_payments WHERE intent_id = $1`, intentID).Scan(&orderID)
	if errors.Is(err, pgx.ErrNoRows) && orderHint != nil {
		// The intent's id was not recorded yet (its creator is between
		// the provider's answer and its recording): the metadata names
		// the order.
		err = tx.QueryRow(ctx, `SELECT order_id FROM order_payments WHERE order_id = $1 AND provider = 'stripe'`, *orderHint).Scan(&orderID)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		s.log.WarnContext(ctx, "order: payment event for an unknown intent", "intent", intentID, "source", upd.source)
		return "unknown_intent", nil, nil, nil
	}
	if err != nil {
		return "", nil, nil, err
	}
	o, err := FindOrderByIDTx(ctx, tx, orderID, true)
	if err != nil {
		return "", nil, nil, err
	}
	var (
		payID    commerce.ID
		recorded *string
		refunded int64
	)
	if err := tx.QueryRow(ctx, `SELECT id, intent_id, refunded FROM order_payments WHERE order_id = $1 AND provider = 'stripe' FOR UPDATE`,
		o.ID).Scan(&payID, &recorded, &refunded); err != nil {
		return "", nil, nil, err
	}
	if recorded == nil {
		if _, err := tx.Exec(ctx, `UPDATE order_payments SET intent_id = $2 WHERE id = $1`, payID, intentID); err != nil {
			return "", nil, nil, err
		}
	} else if *recorded != intentID {
		s.log.WarnContext(ctx, "order: payment event for another intent of the order", "order", o.ID, "intent", intentID)
		return "other_intent", &o.ID, nil, nil
	}
	setRow := func(status PaymentStatus, received, refunded *int64) error {
		_, err := tx.Exec(ctx, `UPDATE order_payments SET status = $2, received = coalesce($3, received),
			refunded = coalesce($4, refunded), updated_at = now() WHERE id = $1`, payID, string(status), received, refunded)
		return err
	}
	reason := upd.source
	var after []func(context.Context)
	switch upd.kind {
	case payment.IntentSucceeded:
		ended := o.Status == Cancelled || o.Status == Expired
		if upd.received.Currency != o.Currency ||
			(upd.received.Amount != o.Total.Amount && (!ended || upd.received.Amount <= 0)) {
			// An ended order's capture of another amount in its currency
			// is recorded and given back below like any late payment.
			s.log.WarnContext(ctx, "order: payment amount differs from the order total; left for staff",
				"order", o.ID, "total", o.Total.String(), "received", upd.received.String(), "source", upd.source)
			return "amount_mismatch", &o.ID, nil, nil
		}
		if !CanTransitionPayment(o.PaymentStatus, Paid) {
			return "no_change", &o.ID, nil, nil
		}
		if err := SetPaymentStatusTx(ctx, tx, o, Paid, actor, reason); err != nil {
			return "", nil, nil, err
		}
		if err := setRow(Paid, &upd.received.Amount, nil); err != nil {
			return "", nil, nil, err
		}
		switch o.Status {
		case PendingPayment:
			if err := s.inventory.AllocateTx(ctx, tx, o.ID); err != nil {
				return "", nil, nil, err
			}
			if err := TransitionTx(ctx, tx, o, Placed, actor, "paid"); err != nil {
				return "", nil, nil, err
			}
		case Cancelled, Expired:
			// Paid after the order ended: give the money back.
			id, amount := o.ID, upd.received
			after = append(after, func(ctx context.Context) {
				if err := s.RefundOnline(ctx, id, amount, lateRefundKey(id), lateRefundReason); err != nil {
					// RetryLateRefunds (run by ExpireUnpaid) tries again.
					s.log.ErrorContext(ctx, "order: refunding a late payment", "order", id, "err", err)
				}
			})
		}
		return "applied", &o.ID, after, nil
	case payment.IntentProcessing:
		if o.PaymentStatus == PaymentPending || !CanTransitionPayment(o.PaymentStatus, PaymentPending) {
			return "no_change", &o.ID, nil, nil
		}
		if err := SetPaymentStatusTx(ctx, tx, o, PaymentPending, actor, reason); err != nil {
			return "", nil, nil, err
		}
		return "applied", &o.ID, nil, setRow(PaymentPending, nil, nil)
	case payment.IntentPaymentFailed:
		if !CanTransitionPayment(o.PaymentStatus, PaymentFailed) {
			return "no_change", &o.ID, nil, nil
		}
		// The reservation is kept until it expires: the shopper may try
		// another card on the same intent meanwhile.
		if err := SetPaymentStatusTx(ctx, tx, o, PaymentFailed, actor, reason); err != nil {
			return "", nil, nil, err
		}
		return "applied", &o.ID, nil, setRow(PaymentFailed, nil, nil)
	case payment.IntentCanceled:
		if !CanTransitionPayment(o.PaymentStatus, Voided) {
			return "no_change", &o.ID, nil, nil
		}
		if err := SetPaymentStatusTx(ctx, tx, o, Voided, actor, reason); err != nil {
			return "", nil, nil, err
		}
		if err := setRow(Voided, nil, nil); err != nil {
			return "", nil, nil, err
		}
		if o.Status == PendingPayment {
			if err := s.endTx(ctx, tx, o, Cancelled, actor, "payment cancelled"); err != nil {
				return "", nil, nil, err
			}
		}
		return "applied", &o.ID, nil, nil
	case payment.ChargeRefunded:
		paid := o.Total.Amount
		to := PartiallyRefunded
		if upd.received.Amount >= paid {
			to = Refunded
		}
		if upd.received.Amount <= refunded {
			return "no_change", &o.ID, nil, nil
		}
		if o.PaymentStatus != to {
			if !CanTransitionPayment(o.PaymentStatus, to) {
				return "no_change", &o.ID, nil, nil
			}
			if err := SetPaymentStatusTx(ctx, tx, o, to, actor, reason); err != nil {
				return "", nil, nil, err
			}
		}
		return "applied", &o.ID, nil, setRow(to, nil, &upd.received.Amount)
	}
	return "ignored", &o.ID, nil, nil
}

// RefundOnline gives amount of the order's captured online payment back
// through the provider, with the idempotency key (derive it from what the
// refund is for: "refund:<order id>:cancel", "return:<return id>"), then
// records it: an order_refunds row (a retry with the same key counts
// once), the payment's refunded amount, and the payment status
// partially_refunded or refunded. Call it after the caller's transaction
// has committed, never inside one. PAYMENT_FAILED when the provider cannot
// be reached: retry with the same key.
func (s *Service) RefundOnline(ctx context.Context, orderID commerce.ID, amount commerce.Money, key, reason string) error {
	if amount.Amount <= 0 {
		return commerce.InvalidInput("amount", "a refund is of a positive amount")
	}
	if key == "" {
		return commerce.InvalidInput("idempotencyKey", "a refund needs an idempotency key")
	}
	var (
		payID    commerce.ID
		intentID *string
	)
	err := s.pool.QueryRow(ctx, `SELECT id, intent_id FROM order_payments
		WHERE order_id = $1 AND provider = 'stripe' AND status IN ('paid', 'partially_refunded', 'refunded')`, orderID).Scan(&payID, &intentID)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && intentID == nil) {
		return fmt.Errorf("order.RefundOnline: %w", commerce.Errorf(commerce.ErrConflict, "this order has no captured online payment"))
	}
	if err != nil {
		return fmt.Errorf("order.RefundOnline: %w", err)
	}
	if s.gateway == nil {
		return fmt.Errorf("order.RefundOnline: %w", commerce.Errorf(commerce.ErrPaymentFailed, "online payment is not available"))
	}
	r, err := s.gateway.Refund(ctx, payment.RefundRequest{IntentID: *intentID, Amount: amount, IdempotencyKey: key, Reason: reason})
	if err != nil {
		return fmt.Errorf("order.RefundOnline: %w", paymentFailed(err))
	}
	err = db.InTx(context.WithoutCancel(ctx), s.pool, func(tx pgx.Tx) error {
		o, err := FindOrderByIDTx(ctx, tx, orderID, true)
		if err != nil {
			return err
		}
		var ref *string
		if r.ID != "" {
			ref = &r.ID
		}
		return recordRefundTx(ctx, tx, o, payID, amount, ref, key, nil, nil, SystemActor, reason)
	})
	if err != nil {
		return fmt.Errorf("order.RefundOnline: %w", err)
	}
	return nil
}

// RecordInStoreRefundTx records, in tx, that staff gave amount of the
// order o (locked by the caller) back at the till in tender, under the
// idempotency key: an order_refunds row against the order's payment (the
// in-store one, or the online one when cash replaces a card refund), the
// payment's refunded amount and the order's payment status.
func RecordInStoreRefundTx(ctx context.Context, tx pgx.Tx, o *Order, amount commerce.Money, tender Tender, staffID commerce.ID, key, reason string) error {
	if amount.Amount <= 0 || amount.Currency != o.Currency {
		return commerce.InvalidInput("amount", "a refund is of a positive amount in %s", o.Currency)
	}
	if tender != Cash && tender != Terminal {
		return commerce.InvalidInput("tender", "an in-store refund is in cash or by terminal")
	}
	var payID commerce.ID
	err := tx.QueryRow(ctx, `SELECT id FROM order_payments WHERE order_id = $1 AND status IN ('paid', 'partially_refunded')
		ORDER BY provider = 'in_store' DESC, created_at LIMIT 1`, o.ID).Scan(&payID)
	if errors.Is(err, pgx.ErrNoRows) {
		return commerce.Errorf(commerce.ErrConflict, "order %s has no payment to refund", o.Number)
	}
	if err != nil {
		return err
	}
	t, st := tender, staffID
	return recordRefundTx(ctx, tx, o, payID, amount, nil, key, &t, &st, Actor{Kind: ActorStaff, ID: &st}, reason)
}

// recordRefundTx records a refund of payment payID once per key and moves
// the payment statuses.
func recordRefundTx(ctx context.Context, tx pgx.Tx, o *Order, payID commerce.ID, amount commerce.Money, providerRef *string, key string,
	tender *Tender, staffID *commerce.ID, actor Actor, reason string) error {
	var tenderStr *string
	if tender != nil {
		t := string(*tender)
		tenderStr = &t
	}
	tag, err := tx.Exec(ctx, `INSERT INTO order_refunds (id, order_id, payment_id, provider_refund_id, idempotency_key, amount, tender, staff_id, reason)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (idempotency_key) DO NOTHING`,
		commerce.NewID(), o.ID, payID, providerRef, key, amount.Amount, tenderStr, staffID, reason)
	if err != nil || tag.RowsAffected() == 0 {
		return err // recorded before
	}
	var received, refunded int64
	if err := tx.QueryRow(ctx, `UPDATE order_payments p SET updated_at = now(),
			refunded = greatest(p.refunded, (SELECT sum(r.amount) FROM order_refunds r WHERE r.payment_id = p.id))
		WHERE p.id = $1 RETURNING p.received, p.refunded`, payID).Scan(&received, &refunded); err != nil {
		return err
	}
	to := PartiallyRefunded
	if refunded >= received {
		to = Refunded
	}
	if _, err := tx.Exec(ctx, `UPDATE order_payments SET status = $2 WHERE id = $1`, payID, string(to)); err != nil {
		return err
	}
	if o.PaymentStatus != to && CanTransitionPayment(o.PaymentStatus, to) {
		return SetPaymentStatusTx(ctx, tx, o, to, actor, reason)
	}
	return nil
}

// constraintError maps the orders' constraint violations to client errors.
func constraintError(err error) error {
	pgErr, ok := errors.AsType[*pgconn.PgError](err)
	if !ok {
		return err
	}
	switch pgErr.ConstraintName {
	case "orders_idempotency_key":
		return &commerce.Error{Code: commerce.ErrConflict, Field: "idempotencyKey", Err: err,
			Message: "this idempotency key is being used for another checkout"}
	case "orders_cart_id_key":
		return &commerce.Error{Code: commerce.ErrConflict, Field: "cartId", Err: err,
			Message: "this cart is being checked out by another request; try again"}
	}
	return err
}

// RecordInStorePaymentTx records, in tx, that staff took the order o's
// total at the till (an order paid at pickup, handed over): an in-store
// payment row with the tender, reference and staff id, and the payment
// status paid. o must be locked by the caller and unpaid.
func RecordInStorePaymentTx(ctx context.Context, tx pgx.Tx, o *Order, tender Tender, reference string, staffID commerce.ID, actor Actor) error {
	if tender != Cash && tender != Terminal {
		return commerce.InvalidInput("payment.tender", "an in-store payment is in cash or by terminal")
	}
	if len(reference) > 200 {
		return commerce.InvalidInput("payment.reference", "a reference has at most 200 characters")
	}
	if !CanTransitionPayment(o.PaymentStatus, Paid) {
		return &commerce.Error{Code: commerce.ErrConflict, Field: "payment",
			Message: fmt.Sprintf("the payment of order %s is %s", o.Number, o.PaymentStatus)}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO order_payments (id, order_id, provider, amount, received, currency_code, status,
			method, tender, reference, staff_id)
		VALUES ($1, $2, 'in_store', $3, $3, $4, 'paid', $5, $6, $7, $8)`, commerce.NewID(), o.ID, o.Total.Amount,
		string(o.Currency), string(o.PaymentMethod), string(tender), reference, staffID); err != nil {
		return fmt.Errorf("order.RecordInStorePaymentTx: %w", err)
	}
	return SetPaymentStatusTx(ctx, tx, o, Paid, actor, "paid in store ("+string(tender)+")")
}
