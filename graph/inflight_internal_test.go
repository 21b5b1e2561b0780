package graph

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Past the bound, requests wait for a slot; one that waits longer than the
// timeout gets a busy answer with a code rather than piling up.
func TestLimitInFlight(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	h := limitInFlight(1, 100*time.Millisecond, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case started <- struct{}{}:
		default:
		}
		<-release
		w.WriteHeader(http.StatusOK)
	}))
	first := make(chan int)
	go func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/graphql", nil))
		first <- rec.Code
	}()
	<-started
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/graphql", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `"TIMEOUT"`) || rec.Header().Get("Retry-After") == "" {
		t.Errorf("second request while the only slot is taken: %d %s", rec.Code, rec.Body)
	}
	close(release)
	if code := <-first; code != http.StatusOK {
		t.Errorf("first request: %d", code)
	}
	// The slot is free again.
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/graphql", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("after release: %d", rec.Code)
	}
	// Websockets are not counted.
	rec = httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/graphql", nil)
	req.Header.Set("Upgrade", "websocket")
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Errorf("upgrade: %d", rec.Code)
	}
}
