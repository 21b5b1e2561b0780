package graph_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/jackc/pgx/v5"

	"github.com/omnicanal/omnicanal/commerce/demo"
	"github.com/omnicanal/omnicanal/graph"
)

// An unexpected failure (here: the database going away) reaches the client
// as "internal error" with the request id, and the cause only the log.
func TestInternalErrorsAreHidden(t *testing.T) {
	pool := demoDB(t)
	s := newServer(t, services(pool))
	s.post(t, demo.KeyWebEU, `{ channel { name } }`, nil).ok(t) // caches the channel
	pool.Close()
	r := s.post(t, demo.KeyWebEU, `{ products { nodes { handle } } }`, nil)
	if r.code() != "INTERNAL" || r.Errors[0].Message != "internal error" || r.Status >= 500 {
		t.Fatalf("got %d %s", r.Status, r.Raw)
	}
	id, _ := r.Errors[0].Extensions["requestId"].(string)
	if id == "" {
		t.Fatalf("internal error without requestId: %s", r.Raw)
	}
	if strings.Contains(string(r.Raw), "closed") {
		t.Errorf("cause leaked to the client: %s", r.Raw)
	}
	logs := s.logs.String()
	if strings.Count(logs, id) != 1 || !strings.Contains(logs, "closed pool") {
		t.Errorf("want the cause logged once with request id %s, log:\n%s", id, logs)
	}
}

// A panic in a resolver is recovered: a generic error for the client, the
// stack in the log, and the server keeps serving.
func TestPanicsAreRecovered(t *testing.T) {
	svc := services(demoDB(t))
	svc.Catalog = nil // products resolves through a nil service: a nil-pointer panic
	s := newServer(t, svc)
	r := s.post(t, demo.KeyWebEU, `{ products { nodes { handle } } }`, nil)
	if r.code() != "INTERNAL" || r.Errors[0].Message != "internal error" || r.Status >= 500 {
		t.Fatalf("got %d %s", r.Status, r.Raw)
	}
	if strings.Contains(string(r.Raw), "nil pointer") || !strings.Contains(s.logs.String(), "goroutine") {
		t.Errorf("panic not hidden from the client or not logged with its stack:\n%s\n%s", r.Raw, s.logs.String())
	}
	s.post(t, demo.KeyWebEU, `{ channel { name } }`, nil).ok(t)
}

// countingTracer counts the SQL statements a pool runs.
type countingTracer struct{ n atomic.Int64 }

func (c *countingTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	// The channel lookup is cached for 30 s per key; on a loaded machine
	// the cache can lapse during the test, which says nothing of the query
	// under test, so it is not counted.
	if !strings.Contains(d.SQL, "FROM channels") {
		c.n.Add(1)
	}
	return ctx
}
func (c *countingTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// A page of products with variants, prices, price ranges, stock and stores
// costs the same small number of queries whatever its size: no N+1.
func TestProductListingQueryCountIsConstant(t *testing.T) {
	tracer := &countingTracer{}
	pool, _ := tracedDemoDB(t, tracer)
	s := newServer(t, services(pool))
	s.post(t, demo.KeyWebEU, `{ channel { name } }`, nil).ok(t) // the channel is cached from here on

	cases := []struct {
		name, query string
		budget      int64
	}{
		// The listing of the performance target: products, then variants
		// with their prices (the price ranges are derived from them).
		{"listing", `query($n: Int) { products(first: $n) { nodes { handle title
			priceRange { minVariantPrice { amount } }
			variants(first: 20) { sku title price { amount currencyCode } compareAtPrice { amount } } } } }`, 2},
		// Everything a product page shows, for a whole page.
		{"everything", `query($n: Int) { products(first: $n) { totalCount nodes { handle
			priceRange { minVariantPrice { amount } } options { name values } media { url } categories { handle parent { handle } }
			variants(first: 20) { sku price { amount } compareAtPrice { amount } quantityAvailable
				storeAvailability { store { name } quantityAvailable } } } } }`, 9},
	}
	for _, c := range cases {
		counts := map[int]int64{}
		for _, n := range []int{1, 10, 50} {
			tracer.n.Store(0)
			s.post(t, demo.KeyWebEU, c.query, map[string]any{"n": n}).ok(t)
			counts[n] = tracer.n.Load()
		}
		for n, got := range counts {
			if got > c.budget {
				t.Errorf("%s: %d products cost %d queries, want at most %d", c.name, n, got, c.budget)
			}
		}
		if counts[1] != counts[50] {
			t.Errorf("%s: query count grows with the page: %v", c.name, counts)
		}
	}
}

// The websocket transport (graphql-transport-ws) takes the channel key in
// connection_init, as browsers cannot set headers on a websocket.
func TestWebsocketTransport(t *testing.T) {
	s := newServer(t, services(demoDB(t)))
	ctx := t.Context()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.URL, "http"), &websocket.DialOptions{
		Subprotocols: []string{"graphql-transport-ws"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	send := func(v any) {
		t.Helper()
		if err := wsjson.Write(ctx, conn, v); err != nil {
			t.Fatal(err)
		}
	}
	type message struct {
		Type    string         `json:"type"`
		ID      string         `json:"id"`
		Payload map[string]any `json:"payload"`
	}
	read := func() message {
		t.Helper()
		var m message
		if err := wsjson.Read(ctx, conn, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	send(map[string]any{"type": "connection_init", "payload": map[string]any{graph.ChannelKeyHeader: demo.KeyKioskLyon}})
	if m := read(); m.Type != "connection_ack" {
		t.Fatalf("want connection_ack, got %+v", m)
	}
	send(map[string]any{"type": "subscribe", "id": "1", "payload": map[string]any{"query": "{ channel { name store { code } } }"}})
	m := read()
	if m.Type != "next" || !strings.Contains(mustJSON(m.Payload), demo.CodeLyon) {
		t.Fatalf("want the Lyon kiosk channel, got %+v", m)
	}
	if m := read(); m.Type != "complete" {
		t.Fatalf("want complete, got %+v", m)
	}
	conn.Close(websocket.StatusNormalClosure, "")
}
