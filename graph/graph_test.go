package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce/catalog"
	"github.com/omnicanal/omnicanal/commerce/channel"
	"github.com/omnicanal/omnicanal/commerce/commercetest"
	"github.com/omnicanal/omnicanal/commerce/demo"
	"github.com/omnicanal/omnicanal/commerce/inventory"
	"github.com/omnicanal/omnicanal/commerce/location"
	"github.com/omnicanal/omnicanal/graph"
	"github.com/omnicanal/omnicanal/internal/pgxuuid"
	"github.com/omnicanal/omnicanal/internal/reqid"
	"github.com/omnicanal/omnicanal/search"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestMain(m *testing.M) { commercetest.Main(m) }

// testLimits are the production defaults, so tests prove what users get.
var testLimits = graph.Limits{
	MaxComplexity: 20000,
	MaxDepth:      12,
	MaxTokens:     10000,
	MaxBodyBytes:  1 << 20,
	Timeout:       10 * time.Second,
}

// seedDemo loads the demo data and indexes it for search, once per test
// process, into the template every demoDB clones.
func seedDemo(ctx context.Context, pool *pgxpool.Pool) error {
	if _, err := demo.Seed(ctx, pool); err != nil {
		return err
	}
	svc := services(pool)
	_, err := (&search.Indexer{Catalog: svc.Catalog, Engine: svc.SearchEngine}).Rebuild(ctx)
	return err
}

// demoDB is a fresh database holding the demo data set.
func demoDB(t *testing.T) *pgxpool.Pool {
	t.Helper()
	return commercetest.NewDB(t, commercetest.WithSeed("demo", seedDemo))
}

// tracedDemoDB is demoDB on a pool whose statements tracer sees, set up
// as cmd/omnicanal sets up the server's (20 connections, the uuid codec);
// it also returns the pool's config, for another pool traced the same way.
func tracedDemoDB(t testing.TB, tracer pgx.QueryTracer) (*pgxpool.Pool, *pgxpool.Config) {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(commercetest.URL(t, commercetest.WithSeed("demo", seedDemo)))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 20
	cfg.AfterConnect = pgxuuid.AfterConnect
	cfg.ConnConfig.Tracer = tracer
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool, cfg
}

func services(pool *pgxpool.Pool) graph.Services {
	return graph.Services{
		Channels:     channel.NewService(pool),
		Locations:    location.NewService(pool),
		Catalog:      catalog.NewService(pool),
		Inventory:    inventory.NewService(pool),
		SearchEngine: search.NewPostgres(pool),
	}
}

// logBuffer collects what the handler logs, safe for concurrent writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

type server struct {
	*httptest.Server
	logs *logBuffer
}

func newServer(t *testing.T, svc graph.Services, mutate ...func(*graph.Options)) *server {
	t.Helper()
	logs := &logBuffer{}
	opts := graph.Options{Limits: testLimits, Introspection: true, Logger: slog.New(slog.NewJSONHandler(logs, nil))}
	for _, m := range mutate {
		m(&opts)
	}
	srv := httptest.NewServer(reqid.Middleware(graph.NewHandler(svc, opts)))
	t.Cleanup(srv.Close)
	return &server{Server: srv, logs: logs}
}

// response is a GraphQL response with its HTTP envelope.
type response struct {
	Status      int
	ContentType string
	Raw         []byte
	Data        map[string]any `json:"data"`
	Errors      []struct {
		Message    string         `json:"message"`
		Path       []any          `json:"path"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

func (r *response) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

func do(t *testing.T, req *http.Request) *response {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := &response{Status: res.StatusCode, ContentType: res.Header.Get("Content-Type"), Raw: raw}
	if err := json.Unmarshal(raw, r); err != nil {
		t.Fatalf("response is not JSON (%d): %s", res.StatusCode, raw)
	}
	return r
}

// post sends one operation as the storefront would.
func (s *server) post(t *testing.T, key, query string, vars map[string]any) *response {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, s.URL, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/graphql-response+json")
	if key != "" {
		req.Header.Set(graph.ChannelKeyHeader, key)
	}
	return do(t, req)
}

// ok fails the test unless the response has data and no error.
func (r *response) ok(t *testing.T) *response {
	t.Helper()
	if r.Status != http.StatusOK || len(r.Errors) > 0 || r.Data == nil {
		t.Fatalf("want data without errors, got %d: %s", r.Status, r.Raw)
	}
	return r
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(got, &v); err != nil {
		t.Fatal(err)
	}
	pretty, _ := json.MarshalIndent(v, "", "  ")
	pretty = append(pretty, '\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, pretty, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./graph -update to create it)", err)
	}
	if !bytes.Equal(want, pretty) {
		t.Errorf("%s differs from the response (run go test ./graph -update after checking the change):\n%s", path, diffHint(want, pretty))
	}
}

func diffHint(want, got []byte) string {
	wl, gl := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := 0; i < len(wl) && i < len(gl); i++ {
		if wl[i] != gl[i] {
			return fmt.Sprintf("line %d:\n  want %s\n  got  %s", i+1, wl[i], gl[i])
		}
	}
	return "lengths differ"
}
