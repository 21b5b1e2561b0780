package demo_test

import (
	"context"
	"reflect"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce/commercetest"
	"github.com/omnicanal/omnicanal/commerce/demo"
)

func TestMain(m *testing.M) { commercetest.Main(m) }

// seedDemo is demo.Seed in the shape commercetest.WithSeed takes, so that the
// tests below that only read the data share one seeded template.
func seedDemo(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := demo.Seed(ctx, pool)
	return err
}

// wantSummary is what a seed of an empty database must report.
func wantSummary() demo.Summary {
	d := demo.Generate()
	s := demo.Summary{
		Locations:   len(d.Locations),
		Channels:    len(d.Channels),
		Products:    len(d.Products),
		Variants:    len(d.Variants()),
		Prices:      2 * len(d.Variants()),
		StockLevels: len(d.Stock),
		Categories:  len(d.Categories),
		Collections: len(d.Collections),
	}
	for _, c := range d.Collections {
		s.CollectionProducts += len(c.Products)
	}
	for _, p := range d.Products {
		s.ProductCategories++ // one leaf each
		s.ProductOptions += len(p.Options)
		s.Media += len(p.Media)
		s.Publications += len(p.Channels)
	}
	return s
}

// tableCounts counts every row of the seeded tables, demo or not.
func tableCounts(t *testing.T, db *pgxpool.Pool) demo.Summary {
	t.Helper()
	var s demo.Summary
	err := db.QueryRow(t.Context(), `SELECT
		(SELECT count(*) FROM locations), (SELECT count(*) FROM channels),
		(SELECT count(*) FROM products), (SELECT count(*) FROM variants),
		(SELECT count(*) FROM variant_prices), (SELECT count(*) FROM stock_levels),
		(SELECT count(*) FROM categories), (SELECT count(*) FROM product_categories),
		(SELECT count(*) FROM collections), (SELECT count(*) FROM collection_products),
		(SELECT count(*) FROM product_options), (SELECT count(*) FROM product_media),
		(SELECT count(*) FROM product_publications)`).Scan(
		&s.Locations, &s.Channels, &s.Products, &s.Variants, &s.Prices, &s.StockLevels,
		&s.Categories, &s.ProductCategories, &s.Collections, &s.CollectionProducts,
		&s.ProductOptions, &s.Media, &s.Publications)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSeedIsIdempotent(t *testing.T) {
	db := commercetest.NewDB(t)
	want := wantSummary()
	for run := 1; run <= 2; run++ {
		got, err := demo.Seed(t.Context(), db)
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		if got != want {
			t.Errorf("run %d: Seed reported %+v, want %+v", run, got, want)
		}
		if got := tableCounts(t, db); got != want {
			t.Errorf("run %d: tables hold %+v, want %+v", run, got, want)
		}
	}
}

// TestSeedWritesTheGeneratedData compares what is stored with Generate, by
// sums that any lost, doubled or mangled row would change.
func TestSeedWritesTheGeneratedData(t *testing.T) {
	db := commercetest.NewDB(t, commercetest.WithSeed("demo", seedDemo))
	d := demo.Generate()

	var want struct{ amounts, compareAts, onHand, positions, grams, mediaPositions, collectionPositions int64 }
	for _, v := range d.Variants() {
		want.positions += int64(v.Position)
		want.grams += int64(v.WeightGrams)
		for _, p := range v.Prices {
			want.amounts += p.Amount
			want.compareAts += p.CompareAtAmount
		}
	}
	for _, s := range d.Stock {
		want.onHand += int64(s.OnHand)
	}
	for _, p := range d.Products {
		for _, m := range p.Media {
			want.mediaPositions += int64(m.Position)
		}
	}
	for _, c := range d.Collections {
		n := int64(len(c.Products))
		want.collectionPositions += n * (n + 1) / 2
	}
	got := want
	err := db.QueryRow(t.Context(), `SELECT
		(SELECT sum(amount) FROM variant_prices),
		(SELECT coalesce(sum(compare_at_amount), 0) FROM variant_prices),
		(SELECT sum(on_hand) FROM stock_levels),
		(SELECT sum(position) FROM variants),
		(SELECT sum(weight_grams) FROM variants),
		(SELECT sum(position) FROM product_media),
		(SELECT sum(position) FROM collection_products)`).Scan(&got.amounts, &got.compareAts, &got.onHand, &got.positions,
		&got.grams, &got.mediaPositions, &got.collectionPositions)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("stored sums %+v, want %+v", got, want)
	}

	// One row in full, through the column types a reader will use.
	var (
		title, barcode, options, hours string
		onHandLyon, onHandParis        int
	)
	err = db.QueryRow(t.Context(), `
		SELECT v.title, v.barcode, v.options::text,
		       (SELECT opening_hours::text FROM locations WHERE code = $2),
		       (SELECT s.on_hand FROM stock_levels s JOIN locations l ON l.id = s.location_id
		         WHERE s.variant_id = v.id AND l.code = $2),
		       (SELECT s.on_hand FROM stock_levels s JOIN locations l ON l.id = s.location_id
		         WHERE s.variant_id = v.id AND l.code = $3)
		FROM variants v WHERE v.sku = $1`,
		demo.SKUInLyonNotParis, demo.CodeLyon, demo.CodeParis).Scan(&title, &barcode, &options, &hours, &onHandLyon, &onHandParis)
	if err != nil {
		t.Fatal(err)
	}
	if title != "Noir / 42" || options != `[{"name": "Couleur", "value": "Noir"}, {"name": "Taille", "value": "42"}]` {
		t.Errorf("%s: title %q options %s", demo.SKUInLyonNotParis, title, options)
	}
	if onHandLyon == 0 || onHandParis != 0 {
		t.Errorf("%s: %d in Lyon and %d in Paris, want some and none", demo.SKUInLyonNotParis, onHandLyon, onHandParis)
	}
	if hours == "" || hours == "[]" {
		t.Errorf("Lyon has no opening hours: %s", hours)
	}

	var kioskStore, currency string
	err = db.QueryRow(t.Context(), `SELECT l.code, c.currency_code FROM channels c JOIN locations l ON l.id = c.location_id
		WHERE c.publishable_key = $1`, demo.KeyKioskMontreal).Scan(&kioskStore, &currency)
	if err != nil {
		t.Fatal(err)
	}
	if kioskStore != demo.CodeMontreal || currency != "CAD" {
		t.Errorf("%s: store %s currency %s", demo.KeyKioskMontreal, kioskStore, currency)
	}

	// The running shoe's catalog rows, as a reader of migration 0002's
	// tables will query them.
	shoe := d.Product(demo.HandleRunningShoe)
	var (
		version       int64
		attributes    map[string]string
		optionNames   []string
		colours       []string
		categoryPath  []string
		collections   []string
		firstImageAlt string
	)
	err = db.QueryRow(t.Context(), `
		SELECT p.version, p.attributes,
		       (SELECT array_agg(name ORDER BY position) FROM product_options WHERE product_id = p.id),
		       (SELECT "values" FROM product_options WHERE product_id = p.id AND name = 'Couleur'),
		       (WITH RECURSIVE up AS (
		            SELECT c.id, c.parent_id, c.handle, 1 AS depth FROM categories c
		            JOIN product_categories pc ON pc.category_id = c.id WHERE pc.product_id = p.id
		            UNION ALL
		            SELECT c.id, c.parent_id, c.handle, up.depth + 1 FROM categories c JOIN up ON c.id = up.parent_id)
		        SELECT array_agg(handle ORDER BY depth) FROM up),
		       (SELECT array_agg(c.handle ORDER BY c.handle) FROM collection_products cp
		         JOIN collections c ON c.id = cp.collection_id WHERE cp.product_id = p.id),
		       (SELECT alt FROM product_media WHERE product_id = p.id AND position = 1)
		FROM products p WHERE p.handle = $1`, demo.HandleRunningShoe).Scan(
		&version, &attributes, &optionNames, &colours, &categoryPath, &collections, &firstImageAlt)
	if err != nil {
		t.Fatal(err)
	}
	if version != 1 {
		t.Errorf("%s: version %d, want the default 1", demo.HandleRunningShoe, version)
	}
	if !reflect.DeepEqual(attributes, shoe.Attributes) {
		t.Errorf("%s: attributes %v, want %v", demo.HandleRunningShoe, attributes, shoe.Attributes)
	}
	if !slices.Equal(optionNames, []string{"Couleur", "Taille"}) || !slices.Equal(colours, shoe.Options[0].Values) {
		t.Errorf("%s: options %v, colours %v", demo.HandleRunningShoe, optionNames, colours)
	}
	if !slices.Equal(categoryPath, []string{demo.CategoryRunning, demo.CategoryShoes}) {
		t.Errorf("%s: category path %v", demo.HandleRunningShoe, categoryPath)
	}
	if !slices.Contains(collections, demo.CollectionRunning) {
		t.Errorf("%s: collections %v, want %s among them", demo.HandleRunningShoe, collections, demo.CollectionRunning)
	}
	if firstImageAlt != shoe.Media[0].Alt {
		t.Errorf("%s: first image alt %q", demo.HandleRunningShoe, firstImageAlt)
	}

	// Publication, channel by channel.
	for _, c := range []struct {
		handle, key string
		want        bool
	}{
		{demo.HandleWebExclusive, demo.KeyWebEU, true},
		{demo.HandleWebExclusive, demo.KeyKioskParis, false},
		{demo.HandleWebExclusive, demo.KeyPOSParis, false},
		{demo.HandleNotOnKiosk, demo.KeyPOSLyon, true},
		{demo.HandleNotOnKiosk, demo.KeyKioskLyon, false},
		{demo.HandleCanadaOnly, demo.KeyKioskMontreal, true},
		{demo.HandleCanadaOnly, demo.KeyWebEU, false},
		{demo.HandleRunningShoe, demo.KeyKioskParis, true},
		{demo.HandleDraft, demo.KeyWebEU, false},
	} {
		var published bool
		err := db.QueryRow(t.Context(), `SELECT EXISTS (SELECT 1 FROM product_publications pp
			JOIN products p ON p.id = pp.product_id JOIN channels c ON c.id = pp.channel_id
			WHERE p.handle = $1 AND c.publishable_key = $2)`, c.handle, c.key).Scan(&published)
		if err != nil {
			t.Fatal(err)
		}
		if published != c.want {
			t.Errorf("%s published on %s: %v, want %v", c.handle, c.key, published, c.want)
		}
	}
}

// TestSeedKeepsChanges: a second seed must not undo what people did to the
// demo data since the first.
func TestSeedKeepsChanges(t *testing.T) {
	db := commercetest.NewDB(t, commercetest.WithSeed("demo", seedDemo))
	ctx := t.Context()
	product, variant := demo.ProductID(demo.HandleRunningShoe), demo.VariantID(demo.SKUInLyonNotParis)
	paris, web := demo.LocationID(demo.CodeParis), demo.ChannelID(demo.KeyWebEU)
	running := demo.CollectionID(demo.CollectionRunning)
	// Each change, then what reads it back as text once the seed ran again.
	changes := []struct {
		update, read string
		args         []any
		want         string
	}{
		{`UPDATE products SET title = 'Renamed' WHERE id = $1`,
			`SELECT title FROM products WHERE id = $1`, []any{product}, "Renamed"},
		{`UPDATE products SET attributes = '{"Matière": "Autre"}' WHERE id = $1`,
			`SELECT attributes::text FROM products WHERE id = $1`, []any{product}, `{"Matière": "Autre"}`},
		{`UPDATE variant_prices SET amount = 100, compare_at_amount = NULL WHERE variant_id = $1 AND currency_code = 'EUR'`,
			`SELECT amount::text FROM variant_prices WHERE variant_id = $1 AND currency_code = 'EUR'`, []any{variant}, "100"},
		{`UPDATE variants SET weight_grams = 1 WHERE id = $1`,
			`SELECT weight_grams::text FROM variants WHERE id = $1`, []any{variant}, "1"},
		{`UPDATE stock_levels SET on_hand = 99 WHERE variant_id = $1 AND location_id = $2`,
			`SELECT on_hand::text FROM stock_levels WHERE variant_id = $1 AND location_id = $2`, []any{variant, paris}, "99"},
		{`UPDATE channels SET name = 'Renamed' WHERE id = $1`,
			`SELECT name FROM channels WHERE id = $1`, []any{web}, "Renamed"},
		{`UPDATE categories SET name = 'Renamed' WHERE id = $1`,
			`SELECT name FROM categories WHERE id = $1`, []any{demo.CategoryID(demo.CategoryRunning)}, "Renamed"},
		{`UPDATE product_media SET alt = 'Renamed' WHERE id = $1`,
			`SELECT alt FROM product_media WHERE id = $1`, []any{demo.MediaID(demo.HandleRunningShoe, 1)}, "Renamed"},
		{`UPDATE collection_products SET position = 999 WHERE collection_id = $1 AND product_id = $2`,
			`SELECT position::text FROM collection_products WHERE collection_id = $1 AND product_id = $2`, []any{running, product}, "999"},
	}
	for _, c := range changes {
		if tag, err := db.Exec(ctx, c.update, c.args...); err != nil || tag.RowsAffected() != 1 {
			t.Fatalf("%s: %v (%d rows)", c.update, err, tag.RowsAffected())
		}
	}
	if _, err := demo.Seed(ctx, db); err != nil {
		t.Fatal(err)
	}
	for _, c := range changes {
		var got string
		if err := db.QueryRow(ctx, c.read, c.args...).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("after a second seed, %s gives %q, want %q: the seed undid a change", c.read, got, c.want)
		}
	}
}

// TestSeedSkipsTakenKeys: when someone else's rows already hold a demo key,
// the seed leaves them alone and skips what would hang off the demo row,
// instead of failing.
func TestSeedSkipsTakenKeys(t *testing.T) {
	db := commercetest.NewDB(t)
	ctx := t.Context()
	// A product that holds the running shoe's handle, and a category that
	// holds the handle of Hauts, a middle node: its whole subtree must go.
	for _, c := range []struct{ sql, handle string }{
		{`INSERT INTO products (id, handle, title) VALUES (gen_random_uuid(), $1, 'Mine')`, demo.HandleRunningShoe},
		{`INSERT INTO categories (id, handle, name) VALUES (gen_random_uuid(), $1, 'Mine')`, demo.CategoryTops},
	} {
		if _, err := db.Exec(ctx, c.sql, c.handle); err != nil {
			t.Fatal(err)
		}
	}
	got, err := demo.Seed(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	d := demo.Generate()
	shoe := d.Product(demo.HandleRunningShoe)
	want := wantSummary()
	want.Products--
	want.Variants -= len(shoe.Variants)
	want.Prices -= 2 * len(shoe.Variants)
	want.StockLevels -= len(shoe.Variants) * len(demo.Locations())
	want.ProductCategories--
	want.ProductOptions -= len(shoe.Options)
	want.Media -= len(shoe.Media)
	want.Publications -= len(shoe.Channels)
	for _, c := range d.Collections {
		if slices.Contains(c.Products, shoe.Handle) {
			want.CollectionProducts--
		}
	}
	lost := []string{demo.CategoryTops}
	for _, c := range d.Categories {
		if slices.Contains(lost, c.Parent) {
			lost = append(lost, c.Handle)
		}
	}
	want.Categories -= len(lost)
	for _, p := range d.Products {
		if p.Handle != shoe.Handle && slices.Contains(lost, p.Category) {
			want.ProductCategories--
		}
	}
	if len(lost) != 4 {
		t.Errorf("Hauts and its subtree are %v, want 4 categories", lost)
	}
	if got != want {
		t.Errorf("Seed reported %+v, want %+v", got, want)
	}
	var title, name string
	if err := db.QueryRow(ctx, `SELECT (SELECT title FROM products WHERE handle = $1), (SELECT name FROM categories WHERE handle = $2)`,
		demo.HandleRunningShoe, demo.CategoryTops).Scan(&title, &name); err != nil {
		t.Fatal(err)
	}
	if title != "Mine" || name != "Mine" {
		t.Errorf("the existing product became %q and the existing category %q", title, name)
	}
}

// TestSeedConcurrently: two processes starting at once may both seed.
func TestSeedConcurrently(t *testing.T) {
	db := commercetest.NewDB(t)
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := demo.Seed(t.Context(), db)
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if got, want := tableCounts(t, db), wantSummary(); got != want {
		t.Errorf("tables hold %+v, want %+v", got, want)
	}
}

func BenchmarkSeed(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		db := commercetest.NewDB(b)
		b.StartTimer()
		if _, err := demo.Seed(b.Context(), db); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		demo.Generate()
	}
}
