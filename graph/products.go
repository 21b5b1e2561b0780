package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/catalog"
	"github.com/omnicanal/omnicanal/commerce/channel"
	"github.com/omnicanal/omnicanal/graph/model"
)

var sortKeys = map[model.ProductSortKey]catalog.Sort{
	model.ProductSortKeyHandle:            catalog.SortHandle,
	model.ProductSortKeyTitle:             catalog.SortTitle,
	model.ProductSortKeyPrice:             catalog.SortPrice,
	model.ProductSortKeyNewest:            catalog.SortNewest,
	model.ProductSortKeyCollectionDefault: catalog.SortCollection,
}

// productFilter converts the listing arguments every product connection
// shares into the catalog's filter for the request's channel.
func productFilter(ctx context.Context, first *int, after *string, in *model.ProductFilter, sortKey *model.ProductSortKey, reverse *bool) (catalog.ProductFilter, error) {
	ch, err := channel.Require(ctx)
	if err != nil {
		return catalog.ProductFilter{}, err
	}
	f := catalog.ProductFilter{ChannelID: ch.ID, Currency: ch.Currency, Reverse: reverse != nil && *reverse}
	if f.First, err = pageSize(first, 20); err != nil {
		return f, err
	}
	if after != nil {
		f.After = *after
	}
	if sortKey != nil {
		f.Sort = sortKeys[*sortKey]
	}
	if in == nil {
		return f, nil
	}
	f.CategoryID, f.CollectionID, f.Brands, f.Options, f.AvailableAt = in.CategoryID, in.CollectionID, in.Brands, in.Options, in.AvailableInStore
	f.PriceMin, f.PriceMax, err = priceRange(in.Price, ch.Currency)
	return f, err
}

// priceRange reads a price filter given in decimal major units of the
// channel's currency into minor units.
func priceRange(in *model.PriceRangeFilter, cur commerce.Currency) (lo, hi *int64, err error) {
	if in == nil {
		return nil, nil, nil
	}
	read := func(s *string) (*int64, error) {
		if s == nil {
			return nil, nil
		}
		m, err := commerce.ParseMoney(*s, cur)
		if err != nil {
			return nil, commerce.InvalidInput("filter.price", "%q is not an amount in %s", *s, cur)
		}
		return &m.Amount, nil
	}
	if lo, err = read(in.Min); err != nil {
		return nil, nil, err
	}
	hi, err = read(in.Max)
	return lo, hi, err
}

// productConnection runs a listing and shapes it as a Relay connection.
func (r *Resolver) productConnection(ctx context.Context, f catalog.ProductFilter) (*model.ProductConnection, error) {
	page, err := r.Catalog.FindProducts(ctx, f)
	if err != nil {
		return nil, err
	}
	loadersFrom(ctx).prefetchProducts(ctx, page.Products)
	conn := &model.ProductConnection{
		Nodes:    page.Products,
		PageInfo: &model.PageInfo{HasNextPage: page.HasNext, HasPreviousPage: f.After != ""},
		Filter:   f,
		Edges:    make([]model.ProductEdge, len(page.Products)),
	}
	for i := range page.Products {
		conn.Edges[i] = model.ProductEdge{Cursor: page.Cursors[i], Node: &page.Products[i]}
	}
	if n := len(conn.Edges); n > 0 {
		conn.PageInfo.StartCursor, conn.PageInfo.EndCursor = &conn.Edges[0].Cursor, &conn.Edges[n-1].Cursor
	}
	return conn, nil
}

// withPrice returns v with its price in the channel's currency, for the
// resolvers that hand one variant to GraphQL (a scan, a cart line): the
// variants of products come priced from their loader, and
// ProductVariant.price is a plain field, not a resolver. known, when in
// the channel's currency, saves the lookup; otherwise the price is loaded
// only if the query selects it. A failed lookup leaves the (nullable)
// price null and reports the error, as a price resolver would: the variant
// itself was found.
func withPrice(ctx context.Context, v catalog.Variant, known *catalog.Price) *catalog.Variant {
	if v.Price != nil {
		return &v
	}
	ch := channel.FromContext(ctx)
	p := known
	if p != nil && (ch == nil || p.Price.Currency != ch.Currency) {
		p = nil
	}
	if p == nil && variantWants(graphql.CollectFieldsCtx(ctx, nil))&wantPrice != 0 {
		var err error
		if p, err = loadersFrom(ctx).priceByVariant().Load(ctx, v.ID); err != nil {
			graphql.AddError(ctx, err)
		}
	}
	if p != nil {
		v.Price, v.CompareAtPrice = &p.Price, p.CompareAt
	}
	return &v
}

// nilIfNotFound turns NOT_FOUND into the schema's null for lookups whose
// field is nullable: "no such product on this channel" is an answer, not an error.
func nilIfNotFound[T any](v *T, err error) (*T, error) {
	if commerce.ErrorCode(err) == commerce.ErrNotFound {
		return nil, nil
	}
	return v, err
}
