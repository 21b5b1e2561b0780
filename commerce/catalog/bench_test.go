package catalog_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/catalog"
	"github.com/omnicanal/omnicanal/commerce/commercetest"
	"github.com/omnicanal/omnicanal/commerce/demo"
)

// benchSeed loads the demo catalog. Its template is shared, under the name
// "demo", with the package's tests that seed the same data.
func benchSeed(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := demo.Seed(ctx, pool)
	return err
}

// BenchmarkListingQueries measures the service calls behind one storefront
// listing of 20 products (what graph's BenchmarkProductListing runs through
// its dataloaders): the page, its variants, their prices and the products'
// price ranges, each alone, then the listing as the loaders read it ("all":
// the page, then the variants with their prices) and as they read it
// before ("all-separate": variants, prices, ranges). Against
// BenchmarkProductListing, it tells how much of a listing is the database
// and its driver, and how much is GraphQL. docs/performance.md records the
// figures.
func BenchmarkListingQueries(b *testing.B) {
	pool := commercetest.NewDB(b, commercetest.WithSeed("demo", benchSeed))
	svc := catalog.NewService(pool)
	ctx := b.Context()
	const cur = commerce.Currency("EUR")
	filter := catalog.ProductFilter{ChannelID: demo.ChannelID(demo.KeyWebEU), Currency: cur, First: 20}

	// The real inputs of each step, from the step before, checked so that
	// no step benchmarks an empty answer.
	page, err := svc.FindProducts(ctx, filter)
	if err != nil || len(page.Products) != 20 {
		b.Fatalf("FindProducts: %d products, %v; want 20", len(page.Products), err)
	}
	productIDs := make([]commerce.ID, len(page.Products))
	for i, p := range page.Products {
		productIDs[i] = p.ID
	}
	variants, err := svc.FindVariantsByProductIDs(ctx, productIDs)
	if err != nil || len(variants) < len(productIDs) {
		b.Fatalf("FindVariantsByProductIDs: %d variants, %v", len(variants), err)
	}
	variantIDs := make([]commerce.ID, len(variants))
	for i, v := range variants {
		variantIDs[i] = v.ID
	}
	if prices, err := svc.FindPricesByVariantIDs(ctx, variantIDs, cur); err != nil || len(prices) == 0 {
		b.Fatalf("FindPricesByVariantIDs: %d prices, %v", len(prices), err)
	}
	b.Logf("a listing page: %d products, %d variants", len(productIDs), len(variantIDs))

	run := func(name string, f func() error) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := f(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	run("FindProducts", func() error {
		_, err := svc.FindProducts(ctx, filter)
		return err
	})
	run("FindVariantsByProductIDs", func() error {
		_, err := svc.FindVariantsByProductIDs(ctx, productIDs)
		return err
	})
	run("FindPricesByVariantIDs", func() error {
		_, err := svc.FindPricesByVariantIDs(ctx, variantIDs, cur)
		return err
	})
	run("FindPriceRangesByProductIDs", func() error {
		_, err := svc.FindPriceRangesByProductIDs(ctx, productIDs, cur)
		return err
	})
	run("FindVariantsWithPrices", func() error {
		_, err := svc.FindVariantsWithPrices(ctx, productIDs, cur)
		return err
	})
	// The whole listing as the loaders run it: the page, then its variants
	// with their prices, the price ranges derived from them.
	run("all", func() error {
		page, err := svc.FindProducts(ctx, filter)
		if err != nil {
			return err
		}
		ids := make([]commerce.ID, len(page.Products))
		for i, p := range page.Products {
			ids[i] = p.ID
		}
		vs, err := svc.FindVariantsWithPrices(ctx, ids, cur)
		if err != nil {
			return err
		}
		if len(catalog.PriceRanges(vs)) != len(ids) {
			return fmt.Errorf("a product of the page has no price range")
		}
		return nil
	})
	// The same, the way the listing read it before FindVariantsWithPrices:
	// variants, their prices and the price ranges in three statements.
	run("all-separate", func() error {
		page, err := svc.FindProducts(ctx, filter)
		if err != nil {
			return err
		}
		ids := make([]commerce.ID, len(page.Products))
		for i, p := range page.Products {
			ids[i] = p.ID
		}
		vs, err := svc.FindVariantsByProductIDs(ctx, ids)
		if err != nil {
			return err
		}
		vids := make([]commerce.ID, len(vs))
		for i, v := range vs {
			vids[i] = v.ID
		}
		if _, err := svc.FindPricesByVariantIDs(ctx, vids, cur); err != nil {
			return err
		}
		_, err = svc.FindPriceRangesByProductIDs(ctx, ids, cur)
		return err
	})
}
