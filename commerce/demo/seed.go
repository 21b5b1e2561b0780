package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Summary counts the demo rows present in the database once Seed returns,
// whether this run or an earlier one inserted them, so a second run reports
// the same counts as the first. Rows of the same tables that are not part of
// the demo set are not counted.
type Summary struct {
	Locations, Channels, Products, Variants, Prices, StockLevels int
}

// Seed loads the demo data set. Idempotent: running it again changes nothing
// and errors nothing.
//
// Seed only ever inserts. A demo row that already exists (same id, or same
// code, key, handle, SKU or barcode) is left exactly as it is, so a second run
// never resets a price or a stock level someone changed; a demo row someone
// deleted comes back. Rows that would hang off a missing parent (a variant
// whose product was skipped because its handle was taken by another product)
// are skipped too, rather than failing the whole seed.
//
// Everything happens in one transaction: the data is copied into temporary
// tables with COPY, then moved with INSERT … SELECT … ON CONFLICT DO NOTHING,
// which keeps the seed to a few round trips. Two processes seeding at once
// (two servers starting in dev mode) take turns on an advisory lock, so
// neither can deadlock the other on the unique keys both insert.
func Seed(ctx context.Context, pool *pgxpool.Pool) (Summary, error) {
	d := Generate()
	tables, err := seedTables(d)
	if err != nil {
		return Summary{}, fmt.Errorf("demo.Seed: %w", err)
	}
	var s Summary
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", seedLockKey); err != nil {
			return err
		}
		for _, t := range tables {
			if err := t.load(ctx, tx); err != nil {
				return err
			}
		}
		return tx.QueryRow(ctx, countSQL).Scan(
			&s.Locations, &s.Channels, &s.Products, &s.Variants, &s.Prices, &s.StockLevels)
	})
	if err != nil {
		return Summary{}, fmt.Errorf("demo.Seed: %w", err)
	}
	return s, nil
}

// seedLockKey is the transaction-scoped advisory lock Seed holds ("demoseed"
// in ASCII; the migrations hold another).
const seedLockKey = 0x64656d6f73656564

// countSQL counts the rows of each table that belong to the demo set, by
// joining them with the temporary tables on their keys.
const countSQL = `SELECT
	(SELECT count(*) FROM locations JOIN demo_locations USING (id)),
	(SELECT count(*) FROM channels JOIN demo_channels USING (id)),
	(SELECT count(*) FROM products JOIN demo_products USING (id)),
	(SELECT count(*) FROM variants JOIN demo_variants USING (id)),
	(SELECT count(*) FROM variant_prices JOIN demo_variant_prices USING (variant_id, currency_code)),
	(SELECT count(*) FROM stock_levels JOIN demo_stock_levels USING (variant_id, location_id))`

// seedTable is the demo content of one table and how to move it in.
type seedTable struct {
	name string
	cols []string
	rows [][]any
	// where keeps out rows whose parent row is missing; the temporary
	// table is aliased t.
	where string
}

// load copies the rows into a temporary table shaped like the real one and
// inserts those the real table lacks.
func (t *seedTable) load(ctx context.Context, tx pgx.Tx) error {
	tmp := "demo_" + t.name
	// LIKE keeps the column types and NOT NULLs but no unique constraint,
	// so the copy itself cannot conflict.
	if _, err := tx.Exec(ctx, fmt.Sprintf(
		"CREATE TEMP TABLE %s (LIKE %s INCLUDING DEFAULTS) ON COMMIT DROP", tmp, t.name)); err != nil {
		return fmt.Errorf("%s: %w", t.name, err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{tmp}, t.cols, pgx.CopyFromRows(t.rows)); err != nil {
		return fmt.Errorf("%s: copy: %w", t.name, err)
	}
	cols := strings.Join(t.cols, ", ")
	q := fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s t", t.name, cols, cols, tmp)
	if t.where != "" {
		q += " WHERE " + t.where
	}
	// No conflict target: a clash on any unique key (id, code, handle, SKU,
	// barcode…) means the row is already there and must be left alone.
	q += " ON CONFLICT DO NOTHING"
	if _, err := tx.Exec(ctx, q); err != nil {
		return fmt.Errorf("%s: insert: %w", t.name, err)
	}
	return nil
}

// seedTables lays the data out as table rows, parents before children.
func seedTables(d *Data) ([]*seedTable, error) {
	locations := &seedTable{
		name: "locations",
		cols: []string{"id", "code", "kind", "name", "address_line1", "city", "postal_code", "region",
			"country_code", "latitude", "longitude", "time_zone", "opening_hours",
			"pickup_enabled", "pickup_prep_minutes", "pickup_hold_days"},
	}
	for _, l := range d.Locations {
		hours, err := json.Marshal(l.OpeningHours)
		if err != nil {
			return nil, err
		}
		locations.rows = append(locations.rows, []any{
			l.ID, l.Code, l.Kind, l.Name, l.AddressLine1, l.City, l.PostalCode, l.Region,
			l.CountryCode, l.Latitude, l.Longitude, l.TimeZone, string(hours),
			l.PickupEnabled, l.PickupPrepMinutes, l.PickupHoldDays,
		})
	}

	channels := &seedTable{
		name:  "channels",
		cols:  []string{"id", "kind", "name", "currency_code", "location_id", "publishable_key"},
		where: "t.location_id IS NULL OR EXISTS (SELECT 1 FROM locations l WHERE l.id = t.location_id)",
	}
	for _, c := range d.Channels {
		var loc any // NULL for web and mobile
		if c.StoreCode != "" {
			loc = LocationID(c.StoreCode)
		}
		channels.rows = append(channels.rows, []any{c.ID, c.Kind, c.Name, string(c.Currency), loc, c.Key})
	}

	products := &seedTable{
		name: "products",
		cols: []string{"id", "handle", "title", "description", "brand", "product_type", "status"},
	}
	variants := &seedTable{
		name:  "variants",
		cols:  []string{"id", "product_id", "sku", "barcode", "title", "options", "position"},
		where: "EXISTS (SELECT 1 FROM products p WHERE p.id = t.product_id)",
	}
	prices := &seedTable{
		name:  "variant_prices",
		cols:  []string{"variant_id", "currency_code", "amount", "compare_at_amount"},
		where: "EXISTS (SELECT 1 FROM variants v WHERE v.id = t.variant_id)",
	}
	for _, p := range d.Products {
		products.rows = append(products.rows, []any{p.ID, p.Handle, p.Title, p.Description, p.Brand, p.ProductType, p.Status})
		for _, v := range p.Variants {
			opts, err := json.Marshal(v.Options)
			if err != nil {
				return nil, err
			}
			variants.rows = append(variants.rows, []any{v.ID, v.ProductID, v.SKU, v.Barcode, v.Title, string(opts), v.Position})
			for _, pr := range v.Prices {
				var compareAt any // NULL when not on sale
				if pr.CompareAtAmount != 0 {
					compareAt = pr.CompareAtAmount
				}
				prices.rows = append(prices.rows, []any{v.ID, string(pr.Currency), pr.Amount, compareAt})
			}
		}
	}

	stock := &seedTable{
		name: "stock_levels",
		cols: []string{"variant_id", "location_id", "on_hand"},
		where: "EXISTS (SELECT 1 FROM variants v WHERE v.id = t.variant_id)" +
			" AND EXISTS (SELECT 1 FROM locations l WHERE l.id = t.location_id)",
	}
	for _, s := range d.Stock {
		stock.rows = append(stock.rows, []any{s.VariantID, s.LocationID, s.OnHand})
	}

	return []*seedTable{locations, channels, products, variants, prices, stock}, nil
}
