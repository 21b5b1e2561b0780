package search

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeMeili is an HTTP server that answers like Meilisearch for the
// endpoints the adapter uses, and records every request, so that tests can
// check exactly what the adapter sends without a Meilisearch server.
type fakeMeili struct {
	*httptest.Server
	t *testing.T

	mu       sync.Mutex
	requests []fakeRequest
	nextTask int64
	// failTasks makes the task of the request to this "METHOD path" fail
	// with this Meilisearch error code.
	failTasks map[string]string
	// fetched answers POST /indexes/{uid}/documents/fetch.
	fetched []map[string]any
	// searched answers POST /multi-search: one result per query.
	searched []map[string]any

	tasks map[int64]map[string]any
}

// fakeRequest is one recorded request; Body is decoded JSON (nil if none).
type fakeRequest struct {
	Method, Path, RawQuery, Auth string
	Body                         any
}

func (r fakeRequest) String() string { return r.Method + " " + r.Path }

func newFakeMeili(t *testing.T) *fakeMeili {
	f := &fakeMeili{t: t, failTasks: map[string]string{}, tasks: map[int64]map[string]any{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

// engine returns a Meili engine on the fake server.
func (f *fakeMeili) engine() *Meili {
	e := NewMeili(f.URL, "test-key", "products")
	e.poll = 0 // the fake's tasks are done at once
	return e
}

// calls returns "METHOD path" of every request but the task polls.
func (f *fakeMeili) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var cs []string
	for _, r := range f.requests {
		if !strings.HasPrefix(r.Path, "/tasks/") {
			cs = append(cs, r.String())
		}
	}
	return cs
}

// request returns the recorded request "METHOD path" (the last one).
func (f *fakeMeili) request(call string) fakeRequest {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.requests) - 1; i >= 0; i-- {
		if f.requests[i].String() == call {
			return f.requests[i]
		}
	}
	f.t.Fatalf("no request %s among %v", call, f.requests)
	return fakeRequest{}
}

func (f *fakeMeili) serve(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req := fakeRequest{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Auth: r.Header.Get("Authorization")}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &req.Body); err != nil {
			f.t.Errorf("%s: body is not JSON: %v: %s", req, err, raw)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, req)

	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	// task enqueues a task that is already finished, as Meilisearch would
	// report it once processed.
	task := func(kind string) {
		f.nextTask++
		t := map[string]any{
			"uid": f.nextTask, "indexUid": "products", "status": "succeeded", "type": kind,
			"enqueuedAt": "2025-01-01T00:00:00Z", "startedAt": "2025-01-01T00:00:00Z", "finishedAt": "2025-01-01T00:00:00Z",
		}
		if code, ok := f.failTasks[req.String()]; ok {
			t["status"] = "failed"
			t["error"] = map[string]any{"message": "fake failure " + code, "code": code, "type": "invalid_request", "link": ""}
		}
		f.tasks[f.nextTask] = t
		reply(http.StatusAccepted, map[string]any{
			"taskUid": f.nextTask, "indexUid": "products", "status": "enqueued", "type": kind, "enqueuedAt": "2025-01-01T00:00:00Z",
		})
	}
	switch p := req.Path; {
	case strings.HasPrefix(p, "/tasks/"):
		uid, _ := strconv.ParseInt(strings.TrimPrefix(p, "/tasks/"), 10, 64)
		if t, ok := f.tasks[uid]; ok {
			reply(http.StatusOK, t)
			return
		}
		reply(http.StatusNotFound, map[string]any{"message": "task not found", "code": "task_not_found", "type": "invalid_request", "link": ""})
	case r.Method == http.MethodPost && p == "/indexes":
		task("indexCreation")
	case r.Method == http.MethodDelete && p == "/indexes/products":
		task("indexDeletion")
	case r.Method == http.MethodPatch && p == "/indexes/products/settings":
		task("settingsUpdate")
	case (r.Method == http.MethodPost || r.Method == http.MethodPut) && p == "/indexes/products/documents":
		task("documentAdditionOrUpdate")
	case r.Method == http.MethodPost && p == "/indexes/products/documents/fetch":
		results := f.fetched
		if results == nil {
			results = []map[string]any{}
		}
		reply(http.StatusOK, map[string]any{"results": results, "offset": 0, "limit": 1000, "total": len(results)})
	case r.Method == http.MethodPost && p == "/multi-search":
		reply(http.StatusOK, map[string]any{"results": f.searched})
	default:
		f.t.Errorf("unexpected request %s", req)
		reply(http.StatusNotFound, map[string]any{"message": "not found", "code": "not_found", "type": "invalid_request", "link": ""})
	}
}

// assertJSON fails unless got (decoded JSON) equals the JSON text want.
func assertJSON(t *testing.T, what string, got any, want string) {
	t.Helper()
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: bad expectation: %v", what, err)
	}
	if !reflect.DeepEqual(got, w) {
		g, _ := json.MarshalIndent(got, "", "  ")
		e, _ := json.MarshalIndent(w, "", "  ")
		t.Errorf("%s:\n got %s\nwant %s", what, g, e)
	}
}

func jsonString(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprint(err))
	}
	return string(b)
}
