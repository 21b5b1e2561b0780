package graph

import (
	"context"
	"strconv"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/catalog"
	"github.com/omnicanal/omnicanal/commerce/channel"
	"github.com/omnicanal/omnicanal/graph/model"
	"github.com/omnicanal/omnicanal/search"
)

var searchSorts = map[model.SearchSort]search.Sort{
	model.SearchSortRelevance: search.SortRelevance,
	model.SearchSortPriceAsc:  search.SortPriceAsc,
	model.SearchSortPriceDesc: search.SortPriceDesc,
	model.SearchSortNewest:    search.SortNewest,
}

// searchQuery converts the search arguments into the engine's query for
// the request's channel; the engine validates the rest.
func searchQuery(ctx context.Context, text *string, in *model.SearchFilter, facets []string, sort *model.SearchSort, first *int, after *string) (search.Query, error) {
	ch, err := channel.Require(ctx)
	if err != nil {
		return search.Query{}, err
	}
	q := search.Query{ChannelID: ch.ID, Currency: ch.Currency}
	if text != nil {
		q.Text = *text
	}
	if q.Limit, err = pageSize(first, 20); err != nil {
		return q, err
	}
	key, err := decodeCursor(after, "search")
	if err != nil {
		return q, err
	}
	if key != "" {
		n, err := strconv.Atoi(key)
		if err != nil || n < 0 {
			return q, commerce.InvalidInput("after", "after is not a cursor of this list")
		}
		q.Offset = n + 1
	}
	if sort != nil {
		q.Sort = searchSorts[*sort]
	}
	for _, f := range facets {
		q.Facets = append(q.Facets, search.Facet(f))
	}
	if in == nil {
		return q, nil
	}
	q.Filter = search.Filter{CategoryIDs: in.CategoryIds, CollectionIDs: in.CollectionIds, Brands: in.Brands, InStoreID: in.InStore}
	if len(in.Options) > 0 {
		q.Filter.Options = make(map[string][]string, len(in.Options))
		for _, o := range in.Options {
			q.Filter.Options[o.Name] = append(q.Filter.Options[o.Name], o.Values...)
		}
	}
	q.Filter.PriceMin, q.Filter.PriceMax, err = priceRange(in.Price, ch.Currency)
	return q, err
}

// searchResult loads the products of the hits and shapes the result. The
// products are read from the catalog, sold on the channel, so a hit whose
// product was unpublished after the index last saw it is left out rather
// than shown.
func (r *Resolver) searchResult(ctx context.Context, q search.Query, res search.Result) (*model.SearchResult, error) {
	ids := make([]commerce.ID, len(res.Hits))
	for i, h := range res.Hits {
		ids[i] = h.ProductID
	}
	products, err := r.Catalog.FindProductsByIDs(ctx, q.ChannelID, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[commerce.ID]*catalog.Product, len(products))
	for i := range products {
		byID[products[i].ID] = &products[i]
	}
	out := &model.SearchResult{TotalCount: res.Total, PageInfo: &model.PageInfo{HasPreviousPage: q.Offset > 0}}
	for i, h := range res.Hits {
		p := byID[h.ProductID]
		if p == nil {
			continue
		}
		out.Nodes = append(out.Nodes, *p)
		out.Edges = append(out.Edges, model.SearchEdge{Cursor: encodeCursor("search", strconv.Itoa(q.Offset+i)), Node: p, Score: h.Score})
	}
	out.PageInfo.HasNextPage = q.Offset+len(res.Hits) < res.Total
	if n := len(out.Edges); n > 0 {
		out.PageInfo.StartCursor, out.PageInfo.EndCursor = &out.Edges[0].Cursor, &out.Edges[n-1].Cursor
	}
	loadersFrom(ctx).prefetchProducts(ctx, out.Nodes)

	l := loadersFrom(ctx)
	for _, f := range q.Facets {
		d := model.SearchFacet{Facet: string(f), Values: []model.SearchFacetValue{}}
		for _, v := range res.Facets[f] {
			label := v.Label
			if f == search.FacetStore {
				// The engine knows store ids; the shopper wants names.
				if id, err := commerce.ParseID("store", v.Value); err == nil {
					if loc, err := l.locations.get(ctx, id); err == nil && loc != nil {
						label = loc.Name
					}
				}
			}
			d.Values = append(d.Values, model.SearchFacetValue{Value: v.Value, Label: label, Count: v.Count})
		}
		out.Facets = append(out.Facets, d)
	}
	return out, nil
}
