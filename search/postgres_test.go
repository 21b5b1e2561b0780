package search

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/commercetest"
)

func TestMain(m *testing.M) { commercetest.Main(m) }

func TestPostgres(t *testing.T) {
	testEngine(t, func(t *testing.T) Engine { return NewPostgres(commercetest.NewDB(t)) })
}

// The facet counts of the engine's one statement equal what plain SQL
// counts give over the same table, written here without the engine's
// tricks (flags, a shared CTE, UNION ALL).
func TestPostgresFacetCountsEqualSQL(t *testing.T) {
	pool := commercetest.NewDB(t)
	e := NewPostgres(pool)
	ctx := t.Context()
	if err := e.Upsert(ctx, fixtureDocs()); err != nil {
		t.Fatal(err)
	}
	q := Query{
		ChannelID: chWebCA, Currency: "CAD", Limit: 10,
		Filter: Filter{
			CategoryIDs: []commerce.ID{catFootwear.ID, catApparel.ID},
			Brands:      []string{"Nordet", "Maison Sentier", "Pas Léger", "Laurentide"},
			Options:     map[string][]string{"Taille": {"42", "M", "L"}},
			PriceMin:    ptr[int64](3000), PriceMax: ptr[int64](25000),
			InStoreID: &storeParis,
		},
		Facets: []Facet{FacetCategory, FacetBrand, FacetPrice, FacetStore, OptionFacet("Taille")},
	}
	res, err := e.Search(ctx, q)
	if err != nil {
		t.Fatal(err)
	}

	// Each filter as plain SQL, keyed by the facet that must not see it.
	filters := map[Facet]string{
		"":                    "@ch = ANY(channel_ids)",
		FacetCategory:         "category_ids && @cats",
		FacetBrand:            "brand = ANY(@brands)",
		OptionFacet("Taille"): "EXISTS (SELECT FROM unnest(options) o WHERE o IN ('Taille=42', 'Taille=M', 'Taille=L'))",
		FacetPrice:            "(prices -> 'CAD' ->> 'min')::bigint BETWEEN 3000 AND 25000",
		FacetStore:            "@store = ANY(store_ids)",
	}
	args := pgx.NamedArgs{"ch": q.ChannelID, "cats": q.Filter.CategoryIDs, "brands": q.Filter.Brands, "store": storeParis}
	where := func(except Facet) string {
		var parts []string
		for f, sql := range filters {
			if f != except || f == "" {
				parts = append(parts, sql)
			}
		}
		slices.Sort(parts)
		return " WHERE " + strings.Join(parts, " AND ")
	}
	counts := func(sql string) map[string]int {
		t.Helper()
		rows, err := pool.Query(ctx, sql, args)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		m := map[string]int{}
		for rows.Next() {
			var k string
			var n int
			if err := rows.Scan(&k, &n); err != nil {
				t.Fatal(err)
			}
			m[k] = n
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return m
	}
	var bounds []string
	for _, b := range PriceBuckets("CAD") {
		bounds = append(bounds, itoa64(b.Min))
	}
	bucket := "CASE"
	for i := len(bounds) - 1; i >= 0; i-- {
		bucket += " WHEN (prices -> 'CAD' ->> 'min')::bigint >= " + bounds[i] + " THEN '" + PriceBuckets("CAD")[i].Value + "'"
	}
	bucket += " END"
	want := map[Facet]map[string]int{
		FacetCategory:         counts("SELECT c::text, count(*) FROM search_documents, unnest(category_ids) c" + where(FacetCategory) + " GROUP BY c"),
		FacetBrand:            counts("SELECT brand, count(*) FROM search_documents" + where(FacetBrand) + " GROUP BY brand"),
		FacetStore:            counts("SELECT s::text, count(*) FROM search_documents, unnest(store_ids) s" + where(FacetStore) + " GROUP BY s"),
		OptionFacet("Taille"): counts("SELECT substr(o, 8), count(*) FROM search_documents, unnest(options) o" + where(OptionFacet("Taille")) + " AND o LIKE 'Taille=%' GROUP BY o"),
		FacetPrice:            counts("SELECT " + bucket + ", count(*) FROM search_documents" + where(FacetPrice) + " AND prices ? 'CAD' GROUP BY 1"),
	}
	total := counts("SELECT 'total', count(*) FROM search_documents" + where(""))["total"]

	if res.Total != total {
		t.Errorf("total %d, SQL counts %d", res.Total, total)
	}
	if total == 0 {
		t.Fatal("the query matches nothing: pick filters that test something")
	}
	for f, w := range want {
		got := map[string]int{}
		for _, v := range res.Facets[f] {
			got[v.Value] = v.Count
		}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("facet %s\n got %v\n SQL %v", f, got, w)
		}
		if len(w) < 2 {
			t.Errorf("facet %s has %d values: pick filters that test something", f, len(w))
		}
	}
}

// The vectors and the lexicon are built from unaccented text.
func TestPostgresStoresUnaccentedText(t *testing.T) {
	pool := commercetest.NewDB(t)
	if err := NewPostgres(pool).Upsert(t.Context(), fixtureDocs()); err != nil {
		t.Fatal(err)
	}
	var vector string
	err := pool.QueryRow(t.Context(), `SELECT search_vector::text FROM search_documents WHERE product_id = $1`, runningShoeID).Scan(&vector)
	if err != nil {
		t.Fatal(err)
	}
	// French and English stems of the title (A), brand (B), description (C).
	for _, lexeme := range []string{"'elan':4A", "'chaussur':1A", "'cours':3A", "'leger':", "'leg':", "'amort':"} {
		if !strings.Contains(vector, lexeme) {
			t.Errorf("search_vector lacks %s: %s", lexeme, vector)
		}
	}
	if strings.ContainsAny(vector, "éÉè") {
		t.Errorf("search_vector keeps accents: %s", vector)
	}
	rows, err := pool.Query(t.Context(), `SELECT word FROM search_words WHERE word IN ('elan', 'leger', 'chaussure', 'chaussures', 'vetements', 'de', 'élan')`)
	if err != nil {
		t.Fatal(err)
	}
	words, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	// Titles, brands and categories, unaccented, three letters or more.
	if want := []string{"chaussure", "chaussures", "elan", "leger", "vetements"}; !reflect.DeepEqual(sorted(words), want) {
		t.Errorf("lexicon has %v of the words, want %v", words, want)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// BenchmarkPostgresSearch measures the search path over the demo catalog
// (about 240 documents): a one-term text search as the storefront sends
// it (first page of 20, with and without facets), a typo, and a filtered
// listing without text.
func BenchmarkPostgresSearch(b *testing.B) {
	pool := commercetest.NewDB(b)
	e := NewPostgres(pool)
	if err := e.Upsert(b.Context(), fixtureDocs()); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(b.Context(), "VACUUM ANALYZE search_documents"); err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		name string
		q    Query
	}{
		{"term", Query{Text: "chaussure", ChannelID: chWebEU, Currency: "EUR", Limit: 20}},
		{"term+facets", Query{Text: "chaussure", ChannelID: chWebEU, Currency: "EUR", Limit: 20,
			Facets: []Facet{FacetCategory, FacetBrand, FacetPrice, FacetStore, OptionFacet("Taille"), OptionFacet("Couleur")}}},
		{"typo", Query{Text: "chausures", ChannelID: chWebEU, Currency: "EUR", Limit: 20}},
		{"filters+facets", Query{ChannelID: chWebEU, Currency: "EUR", Limit: 20, Sort: SortPriceAsc,
			Filter: Filter{CategoryIDs: []commerce.ID{catFootwear.ID}, Options: map[string][]string{"Taille": {"42"}}, InStoreID: &storeParis},
			Facets: []Facet{FacetCategory, FacetBrand, FacetPrice, FacetStore, OptionFacet("Taille")}}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := e.Search(b.Context(), c.q); err != nil {
					b.Fatal(err)
				}
			}
		})
		// Both cores busy, as under load: ns/op is then the inverse of
		// the throughput the engine alone can reach.
		b.Run(c.name+"/parallel", func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := e.Search(b.Context(), c.q); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// Planning the search statement costs more than running it, so Postgres
// must settle on one generic plan per statement shape instead of planning
// each search anew (see pgQuery.param).
func TestPostgresSearchUsesGenericPlans(t *testing.T) {
	cfg := commercetest.NewDB(t).Config().Copy()
	cfg.MaxConns = 1 // every search on one connection, whose statements we can see
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	e := NewPostgres(pool)
	if err := e.Upsert(t.Context(), fixtureDocs()); err != nil {
		t.Fatal(err)
	}
	queries := map[string]Query{
		"no text": {ChannelID: chWebEU, Limit: 20},
		"term":    {Text: "chaussure", ChannelID: chWebEU, Currency: "EUR", Limit: 20},
		"filters and facets": {Text: "chausures noires", ChannelID: chKioskParis, Currency: "EUR", Limit: 20, Sort: SortPriceAsc,
			Filter: Filter{Brands: []string{"Nordet"}, Options: map[string][]string{"Taille": {"42"}}, PriceMax: ptr[int64](20000), InStoreID: &storeParis},
			Facets: []Facet{FacetBrand, FacetPrice, OptionFacet("Taille"), FacetStore, FacetCategory}},
	}
	for name, q := range queries {
		const runs = 12
		for i := range runs {
			// Vary the values as real traffic does; the shape stays.
			q.ChannelID = []commerce.ID{chWebEU, chWebCA, chKioskParis}[i%3]
			if _, err := e.Search(t.Context(), q); err != nil {
				t.Fatal(err)
			}
		}
		sql, _ := buildPostgresSearch(&q)
		var generic, custom int
		err := pool.QueryRow(t.Context(), `SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1`, sql).Scan(&generic, &custom)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Logf("%s: %d generic plans, %d custom", name, generic, custom)
		if custom > 5 || generic < runs-5 {
			t.Errorf("%s: %d custom plans and %d generic ones in %d searches; want Postgres to settle on a generic plan after 5", name, custom, generic, runs)
		}
	}
}

// Concurrent upserts of many versions of the same products leave the newest
// version of each, whatever order they commit in, and never deadlock on the
// documents or the lexicon words they share.
func TestPostgresConcurrentUpsertsKeepTheNewest(t *testing.T) {
	pool := commercetest.NewDB(t)
	e := NewPostgres(pool)
	docs := fixtureDocs()[:40]
	const versions = 12
	var wg sync.WaitGroup
	errs := make(chan error, versions)
	for v := range versions {
		wg.Go(func() {
			batch := slices.Clone(docs)
			for i := range batch {
				batch[i].Version = int64(v + 1)
				batch[i].Title = fmt.Sprintf("%s v%d", batch[i].Title, v+1)
			}
			errs <- e.Upsert(t.Context(), batch)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var stale int
	err := pool.QueryRow(t.Context(), `SELECT count(*) FROM search_documents
		WHERE version <> $1 OR title NOT LIKE '% v' || $1::text`, versions).Scan(&stale)
	if err != nil {
		t.Fatal(err)
	}
	if stale != 0 {
		t.Errorf("%d documents are not at their newest version", stale)
	}
}
