package model

import "github.com/omnicanal/omnicanal/commerce/catalog"

// ProductConnection is a page of products. It keeps the filter that made it
// so that totalCount, asked for or not, costs a count only when selected.
type ProductConnection struct {
	Edges    []ProductEdge     `json:"edges"`
	Nodes    []catalog.Product `json:"nodes"`
	PageInfo *PageInfo         `json:"pageInfo"`
	Filter   catalog.ProductFilter
}

// SearchResult is a page of search hits with the facets asked for.
type SearchResult struct {
	TotalCount int               `json:"totalCount"`
	Edges      []SearchEdge      `json:"edges"`
	Nodes      []catalog.Product `json:"nodes"`
	PageInfo   *PageInfo         `json:"pageInfo"`
	Facets     []SearchFacet     `json:"facets"`
}
