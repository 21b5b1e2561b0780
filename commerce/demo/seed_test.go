package demo_test

import (
	"context"
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
	return demo.Summary{
		Locations:   len(d.Locations),
		Channels:    len(d.Channels),
		Products:    len(d.Products),
		Variants:    len(d.Variants()),
		Prices:      2 * len(d.Variants()),
		StockLevels: len(d.Stock),
	}
}

// tableCounts counts every row of the seeded tables, demo or not.
func tableCounts(t *testing.T, db *pgxpool.Pool) demo.Summary {
	t.Helper()
	var s demo.Summary
	err := db.QueryRow(t.Context(), `SELECT
		(SELECT count(*) FROM locations), (SELECT count(*) FROM channels),
		(SELECT count(*) FROM products), (SELECT count(*) FROM variants),
		(SELECT count(*) FROM variant_prices), (SELECT count(*) FROM stock_levels)`).Scan(
		&s.Locations, &s.Channels, &s.Products, &s.Variants, &s.Prices, &s.StockLevels)
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

	var want struct{ amounts, compareAts, onHand, positions int64 }
	for _, v := range d.Variants() {
		want.positions += int64(v.Position)
		for _, p := range v.Prices {
			want.amounts += p.Amount
			want.compareAts += p.CompareAtAmount
		}
	}
	for _, s := range d.Stock {
		want.onHand += int64(s.OnHand)
	}
	got := want
	err := db.QueryRow(t.Context(), `SELECT
		(SELECT sum(amount) FROM variant_prices),
		(SELECT coalesce(sum(compare_at_amount), 0) FROM variant_prices),
		(SELECT sum(on_hand) FROM stock_levels),
		(SELECT sum(position) FROM variants)`).Scan(&got.amounts, &got.compareAts, &got.onHand, &got.positions)
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
}

// TestSeedKeepsChanges: a second seed must not undo what people did to the
// demo data since the first.
func TestSeedKeepsChanges(t *testing.T) {
	db := commercetest.NewDB(t, commercetest.WithSeed("demo", seedDemo))
	ctx := t.Context()
	product, variant := demo.ProductID(demo.HandleRunningShoe), demo.VariantID(demo.SKUInLyonNotParis)
	paris, web := demo.LocationID(demo.CodeParis), demo.ChannelID(demo.KeyWebEU)
	for _, c := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE products SET title = 'Renamed' WHERE id = $1`, []any{product}},
		{`UPDATE variant_prices SET amount = 100, compare_at_amount = NULL WHERE variant_id = $1 AND currency_code = 'EUR'`, []any{variant}},
		{`UPDATE stock_levels SET on_hand = 99 WHERE variant_id = $1 AND location_id = $2`, []any{variant, paris}},
		{`UPDATE channels SET name = 'Renamed' WHERE id = $1`, []any{web}},
	} {
		if tag, err := db.Exec(ctx, c.sql, c.args...); err != nil || tag.RowsAffected() != 1 {
			t.Fatalf("%s: %v (%d rows)", c.sql, err, tag.RowsAffected())
		}
	}
	if _, err := demo.Seed(ctx, db); err != nil {
		t.Fatal(err)
	}
	var title, channel string
	var amount, onHand int
	err := db.QueryRow(ctx, `SELECT
		(SELECT title FROM products WHERE id = $1),
		(SELECT amount FROM variant_prices WHERE variant_id = $2 AND currency_code = 'EUR'),
		(SELECT on_hand FROM stock_levels WHERE variant_id = $2 AND location_id = $3),
		(SELECT name FROM channels WHERE id = $4)`,
		product, variant, paris, web).Scan(&title, &amount, &onHand, &channel)
	if err != nil {
		t.Fatal(err)
	}
	if title != "Renamed" || amount != 100 || onHand != 99 || channel != "Renamed" {
		t.Errorf("after a second seed: title %q, price %d, stock %d, channel %q; the seed undid a change",
			title, amount, onHand, channel)
	}
}

// TestSeedSkipsTakenKeys: when someone else's rows already hold a demo key,
// the seed leaves them alone and skips what would hang off the demo row,
// instead of failing.
func TestSeedSkipsTakenKeys(t *testing.T) {
	db := commercetest.NewDB(t)
	ctx := t.Context()
	if _, err := db.Exec(ctx, `INSERT INTO products (id, handle, title) VALUES (gen_random_uuid(), $1, 'Mine')`,
		demo.HandleRunningShoe); err != nil {
		t.Fatal(err)
	}
	got, err := demo.Seed(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	var shoe demo.Product
	for _, p := range demo.Generate().Products {
		if p.Handle == demo.HandleRunningShoe {
			shoe = p
		}
	}
	want := wantSummary()
	want.Products--
	want.Variants -= len(shoe.Variants)
	want.Prices -= 2 * len(shoe.Variants)
	want.StockLevels -= len(shoe.Variants) * len(demo.Locations())
	if got != want {
		t.Errorf("Seed reported %+v, want %+v", got, want)
	}
	var title string
	if err := db.QueryRow(ctx, `SELECT title FROM products WHERE handle = $1`, demo.HandleRunningShoe).Scan(&title); err != nil {
		t.Fatal(err)
	}
	if title != "Mine" {
		t.Errorf("the existing product became %q", title)
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
