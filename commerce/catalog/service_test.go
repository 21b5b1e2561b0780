package catalog_test

import (
	"reflect"
	"testing"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/catalog"
)

// FindVariantsWithPrices gives the variants FindVariantsByProductIDs gives,
// each with the price FindPricesByVariantIDs gives in that currency, and
// PriceRanges over them the ranges FindPriceRangesByProductIDs gives: the
// listing's one statement answers what its three did.
func TestFindVariantsWithPricesMatchesSeparateReads(t *testing.T) {
	pool := demoDB(t)
	cat := catalog.NewService(pool)
	ctx := t.Context()
	page, err := cat.FindProducts(ctx, catalog.ProductFilter{ChannelID: webEU, First: 50})
	if err != nil || len(page.Products) < 20 {
		t.Fatalf("products: %d, %v", len(page.Products), err)
	}
	ids := make([]commerce.ID, len(page.Products))
	for i, p := range page.Products {
		ids[i] = p.ID
	}
	// A product priced in EUR only, to see nil prices in CAD.
	p, err := cat.CreateProduct(as(t, pool, commerce.RoleMerchandiser), newProduct("sandale-prix"), "")
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, p.ID)

	plain, err := cat.FindVariantsByProductIDs(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	variantIDs := make([]commerce.ID, len(plain))
	for i, v := range plain {
		variantIDs[i] = v.ID
	}
	for _, cur := range []commerce.Currency{"EUR", "CAD", "JPY"} {
		got, err := cat.FindVariantsWithPrices(ctx, ids, cur)
		if err != nil {
			t.Fatal(err)
		}
		prices, err := cat.FindPricesByVariantIDs(ctx, variantIDs, cur)
		if err != nil {
			t.Fatal(err)
		}
		byVariant := map[commerce.ID]catalog.Price{}
		for _, p := range prices {
			byVariant[p.VariantID] = p
		}
		if len(got) != len(plain) {
			t.Fatalf("%s: %d variants, want %d", cur, len(got), len(plain))
		}
		priced := 0
		for i, v := range got {
			want := plain[i]
			if p, ok := byVariant[want.ID]; ok {
				want.Price, want.CompareAtPrice = &p.Price, p.CompareAt
				priced++
			}
			if !reflect.DeepEqual(v, want) {
				t.Errorf("%s: variant %d is %+v, want %+v", cur, i, v, want)
			}
		}
		ranges, err := cat.FindPriceRangesByProductIDs(ctx, ids, cur)
		if err != nil {
			t.Fatal(err)
		}
		want := map[commerce.ID]catalog.PriceRange{}
		for _, r := range ranges {
			want[r.ProductID] = r
		}
		derived := map[commerce.ID]catalog.PriceRange{}
		for _, r := range catalog.PriceRanges(got) {
			derived[r.ProductID] = r
		}
		if !reflect.DeepEqual(derived, want) {
			t.Errorf("%s: derived price ranges %v, want %v", cur, derived, want)
		}
		t.Logf("%s: %d of %d variants priced, %d price ranges", cur, priced, len(got), len(want))
		if cur == "EUR" && priced < len(got)-2 || cur == "JPY" && priced != 0 {
			t.Errorf("%s: %d of %d variants priced: not the case this test is for", cur, priced, len(got))
		}
	}
}
