package demo

import (
	"cmp"
	"slices"

	"github.com/google/uuid"

	"github.com/omnicanal/omnicanal/commerce"
)

// Handles of the demo collections.
const (
	// CollectionNew holds the two latest models of each product type.
	CollectionNew = "nouveautes"
	// CollectionWinterSale holds every active product on sale, biggest
	// discount first; HandleOnSale is one of them.
	CollectionWinterSale = "soldes-d-hiver"
	// CollectionRunning holds the active products whose AttrActivity is
	// ActivityRunning: running shoes first, then clothing and socks.
	CollectionRunning = "running"
	// CollectionMadeInFrance holds the active products whose AttrMadeIn is
	// MadeInFrance.
	CollectionMadeInFrance = "made-in-france"
)

// CollectionID is the id of the demo collection with the given handle.
func CollectionID(handle string) commerce.ID {
	return uuid.NewSHA1(namespace, []byte("collection:"+handle))
}

// Collection is one demo collection, as stored in collections, with its
// products in collection_products order (positions from 1).
type Collection struct {
	ID          commerce.ID
	Handle      string
	Title       string
	Description string
	Products    []string // handles
}

// generateCollections derives the collections from the catalog. Only active
// products are picked, as a merchandiser would; whether a channel shows a
// product of a collection is still up to the product's publication.
func generateCollections(products []Product) []Collection {
	var active []*Product
	for i := range products {
		if products[i].Status == "active" {
			active = append(active, &products[i])
		}
	}
	handles := func(ps []*Product) []string {
		hs := make([]string, len(ps))
		for i, p := range ps {
			hs[i] = p.Handle
		}
		return hs
	}

	// The catalog has no launch dates (products share the seed's
	// created_at), so the latest models of a type are the last ones
	// generated. Taking them type by type, round robin, keeps the first page
	// of the collection varied.
	const perType = 2
	var latest [perType][]*Product
	for _, c := range categories {
		var ofType []*Product
		for _, p := range active {
			if p.ProductType == c.productType {
				ofType = append(ofType, p)
			}
		}
		for i := range perType {
			if j := len(ofType) - 1 - i; j >= 0 {
				latest[i] = append(latest[i], ofType[j])
			}
		}
	}
	var newest []*Product
	for _, l := range latest {
		newest = append(newest, l...)
	}

	var sale []*Product
	for _, p := range active {
		if p.Variants[0].Prices[0].CompareAtAmount != 0 {
			sale = append(sale, p)
		}
	}
	// Stable, so equal discounts keep catalog order.
	slices.SortStableFunc(sale, func(a, b *Product) int { return cmp.Compare(discount(b), discount(a)) })

	var run, france []*Product
	for _, p := range active {
		if p.Attributes[AttrActivity] == ActivityRunning {
			run = append(run, p)
		}
		if p.Attributes[AttrMadeIn] == MadeInFrance {
			france = append(france, p)
		}
	}

	cs := []Collection{
		{
			Handle: CollectionNew, Title: "Nouveautés",
			Description: "Les derniers modèles arrivés, en ligne et en boutique.",
			Products:    handles(newest),
		},
		{
			Handle: CollectionWinterSale, Title: "Soldes d'hiver",
			Description: "Jusqu'à -50 % sur une sélection de chaussures, de vêtements et d'accessoires.",
			Products:    handles(sale),
		},
		{
			Handle: CollectionRunning, Title: "Running",
			Description: "Chaussures, vêtements et chaussettes pour courir sur la route et les sentiers.",
			Products:    handles(run),
		},
		{
			Handle: CollectionMadeInFrance, Title: "Made in France",
			Description: "Pulls marins, espadrilles et pièces tricotées ou fabriquées en France.",
			Products:    handles(france),
		},
	}
	for i := range cs {
		cs[i].ID = CollectionID(cs[i].Handle)
	}
	return cs
}

// discount is a product's discount in percent of its former EUR price.
func discount(p *Product) int64 {
	pr := p.Variants[0].Prices[0]
	return (pr.CompareAtAmount - pr.Amount) * 100 / pr.CompareAtAmount
}
