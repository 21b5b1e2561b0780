package search

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/meilisearch/meilisearch-go"

	"github.com/omnicanal/omnicanal/commerce"
)

// Meili is the Meilisearch engine, for production: typo tolerance, prefix
// search and ranking are Meilisearch's own; this adapter keeps its
// settings, documents, filters, facets and sorts equivalent to the Postgres
// engine's, so that both return the same Result shape and semantics.
//
// Versions: Meilisearch has no conditional write. Upsert first fetches the
// versions the index holds for the batch's products and sends only newer
// documents, and Delete keeps a tombstone (the document stays, published
// on no channel, with its version). That read-then-write is atomic only if
// no two writes for one product run at once: the indexer must push at most
// one change per product at a time, which it does. Every write waits for
// its Meilisearch task, so a write that returns nil is searchable.
type Meili struct {
	client meilisearch.ServiceManager
	index  string
	// poll is how often a write checks whether its task is done.
	poll time.Duration
}

// NewMeili returns the Meilisearch engine for the index named index at url.
// Call EnsureSettings (at start-up) or Reset before the first write: the
// index needs its settings for the filters to work.
func NewMeili(url, apiKey, index string) *Meili {
	return &Meili{
		client: meilisearch.New(url, meilisearch.WithAPIKey(apiKey)),
		index:  index,
		poll:   25 * time.Millisecond,
	}
}

var _ Engine = (*Meili)(nil)

// Attributes of the Meilisearch documents.
const (
	meiliID            = "id"
	meiliVersion       = "version"
	meiliCategoryIDs   = "categoryIds"
	meiliCategoryFacet = "categoryFacet"
	meiliCollectionIDs = "collectionIds"
	meiliBrand         = "brand"
	meiliOptions       = "options"
	meiliMinPrice      = "minPrice"
	meiliPriceBucket   = "priceBucket"
	meiliStoreIDs      = "storeIds"
	meiliChannelIDs    = "channelIds"
	meiliCreatedAt     = "createdAt"
)

// meiliDoc is a Document as Meilisearch stores it: ids as strings, options
// as "name=value", prices and their facet bucket under the currency code
// (filter and sort on "minPrice.EUR"), the creation time as Unix
// milliseconds for sorting.
type meiliDoc struct {
	ID          string   `json:"id"`
	Version     int64    `json:"version"`
	Handle      string   `json:"handle"`
	Title       string   `json:"title"`
	Brand       string   `json:"brand"`
	Categories  []string `json:"categories"` // names, searchable
	ProductType string   `json:"productType"`
	Description string   `json:"description"`
	CategoryIDs []string `json:"categoryIds"`
	// CategoryFacet is "<id> <name>" per category: a facet distribution
	// over it gives the labels along with the ids.
	CategoryFacet []string                     `json:"categoryFacet"`
	CollectionIDs []string                     `json:"collectionIds"`
	Options       []string                     `json:"options"`
	MinPrice      map[commerce.Currency]int64  `json:"minPrice"`
	MaxPrice      map[commerce.Currency]int64  `json:"maxPrice"`
	PriceBucket   map[commerce.Currency]string `json:"priceBucket"`
	StoreIDs      []string                     `json:"storeIds"`
	ChannelIDs    []string                     `json:"channelIds"`
	CreatedAt     int64                        `json:"createdAt"`
}

func toMeiliDoc(d *Document) meiliDoc {
	md := meiliDoc{
		ID:            d.ProductID.String(),
		Version:       d.Version,
		Handle:        d.Handle,
		Title:         d.Title,
		Brand:         d.Brand,
		Categories:    make([]string, len(d.Categories)),
		ProductType:   d.ProductType,
		Description:   d.Description,
		CategoryIDs:   make([]string, len(d.Categories)),
		CategoryFacet: make([]string, len(d.Categories)),
		CollectionIDs: idStrings(d.CollectionIDs),
		Options:       optionPairs(d.Options),
		MinPrice:      make(map[commerce.Currency]int64, len(d.Prices)),
		MaxPrice:      make(map[commerce.Currency]int64, len(d.Prices)),
		PriceBucket:   make(map[commerce.Currency]string, len(d.Prices)),
		StoreIDs:      idStrings(d.StoreIDs),
		ChannelIDs:    idStrings(d.ChannelIDs),
		CreatedAt:     d.CreatedAt.UnixMilli(),
	}
	for i, c := range d.Categories {
		md.Categories[i] = c.Name
		md.CategoryIDs[i] = c.ID.String()
		md.CategoryFacet[i] = c.ID.String() + " " + c.Name
	}
	for c, p := range d.Prices {
		md.MinPrice[c], md.MaxPrice[c] = p.Min, p.Max
		buckets := PriceBuckets(c)
		md.PriceBucket[c] = buckets[priceBucketOf(buckets, p.Min)].Value
	}
	return md
}

func idStrings(ids []commerce.ID) []string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = id.String()
	}
	return s
}

// meiliSettings are the index settings, applied by EnsureSettings and Reset.
func meiliSettings() *meilisearch.Settings {
	syn := make(map[string][]string, len(synonyms))
	for w, others := range synonyms {
		syn[w] = slices.Clone(others)
	}
	return &meilisearch.Settings{
		// In order of importance for the attribute ranking rule.
		SearchableAttributes: []string{"title", meiliBrand, "categories", "productType", "description"},
		FilterableAttributes: []string{
			meiliID, // Upsert fetches the versions held by id
			meiliChannelIDs, meiliCategoryIDs, meiliCategoryFacet, meiliCollectionIDs,
			meiliBrand, meiliOptions, meiliStoreIDs,
			meiliMinPrice, meiliPriceBucket, // filtered as minPrice.EUR, priceBucket.EUR
		},
		SortableAttributes: []string{meiliMinPrice, meiliCreatedAt},
		// "sort" first: a price or date sort orders every hit, as it does
		// on Postgres, rather than only breaking relevance ties.
		RankingRules: []string{"sort", "words", "typo", "proximity", "attribute", "exactness"},
		Synonyms:     syn,
		TypoTolerance: &meilisearch.TypoTolerance{
			Enabled:             true,
			MinWordSizeForTypos: meilisearch.MinWordSizeForTypos{OneTypo: 5, TwoTypos: 9},
			DisableOnWords:      []string{},
			DisableOnAttributes: []string{},
		},
		// Deep pages and exact totals up to what Query allows.
		Pagination: &meilisearch.Pagination{MaxTotalHits: MaxOffset + MaxLimit},
		// Option values of every option share one attribute.
		Faceting: &meilisearch.Faceting{
			MaxValuesPerFacet: 1000,
			SortFacetValuesBy: map[string]meilisearch.SortFacetType{"*": meilisearch.SortFacetTypeCount},
		},
	}
}

// EnsureSettings creates the index when missing and applies its settings.
// Run it at start-up: settings changed in code reach an existing index.
func (e *Meili) EnsureSettings(ctx context.Context) error {
	if err := e.createIndex(ctx); err != nil && !isMeiliCode(err, "index_already_exists") {
		return fmt.Errorf("search.Meili.EnsureSettings: %w", err)
	}
	if err := e.updateSettings(ctx); err != nil {
		return fmt.Errorf("search.Meili.EnsureSettings: %w", err)
	}
	return nil
}

// Reset deletes the index, tombstones included, and recreates it with its
// settings.
func (e *Meili) Reset(ctx context.Context) error {
	task, err := e.client.DeleteIndexWithContext(ctx, e.index)
	if err == nil {
		err = e.wait(ctx, task)
	}
	if err != nil && !isMeiliCode(err, "index_not_found") {
		return fmt.Errorf("search.Meili.Reset: %w", err)
	}
	if err := e.createIndex(ctx); err != nil {
		return fmt.Errorf("search.Meili.Reset: %w", err)
	}
	if err := e.updateSettings(ctx); err != nil {
		return fmt.Errorf("search.Meili.Reset: %w", err)
	}
	return nil
}

func (e *Meili) createIndex(ctx context.Context) error {
	task, err := e.client.CreateIndexWithContext(ctx, &meilisearch.IndexConfig{Uid: e.index, PrimaryKey: meiliID})
	if err != nil {
		return err
	}
	return e.wait(ctx, task)
}

func (e *Meili) updateSettings(ctx context.Context) error {
	task, err := e.client.Index(e.index).UpdateSettingsWithContext(ctx, meiliSettings())
	if err != nil {
		return err
	}
	return e.wait(ctx, task)
}

// Upsert sends the documents newer than the versions the index holds.
func (e *Meili) Upsert(ctx context.Context, docs []Document) error {
	docs, err := normalize(docs)
	if err != nil {
		return err
	}
	if len(docs) == 0 {
		return nil
	}
	held, err := e.versions(ctx, docs)
	if err != nil {
		return fmt.Errorf("search.Meili.Upsert: %w", err)
	}
	send := make([]meiliDoc, 0, len(docs))
	for i := range docs {
		if v, ok := held[docs[i].ProductID.String()]; ok && v >= docs[i].Version {
			continue
		}
		send = append(send, toMeiliDoc(&docs[i]))
	}
	if len(send) == 0 {
		return nil
	}
	pk := meiliID
	task, err := e.client.Index(e.index).AddDocumentsWithContext(ctx, send, &meilisearch.DocumentOptions{PrimaryKey: &pk})
	if err == nil {
		err = e.wait(ctx, task)
	}
	if err != nil {
		return fmt.Errorf("search.Meili.Upsert: %w", err)
	}
	return nil
}

// meiliFetchBatch bounds the ids of one version lookup.
const meiliFetchBatch = 1000

// versions returns the version the index holds of each document's product,
// by id; products it does not hold are missing.
func (e *Meili) versions(ctx context.Context, docs []Document) (map[string]int64, error) {
	held := make(map[string]int64, len(docs))
	for chunk := range slices.Chunk(docs, meiliFetchBatch) {
		ids := make([]string, len(chunk))
		for i := range chunk {
			ids[i] = chunk[i].ProductID.String()
		}
		var res meilisearch.DocumentsResult
		err := e.client.Index(e.index).GetDocumentsWithContext(ctx, &meilisearch.DocumentsQuery{
			Filter: meiliID + " IN " + meiliList(ids),
			Fields: []string{meiliID, meiliVersion},
			Limit:  int64(len(ids)),
		}, &res)
		if err != nil {
			return nil, err
		}
		for _, hit := range res.Results {
			var v struct {
				ID      string `json:"id"`
				Version int64  `json:"version"`
			}
			if err := hit.DecodeInto(&v); err != nil {
				return nil, err
			}
			held[v.ID] = v.Version
		}
	}
	return held, nil
}

// Delete keeps a tombstone of each product the index holds: a partial
// update leaves the document (and its version) but publishes it nowhere.
// Products the index does not hold are left alone, so no stub is created.
func (e *Meili) Delete(ctx context.Context, productIDs []commerce.ID) error {
	if len(productIDs) == 0 {
		return nil
	}
	ids := uniqueIDs(productIDs)
	docs := make([]Document, len(ids))
	for i, id := range ids {
		docs[i].ProductID = id
	}
	held, err := e.versions(ctx, docs)
	if err != nil {
		return fmt.Errorf("search.Meili.Delete: %w", err)
	}
	type tombstone struct {
		ID         string   `json:"id"`
		ChannelIDs []string `json:"channelIds"`
	}
	var stones []tombstone
	for _, id := range ids {
		if _, ok := held[id.String()]; ok {
			stones = append(stones, tombstone{ID: id.String(), ChannelIDs: []string{}})
		}
	}
	if len(stones) == 0 {
		return nil
	}
	pk := meiliID
	task, err := e.client.Index(e.index).UpdateDocumentsWithContext(ctx, stones, &meilisearch.DocumentOptions{PrimaryKey: &pk})
	if err == nil {
		err = e.wait(ctx, task)
	}
	if err != nil {
		return fmt.Errorf("search.Meili.Delete: %w", err)
	}
	return nil
}

// wait waits for a task and turns its failure into an error.
func (e *Meili) wait(ctx context.Context, info *meilisearch.TaskInfo) error {
	task, err := e.client.WaitForTaskWithContext(ctx, info.TaskUID, e.poll)
	if err != nil {
		return err
	}
	if task.Status != meilisearch.TaskStatusSucceeded {
		return &meiliTaskError{uid: task.UID, status: string(task.Status), code: task.Error.Code, message: task.Error.Message}
	}
	return nil
}

// meiliTaskError is a Meilisearch task that did not succeed.
type meiliTaskError struct {
	uid                   int64
	status, code, message string
}

func (e *meiliTaskError) Error() string {
	return fmt.Sprintf("meilisearch task %d %s: %s (%s)", e.uid, e.status, e.message, e.code)
}

// isMeiliCode tells whether err is a Meilisearch error (from a request or
// a task) with that code.
func isMeiliCode(err error, code string) bool {
	if te, ok := errors.AsType[*meiliTaskError](err); ok {
		return te.code == code
	}
	if me, ok := errors.AsType[*meilisearch.Error](err); ok {
		return me.MeilisearchApiError.Code == code
	}
	return false
}

// meiliString quotes s for a filter expression: in double quotes, with
// backslashes and double quotes escaped by a backslash. Meilisearch's filter
// parser skips the character after a backslash while looking for the
// closing quote, then unescapes: no value can end the string early and
// smuggle in a condition (a "channelIds = …" of its own, say).
func meiliString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// meiliList is a filter list of quoted values: ["a", "b"].
func meiliList(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = meiliString(v)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// meiliCond is one filter of a query as a filter expression, and the facet
// that must not see it (empty when no facet is tied to it).
type meiliCond struct {
	facet Facet
	expr  string
}

// meiliConds translates the channel and the filters of a valid query.
func meiliConds(q *Query) []meiliCond {
	conds := []meiliCond{{"", meiliChannelIDs + " = " + meiliString(q.ChannelID.String())}}
	f := &q.Filter
	if len(f.CategoryIDs) > 0 {
		conds = append(conds, meiliCond{FacetCategory, meiliCategoryIDs + " IN " + meiliList(idStrings(f.CategoryIDs))})
	}
	if len(f.CollectionIDs) > 0 {
		conds = append(conds, meiliCond{"", meiliCollectionIDs + " IN " + meiliList(idStrings(f.CollectionIDs))})
	}
	if len(f.Brands) > 0 {
		conds = append(conds, meiliCond{FacetBrand, meiliBrand + " IN " + meiliList(f.Brands)})
	}
	for _, name := range optionFilterNames(*f) {
		conds = append(conds, meiliCond{OptionFacet(name), meiliOptions + " IN " + meiliList(optionPairs(map[string][]string{name: f.Options[name]}))})
	}
	// The currency is a validated ISO code: safe in an attribute path.
	price := meiliMinPrice + "." + string(q.Currency)
	switch {
	case f.PriceMin != nil && f.PriceMax != nil:
		conds = append(conds, meiliCond{FacetPrice, price + " " + itoa64(*f.PriceMin) + " TO " + itoa64(*f.PriceMax)})
	case f.PriceMin != nil:
		conds = append(conds, meiliCond{FacetPrice, price + " >= " + itoa64(*f.PriceMin)})
	case f.PriceMax != nil:
		conds = append(conds, meiliCond{FacetPrice, price + " <= " + itoa64(*f.PriceMax)})
	}
	if f.InStoreID != nil {
		conds = append(conds, meiliCond{FacetStore, meiliStoreIDs + " = " + meiliString(f.InStoreID.String())})
	}
	return conds
}

// meiliFilter joins every condition but those of facet except.
func meiliFilter(conds []meiliCond, except Facet) string {
	var parts []string
	for _, c := range conds {
		if c.facet == "" || c.facet != except {
			parts = append(parts, c.expr)
		}
	}
	return strings.Join(parts, " AND ")
}

// meiliFacetAttribute is the attribute a facet's distribution is read from.
func meiliFacetAttribute(f Facet, c commerce.Currency) string {
	switch f {
	case FacetCategory:
		return meiliCategoryFacet
	case FacetBrand:
		return meiliBrand
	case FacetPrice:
		return meiliPriceBucket + "." + string(c)
	case FacetStore:
		return meiliStoreIDs
	}
	return meiliOptions
}

// meiliSearchRequest builds the multi-search of a valid query: the page
// (with the distributions of the facets whose filters are not set), an
// exact count when the page is not a whole page number, and, per facet
// whose own filter is set, a query for its distribution without it.
// Returns the request and, per query after the first, the facet it serves
// (empty for the count).
func meiliSearchRequest(q *Query, index string) (*meilisearch.MultiSearchRequest, []Facet) {
	conds := meiliConds(q)
	filtered := map[Facet]bool{}
	for _, c := range conds {
		if c.facet != "" {
			filtered[c.facet] = true
		}
	}
	main := &meilisearch.SearchRequest{
		IndexUID:             index,
		Query:                q.Text,
		Filter:               meiliFilter(conds, ""),
		AttributesToRetrieve: []string{meiliID},
		ShowRankingScore:     true,
		MatchingStrategy:     meilisearch.All,
	}
	switch {
	case q.Sort == SortPriceAsc:
		main.Sort = []string{meiliMinPrice + "." + string(q.Currency) + ":asc", meiliCreatedAt + ":desc"}
	case q.Sort == SortPriceDesc:
		main.Sort = []string{meiliMinPrice + "." + string(q.Currency) + ":desc", meiliCreatedAt + ":desc"}
	case q.Sort == SortNewest || strings.TrimSpace(q.Text) == "":
		main.Sort = []string{meiliCreatedAt + ":desc"}
	}
	req := &meilisearch.MultiSearchRequest{Queries: []*meilisearch.SearchRequest{main}}
	var serves []Facet
	// Page mode gives an exact total (offset/limit only an estimate).
	if q.Offset%q.Limit == 0 {
		main.Page, main.HitsPerPage = int64(q.Offset/q.Limit)+1, ptrInt64(int64(q.Limit))
	} else {
		main.Offset, main.Limit = int64(q.Offset), int64(q.Limit)
		req.Queries = append(req.Queries, meiliCountRequest(q, index, main.Filter.(string), nil))
		serves = append(serves, "")
	}
	optionsInMain := false
	for _, f := range q.Facets {
		attr := meiliFacetAttribute(f, q.Currency)
		if !filtered[f] {
			if attr == meiliOptions {
				if optionsInMain {
					continue
				}
				optionsInMain = true
			}
			main.Facets = append(main.Facets, attr)
			continue
		}
		req.Queries = append(req.Queries, meiliCountRequest(q, index, meiliFilter(conds, f), []string{attr}))
		serves = append(serves, f)
	}
	return req, serves
}

func meiliCountRequest(q *Query, index, filter string, facets []string) *meilisearch.SearchRequest {
	return &meilisearch.SearchRequest{
		IndexUID:         index,
		Query:            q.Text,
		Filter:           filter,
		Facets:           facets,
		MatchingStrategy: meilisearch.All,
		Page:             1,
		HitsPerPage:      ptrInt64(0),
	}
}

func ptrInt64(n int64) *int64 { return &n }

// Search runs q as one multi-search request.
func (e *Meili) Search(ctx context.Context, q Query) (Result, error) {
	if err := q.Validate(); err != nil {
		return Result{}, err
	}
	req, serves := meiliSearchRequest(&q, e.index)
	resp, err := e.client.MultiSearchWithContext(ctx, req)
	if err != nil {
		return Result{}, fmt.Errorf("search.Meili.Search: %w", err)
	}
	res, err := meiliResult(&q, req, serves, resp)
	if err != nil {
		return Result{}, fmt.Errorf("search.Meili.Search: %w", err)
	}
	return res, nil
}

// meiliResult reads the responses of meiliSearchRequest into a Result.
func meiliResult(q *Query, req *meilisearch.MultiSearchRequest, serves []Facet, resp *meilisearch.MultiSearchResponse) (Result, error) {
	if len(resp.Results) != len(req.Queries) {
		return Result{}, fmt.Errorf("%d results for %d queries", len(resp.Results), len(req.Queries))
	}
	main := &resp.Results[0]
	res := Result{Hits: make([]Hit, 0, len(main.Hits)), Total: int(main.TotalHits)}
	for _, h := range main.Hits {
		var v struct {
			ID    string  `json:"id"`
			Score float64 `json:"_rankingScore"`
		}
		if err := h.DecodeInto(&v); err != nil {
			return Result{}, err
		}
		id, err := uuid.Parse(v.ID)
		if err != nil {
			return Result{}, fmt.Errorf("hit id %q: %w", v.ID, err)
		}
		res.Hits = append(res.Hits, Hit{ProductID: id, Score: v.Score})
	}
	// distribution reads a response's counts per value of attr.
	distribution := func(r *meilisearch.SearchResponse, attr string) (map[string]int, error) {
		if len(r.FacetDistribution) == 0 {
			return nil, nil
		}
		var all map[string]map[string]int
		if err := json.Unmarshal(r.FacetDistribution, &all); err != nil {
			return nil, err
		}
		return all[attr], nil
	}
	source := map[Facet]*meilisearch.SearchResponse{}
	for i, f := range serves {
		if f == "" {
			res.Total = int(resp.Results[i+1].TotalHits)
		} else {
			source[f] = &resp.Results[i+1]
		}
	}
	if len(q.Facets) == 0 {
		return res, nil
	}
	res.Facets = make(map[Facet][]FacetValue, len(q.Facets))
	for _, f := range q.Facets {
		r := source[f]
		if r == nil {
			r = main
		}
		counts, err := distribution(r, meiliFacetAttribute(f, q.Currency))
		if err != nil {
			return Result{}, err
		}
		name, isOption := f.Option()
		vs := []FacetValue{}
		switch {
		case f == FacetPrice:
			buckets := PriceBuckets(q.Currency)
			n := make([]int, len(buckets))
			for i, b := range buckets {
				n[i] = counts[b.Value]
			}
			res.Facets[f] = priceFacetValues(buckets, n)
			continue
		case f == FacetCategory:
			for v, n := range counts {
				// "<36-character id> <name>"
				if len(v) > 37 && n > 0 {
					vs = append(vs, FacetValue{Value: v[:36], Label: v[37:], Count: n})
				}
			}
		case isOption:
			for v, n := range counts {
				if value, ok := strings.CutPrefix(v, name+"="); ok && n > 0 {
					vs = append(vs, FacetValue{Value: value, Label: value, Count: n})
				}
			}
		default:
			for v, n := range counts {
				if n > 0 && v != "" {
					label := v
					if f == FacetStore {
						label = ""
					}
					vs = append(vs, FacetValue{Value: v, Label: label, Count: n})
				}
			}
		}
		sortFacetValues(vs)
		res.Facets[f] = vs
	}
	return res, nil
}
