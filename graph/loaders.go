package graph

import (
	"context"
	"time"

	"github.com/vikstrous/dataloadgen"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/catalog"
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
	locationByID        *dataloadgen.Loader[commerce.ID, *location.Location]
}

// loaderWait is how long a loader collects keys before it queries. Resolvers
// of one level of the response run concurrently, so a short wait gathers them.
const loaderWait = time.Millisecond

func newLoaders(s Services, cur commerce.Currency) *loaders {
	return &loaders{
		variantsByProduct: many(s.Catalog.FindVariantsByProductIDs,
			func(v catalog.Variant) commerce.ID { return v.ProductID }),
		priceRangeByProduct: one(func(ctx context.Context, ids []commerce.ID) ([]catalog.PriceRange, error) {
			return s.Catalog.FindPriceRangesByProductIDs(ctx, ids, cur)
		}, func(r catalog.PriceRange) commerce.ID { return r.ProductID }),
		priceByVariant: one(func(ctx context.Context, ids []commerce.ID) ([]catalog.Price, error) {
			return s.Catalog.FindPricesByVariantIDs(ctx, ids, cur)
		}, func(p catalog.Price) commerce.ID { return p.VariantID }),
		stockByVariant: many(s.Inventory.FindLevelsByVariantIDs,
			func(l inventory.Level) commerce.ID { return l.VariantID }),
		locationByID: one(s.Locations.FindLocationsByIDs,
			func(l location.Location) commerce.ID { return l.ID }),
	}
}

// one builds a loader whose fetch returns at most one row per key; a key
// without a row loads as nil rather than as an error.
func one[V any](fetch func(context.Context, []commerce.ID) ([]V, error), keyOf func(V) commerce.ID) *dataloadgen.Loader[commerce.ID, *V] {
	return dataloadgen.NewLoader(func(ctx context.Context, keys []commerce.ID) ([]*V, []error) {
		rows, err := fetch(ctx, keys)
		if err != nil {
			return nil, fill(len(keys), err)
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
			return nil, fill(len(keys), err)
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

func fill(n int, err error) []error {
	errs := make([]error, n)
	for i := range errs {
		errs[i] = err
	}
	return errs
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
