package catalog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/catalog"
	"github.com/omnicanal/omnicanal/commerce/demo"
)

// feedLine is a valid new product as a feed line.
func feedLine(handle string) string {
	return fmt.Sprintf(`{"handle": %q, "title": "Chaussette %s", "status": "active", "categories": ["chaussettes"],
		"options": [{"name": "Taille", "values": ["39-42", "43-46"]}],
		"channelIds": [%q],
		"variants": [
			{"sku": "%s-S", "options": [{"name": "Taille", "value": "39-42"}], "prices": [{"currencyCode": "EUR", "amount": "9.90"}]},
			{"sku": "%s-L", "options": [{"name": "Taille", "value": "43-46"}], "prices": [{"currencyCode": "EUR", "amount": "9.90", "compareAtAmount": "12.00"}]}]}`,
		handle, handle, webEU, strings.ToUpper(handle), strings.ToUpper(handle))
}

// oneLine removes the line breaks the literals above use for reading.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func runImport(t *testing.T, cat *catalog.Service, ctx context.Context, file string, limits catalog.ImportLimits) ([]catalog.LineResult, catalog.ImportSummary) {
	t.Helper()
	var results []catalog.LineResult
	sum, err := cat.Import(ctx, strings.NewReader(file), limits, func(r catalog.LineResult) error {
		results = append(results, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return results, sum
}

func statuses(results []catalog.LineResult) string {
	var b strings.Builder
	for _, r := range results {
		fmt.Fprintf(&b, "%d:%s ", r.Line, r.Status)
	}
	return strings.TrimSpace(b.String())
}

func countProducts(t *testing.T, pool *pgxpool.Pool, handlePrefix string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM products WHERE handle LIKE $1 || '%'`, handlePrefix).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestImportAppliesGoodLinesAndReportsBadOnes(t *testing.T) {
	pool := demoDB(t)
	cat := catalog.NewService(pool)
	ctx := as(t, pool, commerce.RoleMerchandiser)
	takenSKU := demo.Generate().Products[0].Variants[0].SKU
	lines := []string{
		feedLine("chaussette-a"),      // 1 created
		"",                            // 2 blank: skipped
		`{"handle": "chaussette-b", `, // 3 not JSON
		strings.Replace(feedLine("chaussette-c"), `"amount": "9.90", "compareAtAmount"`, `"amount": "-9.90", "compareAtAmount"`, 1), // 4 bad price
		`{"handle": "` + demo.HandleRunningShoe + `", "title": "Chaussure de course Élan II"}`,                                      // 5 updated, the rest kept
		`{"handle": "chaussette-d", "titel": "typo"}`,                                                                               // 6 unknown key
		strings.Replace(feedLine("chaussette-e"), "CHAUSSETTE-E-L", takenSKU, 1),                                                    // 7 SKU of another product
		strings.Replace(feedLine("chaussette-f"), `["chaussettes"]`, `["chaussons"]`, 1),                                            // 8 unknown category
		`{"title": "no handle"}`, // 9
	}
	for i := range lines {
		lines[i] = oneLine(lines[i])
	}
	file := strings.Join(lines, "\n") + "\n"
	shoe := demo.ProductID(demo.HandleRunningShoe)
	before := track(t, pool, shoe)

	results, sum := runImport(t, cat, ctx, file, catalog.ImportLimits{})
	if got, want := statuses(results), "1:created 3:error 4:error 5:updated 6:error 7:error 8:error 9:error"; got != want {
		t.Fatalf("statuses:\n got %s\nwant %s\n%+v", got, want, results)
	}
	if sum != (catalog.ImportSummary{Lines: 8, Created: 1, Updated: 1, Errors: 6}) {
		t.Errorf("summary: %+v", sum)
	}
	wantField := map[int][2]string{
		4: {commerce.ErrInvalidInput, "variants[1].prices[0].amount"},
		7: {commerce.ErrConflict, "variants[1].sku"},
		8: {commerce.ErrInvalidInput, "categories[0]"},
		9: {commerce.ErrInvalidInput, "handle"},
	}
	for _, r := range results {
		want, ok := wantField[r.Line]
		if !ok {
			continue
		}
		if len(r.Errors) == 0 || r.Errors[0].Code != want[0] || r.Errors[0].Field != want[1] {
			t.Errorf("line %d: errors %+v, want %s on %s", r.Line, r.Errors, want[0], want[1])
		}
		if r.Cause != nil {
			t.Errorf("line %d: an input error carries an internal cause: %v", r.Line, r.Cause)
		}
	}
	// Bad lines left nothing behind, not even their valid parts.
	if n := countProducts(t, pool, "chaussette-"); n != 1 {
		t.Errorf("products made: %d, want only chaussette-a", n)
	}
	before = wantBump(t, pool, shoe, before, "updated line")
	p, err := cat.FindProductByID(t.Context(), webEU, shoe)
	if err != nil || p.Title != "Chaussure de course Élan II" || p.Brand == "" {
		t.Errorf("partial line: %+v %v", p, err)
	}

	// Sending the file again changes nothing.
	var aID commerce.ID
	if err := pool.QueryRow(t.Context(), `SELECT id FROM products WHERE handle = 'chaussette-a'`).Scan(&aID); err != nil {
		t.Fatal(err)
	}
	beforeA := track(t, pool, aID)
	results, _ = runImport(t, cat, ctx, file, catalog.ImportLimits{})
	if got, want := statuses(results), "1:unchanged 3:error 4:error 5:unchanged 6:error 7:error 8:error 9:error"; got != want {
		t.Errorf("statuses of the second run:\n got %s\nwant %s", got, want)
	}
	wantNoBump(t, pool, shoe, before, "second run")
	wantNoBump(t, pool, aID, beforeA, "second run")
}

func TestExportThenImportChangesNothing(t *testing.T) {
	pool := demoDB(t)
	cat := catalog.NewService(pool)
	ctx := as(t, pool, commerce.RoleMerchandiser)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	n := 0
	if err := cat.Export(ctx, func(l *catalog.Line) error { n++; return enc.Encode(l) }); err != nil {
		t.Fatal(err)
	}
	d := demo.Generate()
	if n != len(d.Products) {
		t.Errorf("exported %d products, the demo has %d", n, len(d.Products))
	}
	var versions, outbox int
	snapshot := func() (int, int) {
		var v, o int
		if err := pool.QueryRow(t.Context(), `SELECT (SELECT sum(version) FROM products), (SELECT count(*) FROM outbox)`).Scan(&v, &o); err != nil {
			t.Fatal(err)
		}
		return v, o
	}
	versions, outbox = snapshot()
	results, sum := runImport(t, cat, ctx, buf.String(), catalog.ImportLimits{})
	if sum.Unchanged != len(d.Products) || sum.Lines != len(d.Products) {
		for _, r := range results {
			if r.Status != catalog.Unchanged {
				t.Errorf("line %d (%s): %s %+v", r.Line, r.Handle, r.Status, r.Errors)
				break
			}
		}
		t.Fatalf("re-import of the export: %+v", sum)
	}
	if v, o := snapshot(); v != versions || o != outbox {
		t.Errorf("re-import bumped versions (%d → %d) or enqueued (%d → %d)", versions, v, outbox, o)
	}
	// A line of the export holds every key, so it restores a product.
	first := strings.SplitN(buf.String(), "\n", 2)[0]
	for _, key := range []string{`"handle"`, `"variants"`, `"prices"`, `"channelIds"`, `"categories"`, `"collections"`, `"media"`, `"attributes"`, `"options"`, `"status"`} {
		if !strings.Contains(first, key) {
			t.Errorf("the export line lacks %s: %s", key, first)
		}
	}
}

func TestConcurrentImportsCreateEachProductOnce(t *testing.T) {
	pool := demoDB(t)
	cat := catalog.NewService(pool)
	ctx := as(t, pool, commerce.RoleMerchandiser)
	var lines []string
	for i := range 20 {
		lines = append(lines, oneLine(feedLine(fmt.Sprintf("chaussette-lot-%02d", i))))
	}
	file := strings.Join(lines, "\n")
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created int
	)
	for range 3 {
		wg.Go(func() {
			var results []catalog.LineResult
			_, err := cat.Import(ctx, strings.NewReader(file), catalog.ImportLimits{}, func(r catalog.LineResult) error {
				results = append(results, r)
				return nil
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Error(err)
			}
			for _, r := range results {
				switch r.Status {
				case catalog.Created:
					created++
				case catalog.Unchanged:
				default:
					t.Errorf("line %d: %s %+v", r.Line, r.Status, r.Errors)
				}
			}
		})
	}
	wg.Wait()
	if n := countProducts(t, pool, "chaussette-lot-"); n != 20 || created != 20 {
		t.Errorf("%d products, %d reported created; want 20 and 20", n, created)
	}
	var rows int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM outbox o JOIN products p ON p.id = o.aggregate_id
		WHERE p.handle LIKE 'chaussette-lot-%'`).Scan(&rows); err != nil || rows != 20 {
		t.Errorf("outbox rows: %d, want one per product (%v)", rows, err)
	}
}

func TestImportBounds(t *testing.T) {
	pool := demoDB(t)
	cat := catalog.NewService(pool)
	ctx := as(t, pool, commerce.RoleMerchandiser)
	long := `{"handle": "chaussette-longue", "description": "` + strings.Repeat("x", 2000) + `"}`
	file := strings.Join([]string{oneLine(feedLine("chaussette-x")), long, oneLine(feedLine("chaussette-y"))}, "\n")
	results, sum := runImport(t, cat, ctx, file, catalog.ImportLimits{MaxLineBytes: 1000})
	if got := statuses(results); got != "1:created 2:error 3:created" || sum.Errors != 1 {
		t.Errorf("overlong line: %s %+v", got, sum)
	}
	file = strings.Join([]string{oneLine(feedLine("chaussette-z1")), oneLine(feedLine("chaussette-z2")), oneLine(feedLine("chaussette-z3")), oneLine(feedLine("chaussette-z4"))}, "\n")
	results, _ = runImport(t, cat, ctx, file, catalog.ImportLimits{MaxLines: 2})
	if got := statuses(results); got != "1:created 2:created 3:error" {
		t.Errorf("line count: %s", got)
	}
	if n := countProducts(t, pool, "chaussette-z"); n != 2 {
		t.Errorf("lines past the limit were applied: %d products", n)
	}
	// Without the role, nothing is read.
	_, err := cat.Import(as(t, pool, commerce.RoleAssociate), strings.NewReader(file), catalog.ImportLimits{}, func(catalog.LineResult) error {
		t.Error("a line was handled for an associate")
		return nil
	})
	if commerce.ErrorCode(err) != commerce.ErrForbidden {
		t.Errorf("associate import: %v", err)
	}
	if err := cat.Export(t.Context(), func(*catalog.Line) error { return nil }); commerce.ErrorCode(err) != commerce.ErrUnauthenticated {
		t.Errorf("anonymous export: %v", err)
	}
}
