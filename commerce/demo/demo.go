// Package demo is the demo data set of Omnicanal: Maison Sentier, an invented
// French and Canadian apparel and footwear retailer with four stores, two
// warehouses, web, mobile, kiosk and POS channels, and a catalog of about 240
// products with their variants, prices in EUR and CAD and stock per location,
// filed in a category tree and a few collections, with options, attributes,
// weights, images and a publication per channel.
//
// The data is the same on every machine: it is generated from a fixed random
// seed, and every id is a name-based UUID of a natural key (see ProductID and
// friends), so the README, the docs and the tests can name a channel key, a
// product handle or a SKU and rely on it. Generate builds the data in memory
// without a database; Seed writes it.
package demo

import (
	"github.com/google/uuid"

	"github.com/omnicanal/omnicanal/commerce"
)

// namespace is the UUID namespace of every demo id. It is itself a name-based
// UUID so that it is reproducible rather than a magic constant.
var namespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/omnicanal/omnicanal/commerce/demo"))

// LocationID is the id of the demo location with the given code.
func LocationID(code string) commerce.ID { return uuid.NewSHA1(namespace, []byte("location:"+code)) }

// ChannelID is the id of the demo channel with the given publishable key.
func ChannelID(key string) commerce.ID { return uuid.NewSHA1(namespace, []byte("channel:"+key)) }

// ProductID is the id of the demo product with the given handle.
func ProductID(handle string) commerce.ID { return uuid.NewSHA1(namespace, []byte("product:"+handle)) }

// VariantID is the id of the demo variant with the given SKU.
func VariantID(sku string) commerce.ID { return uuid.NewSHA1(namespace, []byte("variant:"+sku)) }

// Data is the whole demo data set, in the order it is written.
type Data struct {
	Locations   []Location
	Channels    []Channel
	Categories  []Category // parents before children
	Collections []Collection
	Products    []Product
	// Stock has one row per variant and location (zeros included), ordered
	// by product, variant and then location as Locations lists them.
	Stock []StockLevel
}

// Generate builds the demo data set. It is deterministic: every call returns
// equal data, which the caller owns.
func Generate() *Data {
	locs, channels := Locations(), Channels()
	products, specs := generateProducts()
	publish(products, specs, channels)
	return &Data{
		Locations:   locs,
		Channels:    channels,
		Categories:  Categories(),
		Collections: generateCollections(products),
		Products:    products,
		Stock:       generateStock(products, locs),
	}
}

// Product returns the product with the given handle, or nil.
func (d *Data) Product(handle string) *Product {
	for i := range d.Products {
		if d.Products[i].Handle == handle {
			return &d.Products[i]
		}
	}
	return nil
}

// Variants returns every variant of the data set, in product order.
func (d *Data) Variants() []*Variant {
	var vs []*Variant
	for i := range d.Products {
		for j := range d.Products[i].Variants {
			vs = append(vs, &d.Products[i].Variants[j])
		}
	}
	return vs
}
