package order

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/internal/db"
	"github.com/omnicanal/omnicanal/commerce/payment"
)

// Settlement is what ending an order leaves to do with the payment
// provider after commit: cancel an unpaid intent, or refund a captured
// payment. Run it with Service.Settle; a nil Settlement has nothing to do.
type Settlement struct {
	orderID      commerce.ID
	cancelIntent *string
	refund       commerce.Money
	refundKey    string
	reason       string
}

// EndTx ends the open order o (locked by the caller) as cancelled or
// expired, in tx: its stock is released, its offer uses given back, the
// transition recorded, and its payment settled as far as the database
// goes: an unpaid online payment is voided, a paid in-store payment is
// recorded refunded at the till. What is left for the provider (cancel the
// intent; refund a captured online payment, with the key
// "refund:<order id>:cancel" or ":expire") is returned: pass it to Settle
// after commit.
func (s *Service) EndTx(ctx context.Context, tx pgx.Tx, o *Order, to Status, actor Actor, reason string) (*Settlement, error) {
	if to != Cancelled && to != Expired {
		return nil, fmt.Errorf("order.EndTx: %s is not an end", to)
	}
	if !CanTransitionFor(o.Fulfillment, o.Status, to) {
		return nil, &commerce.Error{Code: commerce.ErrConflict, Field: "status",
			Message: fmt.Sprintf("order %s is %s and cannot become %s", o.Number, o.Status, to)}
	}
	if err := s.inventory.ReleaseTx(ctx, tx, o.ID, reason); err != nil {
		return nil, err
	}
	if s.offers != nil {
		if err := s.offers.Release(ctx, tx, o.ID.String()); err != nil {
			return nil, err
		}
	}
	if err := TransitionTx(ctx, tx, o, to, actor, reason); err != nil {
		return nil, err
	}
	return s.settleTx(ctx, tx, o, actor, reason)
}

// settleTx settles the payment of the ended order o in tx (see EndTx).
func (s *Service) settleTx(ctx context.Context, tx pgx.Tx, o *Order, actor Actor, reason string) (*Settlement, error) {
	st := &Settlement{orderID: o.ID, reason: reason}
	suffix := "cancel"
	if o.Status == Expired {
		suffix = "expire"
	}
	switch {
	case o.PaymentMethod == InStore && o.PaymentStatus == Paid:
		if _, err := tx.Exec(ctx, `UPDATE order_payments SET status = 'refunded', refunded = received, updated_at = now()
			WHERE order_id = $1 AND provider = 'in_store' AND status = 'paid'`, o.ID); err != nil {
			return nil, err
		}
		return nil, SetPaymentStatusTx(ctx, tx, o, Refunded, actor, "refunded at the till")
	case o.PaymentMethod == Online && (o.PaymentStatus == Paid || o.PaymentStatus == PartiallyRefunded):
		var received, refunded int64
		err := tx.QueryRow(ctx, `SELECT received, refunded FROM order_payments WHERE order_id = $1 AND provider = 'stripe'`, o.ID).Scan(&received, &refunded)
		if err != nil {
			return nil, err
		}
		if received > refunded {
			st.refund = commerce.Money{Amount: received - refunded, Currency: o.Currency}
			st.refundKey = "refund:" + o.ID.String() + ":" + suffix
			// Paid after the order ended (settled again by a second
			// cancellation): the refund is the late payment's, under its
			// key, never a second one.
			var late bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (`+paidAfterEnd("$1")+`)`, o.ID).Scan(&late); err != nil {
				return nil, err
			}
			if late {
				st.refundKey, st.reason = lateRefundKey(o.ID), lateRefundReason
			}
			return st, nil
		}
		return nil, nil
	case o.PaymentMethod == Online && (o.PaymentStatus == Unpaid || o.PaymentStatus == PaymentPending || o.PaymentStatus == PaymentFailed):
		intentID, err := s.voidTx(ctx, tx, o, actor, reason)
		if err != nil || intentID == nil {
			return nil, err
		}
		st.cancelIntent = intentID
		return st, nil
	}
	return nil, nil
}

// Settle does after commit what EndTx left for the provider. A refund that
// fails is a PAYMENT_FAILED error (the order stays ended and paid: settle
// again, e.g. by cancelling it again, which retries with the same key); a
// failed intent cancellation is only logged (a payment that succeeds
// anyway is refunded when its event arrives).
func (s *Service) Settle(ctx context.Context, st *Settlement) error {
	if st == nil {
		return nil
	}
	if st.cancelIntent != nil {
		s.cancelIntent(ctx, st.orderID, *st.cancelIntent)
	}
	if st.refund.Amount > 0 {
		return s.RefundOnline(ctx, st.orderID, st.refund, st.refundKey, st.reason)
	}
	return nil
}

func (s *Service) endTx(ctx context.Context, tx pgx.Tx, o *Order, to Status, actor Actor, reason string) error {
	_, err := s.EndTx(ctx, tx, o, to, actor, reason)
	return err
}

// ExpireUnpaid ends the orders whose online payment did not complete before
// their reservation expired (at now): the stock is released, the order
// expired, the payment voided, and after commit the provider intent
// cancelled. Several instances may run it at once: each order is taken
// under its row lock with SKIP LOCKED, and an order no longer
// pending_payment is left alone. It returns how many orders expired.
//
// A payment that succeeds after its order expired is refunded when its
// event arrives (see HandlePaymentEvent); ExpireUnpaid then refunds again,
// with the same key, those late payments whose refund failed (the provider
// unreachable at the time), see RetryLateRefunds.
func (s *Service) ExpireUnpaid(ctx context.Context, now time.Time) (int, error) {
	ids, err := s.inventory.ExpiredOrderIDs(ctx, now, 100)
	if err != nil {
		return 0, fmt.Errorf("order.ExpireUnpaid: %w", err)
	}
	// Orders whose reservation went some other way still expire.
	rows, err := s.pool.Query(ctx, `SELECT id FROM orders WHERE status = 'pending_payment' AND expires_at <= $1
		ORDER BY expires_at LIMIT 100`, now)
	if err != nil {
		return 0, fmt.Errorf("order.ExpireUnpaid: %w", err)
	}
	more, err := pgx.CollectRows(rows, pgx.RowTo[commerce.ID])
	if err != nil {
		return 0, fmt.Errorf("order.ExpireUnpaid: %w", err)
	}
	seen := map[commerce.ID]bool{}
	n := 0
	for _, id := range append(ids, more...) {
		if seen[id] {
			continue
		}
		seen[id] = true
		var (
			st      *Settlement
			expired bool
		)
		err := db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
			st, expired = nil, false
			var locked commerce.ID
			err := tx.QueryRow(ctx, `SELECT id FROM orders WHERE id = $1 AND status = 'pending_payment'
				FOR UPDATE SKIP LOCKED`, id).Scan(&locked)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil // paid, cancelled, or being handled by another instance
			}
			if err != nil {
				return err
			}
			o, err := FindOrderByIDTx(ctx, tx, id, false)
			if err != nil {
				return err
			}
			if st, err = s.EndTx(ctx, tx, o, Expired, SystemActor, "payment not completed in time"); err != nil {
				return err
			}
			expired = true
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("order.ExpireUnpaid: %w", err)
		}
		if expired {
			n++
		}
		if err := s.Settle(ctx, st); err != nil {
			s.log.ErrorContext(ctx, "order: settling an expired order", "order", id, "err", err)
		}
	}
	s.RetryLateRefunds(ctx)
	return n, nil
}

// lateRefundReason is the reason of the refunds of payments that arrived
// after their order ended.
const lateRefundReason = "paid after the order ended"

func lateRefundKey(id commerce.ID) string { return "refund:" + id.String() + ":late" }

// paidAfterEnd is a query selecting the payment's paid transition of the
// order orderID (an SQL expression) that follows the order's end
// (transition ids grow with time: the payment's transaction waited for the
// order's row lock the end held).
func paidAfterEnd(orderID string) string {
	return `SELECT 1 FROM order_transitions pt WHERE pt.order_id = ` + orderID + ` AND pt.field = 'payment_status'
		AND pt.to_state = 'paid' AND pt.id > (SELECT max(et.id) FROM order_transitions et
			WHERE et.order_id = ` + orderID + ` AND et.field = 'status' AND et.to_state IN ('expired', 'cancelled'))`
}

// RetryLateRefunds refunds again, with the same idempotency key
// ("refund:<id>:late"), the online payments captured after their order was
// cancelled or expired whose refund has not been recorded (the provider
// could not be reached when the payment event arrived, and the event is
// never delivered again). A late payment is one whose paid transition
// follows the order's end; a payment captured before the end is settled by
// the end itself (CancelOrder again, pickup expiry) under its own key.
// Errors are logged: the next run tries again. It returns how many refunds
// were recorded.
func (s *Service) RetryLateRefunds(ctx context.Context) int {
	rows, err := s.pool.Query(ctx, `SELECT o.id, p.received, o.currency_code FROM orders o
		JOIN order_payments p ON p.order_id = o.id AND p.provider = 'stripe'
		WHERE o.status IN ('expired', 'cancelled') AND p.status = 'paid' AND p.received > 0 AND p.refunded = 0
			AND NOT EXISTS (SELECT 1 FROM order_refunds r WHERE r.idempotency_key = 'refund:' || o.id::text || ':late')
			AND EXISTS (`+paidAfterEnd("o.id")+`)
		ORDER BY p.updated_at LIMIT 100`)
	if err != nil {
		s.log.ErrorContext(ctx, "order: finding late refunds to retry", "err", err)
		return 0
	}
	type due struct {
		id     commerce.ID
		amount int64
		cur    string
	}
	var (
		dues []due
		d    due
	)
	if _, err := pgx.ForEachRow(rows, []any{&d.id, &d.amount, &d.cur}, func() error { dues = append(dues, d); return nil }); err != nil {
		s.log.ErrorContext(ctx, "order: finding late refunds to retry", "err", err)
		return 0
	}
	n := 0
	for _, d := range dues {
		amount := commerce.Money{Amount: d.amount, Currency: commerce.Currency(d.cur)}
		if err := s.RefundOnline(ctx, d.id, amount, lateRefundKey(d.id), lateRefundReason); err != nil {
			s.log.ErrorContext(ctx, "order: refunding a late payment again", "order", d.id, "err", err)
			continue
		}
		n++
	}
	s.recordMismatchedCaptures(ctx)
	return n
}

// recordMismatchedCaptures finds the ended orders whose intent succeeded
// with an amount other than the total (left for staff while the order was
// open, then voided when it ended) and, as the provider still reports the
// intent captured, records the payment paid after the end and refunds it
// (key "refund:<id>:late"; a failure is retried by RetryLateRefunds).
func (s *Service) recordMismatchedCaptures(ctx context.Context) {
	if s.gateway == nil {
		return
	}
	rows, err := s.pool.Query(ctx, `SELECT p.order_id, p.intent_id FROM order_payments p JOIN orders o ON o.id = p.order_id
		WHERE o.status IN ('expired', 'cancelled') AND p.provider = 'stripe' AND p.intent_id IS NOT NULL
			AND p.status IN ('unpaid', 'pending', 'failed', 'voided')
			AND EXISTS (SELECT 1 FROM payment_events e WHERE e.order_id = o.id AND e.outcome = 'amount_mismatch')
		ORDER BY p.updated_at LIMIT 20`)
	if err != nil {
		s.log.ErrorContext(ctx, "order: finding mismatched captures", "err", err)
		return
	}
	type due struct {
		orderID commerce.ID
		intent  string
	}
	var (
		dues []due
		d    due
	)
	if _, err := pgx.ForEachRow(rows, []any{&d.orderID, &d.intent}, func() error { dues = append(dues, d); return nil }); err != nil {
		s.log.ErrorContext(ctx, "order: finding mismatched captures", "err", err)
		return
	}
	for _, d := range dues {
		in, err := s.gateway.GetIntent(ctx, d.intent)
		if err != nil {
			s.log.ErrorContext(ctx, "order: fetching a mismatched capture", "order", d.orderID, "err", err)
			continue
		}
		if in.Status != payment.Succeeded {
			continue
		}
		upd := intentUpdate{kind: payment.IntentSucceeded, amount: in.Amount, received: in.Received,
			source: "captured with another amount before the order ended"}
		var after []func(context.Context)
		err = db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
			var err error
			_, _, after, err = s.applyTx(ctx, tx, d.intent, &d.orderID, upd, SystemActor)
			return err
		})
		if err != nil {
			s.log.ErrorContext(ctx, "order: recording a mismatched capture", "order", d.orderID, "err", err)
			continue
		}
		for _, f := range after {
			f(ctx)
		}
	}
}

// voidTx voids the order's unpaid provider payment, returning the intent to
// cancel after commit (nil when there is none).
func (s *Service) voidTx(ctx context.Context, tx pgx.Tx, o *Order, actor Actor, reason string) (*string, error) {
	var intentID *string
	err := tx.QueryRow(ctx, `UPDATE order_payments SET status = 'voided', updated_at = now()
		WHERE order_id = $1 AND provider = 'stripe' AND status IN ('unpaid', 'pending', 'failed') RETURNING intent_id`, o.ID).Scan(&intentID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if CanTransitionPayment(o.PaymentStatus, Voided) {
		if err := SetPaymentStatusTx(ctx, tx, o, Voided, actor, reason); err != nil {
			return nil, err
		}
	}
	return intentID, nil
}

func (s *Service) cancelIntent(ctx context.Context, orderID commerce.ID, intentID string) {
	if s.gateway == nil {
		return
	}
	if _, err := s.gateway.CancelIntent(ctx, intentID, "cancel:"+orderID.String()); err != nil {
		// A succeeded intent cannot be cancelled: its event will refund it.
		s.log.WarnContext(ctx, "order: cancelling the payment intent", "order", orderID, "intent", intentID, "err", err)
	}
}

// CancelOrder cancels the order id: its stock is released, its offer uses
// given back, an unpaid intent voided, and a paid online payment refunded
// after commit (Refund with the key "refund:<id>:cancel"). The customer
// (signed in, or a guest with token) may cancel until the order is being
// prepared; staff working at the order's location (associates of it,
// admins and merchandisers) may cancel any open order, except one paid in
// store: the money is given back at the till (the payment is recorded
// refunded), so only admins and associates of the location may cancel it.
//
// Cancelling a cancelled order changes nothing, except that a refund that
// failed is attempted again: a PAYMENT_FAILED error means the order is
// cancelled but the refund must be retried.
func (s *Service) CancelOrder(ctx context.Context, id commerce.ID, token, reason string) (*Order, error) {
	if len(reason) > 500 {
		return nil, commerce.InvalidInput("reason", "a reason has at most 500 characters")
	}
	acc := accessFor(ctx, token)
	actor := actorFrom(ctx)
	var st *Settlement
	err := db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		st = nil
		args := acc.args()
		args["id"] = id
		o, err := readOrder(ctx, tx, `o.id = @id AND `+reach, args, true)
		if err != nil {
			return err
		}
		staff := acc.staff && (acc.allLocations || containsID(acc.locations, o.LocationID))
		if o.Status == Cancelled {
			// Cancelled already: settle again what may have failed.
			st, err = s.settleTx(ctx, tx, o, actor, "order cancelled")
			return err
		}
		if !CanTransitionFor(o.Fulfillment, o.Status, Cancelled) {
			return &commerce.Error{Code: commerce.ErrConflict, Field: "orderId",
				Message: fmt.Sprintf("order %s is %s and can no longer be cancelled", o.Number, o.Status)}
		}
		if !staff {
			if o.Status != PendingPayment && o.Status != Placed {
				return &commerce.Error{Code: commerce.ErrConflict, Field: "orderId",
					Message: "the store is already preparing this order; ask the store to cancel it"}
			}
		}
		if o.PaymentMethod == InStore && !atTill(ctx, o) {
			// The money is given back at the till: a desk operation.
			return commerce.Errorf(commerce.ErrForbidden, "an order paid in store is cancelled at the store, by its associates or an admin")
		}
		if reason == "" {
			reason = "cancelled by the " + string(actor.Kind)
		}
		st, err = s.EndTx(ctx, tx, o, Cancelled, actor, reason)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("order.CancelOrder: %w", err)
	}
	if err := s.Settle(ctx, st); err != nil {
		fresh, _ := FindOrderByIDTx(ctx, s.pool, id, false)
		return fresh, fmt.Errorf("order.CancelOrder: %w", err)
	}
	fresh, err := FindOrderByIDTx(ctx, s.pool, id, false)
	if err != nil {
		return nil, fmt.Errorf("order.CancelOrder: %w", err)
	}
	return fresh, nil
}

// tillRoles may give money back at a store's till (as at the pickup desk
// and the returns counter, merchandisers are not store staff).
var tillRoles = []commerce.Role{commerce.RoleAdmin, commerce.RoleAssociate}

// atTill reports whether the request is staff who may give the money of
// order o back at its store's till: an admin, or an associate of the
// order's location.
func atTill(ctx context.Context, o *Order) bool {
	p, ok := commerce.PrincipalFrom(ctx)
	if !ok || p.StaffID == (commerce.ID{}) || !slices.Contains(tillRoles, p.Role) {
		return false
	}
	return p.Role == commerce.RoleAdmin || p.InLocation(o.LocationID)
}

func containsID(ids []commerce.ID, id commerce.ID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
