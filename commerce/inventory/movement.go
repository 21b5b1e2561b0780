package inventory

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/outbox"
)

// Kind is why a ledger row changed a stock level.
type Kind string

// Movement kinds.
const (
	KindReceived  Kind = "received"  // goods in from a supplier or transfer
	KindSold      Kind = "sold"      // sold at a till without an order
	KindAdjusted  Kind = "adjusted"  // counted, damaged, lost: a staff correction
	KindReturned  Kind = "returned"  // a customer's return put back on hand
	KindReserved  Kind = "reserved"  // promised to an order
	KindReleased  Kind = "released"  // an order's promise withdrawn (cancel, expiry)
	KindAllocated Kind = "allocated" // a reservation made firm by payment
	KindFulfilled Kind = "fulfilled" // the order's goods left the location
	KindFeed      Kind = "feed"      // set by the ERP stock feed
)

// ParseKind reads a movement kind given by a client.
func ParseKind(field, s string) (Kind, error) {
	switch k := Kind(s); k {
	case KindReceived, KindSold, KindAdjusted, KindReturned, KindReserved, KindReleased, KindAllocated, KindFulfilled, KindFeed:
		return k, nil
	}
	return "", commerce.InvalidInput(field, "unknown movement kind %q", s)
}

// DefaultLowStockThreshold is the available quantity at or below which a
// level is low on stock, unless stock_levels.low_stock_threshold sets
// another for that variant and location.
const DefaultLowStockThreshold = 2

// LowStockQueue is the outbox queue of low-stock events, one row per
// crossing with the variant as aggregate and a LowStockEvent as payload.
const LowStockQueue = "inventory.low_stock"

// LowStockEvent is the payload of an inventory.low_stock outbox row.
type LowStockEvent struct {
	VariantID  commerce.ID `json:"variantId"`
	LocationID commerce.ID `json:"locationId"`
	Available  int         `json:"available"`
	Threshold  int         `json:"threshold"`
	At         time.Time   `json:"at"`
}

// change is one ledger row and the level change it records.
type change struct {
	id                commerce.ID // of the ledger row; zero for a new one
	variant, location commerce.ID
	kind              Kind
	onHand, reserved  int // deltas
	reason            string
	staffID, orderID  *commerce.ID
	feedKey           *string
}

// result is the level after a change.
type result struct {
	onHand, reserved int
}

// availableGuard makes a change apply only while the level can spare the
// units it reserves ($4, the reserved delta).
const availableGuard = ` AND on_hand - reserved >= $4`

// apply changes one level with one UPDATE, guarded by guard, and writes the
// ledger row in the same statement. ok is false when no row matched (no
// stock level, or the guard failed); nothing is written then. The level must
// exist unless the guard is meant to fail without it (see ensureLevel).
// The events the change implies are enqueued in tx.
func apply(ctx context.Context, tx pgx.Tx, c change, guard string) (r result, ok bool, err error) {
	var (
		threshold int
		productID commerce.ID
	)
	if c.id == (commerce.ID{}) {
		c.id = commerce.NewID()
	}
	err = tx.QueryRow(ctx, `WITH up AS (
			UPDATE stock_levels SET on_hand = on_hand + $3, reserved = reserved + $4, updated_at = now()
			WHERE variant_id = $1 AND location_id = $2`+guard+`
			RETURNING on_hand, reserved, coalesce(low_stock_threshold, $11) AS threshold
		), ledger AS (
			INSERT INTO stock_movements (id, variant_id, location_id, kind, on_hand_delta, reserved_delta,
				on_hand_after, reserved_after, reason, staff_id, order_id, feed_key)
			SELECT $5, $1, $2, $6, $3, $4, on_hand, reserved, $7, $8, $9, $10 FROM up
		)
		SELECT up.on_hand, up.reserved, up.threshold, v.product_id FROM up, variants v WHERE v.id = $1`,
		c.variant, c.location, c.onHand, c.reserved, c.id, string(c.kind), c.reason,
		c.staffID, c.orderID, c.feedKey, DefaultLowStockThreshold,
	).Scan(&r.onHand, &r.reserved, &threshold, &productID)
	if errors.Is(err, pgx.ErrNoRows) {
		return result{}, false, nil
	}
	if err != nil {
		return result{}, false, err
	}
	before := max((r.onHand-c.onHand)-(r.reserved-c.reserved), 0)
	after := max(r.onHand-r.reserved, 0)
	// The search document lists the stores holding stock: only a crossing
	// of zero changes it.
	if (before > 0) != (after > 0) {
		if err := outbox.EnqueueKind(ctx, tx, outbox.Search, outbox.StockOnly, productID); err != nil {
			return result{}, false, err
		}
	}
	if before > threshold && after <= threshold {
		ev := LowStockEvent{VariantID: c.variant, LocationID: c.location, Available: after, Threshold: threshold, At: time.Now().UTC()}
		if err := outbox.EnqueuePayload(ctx, tx, LowStockQueue, c.variant, ev); err != nil {
			return result{}, false, err
		}
	}
	return r, true, nil
}

// ensureLevel creates the (empty) stock level of a variant at a location
// if it does not exist yet, so that apply finds a row to change.
func ensureLevel(ctx context.Context, tx pgx.Tx, variant, location commerce.ID) error {
	_, err := tx.Exec(ctx, `INSERT INTO stock_levels (variant_id, location_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, variant, location)
	return err
}

// lockLevel takes the row lock of a level and returns it, for the changes
// computed from the current numbers (set on hand, fulfil what remains).
func lockLevel(ctx context.Context, tx pgx.Tx, variant, location commerce.ID) (result, error) {
	var r result
	err := tx.QueryRow(ctx, `SELECT on_hand, reserved FROM stock_levels WHERE variant_id = $1 AND location_id = $2 FOR UPDATE`,
		variant, location).Scan(&r.onHand, &r.reserved)
	if errors.Is(err, pgx.ErrNoRows) {
		return result{}, nil
	}
	return r, err
}
