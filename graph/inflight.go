package graph

import (
	"context"
	"errors"
	"net/http"
	"runtime"

	"github.com/vektah/gqlparser/v2/ast"
)

// inFlight bounds the operations executing at once, queries and mutations
// each on their own; the others wait their turn, up to the request's
// deadline (Limits.Timeout). Websocket subscriptions are not counted: a
// subscription is idle most of its life.
//
// The two kinds differ in what an operation in flight costs. A query may
// fan out over hundreds of objects, each field a goroutine with its share
// of the heap: two cores gain nothing from sixty-four listings at once,
// which only multiply the stacks and the GC's work until every request is
// slower (docs/performance.md). A mutation returns one payload, and spends
// most of its time waiting on Postgres: a cart add waits for its group of
// adds and for the group's commit (commerce/cart/combine.go), a checkout
// for its row locks. Under the queries' bound of three per CPU, sixteen
// carts edited in parallel had at most six adds in flight, three in the
// group running and three waiting for their commit, and the machine idled
// at a quarter of its CPU while ten requests queued here: 2,450 adds a
// second where sixteen in flight give 4,100 (docs/performance.md, issue 4).
type inFlight struct {
	queries, mutations chan struct{}
}

// Default bounds, per CPU (GOMAXPROCS).
const (
	queriesPerCPU   = 3
	mutationsPerCPU = 8
)

func newInFlight(queries, mutations int) *inFlight {
	if queries <= 0 {
		queries = queriesPerCPU * runtime.GOMAXPROCS(0)
	}
	if mutations <= 0 {
		mutations = mutationsPerCPU * runtime.GOMAXPROCS(0)
	}
	return &inFlight{queries: make(chan struct{}, queries), mutations: make(chan struct{}, mutations)}
}

// enter takes a slot for an operation of kind op, waiting while there is
// none, and returns the function that gives it back. When no slot comes
// free before the request's deadline it answers 503 TIMEOUT with
// Retry-After; when the client went away, nothing. Either way it returns
// false, and the request is answered.
func (f *inFlight) enter(w http.ResponseWriter, r *http.Request, media string, op ast.Operation) (release func(), ok bool) {
	slots := f.queries
	if op == ast.Mutation {
		slots = f.mutations
	}
	select {
	case slots <- struct{}{}:
		return func() { <-slots }, true
	case <-r.Context().Done():
		if errors.Is(r.Context().Err(), context.DeadlineExceeded) {
			w.Header().Set("Retry-After", "1")
			writeError(w, media, http.StatusServiceUnavailable, codeTimeout, "the server is busy; try again shortly")
		}
		return nil, false
	}
}
