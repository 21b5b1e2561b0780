package catalog

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/internal/db"
)

// MaxPageSize caps how many products one page may hold.
const MaxPageSize = 100

// Service reads the catalog.
type Service struct {
	pool *pgxpool.Pool
}

// NewService returns a catalog service over pool.
func NewService(pool *pgxpool.Pool) *Service { return &Service{pool: pool} }

const productColumns = `id, handle, title, description, brand, product_type, status, created_at, updated_at`

// FindProductByHandle returns the active product with that handle.
func (s *Service) FindProductByHandle(ctx context.Context, handle string) (*Product, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+productColumns+` FROM products
		WHERE handle = $1 AND status = 'active'`, handle)
	p, err := db.One[Product](rows, err, "product")
	if err != nil {
		return nil, fmt.Errorf("catalog.FindProductByHandle: %w", err)
	}
	return &p, nil
}

// ProductFilter selects a page of active products ordered by handle.
type ProductFilter struct {
	First int    // page size, 1..MaxPageSize
	After string // handle of the last product of the previous page ("" = first page)
}

// Validate checks the page size.
func (f ProductFilter) Validate() error {
	if f.First < 0 || f.First > MaxPageSize {
		return commerce.InvalidInput("first", "first must be between 0 and %d", MaxPageSize)
	}
	return nil
}

// ProductPage is one page of products.
type ProductPage struct {
	Products []Product
	HasNext  bool
}

// FindProducts returns a page of active products. Pagination is by key (the
// handle), not offset, so pages stay stable and cheap however deep a client goes.
func (s *Service) FindProducts(ctx context.Context, f ProductFilter) (ProductPage, error) {
	if err := f.Validate(); err != nil {
		return ProductPage{}, err
	}
	// One extra row tells whether another page follows.
	rows, err := s.pool.Query(ctx, `SELECT `+productColumns+` FROM products
		WHERE status = 'active' AND handle > $1
		ORDER BY handle LIMIT $2`, f.After, f.First+1)
	ps, err := db.All[Product](rows, err)
	if err != nil {
		return ProductPage{}, fmt.Errorf("catalog.FindProducts: %w", err)
	}
	page := ProductPage{Products: ps}
	if len(ps) > f.First {
		page.Products, page.HasNext = ps[:f.First], true
	}
	return page, nil
}

// CountProducts counts the active products.
func (s *Service) CountProducts(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM products WHERE status = 'active'`).Scan(&n); err != nil {
		return 0, fmt.Errorf("catalog.CountProducts: %w", err)
	}
	return n, nil
}

// FindVariantsByProductIDs returns the variants of the given products, in
// position order within each product.
func (s *Service) FindVariantsByProductIDs(ctx context.Context, productIDs []commerce.ID) ([]Variant, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, product_id, sku, barcode, title, options, position
		FROM variants WHERE product_id = ANY($1) ORDER BY product_id, position, sku`, productIDs)
	vs, err := db.All[Variant](rows, err)
	if err != nil {
		return nil, fmt.Errorf("catalog.FindVariantsByProductIDs: %w", err)
	}
	return vs, nil
}

// FindPricesByVariantIDs returns the prices of the given variants in one
// currency; a variant without a price in it is left out.
func (s *Service) FindPricesByVariantIDs(ctx context.Context, variantIDs []commerce.ID, cur commerce.Currency) ([]Price, error) {
	rows, err := s.pool.Query(ctx, `SELECT variant_id, amount, compare_at_amount
		FROM variant_prices WHERE variant_id = ANY($1) AND currency_code = $2`, variantIDs, string(cur))
	if err != nil {
		return nil, fmt.Errorf("catalog.FindPricesByVariantIDs: %w", err)
	}
	prices, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Price, error) {
		var (
			p         = Price{Price: commerce.Money{Currency: cur}}
			compareAt *int64
		)
		err := row.Scan(&p.VariantID, &p.Price.Amount, &compareAt)
		if compareAt != nil {
			p.CompareAt = &commerce.Money{Amount: *compareAt, Currency: cur}
		}
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("catalog.FindPricesByVariantIDs: %w", err)
	}
	return prices, nil
}

// FindPriceRangesByProductIDs returns, per product, the lowest and highest
// price of its variants in one currency; products without any price in that
// currency are left out.
func (s *Service) FindPriceRangesByProductIDs(ctx context.Context, productIDs []commerce.ID, cur commerce.Currency) ([]PriceRange, error) {
	rows, err := s.pool.Query(ctx, `SELECT v.product_id, min(p.amount), max(p.amount)
		FROM variants v JOIN variant_prices p ON p.variant_id = v.id AND p.currency_code = $2
		WHERE v.product_id = ANY($1) GROUP BY v.product_id`, productIDs, string(cur))
	if err != nil {
		return nil, fmt.Errorf("catalog.FindPriceRangesByProductIDs: %w", err)
	}
	ranges, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (PriceRange, error) {
		r := PriceRange{Min: commerce.Money{Currency: cur}, Max: commerce.Money{Currency: cur}}
		err := row.Scan(&r.ProductID, &r.Min.Amount, &r.Max.Amount)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("catalog.FindPriceRangesByProductIDs: %w", err)
	}
	return ranges, nil
}
