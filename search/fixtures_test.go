package search

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/demo"
)

// The fixtures are search documents made from the demo catalog, as the
// indexer would make them, with a few twists to exercise the edge cases.

var (
	chWebEU      = demo.ChannelID(demo.KeyWebEU)
	chWebCA      = demo.ChannelID(demo.KeyWebCA)
	chKioskParis = demo.ChannelID(demo.KeyKioskParis)
	// chNowhere is a channel no document is published on.
	chNowhere = uuid.NewSHA1(uuid.NameSpaceURL, []byte("search-test:channel:nowhere"))

	storeParis = demo.LocationID(demo.CodeParis)
	storeLyon  = demo.LocationID(demo.CodeLyon)

	runningShoeID = demo.ProductID(demo.HandleRunningShoe)
	// prototypeID is a running shoe published on the Canadian web channel
	// only: no other channel may ever see it.
	prototypeID = uuid.NewSHA1(uuid.NameSpaceURL, []byte("search-test:product:prototype"))
	// unpublishedID is in the index but published nowhere.
	unpublishedID = demo.ProductID(demo.HandleDraft)

	fixtureEpoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
)

func categoryID(name string) commerce.ID {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("search-test:category:"+name))
}

func collectionID(name string) commerce.ID {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("search-test:collection:"+name))
}

var (
	catFootwear = Category{categoryID("Chaussures"), "Chaussures"}
	catApparel  = Category{categoryID("Vêtements"), "Vêtements"}
	collSale    = collectionID("Soldes")
	collNew     = collectionID("Nouveautés")
)

// parentCategory files the demo product types under two roots.
var parentCategory = map[string]*Category{
	"Chaussures de course": &catFootwear, "Baskets": &catFootwear, "Bottes": &catFootwear, "Sandales": &catFootwear,
	"Vestes": &catApparel, "Pulls": &catApparel, "T-shirts": &catApparel, "Chemises": &catApparel,
	"Jeans": &catApparel, "Pantalons": &catApparel,
}

// fixtureDocs returns the documents of the demo catalog's active products,
// plus one unpublished draft and one product only the Canadian web channel
// sells. Every fourth active product is not sold on kiosks and tills, and
// every tenth has no CAD price (yet is published in Canada: it must sort
// last and escape the price filter there).
func fixtureDocs() []Document {
	d := demo.Generate()
	stores := map[commerce.ID]bool{}
	for _, l := range d.Locations {
		if l.Kind == "store" {
			stores[l.ID] = true
		}
	}
	stocked := map[commerce.ID]map[commerce.ID]bool{} // variant → stores with stock
	for _, s := range d.Stock {
		if s.OnHand > 0 && stores[s.LocationID] {
			if stocked[s.VariantID] == nil {
				stocked[s.VariantID] = map[commerce.ID]bool{}
			}
			stocked[s.VariantID][s.LocationID] = true
		}
	}
	var all, storeChannels []commerce.ID
	for _, c := range d.Channels {
		all = append(all, c.ID)
		if c.StoreCode != "" {
			storeChannels = append(storeChannels, c.ID)
		}
	}

	var docs []Document
	active := 0
	for i, p := range d.Products {
		doc := Document{
			ProductID:   p.ID,
			Handle:      p.Handle,
			Title:       p.Title,
			Description: p.Description,
			Brand:       p.Brand,
			ProductType: p.ProductType,
			Categories:  []Category{{categoryID(p.ProductType), p.ProductType}},
			Options:     map[string][]string{},
			Prices:      map[commerce.Currency]PriceRange{},
			CreatedAt:   fixtureEpoch.Add(time.Duration(i) * time.Hour),
			Version:     1,
		}
		if parent := parentCategory[p.ProductType]; parent != nil {
			doc.Categories = append(doc.Categories, *parent)
		}
		onSale := false
		for _, v := range p.Variants {
			for _, o := range v.Options {
				if !slices.Contains(doc.Options[o.Name], o.Value) {
					doc.Options[o.Name] = append(doc.Options[o.Name], o.Value)
				}
			}
			for _, pr := range v.Prices {
				r, ok := doc.Prices[pr.Currency]
				if !ok {
					r = PriceRange{pr.Amount, pr.Amount}
				}
				r.Min, r.Max = min(r.Min, pr.Amount), max(r.Max, pr.Amount)
				doc.Prices[pr.Currency] = r
				onSale = onSale || pr.CompareAtAmount > 0
			}
			for s := range stocked[v.ID] {
				if !slices.Contains(doc.StoreIDs, s) {
					doc.StoreIDs = append(doc.StoreIDs, s)
				}
			}
		}
		if onSale {
			doc.CollectionIDs = append(doc.CollectionIDs, collSale)
		}
		if i >= len(d.Products)-20 {
			doc.CollectionIDs = append(doc.CollectionIDs, collNew)
		}
		switch {
		case p.ID == unpublishedID:
			// In the index, published nowhere.
		case p.Status != "active":
			continue
		default:
			active++
			doc.ChannelIDs = all
			if active%4 == 0 {
				doc.ChannelIDs = slices.DeleteFunc(slices.Clone(all), func(id commerce.ID) bool { return slices.Contains(storeChannels, id) })
			}
			if active%10 == 0 {
				delete(doc.Prices, "CAD")
			}
		}
		docs = append(docs, doc)
	}
	docs = append(docs, Document{
		ProductID:   prototypeID,
		Handle:      "chaussure-de-course-elan-prototype",
		Title:       "Chaussure de course Élan Prototype",
		Description: "Un prototype vendu en avant-première au Canada.",
		Brand:       "Pas Léger",
		ProductType: "Chaussures de course",
		Categories:  []Category{{categoryID("Chaussures de course"), "Chaussures de course"}, catFootwear},
		Options:     map[string][]string{"Couleur": {"Noir"}, "Taille": {"42"}},
		Prices:      map[commerce.Currency]PriceRange{"EUR": {19999, 19999}, "CAD": {28999, 28999}},
		StoreIDs:    []commerce.ID{storeParis},
		ChannelIDs:  []commerce.ID{chWebCA},
		CreatedAt:   fixtureEpoch.Add(-time.Hour),
		Version:     1,
	})
	return docs
}

// The reference implementation below answers filter-only queries (no text)
// from the documents in Go, independently of any engine, so that tests can
// compare what an engine returns with what it should.

// refPrice is a document's price in c: its lowest variant price.
func refPrice(d *Document, c commerce.Currency) (int64, bool) {
	p, ok := d.Prices[c]
	return p.Min, ok
}

// refMatches tells whether d matches q's channel and every filter except
// the one tied to facet except.
func refMatches(d *Document, q *Query, except Facet) bool {
	if !slices.Contains(d.ChannelIDs, q.ChannelID) {
		return false
	}
	f := &q.Filter
	if len(f.CategoryIDs) > 0 && except != FacetCategory &&
		!slices.ContainsFunc(d.Categories, func(c Category) bool { return slices.Contains(f.CategoryIDs, c.ID) }) {
		return false
	}
	if len(f.CollectionIDs) > 0 && !slices.ContainsFunc(d.CollectionIDs, func(id commerce.ID) bool { return slices.Contains(f.CollectionIDs, id) }) {
		return false
	}
	if len(f.Brands) > 0 && except != FacetBrand && !slices.Contains(f.Brands, d.Brand) {
		return false
	}
	for name, want := range f.Options {
		if len(want) > 0 && except != OptionFacet(name) &&
			!slices.ContainsFunc(d.Options[name], func(v string) bool { return slices.Contains(want, v) }) {
			return false
		}
	}
	if (f.PriceMin != nil || f.PriceMax != nil) && except != FacetPrice {
		p, ok := refPrice(d, q.Currency)
		if !ok || (f.PriceMin != nil && p < *f.PriceMin) || (f.PriceMax != nil && p > *f.PriceMax) {
			return false
		}
	}
	if f.InStoreID != nil && except != FacetStore && !slices.Contains(d.StoreIDs, *f.InStoreID) {
		return false
	}
	return true
}

// refSearch returns every hit of a text-less query in order, and the facets.
func refSearch(docs []Document, q Query) ([]commerce.ID, map[Facet][]FacetValue) {
	var hits []*Document
	for i := range docs {
		if refMatches(&docs[i], &q, "") {
			hits = append(hits, &docs[i])
		}
	}
	newest := func(a, b *Document) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), compareIDs(b.ProductID, a.ProductID))
	}
	byPrice := func(a, b *Document, desc bool) int {
		pa, oka := refPrice(a, q.Currency)
		pb, okb := refPrice(b, q.Currency)
		switch {
		case oka != okb:
			if oka {
				return -1
			}
			return 1
		case pa != pb && desc:
			return cmp.Compare(pb, pa)
		case pa != pb:
			return cmp.Compare(pa, pb)
		}
		return newest(a, b)
	}
	slices.SortFunc(hits, func(a, b *Document) int {
		switch q.Sort {
		case SortPriceAsc:
			return byPrice(a, b, false)
		case SortPriceDesc:
			return byPrice(a, b, true)
		}
		return newest(a, b)
	})
	ids := make([]commerce.ID, len(hits))
	for i, d := range hits {
		ids[i] = d.ProductID
	}

	facets := map[Facet][]FacetValue{}
	for _, f := range q.Facets {
		counts := map[string]int{}
		labels := map[string]string{}
		var prices []int
		var buckets []PriceBucket
		if f == FacetPrice {
			buckets = PriceBuckets(q.Currency)
			prices = make([]int, len(buckets))
		}
		for i := range docs {
			d := &docs[i]
			if !refMatches(d, &q, f) {
				continue
			}
			name, isOption := f.Option()
			switch {
			case f == FacetBrand && d.Brand != "":
				counts[d.Brand]++
				labels[d.Brand] = d.Brand
			case f == FacetCategory:
				for _, c := range d.Categories {
					counts[c.ID.String()]++
					labels[c.ID.String()] = c.Name
				}
			case f == FacetStore:
				for _, s := range d.StoreIDs {
					counts[s.String()]++
					labels[s.String()] = ""
				}
			case f == FacetPrice:
				if p, ok := refPrice(d, q.Currency); ok {
					prices[priceBucketOf(buckets, p)]++
				}
			case isOption:
				for _, v := range d.Options[name] {
					counts[v]++
					labels[v] = v
				}
			}
		}
		if f == FacetPrice {
			facets[f] = priceFacetValues(buckets, prices)
			continue
		}
		vs := []FacetValue{}
		for v, n := range counts {
			vs = append(vs, FacetValue{Value: v, Label: labels[v], Count: n})
		}
		sortFacetValues(vs)
		facets[f] = vs
	}
	return ids, facets
}

// docsWhere returns the documents published on channel whose title contains s.
func docsWhere(docs []Document, channel commerce.ID, s string) []commerce.ID {
	var ids []commerce.ID
	for _, d := range docs {
		if slices.Contains(d.ChannelIDs, channel) && strings.Contains(strings.ToLower(d.Title), s) {
			ids = append(ids, d.ProductID)
		}
	}
	return ids
}
