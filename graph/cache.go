package graph

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/hashicorp/golang-lru/v2/expirable"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// publicFields are the root fields whose answer depends only on the channel
// and the catalog: the same for every shopper of a channel at a given moment.
// Anything about a person (cart, me) or for staff is never cached.
var publicFields = map[string]bool{
	"channel": true, "stores": true, "product": true, "products": true, "variant": true,
	"categories": true, "collection": true, "search": true, "__typename": true,
}

// Cache keeps the answers to anonymous catalog reads for a short time, so
// that the thousandth shopper opening a listing in the same second costs a
// map lookup instead of rendering hundreds of variants again. It is purged
// whenever a catalog change commits (the outbox notifies every instance),
// and entries expire after the TTL anyway, which bounds staleness if a
// notification is missed. Carts never read from it: they price from the
// database on every read, so nobody can pay a cached price.
//
// When an answer is missing (the first request, or the TTL has passed),
// concurrent identical requests are rendered once: the first renders it,
// the others wait for its answer. Otherwise every connection asking for a
// popular listing in the moment after it expires renders it again, and
// those few dozen renders at once were the slowest answers under load.
type Cache struct {
	entries   *expirable.LRU[[32]byte, cachedResponse]
	cacheable *lru.Cache[string, bool] // per operation text: only public root fields?
	maxBody   int64

	mu      sync.Mutex
	flights map[[32]byte]*flight // answers being rendered, by key
	purges  uint64               // Purge calls so far
}

// flight is one answer being rendered for every request that asks for it
// meanwhile.
type flight struct {
	done chan struct{} // closed once resp and ok are set
	resp cachedResponse
	ok   bool // resp is a complete answer the waiting requests may share
}

type cachedResponse struct {
	status      int
	contentType string
	body        []byte
}

// NewCache returns a cache holding answers for ttl, at most entries of them.
func NewCache(ttl time.Duration, entries int) *Cache {
	ops, _ := lru.New[string, bool](4096)
	return &Cache{entries: expirable.NewLRU[[32]byte, cachedResponse](entries, nil, ttl), cacheable: ops,
		flights: map[[32]byte]*flight{}}
}

// Purge forgets every answer: the catalog has changed. Answers being
// rendered are not stored, and requests from now on do not wait for them.
func (c *Cache) Purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.purges++
	clear(c.flights)
	c.entries.Purge()
}

// middleware answers cacheable requests from the cache, or records the
// answer of a successful one for the next.
func (c *Cache) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" || r.Header.Get("Upgrade") != "" {
			next.ServeHTTP(w, r)
			return
		}
		var request []byte
		switch r.Method {
		case http.MethodGet:
			request = []byte(r.URL.RawQuery)
		case http.MethodPost:
			body, err := io.ReadAll(io.LimitReader(r.Body, c.maxBody+1))
			r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), r.Body))
			if err != nil || int64(len(body)) > c.maxBody {
				next.ServeHTTP(w, r) // the transport answers with the right error
				return
			}
			request = body
		default:
			next.ServeHTTP(w, r)
			return
		}
		if !c.isPublic(r, request) {
			next.ServeHTTP(w, r)
			return
		}
		h := sha256.New()
		for _, part := range [][]byte{[]byte(r.Method), []byte(r.Header.Get(ChannelKeyHeader)), []byte(r.Header.Get("Accept")), request} {
			h.Write(part)
			h.Write([]byte{0})
		}
		var key [32]byte
		h.Sum(key[:0])
		if hit, ok := c.entries.Get(key); ok {
			hit.write(w, "HIT")
			return
		}
		c.mu.Lock()
		if f, ok := c.flights[key]; ok {
			c.mu.Unlock()
			select {
			case <-f.done:
				if f.ok {
					f.resp.write(w, "COALESCED")
					return
				}
				// The first request got no answer to share (an error, a
				// timeout): this one is answered on its own.
				next.ServeHTTP(w, r)
			case <-r.Context().Done():
				// The client gave up while waiting; nobody to answer.
			}
			return
		}
		f := &flight{done: make(chan struct{})}
		c.flights[key] = f
		purges := c.purges
		c.mu.Unlock()
		defer func() { // also when next panics: the waiting requests must not hang
			c.mu.Lock()
			if c.flights[key] == f {
				delete(c.flights, key)
			}
			c.mu.Unlock()
			close(f.done)
		}()

		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		// Only complete answers: an error may be a timeout or a bad key.
		if rec.status == http.StatusOK && bytes.HasPrefix(rec.body.Bytes(), []byte(`{"data":`)) {
			f.resp = cachedResponse{status: rec.status, contentType: w.Header().Get("Content-Type"), body: bytes.Clone(rec.body.Bytes())}
			f.ok = true
			c.mu.Lock()
			if c.purges == purges { // else the answer may predate the change
				c.entries.Add(key, f.resp)
			}
			c.mu.Unlock()
		}
	})
}

// write answers with a stored response; how says where it came from.
func (c cachedResponse) write(w http.ResponseWriter, how string) {
	w.Header().Set("Content-Type", c.contentType)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Cache", how)
	w.WriteHeader(c.status)
	_, _ = w.Write(c.body)
}

// isPublic tells whether the request is a query whose root fields are all
// public catalog reads. The answer is remembered per operation text.
func (c *Cache) isPublic(r *http.Request, request []byte) bool {
	// A mutation always holds the word (its operation type), so only a
	// request without it is worth decoding; one that holds it elsewhere (a
	// search for "mutation") is merely not cached. This spares every
	// mutation a second decoding of its body.
	if bytes.Contains(request, []byte("mutation")) {
		return false
	}
	var p struct {
		Query         string `json:"query"`
		OperationName string `json:"operationName"`
	}
	if r.Method == http.MethodGet {
		q := r.URL.Query()
		p.Query, p.OperationName = q.Get("query"), q.Get("operationName")
	} else if json.Unmarshal(request, &p) != nil {
		return false
	}
	k := p.OperationName + "\x00" + p.Query
	if ok, found := c.cacheable.Get(k); found {
		return ok
	}
	ok := publicOperation(p.Query, p.OperationName)
	c.cacheable.Add(k, ok)
	return ok
}

func publicOperation(query, name string) bool {
	doc, err := parser.ParseQuery(&ast.Source{Input: query})
	if err != nil {
		return false
	}
	op := doc.Operations.ForName(name)
	if op == nil || op.Operation != ast.Query {
		return false
	}
	for _, sel := range op.SelectionSet {
		f, ok := sel.(*ast.Field)
		if !ok || !publicFields[f.Name] {
			return false
		}
	}
	return true
}

// recorder passes a response through while keeping a copy of its body.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}
