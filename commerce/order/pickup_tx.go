package order

import (
	"context"
	"fmt"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/internal/db"
)

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
