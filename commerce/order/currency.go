package order

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/internal/db"
	"github.com/omnicanal/omnicanal/commerce/inventory"
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
	if lc != "" && lc != cur {
		return commerce.InvalidInput(field, "this location sells in %s, not in %s: choose one of the %s locations", lc, cur, cur)
	}
	return nil
}

// checkFulfillmentCurrency refuses a pickup store or a chosen shipping
// origin of another currency than the cart's (checkout).
func checkFulfillmentCurrency(ctx context.Context, q db.Querier, cur commerce.Currency, f Fulfillment) error {
	switch {
	case f.Pickup != nil:
		return CheckLocationCurrencyTx(ctx, q, f.Pickup.LocationID, cur, "fulfillment.pickup.locationId")
	case f.Shipping != nil && f.Shipping.FromLocationID != nil:
		return CheckLocationCurrencyTx(ctx, q, *f.Shipping.FromLocationID, cur, "fulfillment.shipping.fromLocationId")
	}
	return nil
}

// shipFromIn is shipFrom among the locations of currency cur only: the
// automatic choice of a shipping origin never leaves the cart's currency.
func shipFromIn(ctx context.Context, q db.Querier, cur commerce.Currency, want []inventory.Line, to *Address) ([]target, error) {
	all, err := shipFrom(ctx, q, want, to)
	if err != nil || len(all) == 0 {
		return all, err
	}
	ids := make([]commerce.ID, len(all))
	for i, t := range all {
		ids[i] = t.id
	}
	rows, err := q.Query(ctx, `SELECT id FROM locations WHERE id = ANY($1) AND currency_code = $2`, ids, string(cur))
	if err != nil {
		return nil, err
	}
	ok := map[commerce.ID]bool{}
	var id commerce.ID
	if _, err := pgx.ForEachRow(rows, []any{&id}, func() error { ok[id] = true; return nil }); err != nil {
		return nil, err
	}
	out := all[:0]
	for _, t := range all {
		if ok[t.id] {
			out = append(out, t)
		}
	}
	return out, nil
}
