// Package search finds products for shoppers: full-text with typo tolerance,
// filters, facet counts, sorting and pagination, behind one Engine interface
// with two implementations. Meilisearch (NewMeili) is the production engine
// when MEILI_URL is set; Postgres (NewPostgres) is the embedded default, so a
// fresh checkout searches without any extra server.
//
// The index holds one Document per product: a projection of the catalog that
// the indexer builds and pushes (the engines never read catalog tables).
// Every query names a channel, and only documents published on that channel
// are ever returned or counted, whatever else the query says.
package search

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/omnicanal/omnicanal/commerce"
)

// Document is what the index holds for one product: a projection built from
// the catalog by the indexer.
type Document struct {
	ProductID   commerce.ID
	Handle      string
	Title       string
	Description string
	Brand       string
	ProductType string
	// Categories are the product's categories and all their ancestors, so
	// that filtering on "Chaussures" finds a product filed under "Trail".
	Categories    []Category
	CollectionIDs []commerce.ID
	// Options maps an option name to its distinct values over the variants,
	// e.g. "Taille": {"40", "41"}, "Couleur": {"Noir"}. Names must not
	// contain "=" (engines store "name=value" pairs).
	Options map[string][]string
	// Prices gives the lowest and highest variant price per currency.
	Prices map[commerce.Currency]PriceRange
	// StoreIDs are the stores holding stock of at least one variant.
	StoreIDs []commerce.ID
	// ChannelIDs are the channels the product is published on. A document
	// with none is in the index but can never be found.
	ChannelIDs []commerce.ID
	CreatedAt  time.Time
	// Version increases with every change of the product. An engine never
	// replaces what it holds with an older or equal version.
	Version int64
}

// Category is a category of a product, with its name for facet labels.
type Category struct {
	ID   commerce.ID
	Name string
}

// PriceRange is the lowest and highest variant price of a product in one
// currency, in minor units.
type PriceRange struct {
	Min, Max int64
}

// Engine is a product search index.
type Engine interface {
	// Upsert adds or replaces documents. It is idempotent, and a document
	// whose Version is not newer than the one held (or the one a Delete
	// left behind) is ignored.
	Upsert(ctx context.Context, docs []Document) error
	// Delete hides products from every search: they were unpublished
	// everywhere, archived or deleted. The engine remembers the version it
	// last held, so a late Upsert of that version or an older one cannot
	// bring them back; a newer version does.
	Delete(ctx context.Context, productIDs []commerce.ID) error
	// Search runs a query. Only documents published on q.ChannelID are
	// returned or counted.
	Search(ctx context.Context, q Query) (Result, error)
	// Reset empties the index and (re)applies its settings, before a
	// rebuild from scratch.
	Reset(ctx context.Context) error
}

// Limits of a query.
const (
	MaxLimit     = 100
	MaxOffset    = 10_000 // deep pages cost both engines; Meilisearch caps total hits
	MaxTextRunes = 200
)

// Query is one search.
type Query struct {
	// Text is what the shopper typed; empty lists everything that matches
	// the filters.
	Text string
	// ChannelID is required: only documents published on it are returned.
	ChannelID commerce.ID
	// Currency is the currency of the price filter, facet and sort. Required
	// when any of them is used.
	Currency commerce.Currency
	Filter   Filter
	// Facets lists the facet distributions to compute.
	Facets []Facet
	Sort   Sort
	// Limit is the page size (1..MaxLimit); Offset the number of hits skipped.
	Limit, Offset int
}

// Filter narrows a search. Values within one field are alternatives (OR);
// different fields must all hold (AND). Empty fields do not filter.
type Filter struct {
	// CategoryIDs matches products in any of these categories or below them.
	CategoryIDs   []commerce.ID
	CollectionIDs []commerce.ID
	Brands        []string
	// Options maps an option name to accepted values, e.g.
	// "Taille": {"40", "41"}: a size 40 or 41 exists (among all variants).
	Options map[string][]string
	// PriceMin and PriceMax bound the product's price (its lowest variant
	// price in Query.Currency), inclusive, in minor units.
	PriceMin, PriceMax *int64
	// InStoreID keeps products that this store holds stock of.
	InStoreID *commerce.ID
}

// Facet names a facet distribution: FacetCategory, FacetBrand, FacetPrice,
// FacetStore, or OptionFacet(name).
type Facet string

const (
	// FacetCategory counts products per category (ancestors included).
	// Values are category ids, labels their names.
	FacetCategory Facet = "category"
	// FacetBrand counts products per brand; value and label are the brand.
	FacetBrand Facet = "brand"
	// FacetPrice counts products per price bucket of Query.Currency (see
	// PriceBuckets); products without a price in it are not counted.
	FacetPrice Facet = "price"
	// FacetStore counts products per store holding stock; values are store
	// ids, labels are empty (the caller knows the stores' names).
	FacetStore Facet = "store"

	optionFacetPrefix = "option:"
)

// OptionFacet is the facet of one option, e.g. OptionFacet("Taille").
func OptionFacet(name string) Facet { return Facet(optionFacetPrefix + name) }

// Option returns the option name of an option facet.
func (f Facet) Option() (name string, ok bool) {
	return strings.CutPrefix(string(f), optionFacetPrefix)
}

func (f Facet) validate() error {
	switch f {
	case FacetCategory, FacetBrand, FacetPrice, FacetStore:
		return nil
	}
	if name, ok := f.Option(); ok && name != "" && !strings.Contains(name, "=") {
		return nil
	}
	return commerce.InvalidInput("facets", "unknown facet %q (want category, brand, price, store or option:<name>)", string(f))
}

// FacetValue is one value of a facet distribution and how many products
// have it.
type FacetValue struct {
	Value string
	Label string
	Count int
}

// Sort orders the hits.
type Sort string

const (
	// SortRelevance (the zero value) puts the best text matches first, and
	// the newest products first when there is no text.
	SortRelevance Sort = ""
	// SortPriceAsc and SortPriceDesc order by the product's price in
	// Query.Currency (its lowest variant price); products without a price
	// in that currency come last.
	SortPriceAsc  Sort = "price_asc"
	SortPriceDesc Sort = "price_desc"
	// SortNewest orders by creation time, newest first.
	SortNewest Sort = "newest"
)

// Result is a page of hits, the total number of hits and the facets asked for.
//
// Facet counts follow the usual faceted-search rule: a facet's counts apply
// every filter of the query except the facet's own, so a shopper who ticked
// the brand "Nordet" still sees how many products the other brands have
// (and counts for "Taille" ignore the Taille filter but honour Couleur). The
// category facet ignores the category filter, the price facet the price
// range, the store facet the store filter; the collection filter, having no
// facet, always applies. Values are ordered by count (descending) then
// value, except price buckets, which keep their ascending order. Values with
// no product are left out.
type Result struct {
	Hits   []Hit
	Total  int
	Facets map[Facet][]FacetValue
}

// Hit is one product found, with an engine-specific relevance score (higher
// is better; only meaningful within one result).
type Hit struct {
	ProductID commerce.ID
	Score     float64
}

// Validate checks a query and returns a commerce.InvalidInput error naming
// the faulty field.
func (q *Query) Validate() error {
	if q.ChannelID == (commerce.ID{}) {
		return commerce.InvalidInput("channelId", "a channel is required")
	}
	if n := len([]rune(q.Text)); n > MaxTextRunes {
		return commerce.InvalidInput("query", "the search text is %d characters long; at most %d are allowed", n, MaxTextRunes)
	}
	if q.Limit < 1 || q.Limit > MaxLimit {
		return commerce.InvalidInput("first", "the page size must be between 1 and %d", MaxLimit)
	}
	if q.Offset < 0 || q.Offset > MaxOffset {
		return commerce.InvalidInput("after", "the offset must be between 0 and %d", MaxOffset)
	}
	needCurrency := false
	switch q.Sort {
	case SortRelevance, SortNewest:
	case SortPriceAsc, SortPriceDesc:
		needCurrency = true
	default:
		return commerce.InvalidInput("sort", "unknown sort %q", string(q.Sort))
	}
	seen := make(map[Facet]bool, len(q.Facets))
	for _, f := range q.Facets {
		if err := f.validate(); err != nil {
			return err
		}
		if seen[f] {
			return commerce.InvalidInput("facets", "facet %q is asked for twice", string(f))
		}
		seen[f] = true
		needCurrency = needCurrency || f == FacetPrice
	}
	f := &q.Filter
	for _, p := range []*int64{f.PriceMin, f.PriceMax} {
		if p != nil && *p < 0 {
			return commerce.InvalidInput("filters.price", "a price bound cannot be negative")
		}
	}
	if f.PriceMin != nil && f.PriceMax != nil && *f.PriceMin > *f.PriceMax {
		return commerce.InvalidInput("filters.price", "the minimum price is above the maximum")
	}
	needCurrency = needCurrency || f.PriceMin != nil || f.PriceMax != nil
	for name := range f.Options {
		if name == "" || strings.Contains(name, "=") {
			return commerce.InvalidInput("filters.options", "invalid option name %q", name)
		}
	}
	if needCurrency || q.Currency != "" {
		if c, err := commerce.ParseCurrency(string(q.Currency)); err != nil || c != q.Currency {
			return commerce.InvalidInput("currencyCode", "a price filter, facet or sort needs a supported currency, not %q", string(q.Currency))
		}
	}
	return nil
}

// PriceBucket is one range of the price facet: [Min, Max] in minor units,
// Max nil for the open last bucket. Value is "min-max" (or "min-" for the
// last one), which a client can turn back into PriceMin and PriceMax.
type PriceBucket struct {
	Min   int64
	Max   *int64
	Value string
	Label string
}

// priceSteps are the bucket boundaries in major units. Most currencies share
// the euro's scale; the ones worth a hundredth of a euro or less get theirs.
var priceSteps = map[commerce.Currency][]int64{
	"JPY": {2500, 5000, 10000, 20000},
	"KRW": {25000, 50000, 100000, 200000},
}

var defaultPriceSteps = []int64{25, 50, 100, 200}

// PriceBuckets returns the fixed buckets of the price facet in currency c,
// in ascending order: below 25, 25–50, 50–100, 100–200, 200 and more (in
// euros, dollars, francs…; the yen and the won have larger steps).
func PriceBuckets(c commerce.Currency) []PriceBucket {
	steps := priceSteps[c]
	if steps == nil {
		steps = defaultPriceSteps
	}
	unit := int64(1)
	for range c.Exponent() {
		unit *= 10
	}
	buckets := make([]PriceBucket, 0, len(steps)+1)
	lo := int64(0)
	for i := 0; i <= len(steps); i++ {
		b := PriceBucket{Min: lo * unit}
		if i < len(steps) {
			hi := steps[i]*unit - 1
			b.Max = &hi
			b.Value = fmt.Sprintf("%d-%d", b.Min, hi)
			if i == 0 {
				b.Label = fmt.Sprintf("< %d %s", steps[i], c)
			} else {
				b.Label = fmt.Sprintf("%d–%d %s", lo, steps[i], c)
			}
			lo = steps[i]
		} else {
			b.Value = fmt.Sprintf("%d-", b.Min)
			b.Label = fmt.Sprintf("≥ %d %s", lo, c)
		}
		buckets = append(buckets, b)
	}
	return buckets
}

// priceBucketOf returns the index in buckets of the bucket holding amount.
func priceBucketOf(buckets []PriceBucket, amount int64) int {
	for i := len(buckets) - 1; i > 0; i-- {
		if amount >= buckets[i].Min {
			return i
		}
	}
	return 0
}

// normalize validates a batch of documents and returns them sorted by
// product id, one per product (the newest when a batch repeats a product),
// with their sets de-duplicated and sorted. Sorting makes concurrent batches
// lock rows in the same order, and both engines store the same thing.
func normalize(docs []Document) ([]Document, error) {
	out := make([]Document, 0, len(docs))
	for _, d := range docs {
		if d.ProductID == (commerce.ID{}) {
			return nil, commerce.InvalidInput("productId", "a search document needs a product id")
		}
		for name := range d.Options {
			if name == "" || strings.Contains(name, "=") {
				return nil, commerce.InvalidInput("options", "product %s: invalid option name %q", d.ProductID, name)
			}
		}
		for c, p := range d.Prices {
			if cc, err := commerce.ParseCurrency(string(c)); err != nil || cc != c {
				return nil, commerce.InvalidInput("prices", "product %s: unsupported currency %q", d.ProductID, string(c))
			}
			if p.Min < 0 || p.Max < p.Min {
				return nil, commerce.InvalidInput("prices", "product %s: invalid %s price range %d..%d", d.ProductID, c, p.Min, p.Max)
			}
		}
		d.Categories = uniqueCategories(d.Categories)
		d.CollectionIDs = uniqueIDs(d.CollectionIDs)
		d.StoreIDs = uniqueIDs(d.StoreIDs)
		d.ChannelIDs = uniqueIDs(d.ChannelIDs)
		out = append(out, d)
	}
	slices.SortStableFunc(out, func(a, b Document) int {
		return cmp.Or(compareIDs(a.ProductID, b.ProductID), cmp.Compare(b.Version, a.Version))
	})
	return slices.CompactFunc(out, func(a, b Document) bool { return a.ProductID == b.ProductID }), nil
}

// optionPairs flattens options into sorted, distinct "name=value" strings.
func optionPairs(opts map[string][]string) []string {
	pairs := make([]string, 0, len(opts)*4)
	for name, values := range opts {
		for _, v := range values {
			pairs = append(pairs, name+"="+v)
		}
	}
	slices.Sort(pairs)
	return slices.Compact(pairs)
}

func compareIDs(a, b commerce.ID) int { return strings.Compare(string(a[:]), string(b[:])) }

// uniqueIDs returns the distinct ids sorted, never nil: a nil slice would
// be stored as NULL rather than as an empty array.
func uniqueIDs(ids []commerce.ID) []commerce.ID {
	ids = append(make([]commerce.ID, 0, len(ids)), ids...)
	slices.SortFunc(ids, compareIDs)
	return slices.Compact(ids)
}

func uniqueCategories(cs []Category) []Category {
	cs = slices.Clone(cs)
	slices.SortStableFunc(cs, func(a, b Category) int { return compareIDs(a.ID, b.ID) })
	return slices.CompactFunc(cs, func(a, b Category) bool { return a.ID == b.ID })
}

// sortFacetValues puts the values of a non-price facet in result order.
func sortFacetValues(vs []FacetValue) {
	slices.SortFunc(vs, func(a, b FacetValue) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Value, b.Value))
	})
}

// priceFacetValues turns counts per bucket index into facet values.
func priceFacetValues(buckets []PriceBucket, counts []int) []FacetValue {
	vs := []FacetValue{}
	for i, b := range buckets {
		if counts[i] > 0 {
			vs = append(vs, FacetValue{Value: b.Value, Label: b.Label, Count: counts[i]})
		}
	}
	return vs
}

// optionFilterNames returns the option names of a filter that hold values,
// sorted so that generated SQL and filter strings are deterministic.
func optionFilterNames(f Filter) []string {
	var names []string
	for name, vs := range f.Options {
		if len(vs) > 0 {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// itoa64 is strconv.FormatInt for the many int64 formattings below.
func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

// synonymGroups are words a shopper may use for one another: French from
// France and from Québec, and the English a Canadian shopper may type. Both
// engines apply them: Meilisearch through its synonyms setting, Postgres as
// extra alternatives of a query word. Single words only, with the plurals
// spelled out (Meilisearch does not stem).
var synonymGroups = [][]string{
	{"basket", "sneaker"},
	{"baskets", "sneakers"},
	{"chaussure", "soulier", "shoe"},
	{"chaussures", "souliers", "shoes"},
	{"pull", "chandail", "sweater"},
	{"pulls", "chandails", "sweaters"},
	{"sweat", "hoodie"},
	{"sweats", "hoodies"},
	{"veste", "jacket"},
	{"vestes", "jackets"},
	{"botte", "boot"},
	{"bottes", "boots"},
}

// synonyms maps each word of synonymGroups to the other words of its group.
var synonyms = func() map[string][]string {
	m := map[string][]string{}
	for _, g := range synonymGroups {
		for _, w := range g {
			for _, other := range g {
				if other != w {
					m[w] = append(m[w], other)
				}
			}
		}
	}
	return m
}()
