package graph_test

import (
	"encoding/json"
	"reflect"
	"strconv"
	"testing"

	"github.com/omnicanal/omnicanal/commerce/demo"
)

const productsQuery = `query Products($first: Int, $after: String) {
  products(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges {
      cursor
      node {
        id handle title brand productType
        priceRange { minVariantPrice { amount currencyCode } maxVariantPrice { amount currencyCode } }
        variants(first: 3) {
          id sku barcode title
          selectedOptions { name value }
          price { amount currencyCode }
          compareAtPrice { amount currencyCode }
          quantityAvailable
          storeAvailability { store { code } quantityAvailable }
        }
      }
    }
  }
}`

func TestProductsFirstPage(t *testing.T) {
	s := newServer(t, services(demoDB(t)))
	r := s.post(t, demo.KeyWebEU, productsQuery, map[string]any{"first": 3}).ok(t)
	golden(t, "products_first_page.json", r.Raw)
}

func TestPricesFollowTheChannelCurrency(t *testing.T) {
	s := newServer(t, services(demoDB(t)))
	const q = `{ channel { currencyCode } products(first: 5) { nodes { priceRange { minVariantPrice { currencyCode } } variants { price { currencyCode } } } } }`
	for key, want := range map[string]string{demo.KeyWebEU: "EUR", demo.KeyWebCA: "CAD", demo.KeyKioskMontreal: "CAD", demo.KeyPOSLyon: "EUR"} {
		r := s.post(t, key, q, nil).ok(t)
		var got struct {
			Channel  struct{ CurrencyCode string }
			Products struct {
				Nodes []struct {
					PriceRange struct{ MinVariantPrice struct{ CurrencyCode string } }
					Variants   []struct{ Price struct{ CurrencyCode string } }
				}
			}
		}
		decode(t, r, &got)
		if got.Channel.CurrencyCode != want {
			t.Errorf("%s: channel currency %s, want %s", key, got.Channel.CurrencyCode, want)
		}
		for _, p := range got.Products.Nodes {
			if p.PriceRange.MinVariantPrice.CurrencyCode != want {
				t.Errorf("%s: price range in %s, want %s", key, p.PriceRange.MinVariantPrice.CurrencyCode, want)
			}
			for _, v := range p.Variants {
				if v.Price.CurrencyCode != want {
					t.Errorf("%s: variant price in %s, want %s", key, v.Price.CurrencyCode, want)
				}
			}
		}
	}
}

// Walking every page must visit each active product exactly once, in order.
func TestProductsPaginationVisitsEveryProductOnce(t *testing.T) {
	pool := demoDB(t)
	s := newServer(t, services(pool))
	const q = `query($after: String) { products(first: 37, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { handle } } }`
	seen := map[string]bool{}
	var after any
	last, total := "", -1
	for page := 0; ; page++ {
		if page > 20 {
			t.Fatal("pagination does not end")
		}
		r := s.post(t, demo.KeyMobileEU, q, map[string]any{"after": after}).ok(t)
		var got struct {
			Products struct {
				TotalCount int
				PageInfo   struct {
					HasNextPage bool
					EndCursor   string
				}
				Nodes []struct{ Handle string }
			}
		}
		decode(t, r, &got)
		total = got.Products.TotalCount
		for _, n := range got.Products.Nodes {
			if seen[n.Handle] {
				t.Fatalf("%s seen twice", n.Handle)
			}
			if n.Handle <= last {
				t.Fatalf("%s after %s: not in handle order", n.Handle, last)
			}
			seen[n.Handle], last = true, n.Handle
		}
		if !got.Products.PageInfo.HasNextPage {
			break
		}
		after = got.Products.PageInfo.EndCursor
	}
	if len(seen) != total || total < 200 {
		t.Errorf("visited %d products, totalCount %d (want ≥ 200 and equal)", len(seen), total)
	}
	var active int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM products p JOIN product_publications pub ON pub.product_id = p.id
		JOIN channels c ON c.id = pub.channel_id WHERE p.status = 'active' AND c.publishable_key = $1`, demo.KeyMobileEU).Scan(&active); err != nil {
		t.Fatal(err)
	}
	if total != active {
		t.Errorf("totalCount %d, but %d active products are published on the channel", total, active)
	}
}

func TestProductByHandle(t *testing.T) {
	pool := demoDB(t)
	s := newServer(t, services(pool))
	var active, draft string
	if err := pool.QueryRow(t.Context(), `SELECT handle FROM products WHERE status = 'active' ORDER BY handle LIMIT 1`).Scan(&active); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(t.Context(), `SELECT handle FROM products WHERE status <> 'active' ORDER BY handle LIMIT 1`).Scan(&draft); err != nil {
		t.Fatal(err)
	}
	const q = `query($h: String!) { product(handle: $h) { handle variants { sku } } }`
	r := s.post(t, demo.KeyKioskParis, q, map[string]any{"h": active}).ok(t)
	var got struct {
		Product *struct {
			Handle   string
			Variants []struct{ SKU string }
		}
	}
	decode(t, r, &got)
	if got.Product == nil || got.Product.Handle != active || len(got.Product.Variants) == 0 {
		t.Fatalf("product(%q) = %s", active, r.Raw)
	}
	for _, h := range []string{draft, "no-such-product"} {
		r := s.post(t, demo.KeyKioskParis, q, map[string]any{"h": h}).ok(t)
		decode(t, r, &got)
		if got.Product != nil {
			t.Errorf("product(%q) should be null (not active or unknown), got %s", h, r.Raw)
		}
	}
}

// "Not in this store, but in Lyon": availability is per store and differs.
func TestStoreAvailabilityDiffersPerStore(t *testing.T) {
	pool := demoDB(t)
	s := newServer(t, services(pool))
	var handle, sku string
	err := pool.QueryRow(t.Context(), `
		SELECT p.handle, v.sku FROM variants v JOIN products p ON p.id = v.product_id
		JOIN stock_levels lyon ON lyon.variant_id = v.id JOIN locations l ON l.id = lyon.location_id AND l.code = $1
		JOIN stock_levels paris ON paris.variant_id = v.id JOIN locations pl ON pl.id = paris.location_id AND pl.code = $2
		WHERE p.status = 'active' AND lyon.on_hand > 0 AND paris.on_hand = 0
		ORDER BY v.sku LIMIT 1`, demo.CodeLyon, demo.CodeParis).Scan(&handle, &sku)
	if err != nil {
		t.Fatal(err)
	}
	r := s.post(t, demo.KeyKioskParis, `query($h: String!) { product(handle: $h) { variants(first: 100) { sku storeAvailability { store { code } quantityAvailable } } } }`,
		map[string]any{"h": handle}).ok(t)
	var got struct {
		Product struct {
			Variants []struct {
				SKU               string
				StoreAvailability []struct {
					Store             struct{ Code string }
					QuantityAvailable int
				}
			}
		}
	}
	decode(t, r, &got)
	found := false
	for _, v := range got.Product.Variants {
		if v.SKU != sku {
			continue
		}
		found = true
		byStore := map[string]int{}
		for _, a := range v.StoreAvailability {
			byStore[a.Store.Code] = a.QuantityAvailable
		}
		if byStore[demo.CodeParis] != 0 || byStore[demo.CodeLyon] <= 0 {
			t.Errorf("%s: Paris %d, Lyon %d; want 0 in Paris and some in Lyon", sku, byStore[demo.CodeParis], byStore[demo.CodeLyon])
		}
	}
	if !found {
		t.Fatalf("variant %s missing from %s", sku, r.Raw)
	}
}

func TestStoresNearestFirst(t *testing.T) {
	s := newServer(t, services(demoDB(t)))
	const q = `query($near: GeoPointInput, $after: String) { stores(near: $near, first: 2, after: $after) {
		totalCount pageInfo { hasNextPage endCursor } nodes { code distanceKm pickup { enabled } } } }`
	// Place Bellecour, Lyon.
	r := s.post(t, demo.KeyWebEU, q, map[string]any{"near": map[string]any{"lat": 45.7578, "lng": 4.8320}}).ok(t)
	type page struct {
		Stores struct {
			TotalCount int
			PageInfo   struct {
				HasNextPage bool
				EndCursor   string
			}
			Nodes []struct {
				Code       string
				DistanceKm *float64
			}
		}
	}
	var got page
	decode(t, r, &got)
	if got.Stores.TotalCount != 4 || len(got.Stores.Nodes) != 2 || !got.Stores.PageInfo.HasNextPage {
		t.Fatalf("want 4 stores paged by 2, got %s", r.Raw)
	}
	if n := got.Stores.Nodes[0]; n.Code != demo.CodeLyon || n.DistanceKm == nil || *n.DistanceKm > 5 {
		t.Errorf("nearest store to Bellecour = %s at %v km, want Lyon within 5 km", n.Code, n.DistanceKm)
	}
	first, cursor := got.Stores.Nodes, got.Stores.PageInfo.EndCursor
	got = page{}
	r = s.post(t, demo.KeyWebEU, q, map[string]any{"near": map[string]any{"lat": 45.7578, "lng": 4.8320}, "after": cursor}).ok(t)
	decode(t, r, &got)
	if len(got.Stores.Nodes) != 2 || got.Stores.PageInfo.HasNextPage {
		t.Fatalf("second page: %s", r.Raw)
	}
	if last := got.Stores.Nodes[1]; last.Code != demo.CodeMontreal {
		t.Errorf("farthest store from Lyon = %s, want Montréal", last.Code)
	}
	if *first[1].DistanceKm > *got.Stores.Nodes[0].DistanceKm {
		t.Error("stores are not ordered by distance across pages")
	}

	r = s.post(t, demo.KeyWebEU, `{ stores(near: {lat: 91, lng: 0}) { totalCount } }`, nil)
	if r.code() != "INVALID_INPUT" || r.Errors[0].Extensions["field"] != "near.lat" {
		t.Errorf("latitude 91: want INVALID_INPUT on near.lat, got %s", r.Raw)
	}
}

func decode(t *testing.T, r *response, into any) {
	t.Helper()
	b, _ := json.Marshal(r.Data)
	if err := json.Unmarshal(b, into); err != nil {
		t.Fatalf("decode %s: %v", r.Raw, err)
	}
}

// A variant reached alone (a till's scan) shows the price its product's
// page shows, in the channel's currency; and a product page's price range
// is that of its variants' prices, on every channel.
func TestVariantPricesAgreeAcrossPaths(t *testing.T) {
	s := newServer(t, services(demoDB(t)))
	type money struct{ Amount, CurrencyCode string }
	type variant struct {
		SKU            string
		Price          *money
		CompareAtPrice *money
	}
	// A product on sale (the demo's variants of a product share one price).
	var list struct {
		Products struct {
			Nodes []struct {
				Handle   string
				Variants []variant
			}
		}
	}
	decode(t, s.post(t, demo.KeyWebEU, `{ products(first: 100) { nodes { handle variants { compareAtPrice { amount } } } } }`, nil).ok(t), &list)
	onSale := ""
	for _, p := range list.Products.Nodes {
		for _, v := range p.Variants {
			if onSale == "" && v.CompareAtPrice != nil {
				onSale = p.Handle
			}
		}
	}
	if onSale == "" {
		t.Fatal("no demo product is on sale")
	}
	for _, c := range []struct{ key, handle string }{
		{demo.KeyWebEU, demo.HandleRunningShoe}, {demo.KeyWebCA, demo.HandleRunningShoe}, {demo.KeyPOSLyon, demo.HandleRunningShoe},
		{demo.KeyWebEU, onSale}, {demo.KeyWebCA, onSale},
	} {
		key, handle := c.key, c.handle
		var page struct {
			Product struct {
				PriceRange *struct{ MinVariantPrice, MaxVariantPrice money }
				Variants   []variant
			}
		}
		decode(t, s.post(t, key, `query($h: String) { product(handle: $h) {
			priceRange { minVariantPrice { amount currencyCode } maxVariantPrice { amount currencyCode } }
			variants { sku price { amount currencyCode } compareAtPrice { amount currencyCode } } } }`,
			map[string]any{"h": handle}).ok(t), &page)
		vs := page.Product.Variants
		if len(vs) < 2 || page.Product.PriceRange == nil {
			t.Fatalf("%s: %d variants, price range %v", key, len(vs), page.Product.PriceRange)
		}
		lo, hi := vs[0].Price.Amount, vs[0].Price.Amount
		sawCompareAt := false
		for _, v := range vs {
			var scan struct{ Variant variant }
			decode(t, s.post(t, key, `query($sku: String) { variant(sku: $sku) {
				sku price { amount currencyCode } compareAtPrice { amount currencyCode } } }`,
				map[string]any{"sku": v.SKU}).ok(t), &scan)
			if !reflect.DeepEqual(scan.Variant, v) {
				t.Errorf("%s: variant(sku: %s) = %+v, the product page shows %+v", key, v.SKU, scan.Variant, v)
			}
			if v.Price == nil {
				t.Fatalf("%s: %s has no price", key, v.SKU)
			}
			if lessAmount(v.Price.Amount, lo) {
				lo = v.Price.Amount
			}
			if lessAmount(hi, v.Price.Amount) {
				hi = v.Price.Amount
			}
			sawCompareAt = sawCompareAt || v.CompareAtPrice != nil
		}
		if r := page.Product.PriceRange; r.MinVariantPrice.Amount != lo || r.MaxVariantPrice.Amount != hi {
			t.Errorf("%s: price range %+v, the variants go from %s to %s", key, *r, lo, hi)
		}
		t.Logf("%s %s: %d variants from %s to %s, a compare-at price: %v", key, handle, len(vs), lo, hi, sawCompareAt)
	}
}

// lessAmount compares two decimal amounts of one currency.
func lessAmount(a, b string) bool {
	x, _ := strconv.ParseFloat(a, 64)
	y, _ := strconv.ParseFloat(b, 64)
	return x < y
}
