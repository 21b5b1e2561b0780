// Package inventory knows how many units of each variant each location holds,
// how many of them are promised to orders, and why every number changed.
//
// A stock level (variant, location) has on_hand, the units physically there,
// and reserved, the units promised to orders that have not left yet.
// Available = max(on_hand − reserved, 0) is what any channel may still sell;
// every read of stock (catalog, cart, search) uses that formula.
//
// Reservations follow reserved → allocated → fulfilled, or → released:
// checkout reserves (ReserveTx, with an expiry for unpaid orders), payment
// allocates (AllocateTx, no expiry), the handover or shipment fulfils
// (FulfilTx: the units leave on_hand and reserved together), cancellation and
// expiry release (ReleaseTx). Every change writes one row of the append-only
// ledger stock_movements, with who, why and which order.
//
// Changes that cross zero available re-index the product for search (outbox
// queue "search"); changes that bring available down to the low-stock
// threshold or below enqueue an inventory.low_stock event, once per
// crossing.
package inventory

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/internal/db"
)

// Level is the stock of one variant at one location.
type Level struct {
	VariantID  commerce.ID `db:"variant_id"`
	LocationID commerce.ID `db:"location_id"`
	OnHand     int         `db:"on_hand"`
	Reserved   int         `db:"reserved"`
}

// Available is what can still be sold: the units on hand not promised to an
// order, never below zero (shrinkage may leave on_hand under reserved).
func (l Level) Available() int { return max(l.OnHand-l.Reserved, 0) }

// AvailableSQL is Available as an SQL expression over a stock_levels alias,
// for the queries of other areas that read stock.
func AvailableSQL(alias string) string {
	return "greatest(" + alias + ".on_hand - " + alias + ".reserved, 0)"
}

// Service reads and changes stock.
type Service struct {
	pool *pgxpool.Pool
}

// NewService returns an inventory service over pool.
func NewService(pool *pgxpool.Pool) *Service { return &Service{pool: pool} }

// FindLevelsByVariantIDs returns the stock rows of the given variants at
// every location, ordered by variant.
func (s *Service) FindLevelsByVariantIDs(ctx context.Context, variantIDs []commerce.ID) ([]Level, error) {
	rows, err := s.pool.Query(ctx, `SELECT variant_id, location_id, on_hand, reserved
		FROM stock_levels WHERE variant_id = ANY($1) ORDER BY variant_id, location_id`, variantIDs)
	levels, err := db.All[Level](rows, err)
	if err != nil {
		return nil, fmt.Errorf("inventory.FindLevelsByVariantIDs: %w", err)
	}
	return levels, nil
}

// FindLevel returns the stock of one variant at one location; a pair that
// never held stock is a zero level, not an error.
func (s *Service) FindLevel(ctx context.Context, variantID, locationID commerce.ID) (Level, error) {
	rows, err := s.pool.Query(ctx, `SELECT variant_id, location_id, on_hand, reserved
		FROM stock_levels WHERE variant_id = $1 AND location_id = $2`, variantID, locationID)
	levels, err := db.All[Level](rows, err)
	if err != nil {
		return Level{}, fmt.Errorf("inventory.FindLevel: %w", err)
	}
	if len(levels) == 0 {
		return Level{VariantID: variantID, LocationID: locationID}, nil
	}
	return levels[0], nil
}
