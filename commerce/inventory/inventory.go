// Package inventory knows how many units of each variant each location holds.
// This first slice reads stock on hand; reservations, movements and feeds come
// with checkout.
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
}

// Available is what can still be sold. Until reservations exist it equals
// the units on hand.
func (l Level) Available() int { return l.OnHand }

// Service reads stock.
type Service struct {
	pool *pgxpool.Pool
}

// NewService returns an inventory service over pool.
func NewService(pool *pgxpool.Pool) *Service { return &Service{pool: pool} }

// FindLevelsByVariantIDs returns the stock rows of the given variants at
// every location, ordered by variant.
func (s *Service) FindLevelsByVariantIDs(ctx context.Context, variantIDs []commerce.ID) ([]Level, error) {
	rows, err := s.pool.Query(ctx, `SELECT variant_id, location_id, on_hand
		FROM stock_levels WHERE variant_id = ANY($1) ORDER BY variant_id, location_id`, variantIDs)
	levels, err := db.All[Level](rows, err)
	if err != nil {
		return nil, fmt.Errorf("inventory.FindLevelsByVariantIDs: %w", err)
	}
	return levels, nil
}
