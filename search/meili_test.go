package search

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/omnicanal/omnicanal/commerce"
)

// TestMeili runs the engine behaviour tests against a real Meilisearch,
// each case on an index of its own, when MEILI_URL names one.
func TestMeili(t *testing.T) {
	url := os.Getenv("MEILI_URL")
	if url == "" {
		t.Skip("MEILI_URL is not set: the behaviour tests against a real Meilisearch did not run " +
			"(the TestMeiliSends… tests check the requests without a server)")
	}
	testEngine(t, func(t *testing.T) Engine {
		token := make([]byte, 6)
		rand.Read(token)
		e := NewMeili(url, os.Getenv("MEILI_API_KEY"), "omnicanal_test_"+hex.EncodeToString(token))
		if err := e.Reset(t.Context()); err != nil {
			t.Fatalf("Reset: %v", err)
		}
		t.Cleanup(func() {
			if _, err := e.client.DeleteIndex(e.index); err != nil {
				t.Logf("deleting test index %s: %v", e.index, err)
			}
		})
		return e
	})
}

var (
	fixedA = uuid.MustParse("0195f000-0000-7000-8000-00000000000a")
	fixedB = uuid.MustParse("0195f000-0000-7000-8000-00000000000b")
	fixedC = uuid.MustParse("0195f000-0000-7000-8000-00000000000c")
	catRun = uuid.MustParse("0195f000-0000-7000-8000-0000000000c1")
	coll1  = uuid.MustParse("0195f000-0000-7000-8000-0000000000d1")
	store1 = uuid.MustParse("0195f000-0000-7000-8000-0000000000e1")
	chan1  = uuid.MustParse("0195f000-0000-7000-8000-0000000000f1")
)

// smallDoc is a document whose Meilisearch form the tests spell out.
func smallDoc(id commerce.ID, version int64) Document {
	return Document{
		ProductID: id, Handle: "chaussure-de-course-elan", Title: "Chaussure de course Élan",
		Description: "Légère.", Brand: "Pas Léger", ProductType: "Chaussures de course",
		Categories:    []Category{{catRun, "Chaussures de course"}},
		CollectionIDs: []commerce.ID{coll1},
		Options:       map[string][]string{"Taille": {"42", "41", "42"}, "Couleur": {"Noir"}},
		Prices:        map[commerce.Currency]PriceRange{"EUR": {12999, 14999}, "CAD": {18999, 18999}},
		StoreIDs:      []commerce.ID{store1},
		ChannelIDs:    []commerce.ID{chan1},
		CreatedAt:     time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
		Version:       version,
	}
}

const smallDocJSON = `{
	"id": "0195f000-0000-7000-8000-00000000000b",
	"version": 3,
	"handle": "chaussure-de-course-elan",
	"title": "Chaussure de course Élan",
	"brand": "Pas Léger",
	"categories": ["Chaussures de course"],
	"productType": "Chaussures de course",
	"description": "Légère.",
	"categoryIds": ["0195f000-0000-7000-8000-0000000000c1"],
	"categoryFacet": ["0195f000-0000-7000-8000-0000000000c1 Chaussures de course"],
	"collectionIds": ["0195f000-0000-7000-8000-0000000000d1"],
	"options": ["Couleur=Noir", "Taille=41", "Taille=42"],
	"minPrice": {"CAD": 18999, "EUR": 12999},
	"maxPrice": {"CAD": 18999, "EUR": 14999},
	"priceBucket": {"CAD": "10000-19999", "EUR": "10000-19999"},
	"storeIds": ["0195f000-0000-7000-8000-0000000000e1"],
	"channelIds": ["0195f000-0000-7000-8000-0000000000f1"],
	"createdAt": 1740830400000
}`

func TestMeiliSendsSettingsOnReset(t *testing.T) {
	f := newFakeMeili(t)
	// A first reset finds no index to delete: that is not an error.
	f.failTasks["DELETE /indexes/products"] = "index_not_found"
	if err := f.engine().Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := []string{"DELETE /indexes/products", "POST /indexes", "PATCH /indexes/products/settings"}
	if got := f.calls(); !slices.Equal(got, want) {
		t.Fatalf("requests %v, want %v", got, want)
	}
	if auth := f.request("PATCH /indexes/products/settings").Auth; auth != "Bearer test-key" {
		t.Errorf("Authorization %q", auth)
	}
	assertJSON(t, "index creation", f.request("POST /indexes").Body, `{"uid": "products", "primaryKey": "id"}`)
	assertJSON(t, "settings", f.request("PATCH /indexes/products/settings").Body, `{
		"rankingRules": ["sort", "words", "typo", "proximity", "attribute", "exactness"],
		"searchableAttributes": ["title", "brand", "categories", "productType", "description"],
		"filterableAttributes": ["id", "channelIds", "categoryIds", "categoryFacet", "collectionIds",
			"brand", "options", "storeIds", "minPrice", "priceBucket"],
		"sortableAttributes": ["minPrice", "createdAt"],
		"synonyms": {
			"basket": ["sneaker"], "sneaker": ["basket"],
			"baskets": ["sneakers"], "sneakers": ["baskets"],
			"chaussure": ["soulier", "shoe"], "soulier": ["chaussure", "shoe"], "shoe": ["chaussure", "soulier"],
			"chaussures": ["souliers", "shoes"], "souliers": ["chaussures", "shoes"], "shoes": ["chaussures", "souliers"],
			"pull": ["chandail", "sweater"], "chandail": ["pull", "sweater"], "sweater": ["pull", "chandail"],
			"pulls": ["chandails", "sweaters"], "chandails": ["pulls", "sweaters"], "sweaters": ["pulls", "chandails"],
			"sweat": ["hoodie"], "hoodie": ["sweat"],
			"sweats": ["hoodies"], "hoodies": ["sweats"],
			"veste": ["jacket"], "jacket": ["veste"],
			"vestes": ["jackets"], "jackets": ["vestes"],
			"botte": ["boot"], "boot": ["botte"],
			"bottes": ["boots"], "boots": ["bottes"]
		},
		"typoTolerance": {
			"enabled": true,
			"minWordSizeForTypos": {"oneTypo": 5, "twoTypos": 9},
			"disableOnWords": [],
			"disableOnAttributes": [],
			"disableOnNumbers": false
		},
		"pagination": {"maxTotalHits": 10100},
		"faceting": {"maxValuesPerFacet": 1000, "sortFacetValuesBy": {"*": "count"}}
	}`)

	// Any other failure of the deletion is one.
	f.failTasks["DELETE /indexes/products"] = "index_deletion_failed"
	if err := f.engine().Reset(t.Context()); err == nil || !strings.Contains(err.Error(), "index_deletion_failed") {
		t.Errorf("Reset with a failed deletion: %v", err)
	}
}

func TestMeiliSendsSettingsOnEnsure(t *testing.T) {
	f := newFakeMeili(t)
	f.failTasks["POST /indexes"] = "index_already_exists"
	if err := f.engine().EnsureSettings(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, want := f.calls(), []string{"POST /indexes", "PATCH /indexes/products/settings"}; !slices.Equal(got, want) {
		t.Fatalf("requests %v, want %v", got, want)
	}
}

func TestMeiliSendsOnlyNewerDocuments(t *testing.T) {
	f := newFakeMeili(t)
	// The index holds A at version 5.
	f.fetched = []map[string]any{{"id": fixedA.String(), "version": 5}}
	a := smallDoc(fixedA, 4) // older than what the index holds
	b := smallDoc(fixedB, 3) // new to the index
	older := smallDoc(fixedB, 2)
	if err := f.engine().Upsert(t.Context(), []Document{b, a, older}); err != nil {
		t.Fatal(err)
	}
	if got, want := f.calls(), []string{"POST /indexes/products/documents/fetch", "POST /indexes/products/documents"}; !slices.Equal(got, want) {
		t.Fatalf("requests %v, want %v", got, want)
	}
	assertJSON(t, "version lookup", f.request("POST /indexes/products/documents/fetch").Body, `{
		"filter": "id IN [\"0195f000-0000-7000-8000-00000000000a\", \"0195f000-0000-7000-8000-00000000000b\"]",
		"fields": ["id", "version"],
		"limit": 2
	}`)
	add := f.request("POST /indexes/products/documents")
	if add.RawQuery != "primaryKey=id" {
		t.Errorf("documents query %q", add.RawQuery)
	}
	assertJSON(t, "documents", add.Body, "["+smallDocJSON+"]")

	// Nothing newer: nothing sent.
	f.fetched = []map[string]any{{"id": fixedA.String(), "version": 5}, {"id": fixedB.String(), "version": 3}}
	if err := f.engine().Upsert(t.Context(), []Document{a, b}); err != nil {
		t.Fatal(err)
	}
	if n := len(f.calls()); n != 3 {
		t.Errorf("%d requests, want one more version lookup and no document", n)
	}
}

func TestMeiliReportsFailedTasks(t *testing.T) {
	f := newFakeMeili(t)
	f.failTasks["POST /indexes/products/documents"] = "invalid_document_fields"
	err := f.engine().Upsert(t.Context(), []Document{smallDoc(fixedB, 1)})
	if err == nil || !strings.Contains(err.Error(), "invalid_document_fields") {
		t.Fatalf("Upsert whose task fails: %v", err)
	}
}

func TestMeiliSendsTombstones(t *testing.T) {
	f := newFakeMeili(t)
	f.fetched = []map[string]any{{"id": fixedA.String(), "version": 7}}
	if err := f.engine().Delete(t.Context(), []commerce.ID{fixedC, fixedA, fixedA}); err != nil {
		t.Fatal(err)
	}
	if got, want := f.calls(), []string{"POST /indexes/products/documents/fetch", "PUT /indexes/products/documents"}; !slices.Equal(got, want) {
		t.Fatalf("requests %v, want %v", got, want)
	}
	// Only the product the index holds gets a tombstone; it keeps its
	// version (a partial update) and loses its channels.
	assertJSON(t, "tombstones", f.request("PUT /indexes/products/documents").Body,
		`[{"id": "0195f000-0000-7000-8000-00000000000a", "channelIds": []}]`)
}

func TestMeiliSendsFiltersFacetsAndSorts(t *testing.T) {
	f := newFakeMeili(t)
	q := Query{
		Text: "chausures", ChannelID: chan1, Currency: "EUR",
		Filter: Filter{
			CategoryIDs:   []commerce.ID{catRun},
			CollectionIDs: []commerce.ID{coll1},
			Brands:        []string{"Cime & Vallée", `Le "Grand" \ Nord`},
			Options:       map[string][]string{"Taille": {"42", "M"}, "Couleur": {}},
			PriceMin:      ptr[int64](5000), PriceMax: ptr[int64](19999),
			InStoreID: &store1,
		},
		Facets: []Facet{FacetBrand, FacetCategory, FacetPrice, FacetStore, OptionFacet("Taille"), OptionFacet("Couleur")},
		Sort:   SortPriceAsc, Limit: 20, Offset: 40,
	}
	// The answers: the page with the facets that have no filter of their
	// own (Couleur), then one query per facet whose filter is set.
	f.searched = []map[string]any{
		{"hits": []map[string]any{
			{"id": fixedA.String(), "_rankingScore": 0.9},
			{"id": fixedB.String(), "_rankingScore": 0.5},
		}, "totalHits": 42, "page": 3, "hitsPerPage": 20, "totalPages": 3, "processingTimeMs": 1, "query": "chausures",
			"facetDistribution": map[string]any{"options": map[string]int{"Couleur=Noir": 30, "Couleur=Blanc": 12, "Taille=42": 42}}},
		{"hits": []any{}, "totalHits": 50, "facetDistribution": map[string]any{"brand": map[string]int{"Cime & Vallée": 40, `Le "Grand" \ Nord`: 2, "Nordet": 8}}},
		{"hits": []any{}, "totalHits": 60, "facetDistribution": map[string]any{"categoryFacet": map[string]int{catRun.String() + " Chaussures de course": 42, catFootwear.ID.String() + " Chaussures": 60}}},
		{"hits": []any{}, "totalHits": 70, "facetDistribution": map[string]any{"priceBucket.EUR": map[string]int{"0-2499": 3, "5000-9999": 10, "10000-19999": 32, "20000-": 25}}},
		{"hits": []any{}, "totalHits": 80, "facetDistribution": map[string]any{"storeIds": map[string]int{store1.String(): 42, fixedC.String(): 38}}},
		{"hits": []any{}, "totalHits": 90, "facetDistribution": map[string]any{"options": map[string]int{"Taille=42": 42, "Taille=M": 0, "Taille=41": 48, "Couleur=Noir": 70}}},
	}
	res, err := f.engine().Search(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	all := `channelIds = \"0195f000-0000-7000-8000-0000000000f1\"`
	cat := `categoryIds IN [\"0195f000-0000-7000-8000-0000000000c1\"]`
	coll := `collectionIds IN [\"0195f000-0000-7000-8000-0000000000d1\"]`
	brand := `brand IN [\"Cime & Vallée\", \"Le \\\"Grand\\\" \\\\ Nord\"]`
	size := `options IN [\"Taille=42\", \"Taille=M\"]`
	price := `minPrice.EUR 5000 TO 19999`
	store := `storeIds = \"0195f000-0000-7000-8000-0000000000e1\"`
	and := func(parts ...string) string { return `"` + strings.Join(parts, " AND ") + `"` }
	facetQuery := func(filter, facet string) string {
		return `{"indexUid": "products", "q": "chausures", "filter": ` + filter + `, "facets": ["` + facet + `"],
			"matchingStrategy": "all", "page": 1, "hitsPerPage": 0, "hybrid": null}`
	}
	assertJSON(t, "multi-search", f.request("POST /multi-search").Body, `{"queries": [
		{"indexUid": "products", "q": "chausures",
		 "filter": `+and(all, cat, coll, brand, size, price, store)+`,
		 "attributesToRetrieve": ["id"], "showRankingScore": true, "matchingStrategy": "all",
		 "facets": ["options"],
		 "sort": ["minPrice.EUR:asc", "createdAt:desc"],
		 "page": 3, "hitsPerPage": 20, "hybrid": null},
		`+facetQuery(and(all, cat, coll, size, price, store), "brand")+`,
		`+facetQuery(and(all, coll, brand, size, price, store), "categoryFacet")+`,
		`+facetQuery(and(all, cat, coll, brand, size, store), "priceBucket.EUR")+`,
		`+facetQuery(and(all, cat, coll, brand, size, price), "storeIds")+`,
		`+facetQuery(and(all, cat, coll, brand, price, store), "options")+`
	]}`)

	want := Result{
		Hits:  []Hit{{fixedA, 0.9}, {fixedB, 0.5}},
		Total: 42,
		Facets: map[Facet][]FacetValue{
			FacetBrand:    {{"Cime & Vallée", "Cime & Vallée", 40}, {"Nordet", "Nordet", 8}, {`Le "Grand" \ Nord`, `Le "Grand" \ Nord`, 2}},
			FacetCategory: {{catFootwear.ID.String(), "Chaussures", 60}, {catRun.String(), "Chaussures de course", 42}},
			FacetPrice: {{"0-2499", "< 25 EUR", 3}, {"5000-9999", "50–100 EUR", 10},
				{"10000-19999", "100–200 EUR", 32}, {"20000-", "≥ 200 EUR", 25}},
			FacetStore:             {{store1.String(), "", 42}, {fixedC.String(), "", 38}},
			OptionFacet("Taille"):  {{"41", "41", 48}, {"42", "42", 42}},
			OptionFacet("Couleur"): {{"Noir", "Noir", 30}, {"Blanc", "Blanc", 12}},
		},
	}
	if !reflect.DeepEqual(res, want) {
		t.Errorf("result\n got %+v\nwant %+v", res, want)
	}
}

// Without text the newest come first; an offset that is not a whole page
// is sent as offset and limit, and an extra query counts the hits exactly
// (offset and limit only give an estimate).
func TestMeiliSendsOffsetPagesWithAnExactCount(t *testing.T) {
	f := newFakeMeili(t)
	f.searched = []map[string]any{
		{"hits": []map[string]any{{"id": fixedA.String(), "_rankingScore": 1}}, "estimatedTotalHits": 1000, "offset": 13, "limit": 10},
		{"hits": []any{}, "totalHits": 230},
	}
	res, err := f.engine().Search(t.Context(), Query{ChannelID: chan1, Limit: 10, Offset: 13, Facets: []Facet{FacetBrand}})
	if err != nil {
		t.Fatal(err)
	}
	filter := `"channelIds = \"0195f000-0000-7000-8000-0000000000f1\""`
	assertJSON(t, "multi-search", f.request("POST /multi-search").Body, `{"queries": [
		{"indexUid": "products", "q": "", "filter": `+filter+`,
		 "attributesToRetrieve": ["id"], "showRankingScore": true, "matchingStrategy": "all",
		 "facets": ["brand"], "sort": ["createdAt:desc"], "offset": 13, "limit": 10, "hybrid": null},
		{"indexUid": "products", "q": "", "filter": `+filter+`, "matchingStrategy": "all",
		 "page": 1, "hitsPerPage": 0, "hybrid": null}
	]}`)
	if res.Total != 230 || len(res.Hits) != 1 || res.Hits[0].ProductID != fixedA {
		t.Errorf("result %+v", res)
	}
	if res.Facets[FacetBrand] == nil {
		t.Error("a facet asked for is missing from the result")
	}
}

func TestMeiliQuotesFilterValues(t *testing.T) {
	for in, want := range map[string]string{
		`Nordet`:            `"Nordet"`,
		`Cime & Vallée`:     `"Cime & Vallée"`,
		`Le "Grand" Nord`:   `"Le \"Grand\" Nord"`,
		`back\slash`:        `"back\\slash"`,
		`"] OR brand = "x`:  `"\"] OR brand = \"x"`,
		`trailing \`:        `"trailing \\"`,
		`l'apostrophe`:      `"l'apostrophe"`,
		`Taille=42 AND x=1`: `"Taille=42 AND x=1"`,
	} {
		if got := meiliString(in); got != want {
			t.Errorf("meiliString(%q) = %s, want %s", in, got, want)
		}
	}
}

// Validation happens before any request.
func TestMeiliValidatesBeforeSending(t *testing.T) {
	f := newFakeMeili(t)
	_, err := f.engine().Search(t.Context(), Query{ChannelID: chan1, Limit: 500})
	if commerce.ErrorCode(err) != commerce.ErrInvalidInput {
		t.Fatalf("got %v", err)
	}
	if calls := f.calls(); len(calls) != 0 {
		t.Errorf("an invalid query was sent: %v", calls)
	}
	if err := f.engine().Upsert(t.Context(), []Document{{Title: "no id"}}); commerce.ErrorCode(err) != commerce.ErrInvalidInput {
		t.Errorf("a document without id: %v", err)
	}
	if jsonString(f.calls()) != "null" {
		t.Errorf("an invalid document was sent: %v", f.calls())
	}
}
