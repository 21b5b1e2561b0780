// Package catalog holds what is sold: products, their variants (the things a
// shopper actually puts in a cart, one per size and colour), prices, options,
// categories, collections, media, and on which channels each product is sold.
//
// Every public read takes the caller's channel and returns only products
// that are active and published on it: a kiosk never sees what only the web
// sells. Staff reads and writes come with catalog management.
package catalog

import (
	"time"

	"github.com/omnicanal/omnicanal/commerce"
)

// Status is a product's lifecycle state. Only active products are sold.
type Status string

const (
	Draft    Status = "draft"
	Active   Status = "active"
	Archived Status = "archived"
)

// Product is a sellable item with one or more variants.
type Product struct {
	ID          commerce.ID       `db:"id"`
	Handle      string            `db:"handle"`
	Title       string            `db:"title"`
	Description string            `db:"description"`
	Brand       string            `db:"brand"`
	ProductType string            `db:"product_type"`
	Status      Status            `db:"status"`
	Attributes  map[string]string `db:"attributes"`
	// Version grows with every change that shows in the product's search
	// document, so that an index never replaces a newer one with an older.
	Version   int64     `db:"version"`
	CreatedAt time.Time `db:"created_at"`
	UpdatedAt time.Time `db:"updated_at"`
}

// Variant is one purchasable version of a product (a size and a colour).
type Variant struct {
	ID          commerce.ID   `db:"id"`
	ProductID   commerce.ID   `db:"product_id"`
	SKU         string        `db:"sku"`
	Barcode     string        `db:"barcode"`
	Title       string        `db:"title"`
	Options     []OptionValue `db:"options"`
	WeightGrams *int          `db:"weight_grams"`
	Position    int           `db:"position"`

	// Price and CompareAtPrice are the variant's price in one currency and
	// its former price there when it is on sale, filled by the reads that
	// join prices in (FindVariantsWithPrices). They are nil when the
	// variant has no price in that currency, and always nil from the reads
	// that do not (FindVariantsByProductIDs, FindVariant).
	Price          *commerce.Money `db:"-"`
	CompareAtPrice *commerce.Money `db:"-"`
}

// OptionValue is one option of a variant, e.g. {Taille, 42}.
type OptionValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Option is an option a product comes in, with its values in display order.
type Option struct {
	ProductID commerce.ID `db:"product_id"`
	Position  int         `db:"position"`
	Name      string      `db:"name"`
	Values    []string    `db:"values"`
}

// Category is a node of the category tree.
type Category struct {
	ID       commerce.ID  `db:"id"`
	ParentID *commerce.ID `db:"parent_id"`
	Handle   string       `db:"handle"`
	Name     string       `db:"name"`
	Position int          `db:"position"`
}

// Collection is a hand-picked, ordered selection of products.
type Collection struct {
	ID          commerce.ID `db:"id"`
	Handle      string      `db:"handle"`
	Title       string      `db:"title"`
	Description string      `db:"description"`
}

// Media is an image of a product.
type Media struct {
	ID        commerce.ID `db:"id"`
	ProductID commerce.ID `db:"product_id"`
	Position  int         `db:"position"`
	URL       string      `db:"url"`
	Alt       string      `db:"alt"`
}

// Price is a variant's price in one currency.
type Price struct {
	VariantID commerce.ID
	Price     commerce.Money
	// CompareAt is the former price shown struck through, when on sale.
	CompareAt *commerce.Money
}

// PriceRange is the lowest and highest variant price of a product.
type PriceRange struct {
	ProductID commerce.ID
	Min, Max  commerce.Money
}

// ProductCategory links a product to one of its categories.
type ProductCategory struct {
	ProductID  commerce.ID `db:"product_id"`
	CategoryID commerce.ID `db:"category_id"`
}
