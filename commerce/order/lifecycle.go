package order

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/internal/db"
)

// EndTx ends the open order o (locked by the caller) as cancelled or
// expired, in tx: its stock is released, its offer uses given back and the
// transition recorded. Payments are the caller's business (void or refund
// after commit).
func (s *Service) EndTx(ctx context.Context, tx pgx.Tx, o *Order, to Status, actor Actor, reason string) error {
	return s.endTx(ctx, tx, o, to, actor, reason)
}

func (s *Service) endTx(ctx context.Context, tx pgx.Tx, o *Order, to Status, actor Actor, reason string) error {
	if to != Cancelled && to != Expired {
		return fmt.Errorf("order.EndTx: %s is not an end", to)
	}
	if !CanTransitionFor(o.Fulfillment, o.Status, to) {
		return &commerce.Error{Code: commerce.ErrConflict, Field: "status",
			Message: fmt.Sprintf("order %s is %s and cannot become %s", o.Number, o.Status, to)}
	}
	if err := s.inventory.ReleaseTx(ctx, tx, o.ID, reason); err != nil {
		return err
	}
	if s.offers != nil {
		if err := s.offers.Release(ctx, tx, o.ID.String()); err != nil {
			return err
		}
	}
	return TransitionTx(ctx, tx, o, to, actor, reason)
}

// ExpireUnpaid ends the orders whose online payment did not complete before
// their reservation expired (at now): the stock is released, the order
// expired, the payment voided, and after commit the provider intent
// cancelled. Several instances may run it at once: each order is taken
// under its row lock with SKIP LOCKED, and an order no longer
// pending_payment is left alone. It returns how many orders expired.
//
// A payment that succeeds after its order expired is refunded when its
// event arrives (see HandlePaymentEvent).
func (s *Service) ExpireUnpaid(ctx context.Context, now time.Time) (int, error) {
	ids, err := s.inventory.ExpiredOrderIDs(ctx, now, 100)
	if err != nil {
		return 0, fmt.Errorf("order.ExpireUnpaid: %w", err)
	}
	// Orders whose reservation went some other way still expire.
	rows, err := s.pool.Query(ctx, `SELECT id FROM orders WHERE status = 'pending_payment' AND expires_at <= $1
		ORDER BY expires_at LIMIT 100`, now)
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
		var intentID *string
		expired := false
		err := db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
			intentID, expired = nil, false
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
			if err := s.endTx(ctx, tx, o, Expired, SystemActor, "payment not completed in time"); err != nil {
				return err
			}
			if intentID, err = s.voidTx(ctx, tx, o, SystemActor, "order expired"); err != nil {
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
		if intentID != nil {
			s.cancelIntent(ctx, id, *intentID)
		}
	}
	return n, nil
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
// admins and merchandisers) may cancel any open order, and only they may
// cancel one paid in store (the money is given back at the till: the
// payment is recorded refunded).
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
	var (
		intentToCancel *string
		refundIntent   *string
		refundAmount   commerce.Money
		o              *Order
	)
	err := db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		intentToCancel, refundIntent = nil, nil
		args := acc.args()
		args["id"] = id
		var err error
		o, err = readOrder(ctx, tx, `o.id = @id AND `+reach, args, true)
		if err != nil {
			return err
		}
		staff := acc.staff && (acc.allLocations || containsID(acc.locations, o.LocationID))
		if o.Status == Cancelled {
			refundIntent, refundAmount, err = pendingRefund(ctx, tx, o)
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
			if o.PaymentMethod == InStore {
				return commerce.Errorf(commerce.ErrForbidden, "an order paid in store is cancelled at the store")
			}
		}
		if reason == "" {
			reason = "cancelled by the " + string(actor.Kind)
		}
		if err := s.endTx(ctx, tx, o, Cancelled, actor, reason); err != nil {
			return err
		}
		switch {
		case o.PaymentMethod == InStore && o.PaymentStatus == Paid:
			if _, err := tx.Exec(ctx, `UPDATE order_payments SET status = 'refunded', refunded = amount, updated_at = now()
				WHERE order_id = $1 AND provider = 'in_store'`, o.ID); err != nil {
				return err
			}
			return SetPaymentStatusTx(ctx, tx, o, Refunded, actor, "refunded at the till")
		case o.PaymentMethod == Online && o.PaymentStatus == Paid:
			refundIntent, refundAmount, err = pendingRefund(ctx, tx, o)
			return err
		case o.PaymentMethod == Online:
			intentToCancel, err = s.voidTx(ctx, tx, o, actor, "order cancelled")
			return err
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("order.CancelOrder: %w", err)
	}
	if intentToCancel != nil {
		s.cancelIntent(ctx, id, *intentToCancel)
	}
	if refundIntent != nil {
		if err := s.refund(ctx, id, *refundIntent, refundAmount, "refund:"+id.String()+":cancel", "order cancelled"); err != nil {
			fresh, _ := FindOrderByIDTx(ctx, s.pool, id, false)
			return fresh, fmt.Errorf("order.CancelOrder: %w", err)
		}
	}
	fresh, err := FindOrderByIDTx(ctx, s.pool, id, false)
	if err != nil {
		return nil, fmt.Errorf("order.CancelOrder: %w", err)
	}
	return fresh, nil
}

// pendingRefund is the provider payment of a cancelled order still to give
// back: its intent and the amount not refunded yet.
func pendingRefund(ctx context.Context, tx pgx.Tx, o *Order) (*string, commerce.Money, error) {
	if o.PaymentMethod != Online || o.PaymentStatus != Paid {
		return nil, commerce.Money{}, nil
	}
	var (
		intentID         *string
		amount, refunded int64
	)
	err := tx.QueryRow(ctx, `SELECT intent_id, received, refunded FROM order_payments
		WHERE order_id = $1 AND provider = 'stripe' AND status = 'paid'`, o.ID).Scan(&intentID, &amount, &refunded)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && (intentID == nil || amount <= refunded)) {
		return nil, commerce.Money{}, nil
	}
	if err != nil {
		return nil, commerce.Money{}, err
	}
	return intentID, commerce.Money{Amount: amount - refunded, Currency: o.Currency}, nil
}

func containsID(ids []commerce.ID, id commerce.ID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
