package catalog

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/internal/db"
)

// Service reads the catalog.
type Service struct {
	pool *pgxpool.Pool
}

// NewService returns a catalog service over pool.
func NewService(pool *pgxpool.Pool) *Service { return &Service{pool: pool} }

const productColumnsP = `p.id, p.handle, p.title, p.description, p.brand, p.product_type, p.status,
	p.attributes, p.version, p.created_at, p.updated_at`

// published is the condition every public read of one product adds: the
// product is active and published on the channel in $1.
const published = `p.status = 'active' AND EXISTS (
	SELECT 1 FROM product_publications pub WHERE pub.product_id = p.id AND pub.channel_id = $1)`

// FindProductByHandle returns the product with that handle when it is sold
// on the channel; otherwise NOT_FOUND, whether it does not exist, is not
// active or is not published there.
func (s *Service) FindProductByHandle(ctx context.Context, channelID commerce.ID, handle string) (*Product, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+productColumnsP+` FROM products p WHERE `+published+` AND p.handle = $2`, channelID, handle)
	p, err := db.One[Product](rows, err, "product")
	if err != nil {
		return nil, fmt.Errorf("catalog.FindProductByHandle: %w", err)
	}
	return &p, nil
}

// FindProductByID is FindProductByHandle by id.
func (s *Service) FindProductByID(ctx context.Context, channelID, id commerce.ID) (*Product, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+productColumnsP+` FROM products p WHERE `+published+` AND p.id = $2`, channelID, id)
	p, err := db.One[Product](rows, err, "product")
	if err != nil {
		return nil, fmt.Errorf("catalog.FindProductByID: %w", err)
	}
	return &p, nil
}

// FindProductsByIDs returns the products with these ids that are sold on
// the channel, in no particular order.
func (s *Service) FindProductsByIDs(ctx context.Context, channelID commerce.ID, ids []commerce.ID) ([]Product, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+productColumnsP+` FROM products p WHERE `+published+` AND p.id = ANY($2)`, channelID, ids)
	ps, err := db.All[Product](rows, err)
	if err != nil {
		return nil, fmt.Errorf("catalog.FindProductsByIDs: %w", err)
	}
	return ps, nil
}

// VariantCode names a variant by SKU or by barcode, as a till scans it.
type VariantCode struct {
	SKU, Barcode string
}

// FindVariant returns the variant with that SKU or barcode when its product
// is sold on the channel.
func (s *Service) FindVariant(ctx context.Context, channelID commerce.ID, code VariantCode) (*Variant, error) {
	var col, val string
	switch {
	case code.SKU != "" && code.Barcode == "":
		col, val = "v.sku", code.SKU
	case code.Barcode != "" && code.SKU == "":
		col, val = "v.barcode", code.Barcode
	default:
		return nil, commerce.InvalidInput("sku", "give either a SKU or a barcode")
	}
	rows, err := s.pool.Query(ctx, `SELECT `+variantColumns+` FROM variants v JOIN products p ON p.id = v.product_id
		WHERE `+published+` AND `+col+` = $2`, channelID, val)
	v, err := db.One[Variant](rows, err, "variant")
	if err != nil {
		return nil, fmt.Errorf("catalog.FindVariant: %w", err)
	}
	return &v, nil
}

// ProductPage is one page of products, each with the cursor that resumes
// the listing after it.
type ProductPage struct {
	Products []Product
	Cursors  []string
	HasNext  bool
}

// FindProducts returns a page of the products f selects. Pagination is by
// key (the sort value and the id), not offset, so pages stay stable and
// cheap however deep a client goes.
func (s *Service) FindProducts(ctx context.Context, f ProductFilter) (ProductPage, error) {
	if err := f.Validate(); err != nil {
		return ProductPage{}, err
	}
	after, err := decodeCursor(f.After, f.Sort)
	if err != nil {
		return ProductPage{}, err
	}
	q := newListingQuery(&f)
	rows, err := s.pool.Query(ctx, q.page(&f, after), q.args...)
	if err != nil {
		return ProductPage{}, fmt.Errorf("catalog.FindProducts: %w", err)
	}
	type listed struct {
		Product
		SortKey string `db:"sort_key"`
	}
	items, err := pgx.CollectRows(rows, pgx.RowToStructByName[listed])
	if err != nil {
		return ProductPage{}, fmt.Errorf("catalog.FindProducts: %w", err)
	}
	// One extra row tells whether another page follows.
	page := ProductPage{HasNext: len(items) > f.First}
	items = items[:min(len(items), f.First)]
	page.Products = make([]Product, len(items))
	page.Cursors = make([]string, len(items))
	for i, it := range items {
		page.Products[i] = it.Product
		page.Cursors[i] = cursor{Sort: f.Sort, Key: it.SortKey, ID: it.ID.String()}.encode()
	}
	return page, nil
}

// CountProducts counts the products f selects (its paging is ignored).
func (s *Service) CountProducts(ctx context.Context, f ProductFilter) (int, error) {
	if err := f.Validate(); err != nil {
		return 0, err
	}
	q := newListingQuery(&f)
	var n int
	if err := s.pool.QueryRow(ctx, q.count(), q.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("catalog.CountProducts: %w", err)
	}
	return n, nil
}

const variantColumns = `v.id, v.product_id, v.sku, v.barcode, v.title, v.options, v.weight_grams, v.position`

// FindVariantsByProductIDs returns the variants of the given products, in
// position order within each product.
func (s *Service) FindVariantsByProductIDs(ctx context.Context, productIDs []commerce.ID) ([]Variant, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+variantColumns+` FROM variants v
		WHERE v.product_id = ANY($1) ORDER BY v.product_id, v.position, v.sku`, productIDs)
	vs, err := db.All[Variant](rows, err)
	if err != nil {
		return nil, fmt.Errorf("catalog.FindVariantsByProductIDs: %w", err)
	}
	return vs, nil
}

// FindVariantsWithPrices is FindVariantsByProductIDs with each variant's
// price in cur joined in (Variant.Price and CompareAtPrice, nil when it has
// none in cur): a storefront shows variants with their prices, and one
// statement costs Postgres less than a second one over hundreds of
// variant ids. PriceRanges derives the products' price ranges from them.
func (s *Service) FindVariantsWithPrices(ctx context.Context, productIDs []commerce.ID, cur commerce.Currency) ([]Variant, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+variantColumns+`, vp.amount, vp.compare_at_amount
		FROM variants v LEFT JOIN variant_prices vp ON vp.variant_id = v.id AND vp.currency_code = $2
		WHERE v.product_id = ANY($1) ORDER BY v.product_id, v.position, v.sku`, productIDs, string(cur))
	if err != nil {
		return nil, fmt.Errorf("catalog.FindVariantsWithPrices: %w", err)
	}
	defer rows.Close()
	// Scanned by position rather than by name (db.All): a listing reads
	// hundreds of variants, and the reflection per row showed in profiles.
	var (
		vs                []Variant
		amount, compareAt *int64
		options           optionReader
	)
	for rows.Next() {
		var v Variant
		// The options (column 5) are decoded from the raw column.
		if err := rows.Scan(&v.ID, &v.ProductID, &v.SKU, &v.Barcode, &v.Title, nil, &v.WeightGrams, &v.Position,
			&amount, &compareAt); err != nil {
			return nil, fmt.Errorf("catalog.FindVariantsWithPrices: %w", err)
		}
		if v.Options, err = options.readColumn(rows, 5); err != nil {
			return nil, fmt.Errorf("catalog.FindVariantsWithPrices: %w", err)
		}
		if amount != nil {
			v.Price = &commerce.Money{Amount: *amount, Currency: cur}
		}
		if compareAt != nil {
			v.CompareAtPrice = &commerce.Money{Amount: *compareAt, Currency: cur}
		}
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog.FindVariantsWithPrices: %w", err)
	}
	return vs, nil
}

// PriceRanges returns, per product, the lowest and highest Price of the
// given variants, which must be every variant of those products and carry
// their prices in one currency (FindVariantsWithPrices): the same answer
// as FindPriceRangesByProductIDs, without a statement. Products without a
// priced variant are left out.
func PriceRanges(vs []Variant) []PriceRange {
	var out []PriceRange
	at := map[commerce.ID]int{}
	for _, v := range vs {
		if v.Price == nil {
			continue
		}
		i, ok := at[v.ProductID]
		if !ok {
			at[v.ProductID] = len(out)
			out = append(out, PriceRange{ProductID: v.ProductID, Min: *v.Price, Max: *v.Price})
			continue
		}
		r := &out[i]
		if v.Price.Amount < r.Min.Amount {
			r.Min = *v.Price
		}
		if v.Price.Amount > r.Max.Amount {
			r.Max = *v.Price
		}
	}
	return out
}

// FindOptionsByProductIDs returns the option definitions of the products,
// in display order within each product.
func (s *Service) FindOptionsByProductIDs(ctx context.Context, productIDs []commerce.ID) ([]Option, error) {
	rows, err := s.pool.Query(ctx, `SELECT product_id, position, name, "values" FROM product_options
		WHERE product_id = ANY($1) ORDER BY product_id, position`, productIDs)
	os, err := db.All[Option](rows, err)
	if err != nil {
		return nil, fmt.Errorf("catalog.FindOptionsByProductIDs: %w", err)
	}
	return os, nil
}

// FindMediaByProductIDs returns the images of the products, in display order.
func (s *Service) FindMediaByProductIDs(ctx context.Context, productIDs []commerce.ID) ([]Media, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, product_id, position, url, alt FROM product_media
		WHERE product_id = ANY($1) ORDER BY product_id, position`, productIDs)
	ms, err := db.All[Media](rows, err)
	if err != nil {
		return nil, fmt.Errorf("catalog.FindMediaByProductIDs: %w", err)
	}
	return ms, nil
}

// FindCategoryLinksByProductIDs returns which categories the products are in.
func (s *Service) FindCategoryLinksByProductIDs(ctx context.Context, productIDs []commerce.ID) ([]ProductCategory, error) {
	rows, err := s.pool.Query(ctx, `SELECT product_id, category_id FROM product_categories
		WHERE product_id = ANY($1) ORDER BY product_id, category_id`, productIDs)
	links, err := db.All[ProductCategory](rows, err)
	if err != nil {
		return nil, fmt.Errorf("catalog.FindCategoryLinksByProductIDs: %w", err)
	}
	return links, nil
}

// FindCategories returns the whole category tree as a list, parents before
// children, siblings by position then name. Categories are tens, not
// thousands, so callers index them in memory.
func (s *Service) FindCategories(ctx context.Context) ([]Category, error) {
	rows, err := s.pool.Query(ctx, `WITH RECURSIVE tree AS (
			SELECT c.*, ARRAY[c.position::text || c.name] AS path FROM categories c WHERE parent_id IS NULL
			UNION ALL
			SELECT c.*, tree.path || (c.position::text || c.name) FROM categories c JOIN tree ON c.parent_id = tree.id)
		SELECT id, parent_id, handle, name, position FROM tree ORDER BY path`)
	cs, err := db.All[Category](rows, err)
	if err != nil {
		return nil, fmt.Errorf("catalog.FindCategories: %w", err)
	}
	return cs, nil
}

// FindCollection returns the collection with that handle or id.
func (s *Service) FindCollection(ctx context.Context, id *commerce.ID, handle string) (*Collection, error) {
	if (id == nil) == (handle == "") {
		return nil, commerce.InvalidInput("handle", "give either a handle or an id")
	}
	rows, err := s.pool.Query(ctx, `SELECT id, handle, title, description FROM collections
		WHERE ($1::uuid IS NOT NULL AND id = $1) OR ($1::uuid IS NULL AND handle = $2)`, id, handle)
	c, err := db.One[Collection](rows, err, "collection")
	if err != nil {
		return nil, fmt.Errorf("catalog.FindCollection: %w", err)
	}
	return &c, nil
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
