package bulk_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/omnicanal/omnicanal/admin/bulk"
	"github.com/omnicanal/omnicanal/commerce/demo"
	"github.com/omnicanal/omnicanal/commerce/inventory"
	"github.com/omnicanal/omnicanal/commerce/staff"
	"github.com/omnicanal/omnicanal/internal/reqid"
)

func (f *feed) postStock(t *testing.T, token, body string) *http.Response {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle(bulk.StockPath, bulk.NewStock(inventory.NewService(f.pool), staff.NewService(f.pool), slog.New(slog.NewTextHandler(io.Discard, nil))))
	srv := httptest.NewServer(reqid.Middleware(mux))
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+bulk.StockPath, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-ndjson")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

func TestStockFeedOverHTTP(t *testing.T) {
	f := newFeed(t)
	var sku string
	if err := f.pool.QueryRow(t.Context(), `SELECT sku FROM variants ORDER BY sku LIMIT 1`).Scan(&sku); err != nil {
		t.Fatal(err)
	}
	body := `{"key": "erp-1", "sku": "` + sku + `", "location": "` + demo.CodeLyon + `", "onHand": 42}
{"key": "erp-1", "sku": "` + sku + `", "location": "` + demo.CodeLyon + `", "onHand": 43}
{"key": "erp-2", "sku": "nope", "location": "` + demo.CodeLyon + `", "onHand": 1}
`
	if res := f.postStock(t, "", body); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: %d", res.StatusCode)
	}
	if res := f.postStock(t, f.associate, body); res.StatusCode != http.StatusForbidden {
		t.Errorf("associate: %d", res.StatusCode)
	}
	res := f.postStock(t, f.merchandiser, body)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("status %d, content type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	got := readAll(t, res)
	want := `{"line":1,"key":"erp-1","status":"applied"}
{"line":2,"key":"erp-1","status":"skipped"}
{"line":3,"key":"erp-2","status":"error","errors":[{"field":"sku","code":"NOT_FOUND","message":"no variant has the sku \"nope\""}]}
{"summary":{"lines":3,"applied":1,"unchanged":0,"skipped":1,"errors":1}}
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	var onHand int
	if err := f.pool.QueryRow(t.Context(), `SELECT s.on_hand FROM stock_levels s JOIN variants v ON v.id = s.variant_id
		JOIN locations l ON l.id = s.location_id WHERE v.sku = $1 AND l.code = $2`, sku, demo.CodeLyon).Scan(&onHand); err != nil || onHand != 42 {
		t.Errorf("on hand %d, %v", onHand, err)
	}
}
