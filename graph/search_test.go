package graph_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/omnicanal/omnicanal/commerce/demo"
	"github.com/omnicanal/omnicanal/commerce/outbox"
	"github.com/omnicanal/omnicanal/search"
)

type searchResult struct {
	Search struct {
		TotalCount int
		PageInfo   struct {
			HasNextPage bool
			EndCursor   string
		}
		Nodes  []struct{ Handle, Title, Brand string }
		Facets []struct {
			Facet  string
			Values []struct {
				Value, Label string
				Count        int
			}
		}
	}
}

const searchQuery = `query($q: String, $filter: SearchFilter, $facets: [String!], $sort: SearchSort, $first: Int, $after: String) {
	search(query: $q, filter: $filter, facets: $facets, sort: $sort, first: $first, after: $after) {
		totalCount pageInfo { hasNextPage endCursor } nodes { handle title brand }
		facets { facet values { value label count } } } }`

func (s *server) search(t *testing.T, key string, vars map[string]any) searchResult {
	t.Helper()
	var got searchResult
	decode(t, s.post(t, key, searchQuery, vars).ok(t), &got)
	return got
}

func handles(r searchResult) []string {
	var out []string
	for _, n := range r.Search.Nodes {
		out = append(out, n.Handle)
	}
	return out
}

// Typos, accents and case: what French shoppers actually type.
func TestSearchToleratesTyposAndAccents(t *testing.T) {
	s := newServer(t, services(demoDB(t)))
	for _, q := range []string{"chaussure", "CHAUSSURE", "chausures", "chaussures de course", "élan", "elan"} {
		got := s.search(t, demo.KeyWebEU, map[string]any{"q": q, "first": 50})
		if !slices.Contains(handles(got), demo.HandleRunningShoe) {
			t.Errorf("%q does not find %s: %v", q, demo.HandleRunningShoe, handles(got))
		}
	}
}

// A product not published on the channel is never a hit, nor counted.
func TestSearchHonoursPublication(t *testing.T) {
	s := newServer(t, services(demoDB(t)))
	vars := map[string]any{"q": "basket montante aurore", "first": 50, "facets": []string{"brand"}}
	web := s.search(t, demo.KeyWebEU, vars)
	kiosk := s.search(t, demo.KeyKioskParis, vars)
	if !slices.Contains(handles(web), demo.HandleWebExclusive) {
		t.Fatalf("the web does not find its exclusive: %v", handles(web))
	}
	if slices.Contains(handles(kiosk), demo.HandleWebExclusive) {
		t.Errorf("the kiosk finds a web exclusive")
	}
	all := s.search(t, demo.KeyKioskParis, map[string]any{"first": 100, "facets": []string{"brand"}})
	total := 0
	for _, v := range all.Search.Facets[0].Values {
		total += v.Count
	}
	if total != all.Search.TotalCount {
		t.Errorf("brand counts add up to %d, totalCount is %d", total, all.Search.TotalCount)
	}
}

// Facet counts equal what SQL counts over the catalog.
func TestSearchFacetCountsMatchSQL(t *testing.T) {
	pool := demoDB(t)
	s := newServer(t, services(pool))
	got := s.search(t, demo.KeyWebEU, map[string]any{"first": 1, "facets": []string{"brand", "option:Couleur", "category", "store"}})
	rows, err := pool.Query(t.Context(), `SELECT p.brand, count(*) FROM products p
		JOIN product_publications pub ON pub.product_id = p.id JOIN channels c ON c.id = pub.channel_id
		WHERE p.status = 'active' AND c.publishable_key = $1 GROUP BY p.brand`, demo.KeyWebEU)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	var (
		brand string
		n     int
	)
	if _, err := pgx.ForEachRow(rows, []any{&brand, &n}, func() error { want[brand] = n; return nil }); err != nil {
		t.Fatal(err)
	}
	facets := map[string]map[string]int{}
	labels := map[string]string{}
	for _, f := range got.Search.Facets {
		facets[f.Facet] = map[string]int{}
		for _, v := range f.Values {
			facets[f.Facet][v.Value] = v.Count
			labels[v.Value] = v.Label
		}
	}
	if len(want) == 0 || len(facets["brand"]) != len(want) {
		t.Fatalf("brand facet %v, SQL %v", facets["brand"], want)
	}
	for b, n := range want {
		if facets["brand"][b] != n {
			t.Errorf("brand %s: facet %d, SQL %d", b, facets["brand"][b], n)
		}
	}
	var black int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM products p
		JOIN product_publications pub ON pub.product_id = p.id JOIN channels c ON c.id = pub.channel_id
		WHERE p.status = 'active' AND c.publishable_key = $1
		AND EXISTS (SELECT 1 FROM variants v WHERE v.product_id = p.id AND v.options @> '[{"name":"Couleur","value":"Noir"}]')`,
		demo.KeyWebEU).Scan(&black); err != nil {
		t.Fatal(err)
	}
	if facets["option:Couleur"]["Noir"] != black {
		t.Errorf("Couleur=Noir: facet %d, SQL %d", facets["option:Couleur"]["Noir"], black)
	}
	if labels[demo.LocationID(demo.CodeLyon).String()] != "Maison Sentier Lyon Part-Dieu" {
		t.Errorf("store facet labels are store names: %v", labels)
	}
	if facets["category"][demo.CategoryID(demo.CategoryShoes).String()] == 0 {
		t.Error("the category facet counts parents (Chaussures) too")
	}
}

// A change reaches search through the outbox: invisible until the worker
// runs, visible after; and unpublishing removes the product.
func TestCatalogChangesReachSearchThroughTheOutbox(t *testing.T) {
	pool := demoDB(t)
	svc := services(pool)
	s := newServer(t, svc)
	worker := &outbox.Worker{Queue: outbox.Search, Outbox: outbox.NewService(pool),
		Handle: (&search.Indexer{Catalog: svc.Catalog, Engine: svc.SearchEngine}).Index}
	product, err := svc.Catalog.FindProductByHandle(t.Context(), demo.ChannelID(demo.KeyWebEU), demo.HandleRunningShoe)
	if err != nil {
		t.Fatal(err)
	}
	// What a catalog write does: change, bump the version, enqueue — one transaction.
	change := func(sql string, args ...any) {
		t.Helper()
		err := pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(t.Context(), sql, args...); err != nil {
				return err
			}
			if _, err := tx.Exec(t.Context(), `UPDATE products SET version = version + 1 WHERE id = $1`, product.ID); err != nil {
				return err
			}
			return outbox.Enqueue(t.Context(), tx, outbox.Search, product.ID)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	cheap := map[string]any{"q": "chaussure de course", "first": 50, "filter": map[string]any{"price": map[string]any{"max": "10.00"}}}
	if slices.Contains(handles(s.search(t, demo.KeyWebEU, cheap)), demo.HandleRunningShoe) {
		t.Fatal("the running shoe is not under 10 € yet")
	}
	change(`UPDATE variant_prices SET amount = 999, compare_at_amount = NULL WHERE currency_code = 'EUR'
		AND variant_id IN (SELECT id FROM variants WHERE product_id = $1)`, product.ID)
	if slices.Contains(handles(s.search(t, demo.KeyWebEU, cheap)), demo.HandleRunningShoe) {
		t.Fatal("the index changed before the worker ran: the test proves nothing")
	}
	if n, err := worker.RunOnce(t.Context()); err != nil || n != 1 {
		t.Fatalf("worker: %d, %v", n, err)
	}
	if !slices.Contains(handles(s.search(t, demo.KeyWebEU, cheap)), demo.HandleRunningShoe) {
		t.Error("the new price is not searchable after the worker ran")
	}

	// Unpublished from the web: gone from the web's search, still on the kiosk.
	change(`DELETE FROM product_publications WHERE product_id = $1 AND channel_id = $2`, product.ID, demo.ChannelID(demo.KeyWebEU))
	if _, err := worker.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	q := map[string]any{"q": "chaussure de course élan", "first": 50}
	if slices.Contains(handles(s.search(t, demo.KeyWebEU, q)), demo.HandleRunningShoe) {
		t.Error("unpublished on the web, still found there")
	}
	if !slices.Contains(handles(s.search(t, demo.KeyKioskParis, q)), demo.HandleRunningShoe) {
		t.Error("still published on the kiosk, but not found there")
	}
	// Archived: gone everywhere.
	change(`UPDATE products SET status = 'archived' WHERE id = $1`, product.ID)
	if _, err := worker.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(handles(s.search(t, demo.KeyKioskParis, q)), demo.HandleRunningShoe) {
		t.Error("archived, still found")
	}
}

func TestSearchPagingAndBadInput(t *testing.T) {
	s := newServer(t, services(demoDB(t)))
	seen := map[string]bool{}
	vars := map[string]any{"q": "veste", "first": 7, "sort": "PRICE_ASC"}
	total := -1
	for range 20 {
		got := s.search(t, demo.KeyWebCA, vars)
		total = got.Search.TotalCount
		for _, h := range handles(got) {
			if seen[h] {
				t.Fatalf("%s on two pages", h)
			}
			seen[h] = true
		}
		if !got.Search.PageInfo.HasNextPage {
			break
		}
		vars["after"] = got.Search.PageInfo.EndCursor
	}
	if total <= 7 || len(seen) != total {
		t.Errorf("walked %d hits of %d", len(seen), total)
	}
	for q, code := range map[string]string{
		`{ search(facets: ["colour"]) { totalCount } }`:                        "INVALID_INPUT",
		`{ search(first: 1000) { totalCount } }`:                               "INVALID_INPUT",
		`{ search(after: "x") { totalCount } }`:                                "INVALID_INPUT",
		`{ search(query: "` + strings.Repeat("a", 300) + `") { totalCount } }`: "INVALID_INPUT",
	} {
		if r := s.post(t, demo.KeyWebEU, q, nil); r.code() != code {
			t.Errorf("%.60s: %s", q, r.Raw)
		}
	}
}
