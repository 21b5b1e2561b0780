package graph

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// renderer stands for the GraphQL handler behind the cache: it counts its
// renders and holds each until released.
type renderer struct {
	renders atomic.Int32
	started chan struct{} // one send per render (buffered)
	release chan struct{}
	status  int
}

func newRenderer(status int) *renderer {
	return &renderer{started: make(chan struct{}, 100), release: make(chan struct{}), status: status}
}

func (h *renderer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := h.renders.Add(1)
	h.started <- struct{}{}
	<-h.release
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(h.status)
	if h.status == http.StatusOK {
		_, _ = w.Write([]byte(`{"data":{"render":` + strconv.Itoa(int(n)) + `}}`))
	} else {
		_, _ = w.Write([]byte(`{"errors":[{"message":"busy"}]}`))
	}
}

const listingBody = `{"query":"{ products(first: 20) { nodes { handle } } }"}`

func sendListing(h http.Handler) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(listingBody))
	req.Header.Set(ChannelKeyHeader, "pk_test")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// sendWhileRendering sends n requests while the first one is being
// rendered, then lets the render finish, and returns every answer, the
// first one first.
func sendWhileRendering(t *testing.T, h http.Handler, r *renderer, n int) []*httptest.ResponseRecorder {
	t.Helper()
	out := make([]*httptest.ResponseRecorder, n+1)
	var wg sync.WaitGroup
	wg.Go(func() { out[0] = sendListing(h) })
	<-r.started
	for i := 1; i <= n; i++ {
		wg.Go(func() { out[i] = sendListing(h) })
	}
	time.Sleep(200 * time.Millisecond) // let them reach the cache and wait
	close(r.release)
	wg.Wait()
	return out
}

// Identical requests that arrive while the answer is being rendered wait
// for it rather than render it again.
func TestCacheRendersConcurrentMissesOnce(t *testing.T) {
	c := NewCache(time.Minute, 10)
	c.maxBody = 1 << 20
	r := newRenderer(http.StatusOK)
	answers := sendWhileRendering(t, c.middleware(r), r, 20)
	if n := r.renders.Load(); n != 1 {
		t.Fatalf("%d renders for 21 identical requests, want 1", n)
	}
	coalesced := 0
	for i, a := range answers {
		if a.Code != http.StatusOK || a.Body.String() != `{"data":{"render":1}}` || a.Header().Get("Content-Type") != "application/json" {
			t.Errorf("answer %d: %d %q %q", i, a.Code, a.Header().Get("Content-Type"), a.Body)
		}
		if a.Header().Get("X-Cache") == "COALESCED" {
			coalesced++
		}
	}
	if answers[0].Header().Get("X-Cache") != "" || coalesced == 0 {
		t.Errorf("first answer X-Cache %q, %d coalesced: the test did not overlap the requests", answers[0].Header().Get("X-Cache"), coalesced)
	}
	if a := sendListing(c.middleware(r)); a.Header().Get("X-Cache") != "HIT" {
		t.Errorf("after the render: X-Cache %q, want HIT", a.Header().Get("X-Cache"))
	}
}

// A failed render is not shared: the waiting requests are answered on
// their own, and nothing is stored.
func TestCacheDoesNotShareAFailedRender(t *testing.T) {
	c := NewCache(time.Minute, 10)
	c.maxBody = 1 << 20
	r := newRenderer(http.StatusServiceUnavailable)
	answers := sendWhileRendering(t, c.middleware(r), r, 5)
	if n := r.renders.Load(); n != 6 {
		t.Errorf("%d renders, want one per request (6)", n)
	}
	for i, a := range answers {
		if a.Code != http.StatusServiceUnavailable || a.Header().Get("X-Cache") != "" {
			t.Errorf("answer %d: %d, X-Cache %q", i, a.Code, a.Header().Get("X-Cache"))
		}
	}
	if c.entries.Len() != 0 {
		t.Error("a failed answer was stored")
	}
}

// An answer rendered across a purge is not stored: it may predate the
// change that purged the cache.
func TestCacheDropsAnAnswerRenderedAcrossAPurge(t *testing.T) {
	c := NewCache(time.Minute, 10)
	c.maxBody = 1 << 20
	r := newRenderer(http.StatusOK)
	h := c.middleware(r)
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- sendListing(h) }()
	<-r.started
	c.Purge()
	close(r.release)
	if a := <-done; a.Code != http.StatusOK {
		t.Fatalf("%d %s", a.Code, a.Body)
	}
	if c.entries.Len() != 0 {
		t.Error("the answer rendered before the purge was stored")
	}
	// A request after the purge renders anew rather than wait for the
	// render the purge made stale.
	if a := sendListing(h); a.Header().Get("X-Cache") != "" || r.renders.Load() != 2 {
		t.Errorf("after the purge: X-Cache %q, %d renders", a.Header().Get("X-Cache"), r.renders.Load())
	}
}
