package graph_test

import (
	"slices"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce/demo"
)

// listing walks every page of a products query and returns the handles,
// in order, and the totalCount the server reported.
func (s *server) listing(t *testing.T, key, field string, vars map[string]any) ([]string, int) {
	t.Helper()
	q := `query($after: String, $filter: ProductFilter, $sortKey: ProductSortKey, $reverse: Boolean) {
		products(first: 100, after: $after, filter: $filter, sortKey: $sortKey, reverse: $reverse) {
			totalCount pageInfo { hasNextPage endCursor } nodes { handle } } }`
	if field != "" {
		q = field
	}
	var handles []string
	total := -1
	after := any(nil)
	for range 20 {
		v := map[string]any{"after": after}
		for k, x := range vars {
			v[k] = x
		}
		r := s.post(t, key, q, v).ok(t)
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
			handles = append(handles, n.Handle)
		}
		if !got.Products.PageInfo.HasNextPage {
			return handles, total
		}
		after = got.Products.PageInfo.EndCursor
	}
	t.Fatal("pagination does not end")
	return nil, 0
}

// sqlHandles lists, by handle, the active products published on the
// channel that match an extra SQL condition on p: the independent answer
// every filter is checked against.
func sqlHandles(t *testing.T, pool *pgxpool.Pool, key, cond string, args ...any) []string {
	t.Helper()
	all := append([]any{key}, args...)
	rows, err := pool.Query(t.Context(), `SELECT p.handle FROM products p
		JOIN product_publications pub ON pub.product_id = p.id
		JOIN channels c ON c.id = pub.channel_id AND c.publishable_key = $1
		WHERE p.status = 'active' AND (`+cond+`) ORDER BY p.handle`, all...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			t.Fatal(err)
		}
		out = append(out, h)
	}
	return out
}

// Publication is enforced by every way of reaching a product.
func TestPublicationIsEnforcedEverywhere(t *testing.T) {
	pool := demoDB(t)
	s := newServer(t, services(pool))
	h := demo.HandleWebExclusive

	web, webTotal := s.listing(t, demo.KeyWebEU, "", nil)
	kiosk, kioskTotal := s.listing(t, demo.KeyKioskParis, "", nil)
	if !slices.Contains(web, h) || slices.Contains(kiosk, h) {
		t.Errorf("%s: on web %v, on kiosk %v; want web only", h, slices.Contains(web, h), slices.Contains(kiosk, h))
	}
	if want := sqlHandles(t, pool, demo.KeyKioskParis, "true"); !slices.Equal(kiosk, want) || kioskTotal != len(want) {
		t.Errorf("kiosk listing has %d products (totalCount %d), SQL says %d", len(kiosk), kioskTotal, len(want))
	}
	if webTotal != len(web) || webTotal <= kioskTotal {
		t.Errorf("web totalCount %d, listed %d, kiosk %d", webTotal, len(web), kioskTotal)
	}

	const byHandle = `query($h: String) { product(handle: $h) { handle variants(first: 1) { sku barcode } } }`
	r := s.post(t, demo.KeyWebEU, byHandle, map[string]any{"h": h}).ok(t)
	var got struct {
		Product *struct {
			Handle   string
			Variants []struct{ SKU, Barcode string }
		}
	}
	decode(t, r, &got)
	if got.Product == nil {
		t.Fatalf("%s not found on the web", h)
	}
	sku, barcode := got.Product.Variants[0].SKU, got.Product.Variants[0].Barcode

	for name, q := range map[string]string{
		"product by handle": byHandle,
		"variant by sku":    `query($sku: String) { variant(sku: $sku) { sku } }`,
		"variant by code":   `query($code: String) { variant(barcode: $code) { sku } }`,
	} {
		r := s.post(t, demo.KeyKioskParis, q, map[string]any{"h": h, "sku": sku, "code": barcode}).ok(t)
		for _, v := range r.Data {
			if v != nil {
				t.Errorf("%s: the kiosk sees %s: %s", name, h, r.Raw)
			}
		}
		r = s.post(t, demo.KeyWebEU, q, map[string]any{"h": h, "sku": sku, "code": barcode}).ok(t)
		for _, v := range r.Data {
			if v == nil {
				t.Errorf("%s: the web does not see %s", name, h)
			}
		}
	}

	// Through a category and a collection too.
	for _, q := range []string{
		`{ categories { children { products(first: 100) { nodes { handle } } } } }`,
		`query($c: String) { collection(handle: $c) { products(first: 100) { nodes { handle } } } }`,
	} {
		for _, c := range []string{demo.CollectionNew, demo.CollectionRunning, demo.CollectionWinterSale, demo.CollectionMadeInFrance} {
			r := s.post(t, demo.KeyKioskParis, q, map[string]any{"c": c}).ok(t)
			if slices.Contains(handlesIn(r.Data), demo.HandleNotOnKiosk) || slices.Contains(handlesIn(r.Data), h) {
				t.Errorf("the kiosk reaches an unpublished product through %s", r.Raw[:min(len(r.Raw), 200)])
			}
		}
	}
}

// handlesIn collects every "handle" value anywhere in a response.
func handlesIn(v any) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, y := range x {
			if s, ok := y.(string); ok && k == "handle" {
				out = append(out, s)
			}
			out = append(out, handlesIn(y)...)
		}
	case []any:
		for _, y := range x {
			out = append(out, handlesIn(y)...)
		}
	}
	return out
}

// Every filter returns exactly what an independent SQL query says.
func TestListingFiltersMatchSQL(t *testing.T) {
	pool := demoDB(t)
	s := newServer(t, services(pool))
	key := demo.KeyWebEU
	lyon := demo.LocationID(demo.CodeLyon)
	cases := []struct {
		name   string
		filter map[string]any
		cond   string
		args   []any
	}{
		{"category with its subcategories", map[string]any{"categoryId": demo.CategoryID(demo.CategoryShoes)},
			`p.id IN (SELECT pc.product_id FROM product_categories pc JOIN categories c ON c.id = pc.category_id
				WHERE c.id = $2 OR c.parent_id = $2)`, []any{demo.CategoryID(demo.CategoryShoes)}},
		{"collection", map[string]any{"collectionId": demo.CollectionID(demo.CollectionRunning)},
			`p.id IN (SELECT product_id FROM collection_products WHERE collection_id = $2)`, []any{demo.CollectionID(demo.CollectionRunning)}},
		{"brands", map[string]any{"brands": []string{"Pas Léger"}}, `p.brand = $2`, []any{"Pas Léger"}},
		{"price range", map[string]any{"price": map[string]any{"min": "50", "max": "80.00"}},
			`(SELECT min(vp.amount) FROM variants v JOIN variant_prices vp ON vp.variant_id = v.id
				WHERE v.product_id = p.id AND vp.currency_code = 'EUR') BETWEEN 5000 AND 8000`, nil},
		{"colour and size on the same variant", map[string]any{"options": []map[string]any{
			{"name": "Couleur", "values": []string{"Noir"}}, {"name": "Taille", "values": []string{"42", "43"}}}},
			`EXISTS (SELECT 1 FROM variants v WHERE v.product_id = p.id
				AND v.options @> '[{"name":"Couleur","value":"Noir"}]'
				AND (v.options @> '[{"name":"Taille","value":"42"}]' OR v.options @> '[{"name":"Taille","value":"43"}]'))`, nil},
		{"available in a store", map[string]any{"availableInStore": lyon},
			`EXISTS (SELECT 1 FROM variants v JOIN stock_levels sl ON sl.variant_id = v.id
				WHERE v.product_id = p.id AND sl.location_id = $2 AND sl.on_hand > 0)`, []any{lyon}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, total := s.listing(t, key, "", map[string]any{"filter": c.filter})
			want := sqlHandles(t, pool, key, c.cond, c.args...)
			if len(want) == 0 {
				t.Fatal("the SQL selects nothing: the case proves nothing")
			}
			if !slices.Equal(got, want) || total != len(want) {
				t.Errorf("got %d products (totalCount %d), SQL says %d\n got %v\nwant %v", len(got), total, len(want), got, want)
			}
		})
	}

	r := s.post(t, key, `{ products(filter: {price: {min: "abc"}}) { totalCount } }`, nil)
	if r.code() != "INVALID_INPUT" || r.Errors[0].Extensions["field"] != "filter.price" {
		t.Errorf("bad price filter: %s", r.Raw)
	}
}

// Sorted listings keep their order across pages, and cursors of one sort
// are refused by another.
func TestListingSorts(t *testing.T) {
	pool := demoDB(t)
	s := newServer(t, services(pool))
	key := demo.KeyWebCA
	minPrice := func(handle string) int64 {
		var n *int64
		err := pool.QueryRow(t.Context(), `SELECT min(vp.amount) FROM products p JOIN variants v ON v.product_id = p.id
			JOIN variant_prices vp ON vp.variant_id = v.id AND vp.currency_code = 'CAD' WHERE p.handle = $1`, handle).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n == nil {
			return 1<<63 - 1
		}
		return *n
	}
	asc, _ := s.listing(t, key, "", map[string]any{"sortKey": "PRICE"})
	for i := 1; i < len(asc); i++ {
		if minPrice(asc[i-1]) > minPrice(asc[i]) {
			t.Fatalf("PRICE: %s before %s", asc[i-1], asc[i])
		}
	}
	desc, _ := s.listing(t, key, "", map[string]any{"sortKey": "PRICE", "reverse": true})
	if len(desc) != len(asc) || minPrice(desc[0]) < minPrice(desc[len(desc)-1]) {
		t.Errorf("reversed PRICE is not descending")
	}
	byTitle, _ := s.listing(t, key, "", map[string]any{"sortKey": "TITLE"})
	handles, _ := s.listing(t, key, "", nil)
	newest, _ := s.listing(t, key, "", map[string]any{"sortKey": "NEWEST"})
	for name, l := range map[string][]string{"TITLE": byTitle, "NEWEST": newest} {
		if len(l) != len(handles) || !sameSet(l, handles) {
			t.Errorf("%s lists other products than HANDLE", name)
		}
	}
	if !slices.IsSorted(handles) {
		t.Error("HANDLE is not sorted by handle")
	}

	// A cursor made under one sort is refused under another.
	r := s.post(t, key, `{ products(first: 1, sortKey: PRICE) { pageInfo { endCursor } } }`, nil).ok(t)
	cursor := r.Data["products"].(map[string]any)["pageInfo"].(map[string]any)["endCursor"]
	r = s.post(t, key, `query($a: String) { products(after: $a, sortKey: TITLE) { totalCount } }`, map[string]any{"a": cursor})
	if r.code() != "INVALID_INPUT" {
		t.Errorf("a PRICE cursor under TITLE: %s", r.Raw)
	}
	r = s.post(t, key, `{ products(sortKey: COLLECTION_DEFAULT) { totalCount } }`, nil)
	if r.code() != "INVALID_INPUT" {
		t.Errorf("collection order outside a collection: %s", r.Raw)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// "Not in this size here, but in Lyon": the kiosk in Paris sees 0 here and
// the stores that have it, nearest first.
func TestAvailabilityHereAndNearby(t *testing.T) {
	s := newServer(t, services(demoDB(t)))
	const q = `query($sku: String) { variant(sku: $sku) { sku quantityAvailableHere
		availability(near: {lat: 48.8606, lng: 2.3376}) { quantityAvailable store { code distanceKm } }
		product { handle } } }`
	type avail struct {
		Variant struct {
			QuantityAvailableHere *int
			Availability          []struct {
				QuantityAvailable int
				Store             struct {
					Code       string
					DistanceKm float64
				}
			}
			Product struct{ Handle string }
		}
	}
	var paris, lyon, web avail
	decode(t, s.post(t, demo.KeyKioskParis, q, map[string]any{"sku": demo.SKUInLyonNotParis}).ok(t), &paris)
	decode(t, s.post(t, demo.KeyKioskLyon, q, map[string]any{"sku": demo.SKUInLyonNotParis}).ok(t), &lyon)
	decode(t, s.post(t, demo.KeyWebEU, q, map[string]any{"sku": demo.SKUInLyonNotParis}).ok(t), &web)
	if h := paris.Variant.QuantityAvailableHere; h == nil || *h != 0 {
		t.Errorf("Paris kiosk: here = %v, want 0", h)
	}
	if h := lyon.Variant.QuantityAvailableHere; h == nil || *h <= 0 {
		t.Errorf("Lyon kiosk: here = %v, want some", h)
	}
	if web.Variant.QuantityAvailableHere != nil {
		t.Error("the web channel has no store: here must be null")
	}
	av := paris.Variant.Availability
	if len(av) == 0 || av[0].Store.Code != demo.CodeLyon {
		t.Fatalf("nearest store with stock from the Louvre: %+v, want Lyon first", av)
	}
	for i, a := range av {
		if a.QuantityAvailable <= 0 || a.Store.Code == demo.CodeParis {
			t.Errorf("listed a store without stock: %+v", a)
		}
		if i > 0 && av[i-1].Store.DistanceKm > a.Store.DistanceKm {
			t.Error("not nearest first")
		}
	}
	if paris.Variant.Product.Handle != demo.HandleRunningShoe {
		t.Errorf("variant.product = %q", paris.Variant.Product.Handle)
	}
	r := s.post(t, demo.KeyKioskParis, `{ variant(sku: "A", barcode: "B") { sku } }`, nil)
	if r.code() != "INVALID_INPUT" {
		t.Errorf("sku and barcode together: %s", r.Raw)
	}
}

func TestCategoriesAndCollections(t *testing.T) {
	s := newServer(t, services(demoDB(t)))
	r := s.post(t, demo.KeyWebEU, `{ categories { handle parent { handle } children { handle parent { handle } } } }`, nil).ok(t)
	var got struct {
		Categories []struct {
			Handle   string
			Parent   *struct{ Handle string }
			Children []struct {
				Handle string
				Parent struct{ Handle string }
			}
		}
	}
	decode(t, r, &got)
	var shoes bool
	for _, root := range got.Categories {
		if root.Parent != nil {
			t.Errorf("root %s has a parent", root.Handle)
		}
		for _, c := range root.Children {
			if c.Parent.Handle != root.Handle {
				t.Errorf("%s's parent is %s, listed under %s", c.Handle, c.Parent.Handle, root.Handle)
			}
			shoes = shoes || (root.Handle == demo.CategoryShoes && c.Handle == demo.CategoryRunning)
		}
	}
	if !shoes {
		t.Errorf("running shoes not under shoes: %s", r.Raw)
	}

	r = s.post(t, demo.KeyWebEU, `query($h: String) { collection(handle: $h) { title products(first: 5) { totalCount nodes { handle
		options { name values } media { url alt } categories { handle } attributes { name value } } } } }`,
		map[string]any{"h": demo.CollectionRunning}).ok(t)
	golden(t, "collection_running.json", r.Raw)
	r = s.post(t, demo.KeyWebEU, `{ collection(handle: "nope") { title } }`, nil).ok(t)
	if r.Data["collection"] != nil {
		t.Errorf("unknown collection: %s", r.Raw)
	}
}
