package bulk_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/admin/bulk"
	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/catalog"
	"github.com/omnicanal/omnicanal/commerce/commercetest"
	"github.com/omnicanal/omnicanal/commerce/demo"
	"github.com/omnicanal/omnicanal/commerce/staff"
	"github.com/omnicanal/omnicanal/internal/reqid"
)

func TestMain(m *testing.M) { commercetest.Main(m) }

type feed struct {
	*httptest.Server
	pool                    *pgxpool.Pool
	merchandiser, associate string
}

func newFeed(t *testing.T) *feed {
	t.Helper()
	pool := commercetest.NewDB(t, commercetest.WithSeed("demo", func(ctx context.Context, pool *pgxpool.Pool) error {
		_, err := demo.Seed(ctx, pool)
		return err
	}))
	svc := staff.NewService(pool)
	f := &feed{pool: pool}
	for role, dst := range map[commerce.Role]*string{commerce.RoleMerchandiser: &f.merchandiser, commerce.RoleAssociate: &f.associate} {
		in := staff.Input{Email: string(role) + "@example.com", Name: string(role), Role: role}
		if role == commerce.RoleAssociate {
			in.LocationIDs = []commerce.ID{demo.LocationID(demo.CodeLyon)}
		}
		st, err := svc.CreateStaff(t.Context(), in)
		if err != nil {
			t.Fatal(err)
		}
		if *dst, err = svc.IssueToken(t.Context(), st.ID, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	mux := http.NewServeMux()
	h := bulk.New(catalog.NewService(pool), svc, slog.New(slog.NewTextHandler(io.Discard, nil)))
	h.Limits = catalog.ImportLimits{MaxLines: 3}
	mux.Handle(bulk.Path, h)
	f.Server = httptest.NewServer(reqid.Middleware(mux))
	t.Cleanup(f.Close)
	return f
}

func (f *feed) request(t *testing.T, method, token, contentType string, body io.Reader) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, f.URL+bulk.Path, body)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

func readAll(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFeedNeedsAMerchandiserToken(t *testing.T) {
	f := newFeed(t)
	cases := []struct {
		name, token string
		status      int
		code        string
	}{
		{"no token", "", http.StatusUnauthorized, commerce.ErrUnauthenticated},
		{"unknown token", staff.TokenPrefix + strings.Repeat("C", 43), http.StatusUnauthorized, commerce.ErrUnauthenticated},
		{"associate", f.associate, http.StatusForbidden, commerce.ErrForbidden},
	}
	for _, c := range cases {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			res := f.request(t, method, c.token, "application/x-ndjson", strings.NewReader(`{"handle": "x", "title": "x"}`))
			var body struct{ Error struct{ Code string } }
			if err := json.NewDecoder(res.Body).Decode(&body); err != nil || res.StatusCode != c.status || body.Error.Code != c.code {
				t.Errorf("%s %s: %d %+v %v", c.name, method, res.StatusCode, body, err)
			}
			if res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("%s %s: security headers missing: %v", c.name, method, res.Header)
			}
		}
	}
	if res := f.request(t, http.MethodPost, f.merchandiser, "text/csv", strings.NewReader("a,b")); res.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("CSV body: %d", res.StatusCode)
	}
	if res := f.request(t, http.MethodDelete, f.merchandiser, "", nil); res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") == "" {
		t.Errorf("DELETE: %d", res.StatusCode)
	}
	var n int
	if err := f.pool.QueryRow(t.Context(), `SELECT count(*) FROM products WHERE handle = 'x'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("a refused import wrote %d products", n)
	}
}

func TestExportThenImportOverHTTP(t *testing.T) {
	f := newFeed(t)
	res := f.request(t, http.MethodGet, f.merchandiser, "", nil)
	export := readAll(t, res)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("export: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	lines := strings.Split(strings.TrimSuffix(export, "\n"), "\n")
	if len(lines) != len(demo.Generate().Products) {
		t.Errorf("exported %d lines", len(lines))
	}
	lines = lines[:3] // the handler's line limit in these tests

	// Importing the export changes nothing; one changed line updates one
	// product; a broken line is reported and the others still apply.
	lines[0] = strings.Replace(lines[0], `"status":"`, `"status":"draft","_status":"`, 1)
	var title string
	if err := json.Unmarshal([]byte(lines[1]), &struct{ Title *string }{&title}); err != nil {
		t.Fatal(err)
	}
	lines[1] = strings.Replace(lines[1], `"title":`+mustJSON(title), `"title":`+mustJSON(title+" (nouvelle saison)"), 1)
	res = f.request(t, http.MethodPost, f.merchandiser, "application/x-ndjson; charset=utf-8", strings.NewReader(strings.Join(lines, "\n")))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("import: %d %s", res.StatusCode, readAll(t, res))
	}
	sc := bufio.NewScanner(res.Body)
	counts := map[catalog.ImportStatus]int{}
	var summary struct {
		Summary *catalog.ImportSummary
		Error   any
	}
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), `{"summary"`) {
			if err := json.Unmarshal(sc.Bytes(), &summary); err != nil {
				t.Fatal(err)
			}
			continue
		}
		var r catalog.LineResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("result line %q: %v", sc.Text(), err)
		}
		counts[r.Status]++
		if r.Line == 1 && (r.Status != catalog.Failed || len(r.Errors) == 0 || !strings.Contains(r.Errors[0].Message, "_status")) {
			t.Errorf("line 1: %+v", r)
		}
		if r.Line == 2 && r.Status != catalog.Updated {
			t.Errorf("line 2: %+v", r)
		}
	}
	want := map[catalog.ImportStatus]int{catalog.Failed: 1, catalog.Updated: 1, catalog.Unchanged: len(lines) - 2}
	if len(counts) != len(want) || counts[catalog.Failed] != 1 || counts[catalog.Updated] != 1 || counts[catalog.Unchanged] != len(lines)-2 {
		t.Errorf("results: %v, want %v", counts, want)
	}
	if summary.Summary == nil || summary.Summary.Unchanged != len(lines)-2 || summary.Error != nil {
		t.Errorf("summary: %+v", summary)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Results stream back while the feed is still being sent: an ERP sees
// each line's fate as soon as it is applied.
func TestImportStreamsResults(t *testing.T) {
	f := newFeed(t)
	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPost, f.URL+bulk.Path, pr)
	req.Header.Set("Authorization", "Bearer "+f.merchandiser)
	req.Header.Set("Content-Type", "application/x-ndjson")
	line := func(handle string) string {
		return `{"handle": "` + handle + `", "title": "Bonnet ` + handle + `", "variants": [{"sku": "` + strings.ToUpper(handle) + `"}]}` + "\n"
	}
	go func() { _, _ = io.WriteString(pw, line("bonnet-flux-1")) }()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	results := bufio.NewScanner(res.Body)
	if !results.Scan() || !strings.Contains(results.Text(), `"status":"created"`) {
		t.Fatalf("first result before the feed ended: %q", results.Text())
	}
	// Past the handler's limit of 3 lines: the import stops early, with
	// the rest of the body unread.
	go func() {
		for _, h := range []string{"bonnet-flux-2", "bonnet-flux-3", "bonnet-flux-4", "bonnet-flux-5"} {
			_, _ = io.WriteString(pw, line(h))
		}
		pw.Close()
	}()
	var rest []string
	for results.Scan() {
		rest = append(rest, results.Text())
	}
	if len(rest) != 4 || !strings.Contains(rest[2], `"status":"error"`) || !strings.Contains(rest[3], `"summary"`) {
		t.Errorf("the rest of the results: %q", rest)
	}
	// The connection stays usable after an import that stopped early.
	for range 3 {
		res := f.request(t, http.MethodPost, f.associate, "application/x-ndjson", strings.NewReader(line("bonnet-flux-6")))
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("after an early stop: %d", res.StatusCode)
		}
		_, _ = io.Copy(io.Discard, res.Body)
	}
}
