package graph

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vikstrous/dataloadgen"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/catalog"
	"github.com/omnicanal/omnicanal/commerce/channel"
	"github.com/omnicanal/omnicanal/commerce/inventory"
	"github.com/omnicanal/omnicanal/commerce/location"
)

// loaders batch the per-object lookups of one operation into one query per
// kind, so a page of 50 products with variants, prices and stock costs a
// handful of queries instead of hundreds. They are made per operation: their
// cache must never outlive the request that filled it.
type loaders struct {
	variantsByProduct   *dataloadgen.Loader[commerce.ID, []catalog.Variant]
	priceRangeByProduct *dataloadgen.Loader[commerce.ID, *catalog.PriceRange]
	priceByVariant      *dataloadgen.Loader[commerce.ID, *catalog.Price]
	stockByVariant      *dataloadgen.Loader[commerce.ID, []inventory.Level]
	optionsByProduct    *dataloadgen.Loader[commerce.ID, []catalog.Option]
	mediaByProduct      *dataloadgen.Loader[commerce.ID, []catalog.Media]
	categoriesByProduct *dataloadgen.Loader[commerce.ID, []catalog.ProductCategory]
	productByID         *dataloadgen.Loader[commerce.ID, *catalog.Product]
	locations           *index[location.Location]
	categories          *index[catalog.Category]

	// variantWants records which variant fields a product listing selects,
	// so the variants batch can queue their loads at once.
	variantWants atomic.Uint32
}

// What a query wants of variants, as bits of loaders.variantWants.
const (
	wantPrice uint32 = 1 << iota
	wantStock
)

// loaderWait is how long a loader collects keys before it queries. List
// resolvers queue every key their items need before those run (see
// prefetchProducts), so the wait gathers little and is kept short: it adds
// to the latency of every loader level. At 0 batches start to split.
const loaderWait = 500 * time.Microsecond

func newLoaders(s Services, ch *channel.Channel) *loaders {
	var (
		cur       commerce.Currency
		channelID commerce.ID
	)
	if ch != nil {
		cur, channelID = ch.Currency, ch.ID
	}
	l := &loaders{
		priceRangeByProduct: one(func(ctx context.Context, ids []commerce.ID) ([]catalog.PriceRange, error) {
			return s.Catalog.FindPriceRangesByProductIDs(ctx, ids, cur)
		}, func(r catalog.PriceRange) commerce.ID { return r.ProductID }),
		priceByVariant: one(func(ctx context.Context, ids []commerce.ID) ([]catalog.Price, error) {
			return s.Catalog.FindPricesByVariantIDs(ctx, ids, cur)
		}, func(p catalog.Price) commerce.ID { return p.VariantID }),
		stockByVariant: many(s.Inventory.FindLevelsByVariantIDs,
			func(l inventory.Level) commerce.ID { return l.VariantID }),
		optionsByProduct: many(s.Catalog.FindOptionsByProductIDs,
			func(o catalog.Option) commerce.ID { return o.ProductID }),
		mediaByProduct: many(s.Catalog.FindMediaByProductIDs,
			func(m catalog.Media) commerce.ID { return m.ProductID }),
		categoriesByProduct: many(s.Catalog.FindCategoryLinksByProductIDs,
			func(c catalog.ProductCategory) commerce.ID { return c.ProductID }),
		productByID: one(func(ctx context.Context, ids []commerce.ID) ([]catalog.Product, error) {
			return s.Catalog.FindProductsByIDs(ctx, channelID, ids)
		}, func(p catalog.Product) commerce.ID { return p.ID }),
		locations: newIndex(func(ctx context.Context) ([]location.Location, error) {
			return s.Locations.FindLocations(ctx, location.Filter{})
		}, func(l location.Location) commerce.ID { return l.ID }),
		categories: newIndex(s.Catalog.FindCategories, func(c catalog.Category) commerce.ID { return c.ID }),
	}
	l.variantsByProduct = many(func(ctx context.Context, ids []commerce.ID) ([]catalog.Variant, error) {
		vs, err := s.Catalog.FindVariantsByProductIDs(ctx, ids)
		if err == nil {
			// Still inside the batch: no variant resolver runs yet, so
			// every variant's price and stock key joins one batch.
			l.queueVariantFields(ctx, vs, l.variantWants.Load())
		}
		return vs, err
	}, func(v catalog.Variant) commerce.ID { return v.ProductID })
	return l
}

// Loaders batch the keys that arrive within loaderWait of each other, and
// goroutine scheduling can spread a thousand variant resolvers over longer
// than that, which would cost extra queries growing with the page. So the
// resolver of a list queues the loads its items will need, in one go,
// before any item resolver runs: the batches then hold every key whatever
// the scheduling, and item resolvers only hit the cache.

// prefetchProducts queues, for a page of products, the variants and price
// ranges the query selects, and notes what it selects of the variants.
func (l *loaders) prefetchProducts(ctx context.Context, ps []catalog.Product) {
	top := graphql.CollectFieldsCtx(ctx, nil)
	product := append(children(ctx, top, "nodes"), children(ctx, children(ctx, top, "edges"), "node")...)
	ids := make([]commerce.ID, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	if len(ids) == 0 {
		return
	}
	for _, f := range product {
		switch f.Name {
		case "priceRange":
			l.priceRangeByProduct.LoadAllThunk(ctx, ids)
		case "options":
			l.optionsByProduct.LoadAllThunk(ctx, ids)
		case "media":
			l.mediaByProduct.LoadAllThunk(ctx, ids)
		case "categories":
			l.categoriesByProduct.LoadAllThunk(ctx, ids)
		case "variants":
			l.variantWants.Or(variantWants(children(ctx, product, "variants")))
			l.variantsByProduct.LoadAllThunk(ctx, ids)
		}
	}
}

// prefetchVariantFields queues the prices and stock of the variants a
// Product.variants resolver returns, when the query selects them. For a
// listing, prefetchProducts has done it already and this hits the cache.
func (l *loaders) prefetchVariantFields(ctx context.Context, vs []catalog.Variant) {
	l.queueVariantFields(ctx, vs, variantWants(graphql.CollectFieldsCtx(ctx, nil)))
}

func (l *loaders) queueVariantFields(ctx context.Context, vs []catalog.Variant, wants uint32) {
	if wants == 0 || len(vs) == 0 {
		return
	}
	ids := make([]commerce.ID, len(vs))
	for i, v := range vs {
		ids[i] = v.ID
	}
	if wants&wantPrice != 0 {
		l.priceByVariant.LoadAllThunk(ctx, ids)
	}
	if wants&wantStock != 0 {
		l.stockByVariant.LoadAllThunk(ctx, ids)
	}
}

func variantWants(fields []graphql.CollectedField) uint32 {
	var w uint32
	for _, f := range fields {
		switch f.Name {
		case "price", "compareAtPrice":
			w |= wantPrice
		case "quantityAvailable", "quantityAvailableHere", "storeAvailability", "availability":
			w |= wantStock
		}
	}
	return w
}

// children returns the fields selected below every field called name.
func children(ctx context.Context, fields []graphql.CollectedField, name string) []graphql.CollectedField {
	var out []graphql.CollectedField
	for _, f := range fields {
		if f.Name == name {
			out = append(out, graphql.CollectFields(graphql.GetOperationContext(ctx), f.Selections, nil)...)
		}
	}
	return out
}

// index reads a small table whole, once per operation, when first needed.
// Locations and categories are tens of rows: one small query beats batching
// by id, and it cannot be split into several batches by goroutine scheduling.
type index[T any] struct {
	fetch func(context.Context) ([]T, error)
	key   func(T) commerce.ID

	once sync.Once
	all  []T
	byID map[commerce.ID]*T
	err  error
}

func newIndex[T any](fetch func(context.Context) ([]T, error), key func(T) commerce.ID) *index[T] {
	return &index[T]{fetch: fetch, key: key}
}

func (x *index[T]) load(ctx context.Context) error {
	x.once.Do(func() {
		x.all, x.err = x.fetch(ctx)
		x.byID = make(map[commerce.ID]*T, len(x.all))
		for i := range x.all {
			x.byID[x.key(x.all[i])] = &x.all[i]
		}
	})
	return x.err
}

// get returns the row with that id, or nil.
func (x *index[T]) get(ctx context.Context, id commerce.ID) (*T, error) {
	if err := x.load(ctx); err != nil {
		return nil, err
	}
	return x.byID[id], nil
}

// list returns every row, in the order the fetch gave them.
func (x *index[T]) list(ctx context.Context) ([]T, error) {
	return x.all, x.load(ctx)
}

// one builds a loader whose fetch returns at most one row per key; a key
// without a row loads as nil rather than as an error.
func one[V any](fetch func(context.Context, []commerce.ID) ([]V, error), keyOf func(V) commerce.ID) *dataloadgen.Loader[commerce.ID, *V] {
	return dataloadgen.NewLoader(func(ctx context.Context, keys []commerce.ID) ([]*V, []error) {
		rows, err := fetch(ctx, keys)
		if err != nil {
			return nil, []error{err} // dataloadgen gives one error to every key
		}
		byKey := make(map[commerce.ID]*V, len(rows))
		for i := range rows {
			byKey[keyOf(rows[i])] = &rows[i]
		}
		out := make([]*V, len(keys))
		for i, k := range keys {
			out[i] = byKey[k]
		}
		return out, nil
	}, dataloadgen.WithWait(loaderWait))
}

// many builds a loader whose fetch returns any number of rows per key, in
// the order they should be shown.
func many[V any](fetch func(context.Context, []commerce.ID) ([]V, error), keyOf func(V) commerce.ID) *dataloadgen.Loader[commerce.ID, []V] {
	return dataloadgen.NewLoader(func(ctx context.Context, keys []commerce.ID) ([][]V, []error) {
		rows, err := fetch(ctx, keys)
		if err != nil {
			return nil, []error{err}
		}
		byKey := make(map[commerce.ID][]V, len(keys))
		for _, r := range rows {
			k := keyOf(r)
			byKey[k] = append(byKey[k], r)
		}
		out := make([][]V, len(keys))
		for i, k := range keys {
			out[i] = byKey[k]
		}
		return out, nil
	}, dataloadgen.WithWait(loaderWait))
}

type loadersKey struct{}

func withLoaders(ctx context.Context, l *loaders) context.Context {
	return context.WithValue(ctx, loadersKey{}, l)
}

// loadersFrom returns the operation's loaders. The server installs them
// around every operation, so their absence is a wiring bug.
func loadersFrom(ctx context.Context) *loaders {
	l, ok := ctx.Value(loadersKey{}).(*loaders)
	if !ok {
		panic("graph: no loaders in context; is the handler built with NewHandler?")
	}
	return l
}
