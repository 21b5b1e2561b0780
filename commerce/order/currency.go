package order

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/internal/db"
)

// A location sells in one currency (locations.currency_code, migration
// 0015): its till takes and gives back that currency and its country's VAT
// applies. An order is fulfilled, paid at pickup and refunded at a till
// only by a location of the order's currency: a CAD cart is not collected
// in Paris, and a CAD order is not refunded in cash there.

// locationCurrency is the currency of a location; "" when there is no such
// location.
func locationCurrency(ctx context.Context, q db.Querier, id commerce.ID) (commerce.Currency, error) {
	var c commerce.Currency
	err := q.QueryRow(ctx, `SELECT currency_code FROM locations WHERE id = $1`, id).Scan(&c)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return c, err
}

// CheckLocationCurrencyTx refuses (INVALID_INPUT on field) a location whose
// currency is not cur. A location that does not exist passes: the caller
// reports it in its own words.
func CheckLocationCurrencyTx(ctx context.Context, q db.Querier, id commerce.ID, cur commerce.Currency, field string) error {
	lc, err := locationCurrency(ctx, q, id)
	if err != nil {
		return fmt.Errorf("location currency: %w", err)
	}
	return currencyMismatch(lc, cur, field)
}

// sells refuses (INVALID_INPUT on field) a checkout's location of another
// currency than cur; a nil target passes (the caller reports it).
func (t *target) sells(cur commerce.Currency, field string) error {
	if t == nil {
		return nil
	}
	return currencyMismatch(t.currency, cur, field)
}

func currencyMismatch(lc, cur commerce.Currency, field string) error {
	if lc != "" && lc != cur {
		return commerce.InvalidInput(field, "this location sells in %s, not in %s: choose one of the %s locations", lc, cur, cur)
	}
	return nil
}
