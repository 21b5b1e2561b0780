package order

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/omnicanal/omnicanal/commerce/internal/db"
)

// Taxes. Prices are tax-inclusive (European VAT style): an order's total
// does not grow at checkout, its tax is the part of it that is VAT. The rate
// is the one of the fulfilling location's country (the pickup store, or the
// location that ships), from the tax_rates table, in millionths of the
// tax-exclusive price: FR 200000 (20%), CA 149750 (14.975%, Québec's GST 5%
// + QST 9.975% as one rate — a simplification: every demo location in
// Canada is in Québec, and shipping to other provinces is not modelled).
// Each line's tax is computed on its total after discounts and rounded half
// up, and the order's tax is the sum of its lines'.

// ppmScale is the rate's unit: 1 000 000 = 100%.
const ppmScale = 1_000_000

// InclusiveTax is the tax included in a tax-inclusive amount at ratePPM:
// amount × rate / (1 000 000 + rate), rounded half up. amount and ratePPM
// must not be negative.
func InclusiveTax(amount int64, ratePPM int) int64 {
	if amount <= 0 || ratePPM <= 0 {
		return 0
	}
	den := uint64(ppmScale + ratePPM)
	hi, lo := bits.Mul64(uint64(amount), uint64(ratePPM))
	q, r := bits.Div64(hi, lo, den) // q < amount: fits
	if r >= den-r {
		q++
	}
	return int64(q)
}

// taxRateTTL is how long a rate read from the table is reused: rates change
// a few times a decade, and are dated in advance.
const taxRateTTL = time.Minute

type cachedRate struct {
	ppm     int
	day     string
	fetched time.Time
}

// taxRate is the rate of country at the moment at, cached for taxRateTTL.
func (s *Service) taxRate(ctx context.Context, q db.Querier, country string, at time.Time) (int, error) {
	day := at.UTC().Format(time.DateOnly)
	if v, ok := s.rates.Load(country); ok {
		if c := v.(cachedRate); c.day == day && time.Since(c.fetched) < taxRateTTL {
			return c.ppm, nil
		}
	}
	ppm, err := taxRate(ctx, q, country, at)
	if err == nil {
		s.rates.Store(country, cachedRate{ppm: ppm, day: day, fetched: time.Now()})
	}
	return ppm, err
}

// taxRate is the rate of country at the moment at; 0 for a country without
// a rate in the table.
func taxRate(ctx context.Context, q db.Querier, country string, at time.Time) (int, error) {
	var ppm int
	err := q.QueryRow(ctx, `SELECT rate_ppm FROM tax_rates WHERE country_code = $1 AND since <= $2::date
		ORDER BY since DESC LIMIT 1`, country, at.UTC()).Scan(&ppm)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("tax rate: %w", err)
	}
	return ppm, nil
}
