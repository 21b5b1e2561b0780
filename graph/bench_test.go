//go:build unix

package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce/commercetest"
	"github.com/omnicanal/omnicanal/commerce/demo"
	"github.com/omnicanal/omnicanal/graph"
	"github.com/omnicanal/omnicanal/internal/pgxuuid"
	"github.com/omnicanal/omnicanal/internal/reqid"
)

// These benchmarks send the operations of cmd/loadgen through the real
// handler and real services on a demo database, with the handler called
// directly (no TCP), so ns/op and allocs/op are the server's own work plus
// Postgres. docs/performance.md records their figures next to the load runs.
//
// Each has two sub-benchmarks: "serial" is one request at a time, its ns/op
// the latency of an idle server; "parallel" keeps 8 requests per CPU in
// flight, like the load runs' 16 connections on 2 cores, its ns/op the
// inverse of throughput.

// benchListingQuery is cmd/loadgen's listing: a category page of 20 products.
const benchListingQuery = `query Listing {
  products(first: 20) {
    edges { node {
      handle title
      priceRange { minVariantPrice { amount currencyCode } maxVariantPrice { amount currencyCode } }
      variants { sku title price { amount currencyCode } compareAtPrice { amount } }
    } }
  }
}`

// benchProductQuery is cmd/loadgen's product page.
const benchProductQuery = `query Product($handle: String!) {
  product(handle: $handle) {
    handle title description brand
    priceRange { minVariantPrice { amount currencyCode } maxVariantPrice { amount currencyCode } }
    variants { sku title selectedOptions { name value } price { amount currencyCode } compareAtPrice { amount } }
  }
}`

// statementCounter counts the SQL statements a pool runs. Its own type, not
// robustness_test.go's, so the two files can change independently.
type statementCounter struct{ n atomic.Int64 }

func (c *statementCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *statementCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// Statements sent in a batch (pipelined in one round trip) count too.
func (c *statementCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}
func (c *statementCounter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {
	c.n.Add(1)
}
func (c *statementCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// benchHandler is the /graphql handler over a fresh demo database, its pool
// sized as cmd/omnicanal sizes the server's, so that contention for
// connections is measured too.
func benchHandler(b *testing.B, mutate ...func(*graph.Options)) (http.Handler, *statementCounter) {
	b.Helper()
	cfg, err := pgxpool.ParseConfig(commercetest.URL(b, commercetest.WithSeed("demo", seedDemo)))
	if err != nil {
		b.Fatal(err)
	}
	counter := &statementCounter{}
	cfg.MaxConns = 20                       // cmd/omnicanal's default when DATABASE_URL does not set pool_max_conns
	cfg.AfterConnect = pgxuuid.AfterConnect // as the server does
	cfg.ConnConfig.Tracer = counter
	pool, err := pgxpool.NewWithConfig(b.Context(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	opts := graph.Options{
		Limits: testLimits,
		Logger: slog.New(slog.DiscardHandler),
	}
	for _, m := range mutate {
		m(&opts)
	}
	h := reqid.Middleware(graph.NewHandler(services(pool), opts))
	return h, counter
}

func benchBody(b *testing.B, query string, vars map[string]any) []byte {
	b.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		b.Fatal(err)
	}
	return body
}

// serve sends one storefront request and returns the recorded answer.
func serve(h http.Handler, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/graphql-response+json")
	req.Header.Set(graph.ChannelKeyHeader, demo.KeyWebEU)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// mustServe fails the benchmark unless the answer is data without errors:
// a benchmark of an error path would measure nothing useful.
func mustServe(tb testing.TB, h http.Handler, body []byte, into any) {
	tb.Helper()
	rec := serve(h, body)
	var r struct {
		Data   json.RawMessage `json:"data"`
		Errors []any           `json:"errors"`
	}
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &r) != nil || len(r.Errors) > 0 || len(r.Data) == 0 {
		tb.Fatalf("want data without errors, got %d: %.500s", rec.Code, rec.Body.String())
	}
	if into != nil {
		if err := json.Unmarshal(r.Data, into); err != nil {
			tb.Fatal(err)
		}
	}
}

// cpuTime is the CPU time this process has used, user and system. On a
// shared machine wall time per op moves with whatever else runs; the CPU a
// request costs the server barely does, so A/B comparisons use it. (This is
// why the file is unix-only: getrusage.)
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runBoth runs the serial and parallel sub-benchmarks of one operation,
// rotating over bodies, and reports the SQL statements and the server CPU
// time (not Postgres's) each request cost.
func runBoth(b *testing.B, h http.Handler, counter *statementCounter, bodies [][]byte) {
	check := func(b *testing.B, rec *httptest.ResponseRecorder) {
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %.300s", rec.Code, rec.Body.String())
		}
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		counter.n.Store(0)
		cpu := cpuTime(b)
		i := 0
		for b.Loop() {
			check(b, serve(h, bodies[i%len(bodies)]))
			i++
		}
		b.ReportMetric(float64(counter.n.Load())/float64(b.N), "sql/op")
		b.ReportMetric(float64(cpuTime(b)-cpu)/1e6/float64(b.N), "cpu-ms/op")
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(8)
		counter.n.Store(0)
		cpu := cpuTime(b)
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				rec := serve(h, bodies[int(next.Add(1))%len(bodies)])
				if rec.Code != http.StatusOK {
					b.Errorf("status %d: %.300s", rec.Code, rec.Body.String())
					return
				}
			}
		})
		b.ReportMetric(float64(counter.n.Load())/float64(b.N), "sql/op")
		b.ReportMetric(float64(cpuTime(b)-cpu)/1e6/float64(b.N), "cpu-ms/op")
	})
}

// BenchmarkProductListing: 20 products with their variants, the variants'
// prices and the products' price ranges.
func BenchmarkProductListing(b *testing.B) {
	h, counter := benchHandler(b)
	body := benchBody(b, benchListingQuery, nil)
	var page struct {
		Products struct {
			Edges []struct {
				Node struct {
					Variants []struct {
						Price *struct{ Amount string }
					}
				}
			}
		}
	}
	mustServe(b, h, body, &page)
	if len(page.Products.Edges) != 20 {
		b.Fatalf("listing has %d products, want 20", len(page.Products.Edges))
	}
	for _, e := range page.Products.Edges {
		if len(e.Node.Variants) == 0 || e.Node.Variants[0].Price == nil {
			b.Fatalf("a product without variants or prices: the benchmark would not measure a real page")
		}
	}
	runBoth(b, h, counter, [][]byte{body})
}

// BenchmarkProductByHandle: a product page, over the first 50 products so
// Postgres does not answer the same row every time.
func BenchmarkProductByHandle(b *testing.B) {
	h, counter := benchHandler(b)
	var list struct {
		Products struct{ Nodes []struct{ Handle string } }
	}
	mustServe(b, h, benchBody(b, `{ products(first: 50) { nodes { handle } } }`, nil), &list)
	var bodies [][]byte
	for _, p := range list.Products.Nodes {
		body := benchBody(b, benchProductQuery, map[string]any{"handle": p.Handle})
		var got struct {
			Product *struct {
				Variants []struct{ Price *struct{ Amount string } }
			}
		}
		mustServe(b, h, body, &got)
		if got.Product == nil || len(got.Product.Variants) == 0 || got.Product.Variants[0].Price == nil {
			b.Fatalf("product %s has no variants or prices", p.Handle)
		}
		bodies = append(bodies, body)
	}
	if len(bodies) < 10 {
		b.Fatalf("only %d products to rotate over", len(bodies))
	}
	runBoth(b, h, counter, bodies)
}

// BenchmarkProductListingCached is the listing answered by graph.Cache, as
// the server answers a popular listing: the cost of a hit (reading and
// hashing the request, the lookup, writing 49 KB), with no statement.
func BenchmarkProductListingCached(b *testing.B) {
	h, counter := benchHandler(b, func(o *graph.Options) { o.Cache = graph.NewCache(time.Hour, 100) })
	body := benchBody(b, benchListingQuery, nil)
	mustServe(b, h, body, nil) // the miss that fills the entry
	if rec := serve(h, body); rec.Header().Get("X-Cache") != "HIT" {
		b.Fatalf("second request: X-Cache %q, want HIT", rec.Header().Get("X-Cache"))
	}
	runBoth(b, h, counter, [][]byte{body})
}
