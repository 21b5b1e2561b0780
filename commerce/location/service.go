package location

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Service reads locations.
type Service struct {
	pool *pgxpool.Pool
}

// NewService returns a location service over pool.
func NewService(pool *pgxpool.Pool) *Service { return &Service{pool: pool} }

// Filter narrows FindLocations.
type Filter struct {
	Kind       Kind   // "" for every kind
	PickupOnly bool   // only stores that offer click & collect
	Near       *Point // order by distance from this point and fill DistanceKm
}

const columns = `id, code, kind, name, address_line1, address_line2, city, postal_code, region,
	country_code, latitude, longitude, time_zone, opening_hours, pickup_enabled,
	pickup_prep_minutes, pickup_hold_days, currency_code`

// FindLocations returns the locations matching f, nearest first when f.Near
// is set, otherwise by name. There are tens of locations, not millions, so
// distances are computed here rather than with a geo index.
func (s *Service) FindLocations(ctx context.Context, f Filter) ([]Location, error) {
	if f.Near != nil {
		if err := f.Near.Validate(); err != nil {
			return nil, err
		}
	}
	rows, err := s.pool.Query(ctx, `SELECT `+columns+` FROM locations
		WHERE ($1 = '' OR kind = $1) AND (NOT $2 OR pickup_enabled)
		ORDER BY name, id`, string(f.Kind), f.PickupOnly)
	if err != nil {
		return nil, fmt.Errorf("location.FindLocations: %w", err)
	}
	locs, err := collect(rows)
	if err != nil {
		return nil, fmt.Errorf("location.FindLocations: %w", err)
	}
	if f.Near != nil {
		for i := range locs {
			d := DistanceKm(*f.Near, locs[i].Point)
			locs[i].DistanceKm = &d
		}
		slices.SortStableFunc(locs, func(a, b Location) int { return cmp.Compare(*a.DistanceKm, *b.DistanceKm) })
	}
	return locs, nil
}

func collect(rows pgx.Rows) ([]Location, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Location, error) {
		var l Location
		err := row.Scan(&l.ID, &l.Code, &l.Kind, &l.Name,
			&l.Address.Line1, &l.Address.Line2, &l.Address.City, &l.Address.PostalCode,
			&l.Address.Region, &l.Address.CountryCode, &l.Point.Lat, &l.Point.Lng,
			&l.TimeZone, &l.OpeningHours, &l.PickupEnabled, &l.PickupPrepMinutes, &l.PickupHoldDays, &l.Currency)
		return l, err
	})
}
