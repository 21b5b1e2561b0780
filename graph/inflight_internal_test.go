package graph

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
)

// Past its bound, an operation waits for a slot; one still waiting at the
// request's deadline gets a busy answer with a code rather than piling up,
// and one whose client went away gets nothing. Queries and mutations are
// bounded apart: queries filling theirs do not hold up a mutation.
func TestInFlight(t *testing.T) {
	f := newInFlight(1, 1)
	enter := func(ctx context.Context, op ast.Operation) (*httptest.ResponseRecorder, func(), bool) {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/graphql", nil).WithContext(ctx)
		release, ok := f.enter(rec, r, mediaGraphQLResponse, op)
		return rec, release, ok
	}
	_, releaseQuery, ok := enter(t.Context(), ast.Query)
	if !ok {
		t.Fatal("the first query got no slot")
	}

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	rec, _, ok := enter(ctx, ast.Query)
	if ok || rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `"TIMEOUT"`) ||
		rec.Header().Get("Retry-After") == "" || !strings.HasPrefix(rec.Header().Get("Content-Type"), mediaGraphQLResponse) {
		t.Errorf("a second query past its deadline: ok %v, %d %q %s", ok, rec.Code, rec.Header(), rec.Body)
	}

	gone, leave := context.WithCancel(t.Context())
	leave()
	if rec, _, ok := enter(gone, ast.Query); ok || rec.Body.Len() != 0 {
		t.Errorf("a query whose client went away: ok %v, body %q", ok, rec.Body)
	}

	soon, cancelSoon := context.WithTimeout(t.Context(), time.Second)
	defer cancelSoon()
	_, releaseMutation, ok := enter(soon, ast.Mutation)
	if !ok {
		t.Fatal("a mutation waited behind the queries' bound")
	}
	ctx, cancel = context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if rec, _, ok := enter(ctx, ast.Mutation); ok || rec.Code != http.StatusServiceUnavailable {
		t.Errorf("a second mutation past its deadline: ok %v, %d", ok, rec.Code)
	}

	// A query waiting when the slot is given back takes it.
	got := make(chan bool)
	go func() {
		_, release, ok := enter(t.Context(), ast.Query)
		if ok {
			release()
		}
		got <- ok
	}()
	time.Sleep(20 * time.Millisecond)
	releaseQuery()
	if !<-got {
		t.Error("the waiting query got no slot once it was free")
	}
	releaseMutation()
	_, release, ok := enter(t.Context(), ast.Mutation)
	if !ok {
		t.Error("no mutation slot after the release")
	} else {
		release()
	}
}

func TestInFlightDefaults(t *testing.T) {
	f := newInFlight(0, 0)
	n := runtime.GOMAXPROCS(0)
	if cap(f.queries) != queriesPerCPU*n || cap(f.mutations) != mutationsPerCPU*n {
		t.Errorf("bounds %d queries, %d mutations with %d CPUs", cap(f.queries), cap(f.mutations), n)
	}
}
