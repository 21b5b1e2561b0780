package order

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/internal/db"
	"github.com/omnicanal/omnicanal/commerce/outbox"
)

// TransitionWithEventTx is TransitionTx whose outbox event carries extra
// fields besides the usual ones (type, orderId, number, status, …): for
// the pickup's order.ready_for_pickup, which must give the notifier the
// plaintext pickup code (stored nowhere else). The state machine, the
// transition log and the event stay those of TransitionTx; extra cannot
// override the usual fields.
func TransitionWithEventTx(ctx context.Context, tx pgx.Tx, o *Order, to Status, actor Actor, reason string, extra map[string]any) error {
	if !CanTransitionFor(o.Fulfillment, o.Status, to) {
		return &commerce.Error{Code: commerce.ErrConflict, Field: "status",
			Message: fmt.Sprintf("order %s is %s and cannot become %s", o.Number, o.Status, to)}
	}
	from := o.Status
	err := tx.QueryRow(ctx, `UPDATE orders SET status = $2, version = version + 1, updated_at = now(),
			placed_at = CASE WHEN $2 = 'placed' THEN coalesce(placed_at, now()) ELSE placed_at END,
			expires_at = CASE WHEN $2 = 'pending_payment' THEN expires_at ELSE NULL END
		WHERE id = $1 RETURNING version, updated_at, placed_at`, o.ID, string(to)).Scan(&o.Version, &o.UpdatedAt, &o.PlacedAt)
	if err != nil {
		return fmt.Errorf("order.TransitionWithEventTx: %w", err)
	}
	o.Status = to
	o.ExpiresAt = nil
	if err := recordTransition(ctx, tx, o.ID, "status", string(from), string(to), actor, reason); err != nil {
		return err
	}
	payload := map[string]any{}
	for k, v := range extra {
		payload[k] = v
	}
	for k, v := range map[string]any{
		"type": statusEvent[to], "orderId": o.ID, "number": o.Number, "status": o.Status, "paymentStatus": o.PaymentStatus,
		"locationId": o.LocationID, "channelId": o.ChannelID, "customerId": o.CustomerID,
	} {
		payload[k] = v
	}
	return outbox.EnqueuePayload(ctx, tx, EventQueue, o.ID, payload)
}

// FindPickupQueueTx reads the open pickup orders of a location (placed,
// preparing, ready for pickup), with their lines, without any access
// check (package pickup checks the staff's location first): the ones whose
// shopper has arrived first, then ready ones, then by placement.
func FindPickupQueueTx(ctx context.Context, q db.Querier, locationID commerce.ID) ([]*Order, error) {
	rows, err := q.Query(ctx, `SELECT `+orderColumns+` FROM orders o
		WHERE o.location_id = $1 AND o.fulfillment = 'pickup' AND o.status IN ('placed', 'preparing', 'ready_for_pickup')
		ORDER BY o.arrived_at IS NULL, o.status <> 'ready_for_pickup', o.placed_at, o.id LIMIT 500`, locationID)
	if err != nil {
		return nil, fmt.Errorf("order.FindPickupQueueTx: %w", err)
	}
	var out []*Order
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("order.FindPickupQueueTx: %w", err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("order.FindPickupQueueTx: %w", err)
	}
	if err := readLines(ctx, q, out); err != nil {
		return nil, fmt.Errorf("order.FindPickupQueueTx: %w", err)
	}
	return out, nil
}
