package inventory

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/internal/db"
)

// Line is a quantity of one variant.
type Line struct {
	VariantID commerce.ID
	Quantity  int
}

// Reservation statuses.
const (
	StatusReserved  = "reserved"  // promised to an unpaid order until ExpiresAt
	StatusAllocated = "allocated" // promised to a paid (or in-store) order, no expiry
	StatusReleased  = "released"  // given back: the order was cancelled or expired
	StatusFulfilled = "fulfilled" // the goods left the location
)

// Reservation is the units of one variant promised to an order at one location.
type Reservation struct {
	ID         commerce.ID `db:"id"`
	OrderID    commerce.ID `db:"order_id"`
	VariantID  commerce.ID `db:"variant_id"`
	LocationID commerce.ID `db:"location_id"`
	Quantity   int         `db:"quantity"`
	Status     string      `db:"status"`
	ExpiresAt  *time.Time  `db:"expires_at"`
	CreatedAt  time.Time   `db:"created_at"`
	UpdatedAt  time.Time   `db:"updated_at"`
}

// Shortage is one variant a reservation could not get enough of.
type Shortage struct {
	VariantID commerce.ID
	Requested int
	Available int
}

// ShortageError is returned by ReserveTx when the location cannot spare
// every line. commerce.ErrorCode of it is OUT_OF_STOCK.
type ShortageError struct {
	LocationID commerce.ID
	Short      []Shortage
}

func (e *ShortageError) Error() string { return e.Unwrap().Error() }

// Unwrap returns the client-facing OUT_OF_STOCK error.
func (e *ShortageError) Unwrap() error {
	parts := make([]string, len(e.Short))
	for i, s := range e.Short {
		parts[i] = fmt.Sprintf("%s (%d requested, %d available)", s.VariantID, s.Requested, s.Available)
	}
	return commerce.Errorf(commerce.ErrOutOfStock, "not enough stock at this location for %s", strings.Join(parts, ", "))
}

// mergeLines checks lines, sums the quantities of each variant and sorts
// them by variant id: the one order in which every operation locks levels,
// so that two of them never wait for each other in a cycle.
func mergeLines(lines []Line) ([]Line, error) {
	if len(lines) == 0 {
		return nil, commerce.InvalidInput("lines", "no lines")
	}
	sum := map[commerce.ID]int{}
	for i, l := range lines {
		if l.Quantity <= 0 {
			return nil, commerce.InvalidInput(fmt.Sprintf("lines[%d].quantity", i), "quantity must be positive, not %d", l.Quantity)
		}
		if l.VariantID == (commerce.ID{}) {
			return nil, commerce.InvalidInput(fmt.Sprintf("lines[%d].variantId", i), "missing variant id")
		}
		sum[l.VariantID] += l.Quantity
	}
	out := make([]Line, 0, len(sum))
	for v, q := range sum {
		out = append(out, Line{VariantID: v, Quantity: q})
	}
	slices.SortFunc(out, func(a, b Line) int { return bytes.Compare(a.VariantID[:], b.VariantID[:]) })
	return out, nil
}

// ReserveTx reserves lines at locationID for orderID inside tx, all or
// nothing. Lines of one variant are summed first; each level is changed by
// one conditional UPDATE (… WHERE on_hand - reserved >= n), in variant id
// order, never read and then written. expiresAt nil allocates at once (a
// paid or in-store order); otherwise the reservation lapses then (see
// ExpiredOrderIDs). One 'reserved' ledger row is written per variant.
//
// On shortage it returns a *ShortageError (code OUT_OF_STOCK) naming every
// short variant and what is available of it; the caller must roll tx back,
// since the lines that could be reserved were. Reserving again for an order
// whose reservation of a variant was released reserves it anew; reserving
// twice what is still held is a CONFLICT.
func (s *Service) ReserveTx(ctx context.Context, tx pgx.Tx, orderID, locationID commerce.ID, lines []Line, expiresAt *time.Time, reason string) error {
	merged, err := mergeLines(lines)
	if err != nil {
		return fmt.Errorf("inventory.ReserveTx: %w", err)
	}
	status := StatusReserved
	if expiresAt == nil {
		status = StatusAllocated
	}
	var short []Shortage
	for _, l := range merged {
		if len(short) == 0 {
			_, ok, err := apply(ctx, tx, change{variant: l.VariantID, location: locationID, kind: KindReserved,
				reserved: l.Quantity, reason: reason, orderID: &orderID}, availableGuard)
			if err != nil {
				return fmt.Errorf("inventory.ReserveTx: %w", err)
			}
			if ok {
				continue
			}
		}
		// Already failing: only find out how short the others are.
		var avail int
		err := tx.QueryRow(ctx, `SELECT coalesce((SELECT `+AvailableSQL("s")+` FROM stock_levels s
			WHERE s.variant_id = $1 AND s.location_id = $2), 0)`, l.VariantID, locationID).Scan(&avail)
		if err != nil {
			return fmt.Errorf("inventory.ReserveTx: %w", err)
		}
		if avail < l.Quantity {
			short = append(short, Shortage{VariantID: l.VariantID, Requested: l.Quantity, Available: avail})
		}
	}
	if len(short) > 0 {
		return fmt.Errorf("inventory.ReserveTx: %w", &ShortageError{LocationID: locationID, Short: short})
	}

	ids := make([]commerce.ID, len(merged))
	variants := make([]commerce.ID, len(merged))
	quantities := make([]int32, len(merged))
	for i, l := range merged {
		ids[i], variants[i], quantities[i] = commerce.NewID(), l.VariantID, int32(l.Quantity)
	}
	tag, err := tx.Exec(ctx, `INSERT INTO stock_reservations (id, order_id, variant_id, location_id, quantity, status, expires_at)
		SELECT t.id, $2, t.variant_id, $4, t.quantity, $6, $7
		FROM unnest($1::uuid[], $3::uuid[], $5::int[]) AS t(id, variant_id, quantity)
		ON CONFLICT (order_id, variant_id, location_id) DO UPDATE
			SET quantity = EXCLUDED.quantity, status = EXCLUDED.status, expires_at = EXCLUDED.expires_at, updated_at = now()
			WHERE stock_reservations.status = 'released'`,
		ids, orderID, variants, locationID, quantities, status, expiresAt)
	if err != nil {
		return fmt.Errorf("inventory.ReserveTx: %w", err)
	}
	if int(tag.RowsAffected()) != len(merged) {
		return fmt.Errorf("inventory.ReserveTx: %w", commerce.Errorf(commerce.ErrConflict, "the order already holds stock of these variants at this location"))
	}
	return nil
}

// held is a reservation taken out of its status by ReleaseTx, AllocateTx or
// FulfilTx, sorted by variant then location before levels are changed.
type held struct {
	variant, location commerce.ID
	quantity          int
}

// transition moves the order's reservations in one of from to status to and
// returns them in lock order.
func transition(ctx context.Context, tx pgx.Tx, orderID commerce.ID, to string, from ...string) ([]held, error) {
	rows, err := tx.Query(ctx, `UPDATE stock_reservations SET status = $2, expires_at = NULL, updated_at = now()
		WHERE order_id = $1 AND status = ANY($3) RETURNING variant_id, location_id, quantity`, orderID, to, from)
	if err != nil {
		return nil, err
	}
	var (
		hs []held
		h  held
	)
	_, err = pgx.ForEachRow(rows, []any{&h.variant, &h.location, &h.quantity}, func() error {
		hs = append(hs, h)
		return nil
	})
	slices.SortFunc(hs, func(a, b held) int {
		if c := bytes.Compare(a.variant[:], b.variant[:]); c != 0 {
			return c
		}
		return bytes.Compare(a.location[:], b.location[:])
	})
	return hs, err
}

// ReleaseTx gives back every reserved or allocated unit of the order (a
// cancellation, an expiry), writing 'released' ledger rows. Releasing twice
// changes nothing the second time.
func (s *Service) ReleaseTx(ctx context.Context, tx pgx.Tx, orderID commerce.ID, reason string) error {
	hs, err := transition(ctx, tx, orderID, StatusReleased, StatusReserved, StatusAllocated)
	if err != nil {
		return fmt.Errorf("inventory.ReleaseTx: %w", err)
	}
	for _, h := range hs {
		if _, _, err := apply(ctx, tx, change{variant: h.variant, location: h.location, kind: KindReleased,
			reserved: -h.quantity, reason: reason, orderID: &orderID}, ""); err != nil {
			return fmt.Errorf("inventory.ReleaseTx: %w", err)
		}
	}
	return nil
}

// errReleased: the order's stock was given back, so it can be neither
// allocated nor fulfilled without reserving it again.
func errReleased() error {
	return commerce.Errorf(commerce.ErrConflict, "the order's stock reservation was released; reserve it again")
}

// hasReleased tells whether any reservation of the order was released.
func hasReleased(ctx context.Context, tx pgx.Tx, orderID commerce.ID) (bool, error) {
	var released bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM stock_reservations WHERE order_id = $1 AND status = 'released')`, orderID).Scan(&released)
	return released, err
}

// AllocateTx makes the order's reservations firm (no expiry): the order is
// paid. Allocating twice changes nothing the second time. An order whose
// reservation was already released (it expired before the payment came) is
// a CONFLICT: the caller reserves again (ReserveTx) and then allocates.
func (s *Service) AllocateTx(ctx context.Context, tx pgx.Tx, orderID commerce.ID) error {
	if released, err := hasReleased(ctx, tx, orderID); err != nil || released {
		if err == nil {
			err = errReleased()
		}
		return fmt.Errorf("inventory.AllocateTx: %w", err)
	}
	hs, err := transition(ctx, tx, orderID, StatusAllocated, StatusReserved)
	if err != nil {
		return fmt.Errorf("inventory.AllocateTx: %w", err)
	}
	for _, h := range hs {
		if _, _, err := apply(ctx, tx, change{variant: h.variant, location: h.location, kind: KindAllocated,
			reason: "paid", orderID: &orderID}, ""); err != nil {
			return fmt.Errorf("inventory.AllocateTx: %w", err)
		}
	}
	return nil
}

// FulfilTx records that the order's goods left their location (handed over
// or shipped): on_hand and reserved both drop by the quantity, the
// reservations become fulfilled and 'fulfilled' ledger rows are written.
// Fulfilling twice changes nothing the second time; fulfilling an order
// whose reservation was released is a CONFLICT. If shrinkage left fewer
// units on hand than promised, on_hand stops at zero and the ledger shows
// the units that actually left.
func (s *Service) FulfilTx(ctx context.Context, tx pgx.Tx, orderID commerce.ID) error {
	if released, err := hasReleased(ctx, tx, orderID); err != nil || released {
		if err == nil {
			err = errReleased()
		}
		return fmt.Errorf("inventory.FulfilTx: %w", err)
	}
	hs, err := transition(ctx, tx, orderID, StatusFulfilled, StatusReserved, StatusAllocated)
	if err != nil {
		return fmt.Errorf("inventory.FulfilTx: %w", err)
	}
	for _, h := range hs {
		cur, err := lockLevel(ctx, tx, h.variant, h.location)
		if err != nil {
			return fmt.Errorf("inventory.FulfilTx: %w", err)
		}
		if _, _, err := apply(ctx, tx, change{variant: h.variant, location: h.location, kind: KindFulfilled,
			onHand: -min(h.quantity, cur.onHand), reserved: -min(h.quantity, cur.reserved), orderID: &orderID}, ""); err != nil {
			return fmt.Errorf("inventory.FulfilTx: %w", err)
		}
	}
	return nil
}

// RestockTx puts returned units back on hand at locationID ('returned'
// ledger rows with the order, if any, and the reason).
func (s *Service) RestockTx(ctx context.Context, tx pgx.Tx, locationID commerce.ID, lines []Line, orderID *commerce.ID, reason string) error {
	merged, err := mergeLines(lines)
	if err != nil {
		return fmt.Errorf("inventory.RestockTx: %w", err)
	}
	for _, l := range merged {
		if err := ensureLevel(ctx, tx, l.VariantID, locationID); err != nil {
			return fmt.Errorf("inventory.RestockTx: %w", err)
		}
		if _, _, err := apply(ctx, tx, change{variant: l.VariantID, location: locationID, kind: KindReturned,
			onHand: l.Quantity, reason: reason, orderID: orderID}, ""); err != nil {
			return fmt.Errorf("inventory.RestockTx: %w", err)
		}
	}
	return nil
}

// ExpiredOrderIDs returns up to limit orders holding reservations that are
// still only reserved (unpaid) and expired at now, the longest expired
// first: the order service's expiry job cancels each and calls ReleaseTx.
func (s *Service) ExpiredOrderIDs(ctx context.Context, now time.Time, limit int) ([]commerce.ID, error) {
	rows, err := s.pool.Query(ctx, `SELECT order_id FROM stock_reservations
		WHERE status = 'reserved' AND expires_at <= $1
		GROUP BY order_id ORDER BY min(expires_at), order_id LIMIT $2`, now, limit)
	if err != nil {
		return nil, fmt.Errorf("inventory.ExpiredOrderIDs: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[commerce.ID])
	if err != nil {
		return nil, fmt.Errorf("inventory.ExpiredOrderIDs: %w", err)
	}
	return ids, nil
}

// FindReservationsTx returns the order's reservations (every status), in
// variant then location order.
func (s *Service) FindReservationsTx(ctx context.Context, tx pgx.Tx, orderID commerce.ID) ([]Reservation, error) {
	return findReservations(ctx, tx, orderID)
}

// FindReservations is FindReservationsTx outside a transaction.
func (s *Service) FindReservations(ctx context.Context, orderID commerce.ID) ([]Reservation, error) {
	return findReservations(ctx, s.pool, orderID)
}

func findReservations(ctx context.Context, q db.Querier, orderID commerce.ID) ([]Reservation, error) {
	rows, err := q.Query(ctx, `SELECT id, order_id, variant_id, location_id, quantity, status, expires_at, created_at, updated_at
		FROM stock_reservations WHERE order_id = $1 ORDER BY variant_id, location_id`, orderID)
	rs, err := db.All[Reservation](rows, err)
	if err != nil {
		return nil, fmt.Errorf("inventory.FindReservations: %w", err)
	}
	return rs, nil
}
