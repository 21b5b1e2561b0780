package graph_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/omnicanal/omnicanal/commerce"

	"github.com/omnicanal/omnicanal/commerce/demo"
	"github.com/omnicanal/omnicanal/commerce/outbox"
	"github.com/omnicanal/omnicanal/graph"
)

func (s *server) raw(t *testing.T, key, auth, body string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(graph.ChannelKeyHeader, key)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(res.Body)
	return res, b.Bytes()
}

// Anonymous catalog reads are answered from the cache until a catalog
// change commits; everything personal or failed is never cached.
func TestCacheServesCatalogReadsUntilTheCatalogChanges(t *testing.T) {
	pool := demoDB(t)
	cache := graph.NewCache(time.Minute, 100)
	s := newServer(t, services(pool), func(o *graph.Options) { o.Cache = cache })
	const title = `{"query":"{ product(handle: \"chaussure-de-course-elan\") { title } }"}`

	res, first := s.raw(t, demo.KeyWebEU, "", title)
	if res.Header.Get("X-Cache") != "" {
		t.Fatal("first request served from the cache")
	}
	res, second := s.raw(t, demo.KeyWebEU, "", title)
	if res.Header.Get("X-Cache") != "HIT" || !bytes.Equal(first, second) {
		t.Fatalf("second request: X-Cache %q, %s", res.Header.Get("X-Cache"), second)
	}
	if res, _ := s.raw(t, demo.KeyWebCA, "", title); res.Header.Get("X-Cache") == "HIT" {
		t.Error("another channel got this channel's answer")
	}

	// A change the cache is not told about stays invisible (until the TTL)…
	if _, err := pool.Exec(t.Context(), `UPDATE products SET title = 'Élan 2' WHERE handle = $1`, demo.HandleRunningShoe); err != nil {
		t.Fatal(err)
	}
	if _, b := s.raw(t, demo.KeyWebEU, "", title); strings.Contains(string(b), "Élan 2") {
		t.Fatal("the cache did not answer: the test proves nothing")
	}
	// …and the outbox's notification, which every catalog write sends at
	// commit, purges it on every instance.
	w := &outbox.Worker{Queue: outbox.Search, Outbox: outbox.NewService(pool), Pool: pool, Poll: time.Hour,
		Handle: func(context.Context, []commerce.ID) error { return nil }, Notified: func(string) { cache.Purge() }}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go w.Run(ctx)
	time.Sleep(200 * time.Millisecond) // let it LISTEN
	err := pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error {
		return outbox.Enqueue(t.Context(), tx, outbox.Search, demo.ProductID(demo.HandleRunningShoe))
	})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, b := s.raw(t, demo.KeyWebEU, "", title); strings.Contains(string(b), "Élan 2") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the change never showed: the notification did not purge the cache")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Never cached: errors, requests with a token, anything personal.
	for name, c := range map[string]struct{ key, auth, body string }{
		"unknown channel": {"pk_nope", "", title},
		"with a token":    {demo.KeyWebEU, "Bearer ct_abc", title},
		"a cart":          {demo.KeyWebEU, "", `{"query":"{ cart(id: \"00000000-0000-0000-0000-000000000000\", token: \"x\") { id } }"}`},
		"me":              {demo.KeyWebEU, "", `{"query":"{ me { email } }"}`},
		"a mutation":      {demo.KeyWebEU, "", `{"query":"mutation { cartCreate(input: {}) { cart { id } } }"}`},
	} {
		s.raw(t, c.key, c.auth, c.body)
		if res, _ := s.raw(t, c.key, c.auth, c.body); res.Header.Get("X-Cache") == "HIT" {
			t.Errorf("%s was cached", name)
		}
	}
}
