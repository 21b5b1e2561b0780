package search

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/omnicanal/omnicanal/commerce"
)

// newEngineFunc returns a fresh, empty engine of the kind under test.
type newEngineFunc func(t *testing.T) Engine

// testEngine is the behaviour every Engine must have. It runs on Postgres
// always, and on Meilisearch when MEILI_URL is set.
func testEngine(t *testing.T, newEngine newEngineFunc) {
	docs := fixtureDocs()
	// The read-only cases share one engine filled with the fixtures.
	shared := newEngine(t)
	if err := shared.Upsert(t.Context(), docs); err != nil {
		t.Fatalf("Upsert fixtures: %v", err)
	}

	t.Run("Validation", func(t *testing.T) { testValidation(t, shared) })
	t.Run("PublicationIsEnforced", func(t *testing.T) { testPublication(t, shared, docs) })
	t.Run("TyposAndAccents", func(t *testing.T) { testTyposAndAccents(t, shared, docs) })
	t.Run("Synonyms", func(t *testing.T) { testSynonyms(t, shared, docs) })
	t.Run("Filters", func(t *testing.T) { testFilters(t, shared, docs) })
	t.Run("FacetCounts", func(t *testing.T) { testFacetCounts(t, shared, docs) })
	t.Run("Sorts", func(t *testing.T) { testSorts(t, shared, docs) })
	t.Run("Pagination", func(t *testing.T) { testPagination(t, shared, docs) })
	t.Run("DeleteRemoves", func(t *testing.T) { testDelete(t, newEngine(t), docs) })
	t.Run("OlderVersionNeverWins", func(t *testing.T) { testVersions(t, newEngine(t), docs) })
	t.Run("ResetEmpties", func(t *testing.T) { testReset(t, newEngine(t), docs) })
}

func search(t *testing.T, e Engine, q Query) Result {
	t.Helper()
	if q.Limit == 0 {
		q.Limit = MaxLimit
	}
	res, err := e.Search(t.Context(), q)
	if err != nil {
		t.Fatalf("Search(%+v): %v", q, err)
	}
	return res
}

func hitIDs(r Result) []commerce.ID {
	ids := make([]commerce.ID, len(r.Hits))
	for i, h := range r.Hits {
		ids[i] = h.ProductID
	}
	return ids
}

func ptr[T any](v T) *T { return &v }

func testValidation(t *testing.T, e Engine) {
	valid := Query{ChannelID: chWebEU, Limit: 10}
	cases := map[string]struct {
		q     func(q *Query)
		field string
	}{
		"no channel":                   {func(q *Query) { q.ChannelID = commerce.ID{} }, "channelId"},
		"limit 0":                      {func(q *Query) { q.Limit = 0 }, "first"},
		"limit 101":                    {func(q *Query) { q.Limit = 101 }, "first"},
		"negative offset":              {func(q *Query) { q.Offset = -1 }, "after"},
		"unknown sort":                 {func(q *Query) { q.Sort = "popularity" }, "sort"},
		"unknown facet":                {func(q *Query) { q.Facets = []Facet{"colour"} }, "facets"},
		"empty option facet":           {func(q *Query) { q.Facets = []Facet{OptionFacet("")} }, "facets"},
		"twice a facet":                {func(q *Query) { q.Facets = []Facet{FacetBrand, FacetBrand} }, "facets"},
		"price sort without currency":  {func(q *Query) { q.Sort = SortPriceAsc }, "currencyCode"},
		"price facet without currency": {func(q *Query) { q.Facets = []Facet{FacetPrice} }, "currencyCode"},
		"unknown currency":             {func(q *Query) { q.Currency = "XYZ" }, "currencyCode"},
		"min above max": {func(q *Query) {
			q.Currency, q.Filter.PriceMin, q.Filter.PriceMax = "EUR", ptr[int64](500), ptr[int64](100)
		}, "filters.price"},
		"text too long": {func(q *Query) { q.Text = string(make([]rune, MaxTextRunes+1)) }, "query"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			q := valid
			c.q(&q)
			_, err := e.Search(t.Context(), q)
			var ce *commerce.Error
			if !errors.As(err, &ce) || ce.Code != commerce.ErrInvalidInput || ce.Field != c.field {
				t.Fatalf("got %v, want INVALID_INPUT on %s", err, c.field)
			}
		})
	}
	if _, err := e.Search(t.Context(), valid); err != nil {
		t.Fatalf("a valid query failed: %v", err)
	}
}

func testPublication(t *testing.T, e Engine, docs []Document) {
	allFacets := []Facet{FacetCategory, FacetBrand, FacetPrice, FacetStore, OptionFacet("Taille")}
	for _, ch := range []commerce.ID{chWebEU, chWebCA, chKioskParis, chNowhere} {
		published := map[commerce.ID]bool{}
		for _, d := range docs {
			if slices.Contains(d.ChannelIDs, ch) {
				published[d.ProductID] = true
			}
		}
		for _, text := range []string{"", "chaussure", "élan prototype", "basket rivage"} {
			q := Query{Text: text, ChannelID: ch, Currency: "EUR", Facets: allFacets}
			res := search(t, e, q)
			for _, h := range res.Hits {
				if !published[h.ProductID] {
					t.Errorf("channel %s, %q: hit %s is not published on the channel", ch, text, h.ProductID)
				}
			}
			if text == "" {
				if res.Total != len(published) {
					t.Errorf("channel %s: total %d, want the %d products published on it", ch, res.Total, len(published))
				}
				_, want := refSearch(docs, q)
				if !reflect.DeepEqual(res.Facets, want) {
					t.Errorf("channel %s: facets\n got %v\nwant %v", ch, res.Facets, want)
				}
			}
		}
	}
	// The prototype is found on its one channel, and nowhere else.
	if ids := hitIDs(search(t, e, Query{Text: "prototype", ChannelID: chWebCA})); !slices.Contains(ids, prototypeID) {
		t.Errorf("the prototype is not found on the channel it is published on: %v", ids)
	}
	res := search(t, e, Query{Text: "prototype", ChannelID: chWebEU, Facets: []Facet{FacetBrand}})
	if slices.Contains(hitIDs(res), prototypeID) {
		t.Error("the prototype is found on a channel it is not published on")
	}
}

func testTyposAndAccents(t *testing.T, e Engine, docs []Document) {
	for _, text := range []string{"chaussure", "chaussures", "CHAUSSURE", "Chaussure", "chausures", "chaussur", "chausure", "élan", "elan", "ELAN", "Elan", "chaussure de course élan", "chaussure de course elan"} {
		res := search(t, e, Query{Text: text, ChannelID: chWebEU})
		if !slices.Contains(hitIDs(res), runningShoeID) {
			t.Errorf("%q does not find %q (%d hits)", text, demoTitle(docs, runningShoeID), len(res.Hits))
		}
		if res.Total != len(res.Hits) && len(res.Hits) < MaxLimit {
			t.Errorf("%q: total %d for %d hits on one page", text, res.Total, len(res.Hits))
		}
	}
	// The full title ranks the product first.
	for _, text := range []string{"chaussure de course élan", "Chaussure de course Elan", "chausure de course elan", "chaussures course élan"} {
		res := search(t, e, Query{Text: text, ChannelID: chWebEU})
		if len(res.Hits) == 0 || res.Hits[0].ProductID != runningShoeID {
			t.Errorf("%q: first hit is not the running shoe: %v", text, titles(docs, hitIDs(res)))
		}
	}
	// Every "Chaussure …" published on the channel is found by the plural.
	want := docsWhere(docs, chWebEU, "chaussure")
	got := hitIDs(search(t, e, Query{Text: "chaussures", ChannelID: chWebEU}))
	for _, id := range want {
		if !slices.Contains(got, id) {
			t.Errorf("\"chaussures\" misses %q", demoTitle(docs, id))
		}
	}
	// Unrelated words find nothing related.
	if res := search(t, e, Query{Text: "zzqxw", ChannelID: chWebEU}); res.Total != 0 {
		t.Errorf("nonsense found %d products: %v", res.Total, titles(docs, hitIDs(res)))
	}
}

func testSynonyms(t *testing.T, e Engine, docs []Document) {
	for text, titleWord := range map[string]string{
		"sneaker": "basket", "sneakers": "basket", "soulier": "chaussure", "chandail": "pull", "jacket": "veste", "boots": "botte",
	} {
		want := docsWhere(docs, chWebEU, titleWord)
		res := search(t, e, Query{Text: text, ChannelID: chWebEU})
		got := hitIDs(res)
		for _, id := range firstN(want, MaxLimit) {
			if !slices.Contains(got, id) {
				t.Errorf("%q misses %q", text, demoTitle(docs, id))
			}
		}
	}
}

func testFilters(t *testing.T, e Engine, docs []Document) {
	cases := map[string]Query{
		"category root":    {Filter: Filter{CategoryIDs: []commerce.ID{catFootwear.ID}}},
		"two categories":   {Filter: Filter{CategoryIDs: []commerce.ID{categoryID("Bottes"), categoryID("Pulls")}}},
		"collection":       {Filter: Filter{CollectionIDs: []commerce.ID{collSale}}},
		"brand":            {Filter: Filter{Brands: []string{"Nordet"}}},
		"brands":           {Filter: Filter{Brands: []string{"Nordet", "Atelier Garance"}}},
		"option":           {Filter: Filter{Options: map[string][]string{"Taille": {"46"}}}},
		"options AND":      {Filter: Filter{Options: map[string][]string{"Taille": {"46", "XXL"}, "Couleur": {"Noir"}}}},
		"price range EUR":  {Currency: "EUR", Filter: Filter{PriceMin: ptr[int64](5000), PriceMax: ptr[int64](9999)}},
		"price min CAD":    {Currency: "CAD", Filter: Filter{PriceMin: ptr[int64](20000)}},
		"price max CAD":    {Currency: "CAD", Filter: Filter{PriceMax: ptr[int64](4000)}},
		"in store":         {Filter: Filter{InStoreID: &storeParis}},
		"in store, kiosk":  {ChannelID: chKioskParis, Filter: Filter{InStoreID: &storeLyon}},
		"everything":       {Currency: "EUR", Filter: Filter{CategoryIDs: []commerce.ID{catFootwear.ID}, Brands: []string{"Pas Léger", "Nordet"}, Options: map[string][]string{"Taille": {"42"}}, PriceMax: ptr[int64](15000), InStoreID: &storeLyon}},
		"nothing matches":  {Filter: Filter{Brands: []string{"Inconnue"}}},
		"unknown option":   {Filter: Filter{Options: map[string][]string{"Matière": {"Laine"}}}},
		"empty option set": {Filter: Filter{Options: map[string][]string{"Taille": {}}}},
	}
	for name, q := range cases {
		t.Run(name, func(t *testing.T) {
			if q.ChannelID == (commerce.ID{}) {
				q.ChannelID = chWebCA
			}
			want, _ := refSearch(docs, q)
			res := search(t, e, q)
			if res.Total != len(want) {
				t.Errorf("total %d, want %d", res.Total, len(want))
			}
			// Without text the order is newest first, which the reference knows.
			if got := hitIDs(res); !slices.Equal(got, firstN(want, MaxLimit)) {
				t.Errorf("hits\n got %v\nwant %v", titles(docs, got), titles(docs, want))
			}
		})
	}
	// A filter also applies to a text search.
	q := Query{Text: "chaussure", ChannelID: chWebEU, Filter: Filter{Brands: []string{"Nordet"}}}
	for _, id := range hitIDs(search(t, e, q)) {
		if d := docByID(docs, id); d.Brand != "Nordet" {
			t.Errorf("brand filter let %q (%s) through", d.Title, d.Brand)
		}
	}
}

func testFacetCounts(t *testing.T, e Engine, docs []Document) {
	all := []Facet{FacetCategory, FacetBrand, FacetPrice, FacetStore, OptionFacet("Taille"), OptionFacet("Couleur"), OptionFacet("Matière")}
	cases := map[string]Query{
		"no filter":       {},
		"kiosk channel":   {ChannelID: chKioskParis},
		"one brand":       {Filter: Filter{Brands: []string{"Nordet"}}},
		"size and colour": {Filter: Filter{Options: map[string][]string{"Taille": {"42", "M"}, "Couleur": {"Noir"}}}},
		"every facet filtered": {Filter: Filter{
			CategoryIDs: []commerce.ID{catFootwear.ID}, CollectionIDs: []commerce.ID{collSale, collNew},
			Brands: []string{"Pas Léger", "Nordet", "Maison Sentier"}, Options: map[string][]string{"Taille": {"42"}},
			PriceMin: ptr[int64](1000), PriceMax: ptr[int64](20000), InStoreID: &storeParis,
		}},
		"CAD, some without price": {Currency: "CAD", ChannelID: chWebCA, Filter: Filter{PriceMax: ptr[int64](10000)}},
	}
	for name, q := range cases {
		t.Run(name, func(t *testing.T) {
			if q.ChannelID == (commerce.ID{}) {
				q.ChannelID = chWebEU
			}
			if q.Currency == "" {
				q.Currency = "EUR"
			}
			q.Facets = all
			ids, want := refSearch(docs, q)
			res := search(t, e, q)
			if res.Total != len(ids) {
				t.Errorf("total %d, want %d", res.Total, len(ids))
			}
			for _, f := range all {
				if !reflect.DeepEqual(res.Facets[f], want[f]) {
					t.Errorf("facet %s\n got %v\nwant %v", f, res.Facets[f], want[f])
				}
			}
			if len(res.Facets) != len(all) {
				t.Errorf("%d facets returned, want %d", len(res.Facets), len(all))
			}
		})
	}
	// Facets of a text search count exactly its hits (no facet filter).
	q := Query{Text: "chaussure", ChannelID: chWebEU, Currency: "EUR", Facets: []Facet{FacetBrand, FacetPrice}}
	res := search(t, e, q)
	for _, f := range q.Facets {
		n := 0
		for _, v := range res.Facets[f] {
			n += v.Count
		}
		if n != res.Total {
			t.Errorf("facet %s counts %d products, the search found %d", f, n, res.Total)
		}
	}
}

func testSorts(t *testing.T, e Engine, docs []Document) {
	for _, s := range []Sort{SortRelevance, SortNewest, SortPriceAsc, SortPriceDesc} {
		for _, cur := range []commerce.Currency{"EUR", "CAD"} {
			t.Run(fmt.Sprintf("%s/%s", cmpOr(string(s), "relevance"), cur), func(t *testing.T) {
				q := Query{ChannelID: chWebCA, Currency: cur, Sort: s, Filter: Filter{CategoryIDs: []commerce.ID{catFootwear.ID}}}
				want, _ := refSearch(docs, q)
				if got := hitIDs(search(t, e, q)); !slices.Equal(got, firstN(want, MaxLimit)) {
					t.Errorf("order\n got %v\nwant %v", titles(docs, got), titles(docs, want))
				}
			})
		}
	}
	// Price sorts apply to text searches too.
	res := search(t, e, Query{Text: "basket", ChannelID: chWebEU, Currency: "EUR", Sort: SortPriceDesc})
	if len(res.Hits) < 2 {
		t.Fatalf("\"basket\" found %d products", len(res.Hits))
	}
	for i := 1; i < len(res.Hits); i++ {
		a, _ := refPrice(docByID(docs, res.Hits[i-1].ProductID), "EUR")
		b, _ := refPrice(docByID(docs, res.Hits[i].ProductID), "EUR")
		if a < b {
			t.Fatalf("price_desc: %d before %d", a, b)
		}
	}
}

func testPagination(t *testing.T, e Engine, docs []Document) {
	for _, s := range []Sort{SortNewest, SortPriceAsc} {
		q := Query{ChannelID: chWebEU, Currency: "EUR", Sort: s, Facets: []Facet{FacetBrand}}
		want, _ := refSearch(docs, q)
		for _, size := range []int{7, 25, 100} {
			var got []commerce.ID
			for off := 0; off < len(want)+size; off += size {
				q.Limit, q.Offset = size, off
				res := search(t, e, q)
				if res.Total != len(want) {
					t.Fatalf("%s, page size %d, offset %d: total %d, want %d", s, size, off, res.Total, len(want))
				}
				if n := min(size, max(0, len(want)-off)); len(res.Hits) != n {
					t.Fatalf("%s, page size %d, offset %d: %d hits, want %d", s, size, off, len(res.Hits), n)
				}
				got = append(got, hitIDs(res)...)
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s, page size %d: the pages do not add up to the whole list", s, size)
			}
		}
		// An odd offset (not a multiple of the page size) works too.
		q.Limit, q.Offset = 10, 13
		if got := hitIDs(search(t, e, q)); !slices.Equal(got, want[13:23]) {
			t.Errorf("%s, offset 13: got %v, want %v", s, titles(docs, got), titles(docs, want[13:23]))
		}
	}
}

func testDelete(t *testing.T, e Engine, docs []Document) {
	ctx := t.Context()
	if err := e.Upsert(ctx, docs); err != nil {
		t.Fatal(err)
	}
	q := Query{Text: "élan", ChannelID: chWebEU, Facets: []Facet{FacetBrand}}
	before := search(t, e, q)
	if !slices.Contains(hitIDs(before), runningShoeID) {
		t.Fatal("the running shoe is not found before it is deleted")
	}
	if err := e.Delete(ctx, []commerce.ID{runningShoeID, commerce.NewID()}); err != nil {
		t.Fatal(err)
	}
	after := search(t, e, q)
	if slices.Contains(hitIDs(after), runningShoeID) {
		t.Error("a deleted product is still found")
	}
	if after.Total != before.Total-1 {
		t.Errorf("total %d after the delete, want %d", after.Total, before.Total-1)
	}
	if count(after.Facets[FacetBrand], "Pas Léger") != count(before.Facets[FacetBrand], "Pas Léger")-1 {
		t.Errorf("brand facet not updated: %v then %v", before.Facets[FacetBrand], after.Facets[FacetBrand])
	}
	// A late replay of the version that was deleted does not bring it back…
	shoe := *docByID(docs, runningShoeID)
	if err := e.Upsert(ctx, []Document{shoe}); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(hitIDs(search(t, e, q)), runningShoeID) {
		t.Error("an upsert of the deleted version brought the product back")
	}
	// …a newer version (republished) does.
	shoe.Version++
	if err := e.Upsert(ctx, []Document{shoe}); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(hitIDs(search(t, e, q)), runningShoeID) {
		t.Error("a newer version did not bring the deleted product back")
	}
	if err := e.Delete(ctx, nil); err != nil {
		t.Errorf("Delete of nothing: %v", err)
	}
}

func testVersions(t *testing.T, e Engine, docs []Document) {
	ctx := t.Context()
	shoe := *docByID(docs, runningShoeID)
	v5, v4, v6 := shoe, shoe, shoe
	v5.Version, v5.Title, v5.Brand = 5, "Chaussure de course Élan Édition Cinq", "Marque Cinq"
	v4.Version, v4.Title, v4.Brand = 4, "Chaussure de course Élan Édition Quatre", "Marque Quatre"
	v6.Version, v6.Title, v6.Brand = 6, "Chaussure de course Élan Édition Six", "Marque Six"

	brandOf := func() string {
		t.Helper()
		res := search(t, e, Query{ChannelID: chWebEU, Facets: []Facet{FacetBrand}})
		if res.Total != 1 {
			t.Fatalf("total %d, want 1", res.Total)
		}
		return res.Facets[FacetBrand][0].Value
	}
	if err := e.Upsert(ctx, []Document{v5}); err != nil {
		t.Fatal(err)
	}
	if err := e.Upsert(ctx, []Document{v4}); err != nil {
		t.Fatal(err)
	}
	if b := brandOf(); b != "Marque Cinq" {
		t.Errorf("after v5 then v4: %q, want v5's", b)
	}
	if res := search(t, e, Query{Text: "quatre", ChannelID: chWebEU}); res.Total != 0 {
		t.Error("the older version's title is searchable")
	}
	// The same version again is a no-op; a batch holding several versions
	// of a product keeps the newest.
	if err := e.Upsert(ctx, []Document{v5, v4, v6, v5}); err != nil {
		t.Fatal(err)
	}
	if b := brandOf(); b != "Marque Six" {
		t.Errorf("after a batch with v6: %q, want v6's", b)
	}
	if err := e.Upsert(ctx, []Document{v5}); err != nil {
		t.Fatal(err)
	}
	if b := brandOf(); b != "Marque Six" {
		t.Errorf("after v6 then v5: %q, want v6's", b)
	}
	if !slices.Contains(hitIDs(search(t, e, Query{Text: "six", ChannelID: chWebEU})), runningShoeID) {
		t.Error("the newest title is not searchable")
	}
}

func testReset(t *testing.T, e Engine, docs []Document) {
	ctx := t.Context()
	if err := e.Upsert(ctx, docs); err != nil {
		t.Fatal(err)
	}
	if err := e.Delete(ctx, []commerce.ID{runningShoeID}); err != nil {
		t.Fatal(err)
	}
	if res := search(t, e, Query{ChannelID: chWebEU}); res.Total == 0 {
		t.Fatal("nothing indexed")
	}
	if err := e.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if res := search(t, e, Query{ChannelID: chWebEU, Facets: []Facet{FacetBrand}}); res.Total != 0 || len(res.Hits) != 0 || len(res.Facets[FacetBrand]) != 0 {
		t.Errorf("after Reset: %+v", res)
	}
	// Reset forgets tombstones too: a rebuild may push any version.
	shoe := *docByID(docs, runningShoeID)
	if err := e.Upsert(ctx, []Document{shoe}); err != nil {
		t.Fatal(err)
	}
	if res := search(t, e, Query{ChannelID: chWebEU}); res.Total != 1 {
		t.Errorf("after Reset and one upsert: total %d", res.Total)
	}
}

func docByID(docs []Document, id commerce.ID) *Document {
	for i := range docs {
		if docs[i].ProductID == id {
			return &docs[i]
		}
	}
	panic("no fixture " + id.String())
}

func demoTitle(docs []Document, id commerce.ID) string { return docByID(docs, id).Title }

func titles(docs []Document, ids []commerce.ID) []string {
	ts := make([]string, len(ids))
	for i, id := range ids {
		ts[i] = demoTitle(docs, id)
	}
	return ts
}

func firstN[T any](s []T, n int) []T { return s[:min(n, len(s))] }

func count(vs []FacetValue, value string) int {
	for _, v := range vs {
		if v.Value == value {
			return v.Count
		}
	}
	return 0
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
