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

	Categories, ProductCategories, Collections, CollectionProducts int
	ProductOptions, Media, Publications                            int
}

// Seed loads the demo data set. Idempotent: running it again changes nothing
// and errors nothing.
//
// Seed only ever inserts. A demo row that already exists (same id, or same
// code, key, handle, SKU or barcode) is left exactly as it is, so a second run
// never resets a price or a stock level someone changed; a demo row someone
// deleted comes back. Rows that would hang off a missing parent (a variant
// whose product was skipped because its handle was taken by another product)
// are skipped too, rather than failing the whole seed. Publication is
// inserted the same way, so a database that migration 0002 backfilled (every
// product on every channel) keeps its wider publication.
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
			&s.Locations, &s.Channels, &s.Products, &s.Variants, &s.Prices, &s.StockLevels,
			&s.Categories, &s.ProductCategories, &s.Collections, &s.CollectionProducts,
			&s.ProductOptions, &s.Media, &s.Publications)
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
	(SELECT count(*) FROM stock_levels JOIN demo_stock_levels USING (variant_id, location_id)),
	(SELECT count(*) FROM categories JOIN demo_categories USING (id)),
	(SELECT count(*) FROM product_categories JOIN demo_product_categories USING (product_id, category_id)),
	(SELECT count(*) FROM collections JOIN demo_collections USING (id)),
	(SELECT count(*) FROM collection_products JOIN demo_collection_products USING (collection_id, product_id)),
	(SELECT count(*) FROM product_options JOIN demo_product_options USING (product_id, position)),
	(SELECT count(*) FROM product_media JOIN demo_product_media USING (id)),
	(SELECT count(*) FROM product_publications JOIN demo_product_publications USING (product_id, channel_id))`

// seedTable is the demo content of one table and how to move it in.
type seedTable struct {
	name string
	cols []string
	rows [][]any
	// where keeps out rows whose parent row is missing; the temporary
	// table is aliased t.
	where string
	// passes is how many times the insert runs (once when 0). A table that
	// refers to itself, like the category tree, needs one pass per level:
	// where sees only the rows that were there before the statement, so
	// each pass adds the children of what the previous one inserted.
	passes int
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
	// Quoted, because product_options has a column named "values".
	quoted := make([]string, len(t.cols))
	for i, c := range t.cols {
		quoted[i] = pgx.Identifier{c}.Sanitize()
	}
	cols := strings.Join(quoted, ", ")
	q := fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s t", t.name, cols, cols, tmp)
	if t.where != "" {
		q += " WHERE " + t.where
	}
	// No conflict target: a clash on any unique key (id, code, handle, SKU,
	// barcode…) means the row is already there and must be left alone.
	q += " ON CONFLICT DO NOTHING"
	for range max(t.passes, 1) {
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: insert: %w", t.name, err)
		}
	}
	return nil
}

// seedTables lays the data out as table rows, parents before children.
func seedTables(d *Data) ([]*seedTable, error) {
	locations := &seedTable{
		name: "locations",
		cols: []string{"id", "code", "kind", "name", "address_line1", "city", "postal_code", "region",
			"country_code", "latitude", "longitude", "time_zone", "opening_hours",
			"pickup_enabled", "pickup_prep_minutes", "pickup_hold_days", "currency_code"},
	}
	for _, l := range d.Locations {
		hours, err := json.Marshal(l.OpeningHours)
		if err != nil {
			return nil, err
		}
		locations.rows = append(locations.rows, []any{
			l.ID, l.Code, l.Kind, l.Name, l.AddressLine1, l.City, l.PostalCode, l.Region,
			l.CountryCode, l.Latitude, l.Longitude, l.TimeZone, string(hours),
			l.PickupEnabled, l.PickupPrepMinutes, l.PickupHoldDays, locationCurrency(l.CountryCode),
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

	categories := &seedTable{
		name:  "categories",
		cols:  []string{"id", "parent_id", "handle", "name", "position"},
		where: "t.parent_id IS NULL OR EXISTS (SELECT 1 FROM categories c WHERE c.id = t.parent_id)",
	}
	depth := make(map[string]int) // by handle; parents come first
	for _, c := range d.Categories {
		var parent any // NULL for a root
		if c.Parent != "" {
			parent = CategoryID(c.Parent)
		}
		depth[c.Handle] = depth[c.Parent] + 1
		categories.passes = max(categories.passes, depth[c.Handle])
		categories.rows = append(categories.rows, []any{c.ID, parent, c.Handle, c.Name, c.Position})
	}

	collections := &seedTable{
		name: "collections",
		cols: []string{"id", "handle", "title", "description"},
	}
	collectionProducts := &seedTable{
		name: "collection_products",
		cols: []string{"collection_id", "product_id", "position"},
		where: "EXISTS (SELECT 1 FROM collections c WHERE c.id = t.collection_id)" +
			" AND EXISTS (SELECT 1 FROM products p WHERE p.id = t.product_id)",
	}
	for _, c := range d.Collections {
		collections.rows = append(collections.rows, []any{c.ID, c.Handle, c.Title, c.Description})
		for i, h := range c.Products {
			collectionProducts.rows = append(collectionProducts.rows, []any{c.ID, ProductID(h), i + 1})
		}
	}

	// products.version is left to its default: a seeded product is at its
	// first version.
	products := &seedTable{
		name: "products",
		cols: []string{"id", "handle", "title", "description", "brand", "product_type", "status", "attributes"},
	}
	productCategories := &seedTable{
		name: "product_categories",
		cols: []string{"product_id", "category_id"},
		where: "EXISTS (SELECT 1 FROM products p WHERE p.id = t.product_id)" +
			" AND EXISTS (SELECT 1 FROM categories c WHERE c.id = t.category_id)",
	}
	onProduct := "EXISTS (SELECT 1 FROM products p WHERE p.id = t.product_id)"
	options := &seedTable{
		name:  "product_options",
		cols:  []string{"product_id", "position", "name", "values"},
		where: onProduct,
	}
	media := &seedTable{
		name:  "product_media",
		cols:  []string{"id", "product_id", "position", "url", "alt"},
		where: onProduct,
	}
	publications := &seedTable{
		name: "product_publications",
		cols: []string{"product_id", "channel_id"},
		where: onProduct +
			" AND EXISTS (SELECT 1 FROM channels c WHERE c.id = t.channel_id)",
	}
	variants := &seedTable{
		name:  "variants",
		cols:  []string{"id", "product_id", "sku", "barcode", "title", "options", "position", "weight_grams"},
		where: onProduct,
	}
	prices := &seedTable{
		name:  "variant_prices",
		cols:  []string{"variant_id", "currency_code", "amount", "compare_at_amount"},
		where: "EXISTS (SELECT 1 FROM variants v WHERE v.id = t.variant_id)",
	}
	for _, p := range d.Products {
		attrs, err := json.Marshal(p.Attributes)
		if err != nil {
			return nil, err
		}
		products.rows = append(products.rows, []any{p.ID, p.Handle, p.Title, p.Description, p.Brand, p.ProductType, p.Status, string(attrs)})
		if p.Category != "" {
			productCategories.rows = append(productCategories.rows, []any{p.ID, CategoryID(p.Category)})
		}
		for i, o := range p.Options {
			options.rows = append(options.rows, []any{p.ID, i + 1, o.Name, o.Values})
		}
		for _, m := range p.Media {
			media.rows = append(media.rows, []any{m.ID, p.ID, m.Position, m.URL, m.Alt})
		}
		for _, key := range p.Channels {
			publications.rows = append(publications.rows, []any{p.ID, ChannelID(key)})
		}
		for _, v := range p.Variants {
			opts, err := json.Marshal(v.Options)
			if err != nil {
				return nil, err
			}
			variants.rows = append(variants.rows, []any{v.ID, v.ProductID, v.SKU, v.Barcode, v.Title, string(opts), v.Position, v.WeightGrams})
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

	staffUsers, err := staffTable() // demo associates (staff.go)
	if err != nil {
		return nil, err
	}

	return []*seedTable{
		locations, channels, categories, collections,
		products, productCategories, options, media, publications, collectionProducts,
		variants, prices, stock, staffUsers,
	}, nil
}

// locationCurrency is the currency a demo location sells in: euros in
// France, Canadian dollars in Canada (migration 0015 backfills alike).
func locationCurrency(country string) string {
	if country == "CA" {
		return "CAD"
	}
	return "EUR"
}
