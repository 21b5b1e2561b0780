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
	"github.com/omnicanal/omnicanal/commerce/order"
	"github.com/omnicanal/omnicanal/commerce/returns"
)

// loaders batch the per-object lookups of one operation into one query per
// kind, so a page of 50 products with variants, prices and stock costs a
// handful of queries instead of hundreds. They are made per operation: their
// cache must never outlive the request that filled it.
type loaders struct {
	services  Services
	currency  commerce.Currency // the channel's
	channelID commerce.ID

	// Built on first use (see lazy): most operations use few of them.
	variants      lazy[[]catalog.Variant]
	priceRanges   lazy[*catalog.PriceRange]
	prices        lazy[*catalog.Price]
	stock         lazy[[]inventory.Level]
	options       lazy[[]catalog.Option]
	media         lazy[[]catalog.Media]
	categoryLinks lazy[[]catalog.ProductCategory]
	products      lazy[*catalog.Product]
	transitions   lazy[[]order.Transition]
	payments      lazy[[]order.Payment]
	returns       lazy[[]*returns.Return]

	locations  *index[location.Location]
	categories *index[catalog.Category]

	// variantFieldsPrimed is set once a listing has primed the prices and
	// stock of its variants, so Product.variants need not do it again.
	variantFieldsPrimed atomic.Bool
}

// lazy holds a loader built on first use. Building every loader for every
// operation cost ~100 allocations a request, as much as a cart add's
// database work allocates (docs/performance.md, issue 4).
type lazy[V any] struct {
	once   sync.Once
	loader loader[V]
}

// get returns the loader z holds, built by build the first time.
func (z *lazy[V]) get(build func() loader[V]) loader[V] {
	z.once.Do(func() { z.loader = build() })
	return z.loader
}

// loader is a batching loader that can also be primed: loaded at once, by
// the resolver of a list, for every item the list is about to resolve.
type loader[V any] struct {
	*dataloadgen.Loader[commerce.ID, V]
	batch func(ctx context.Context, keys []commerce.ID) ([]V, []error)
}

// prime loads keys now, in one statement, and caches the answers. Waiting
// for a batch to fill is a bet on goroutine scheduling: with a thousand
// variant resolvers on a busy machine some arrive after the batch has left,
// costing extra statements. Priming from the list's resolver, before any
// item resolver runs, leaves nothing to chance. On an error nothing is
// cached, and the items' own loads report it.
func (l loader[V]) prime(ctx context.Context, keys []commerce.ID) []V {
	if len(keys) == 0 {
		return nil
	}
	vals, errs := l.batch(ctx, keys)
	if len(errs) > 0 && errs[0] != nil {
		return nil
	}
	for i, k := range keys {
		l.Prime(k, vals[i])
	}
	return vals
}

// What a query wants of variants, as bits.
const (
	wantPrice uint32 = 1 << iota
	wantStock
)

// loaderWait is how long a loader collects keys before it queries. List
// resolvers prime what their items need before those run (see
// prefetchProducts), so the wait only serves lookups nothing primed, and is
// kept short: it adds to the latency of every loader level.
const loaderWait = 500 * time.Microsecond

func newLoaders(s Services, ch *channel.Channel) *loaders {
	l := &loaders{services: s}
	if ch != nil {
		l.currency, l.channelID = ch.Currency, ch.ID
	}
	l.locations = newIndex(func(ctx context.Context) ([]location.Location, error) {
		return s.Locations.FindLocations(ctx, location.Filter{})
	}, func(l location.Location) commerce.ID { return l.ID })
	l.categories = newIndex(s.Catalog.FindCategories, func(c catalog.Category) commerce.ID { return c.ID })
	return l
}

func (l *loaders) priceRangeByProduct() loader[*catalog.PriceRange] {
	return l.priceRanges.get(func() loader[*catalog.PriceRange] {
		return one(func(ctx context.Context, ids []commerce.ID) ([]catalog.PriceRange, error) {
			return l.services.Catalog.FindPriceRangesByProductIDs(ctx, ids, l.currency)
		}, func(r catalog.PriceRange) commerce.ID { return r.ProductID })
	})
}

func (l *loaders) priceByVariant() loader[*catalog.Price] {
	return l.prices.get(func() loader[*catalog.Price] {
		return one(func(ctx context.Context, ids []commerce.ID) ([]catalog.Price, error) {
			return l.services.Catalog.FindPricesByVariantIDs(ctx, ids, l.currency)
		}, func(p catalog.Price) commerce.ID { return p.VariantID })
	})
}

func (l *loaders) stockByVariant() loader[[]inventory.Level] {
	return l.stock.get(func() loader[[]inventory.Level] {
		return many(l.services.Inventory.FindLevelsByVariantIDs, func(l inventory.Level) commerce.ID { return l.VariantID })
	})
}

func (l *loaders) optionsByProduct() loader[[]catalog.Option] {
	return l.options.get(func() loader[[]catalog.Option] {
		return many(l.services.Catalog.FindOptionsByProductIDs, func(o catalog.Option) commerce.ID { return o.ProductID })
	})
}

func (l *loaders) mediaByProduct() loader[[]catalog.Media] {
	return l.media.get(func() loader[[]catalog.Media] {
		return many(l.services.Catalog.FindMediaByProductIDs, func(m catalog.Media) commerce.ID { return m.ProductID })
	})
}

func (l *loaders) categoriesByProduct() loader[[]catalog.ProductCategory] {
	return l.categoryLinks.get(func() loader[[]catalog.ProductCategory] {
		return many(l.services.Catalog.FindCategoryLinksByProductIDs, func(c catalog.ProductCategory) commerce.ID { return c.ProductID })
	})
}

func (l *loaders) productByID() loader[*catalog.Product] {
	return l.products.get(func() loader[*catalog.Product] {
		return one(func(ctx context.Context, ids []commerce.ID) ([]catalog.Product, error) {
			return l.services.Catalog.FindProductsByIDs(ctx, l.channelID, ids)
		}, func(p catalog.Product) commerce.ID { return p.ID })
	})
}

// The orders' loaders take the ids of orders already read with access
// (FindOrder, FindCustomerOrders): they check none.

func (l *loaders) transitionsByOrder() loader[[]order.Transition] {
	return l.transitions.get(func() loader[[]order.Transition] {
		return grouped(l.services.Orders.FindTransitionsByOrderIDs)
	})
}

func (l *loaders) paymentsByOrder() loader[[]order.Payment] {
	return l.payments.get(func() loader[[]order.Payment] {
		return grouped(l.services.Orders.FindPaymentsByOrderIDs)
	})
}

func (l *loaders) returnsByOrder() loader[[]*returns.Return] {
	return l.returns.get(func() loader[[]*returns.Return] {
		return many(func(ctx context.Context, ids []commerce.ID) ([]*returns.Return, error) {
			if l.services.Returns == nil {
				return nil, nil // without the returns service, no order has any
			}
			return l.services.Returns.FindReturnsByOrderIDs(ctx, ids)
		}, func(r *returns.Return) commerce.ID { return r.OrderID })
	})
}

func (l *loaders) variantsByProduct() loader[[]catalog.Variant] {
	return l.variants.get(func() loader[[]catalog.Variant] {
		return many(func(ctx context.Context, ids []commerce.ID) ([]catalog.Variant, error) {
			return l.services.Catalog.FindVariantsWithPrices(ctx, ids, l.currency)
		}, func(v catalog.Variant) commerce.ID { return v.ProductID })
	})
}

// prefetchProducts primes, for a page of products (a connection: nodes and
// edges), everything the query selects of them and of their variants.
func (l *loaders) prefetchProducts(ctx context.Context, ps []catalog.Product) {
	if len(ps) == 0 {
		return
	}
	top := graphql.CollectFieldsCtx(ctx, nil)
	l.prefetch(ctx, ps, append(children(ctx, top, "nodes"), children(ctx, children(ctx, top, "edges"), "node")...))
}

// prefetch primes, for products about to be resolved with the selected
// fields, everything those fields need of the products and of their
// variants, the independent loads in parallel. The variants come with
// their prices, and the price ranges are derived from them when both are
// selected: a listing or a product page costs its products' statement plus
// one for the variants.
func (l *loaders) prefetch(ctx context.Context, ps []catalog.Product, fields []graphql.CollectedField) {
	if len(ps) == 0 {
		return
	}
	ids := make([]commerce.ID, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	selected := map[string]bool{}
	for _, f := range fields {
		selected[f.Name] = true
	}
	var wg sync.WaitGroup
	for name := range selected {
		switch name {
		case "priceRange":
			if !selected["variants"] {
				wg.Go(func() { l.priceRangeByProduct().prime(ctx, ids) })
			}
		case "options":
			wg.Go(func() { l.optionsByProduct().prime(ctx, ids) })
		case "media":
			wg.Go(func() { l.mediaByProduct().prime(ctx, ids) })
		case "categories":
			wg.Go(func() { l.categoriesByProduct().prime(ctx, ids) })
		case "variants":
			wants := variantWants(children(ctx, fields, "variants"))
			wg.Go(func() {
				var vs []catalog.Variant
				groups := l.variantsByProduct().prime(ctx, ids)
				if groups == nil {
					return // an error: the resolvers' own loads report it
				}
				for _, group := range groups {
					vs = append(vs, group...)
				}
				if selected["priceRange"] {
					ranges := map[commerce.ID]*catalog.PriceRange{}
					for _, r := range catalog.PriceRanges(vs) {
						ranges[r.ProductID] = &r
					}
					for _, id := range ids {
						l.priceRangeByProduct().Prime(id, ranges[id])
					}
				}
				l.primeVariantFields(ctx, vs, wants)
				l.variantFieldsPrimed.Store(true)
			})
		}
	}
	wg.Wait()
}

// prefetchOrders primes, for a page of orders (a connection: nodes and
// edges), the transitions, payments and returns the query selects of them,
// one statement each (two for returns and their lines), in parallel. Their
// lines come with the orders, and their stores from the locations index.
// The orders must have been read with access: the loaders check none.
func (l *loaders) prefetchOrders(ctx context.Context, orders []*order.Order) {
	if len(orders) == 0 {
		return
	}
	ids := make([]commerce.ID, len(orders))
	for i, o := range orders {
		ids[i] = o.ID
	}
	top := graphql.CollectFieldsCtx(ctx, nil)
	selected := map[string]bool{}
	for _, f := range append(children(ctx, top, "nodes"), children(ctx, children(ctx, top, "edges"), "node")...) {
		selected[f.Name] = true
	}
	var wg sync.WaitGroup
	if selected["transitions"] {
		wg.Go(func() { l.transitionsByOrder().prime(ctx, ids) })
	}
	if selected["payments"] {
		wg.Go(func() { l.paymentsByOrder().prime(ctx, ids) })
	}
	if selected["returns"] {
		wg.Go(func() { l.returnsByOrder().prime(ctx, ids) })
	}
	wg.Wait()
}

// prefetchVariantFields primes the stock of the variants a
// Product.variants resolver returns, unless a prefetch did.
func (l *loaders) prefetchVariantFields(ctx context.Context, vs []catalog.Variant) {
	if !l.variantFieldsPrimed.Load() {
		l.primeVariantFields(ctx, vs, variantWants(graphql.CollectFieldsCtx(ctx, nil)))
	}
}

// primeVariantFields primes what the selected fields of variants need
// beyond the variants' own read (which brings their prices): their stock.
func (l *loaders) primeVariantFields(ctx context.Context, vs []catalog.Variant, wants uint32) {
	if wants&wantStock == 0 || len(vs) == 0 {
		return
	}
	ids := make([]commerce.ID, len(vs))
	for i, v := range vs {
		ids[i] = v.ID
	}
	l.stockByVariant().prime(ctx, ids)
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
func one[V any](fetch func(context.Context, []commerce.ID) ([]V, error), keyOf func(V) commerce.ID) loader[*V] {
	batch := func(ctx context.Context, keys []commerce.ID) ([]*V, []error) {
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
	}
	return loader[*V]{dataloadgen.NewLoader(batch, dataloadgen.WithWait(loaderWait)), batch}
}

// many builds a loader whose fetch returns any number of rows per key, in
// the order they should be shown.
func many[V any](fetch func(context.Context, []commerce.ID) ([]V, error), keyOf func(V) commerce.ID) loader[[]V] {
	batch := func(ctx context.Context, keys []commerce.ID) ([][]V, []error) {
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
	}
	return loader[[]V]{dataloadgen.NewLoader(batch, dataloadgen.WithWait(loaderWait)), batch}
}

// grouped builds a loader over a fetch that groups its rows by key itself
// (for rows that do not carry their key), in the order they should be
// shown; a key without rows loads as nil.
func grouped[V any](fetch func(context.Context, []commerce.ID) (map[commerce.ID][]V, error)) loader[[]V] {
	batch := func(ctx context.Context, keys []commerce.ID) ([][]V, []error) {
		byKey, err := fetch(ctx, keys)
		if err != nil {
			return nil, []error{err}
		}
		out := make([][]V, len(keys))
		for i, k := range keys {
			out[i] = byKey[k]
		}
		return out, nil
	}
	return loader[[]V]{dataloadgen.NewLoader(batch, dataloadgen.WithWait(loaderWait)), batch}
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
