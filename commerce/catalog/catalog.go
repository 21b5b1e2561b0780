// Package catalog holds what is sold: products, their variants (the things a
// shopper actually puts in a cart, one per size and colour) and their prices.
// This first slice is read-only; writes come with the catalog management work.
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
	ID          commerce.ID `db:"id"`
	Handle      string      `db:"handle"`
	Title       string      `db:"title"`
	Description string      `db:"description"`
	Brand       string      `db:"brand"`
	ProductType string      `db:"product_type"`
	Status      Status      `db:"status"`
	CreatedAt   time.Time   `db:"created_at"`
	UpdatedAt   time.Time   `db:"updated_at"`
}

// Variant is one purchasable version of a product (a size and a colour).
type Variant struct {
	ID        commerce.ID   `db:"id"`
	ProductID commerce.ID   `db:"product_id"`
	SKU       string        `db:"sku"`
	Barcode   string        `db:"barcode"`
	Title     string        `db:"title"`
	Options   []OptionValue `db:"options"`
	Position  int           `db:"position"`
}

// OptionValue is one option of a variant, e.g. {Taille, 42}.
type OptionValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
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
