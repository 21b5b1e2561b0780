package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// checkoutServer answers like /graphql for the checkout operation: stores,
// two pages of products with their stock per store, cartCreate and
// cartCheckout. It refuses, as the real server does, a checkout at a store
// that lacks a unit (OUT_OF_STOCK) and records every checkout, so a test
// sees whether a cart was checked out twice.
type checkoutServer struct {
	t     *testing.T
	mu    sync.Mutex
	stock map[string]map[string]int // store → variant → units
	carts map[string][]string       // cart id → its variants
	// checkouts counts the checkouts of each cart; keys the idempotency keys.
	checkouts map[string]int
	keys      map[string]bool
	created   int
}

// A fake catalog for a EUR channel: Paris and Lyon (FR, EUR), and Montréal
// (CA, CAD), which holds the most units but sells in another currency;
// Bordeaux (FR) does not offer pickup (it is not listed). v9 has no price.
func newCheckoutServer(t *testing.T) (*checkoutServer, *httptest.Server) {
	t.Helper()
	s := &checkoutServer{t: t, carts: map[string][]string{}, checkouts: map[string]int{}, keys: map[string]bool{},
		stock: map[string]map[string]int{
			"par": {"v1": 20, "v2": 10, "v3": 1, "v4": 15, "v9": 50},
			"lyo": {"v1": 2, "v5": 6, "v6": 3},
			"mtl": {"v1": 4, "v7": 80},
		}}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	return s, srv
}

func (s *checkoutServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req struct {
		Query     string
		Variables map[string]any
	}
	if err := json.Unmarshal(body, &req); err != nil || r.Header.Get("X-Channel-Key") != "pk_test" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch q := req.Query; {
	case strings.Contains(q, "stores("):
		w.Write([]byte(`{"data":{"channel":{"currencyCode":"EUR"},"stores":{"nodes":[
			{"id":"mtl","currencyCode":"CAD","address":{"countryCode":"CA"}},
			{"id":"lyo","currencyCode":"EUR","address":{"countryCode":"FR"}},
			{"id":"par","currencyCode":"EUR","address":{"countryCode":"FR"}}]}}}`))
	case strings.Contains(q, "products("):
		pages := [][]string{{"v1", "v2", "v3", "v9"}, {"v4", "v5", "v6", "v7"}}
		page, next := pages[0], `true,"endCursor":"p2"`
		if req.Variables["after"] == "p2" {
			page, next = pages[1], `false,"endCursor":"p2"`
		} else if req.Variables["after"] != nil {
			s.t.Errorf("products after %v", req.Variables["after"])
		}
		var vs []string
		for _, v := range page {
			price := `{"amount":"10.00"}`
			if v == "v9" {
				price = "null"
			}
			var av []string
			for _, st := range []string{"par", "lyo", "mtl"} {
				av = append(av, fmt.Sprintf(`{"store":{"id":%q},"quantityAvailable":%d}`, st, s.stock[st][v]))
			}
			vs = append(vs, fmt.Sprintf(`{"id":%q,"price":%s,"storeAvailability":[%s]}`, v, price, strings.Join(av, ",")))
		}
		fmt.Fprintf(w, `{"data":{"products":{"pageInfo":{"hasNextPage":%s},"nodes":[{"variants":[%s]}]}}}`, next, strings.Join(vs, ","))
	case strings.Contains(q, "cartCreate"):
		var lines []string
		for _, l := range req.Variables["lines"].([]any) {
			l := l.(map[string]any)
			if l["quantity"] != 1.0 {
				s.t.Errorf("cart line %v, want quantity 1", l)
			}
			lines = append(lines, l["merchandiseId"].(string))
		}
		s.created++
		id := fmt.Sprintf("cart%d", s.created)
		s.carts[id] = lines
		fmt.Fprintf(w, `{"data":{"cartCreate":{"cart":{"id":%q},"token":"tok-%s","userErrors":[]}}}`, id, id)
	case strings.Contains(q, "cartCheckout"):
		in := req.Variables["input"].(map[string]any)
		id, key := in["cartId"].(string), in["idempotencyKey"].(string)
		store := in["fulfillment"].(map[string]any)["pickup"].(map[string]any)["storeId"].(string)
		if in["token"] != "tok-"+id || in["payment"].(map[string]any)["method"] != "AT_PICKUP" {
			s.t.Errorf("checkout input %v", in)
		}
		if s.keys[key] || len(key) < 16 {
			s.t.Errorf("idempotency key %q reused or short", key)
		}
		s.keys[key] = true
		s.checkouts[id]++
		if s.checkouts[id] > 1 {
			// A replay of a converted cart: the existing order, no stock.
			w.Write([]byte(`{"data":{"cartCheckout":{"order":{"id":"o"},"userErrors":[]}}}`))
			return
		}
		for _, v := range s.carts[id] {
			if s.stock[store][v] < 1 {
				fmt.Fprintf(w, `{"data":{"cartCheckout":{"order":null,"userErrors":[{"message":"%s is out of stock at %s","code":"OUT_OF_STOCK"}]}}}`, v, store)
				return
			}
		}
		for _, v := range s.carts[id] {
			s.stock[store][v]--
		}
		fmt.Fprintf(w, `{"data":{"cartCheckout":{"order":{"id":"o-%s","number":"MS-1","status":"PLACED"},"userErrors":[]}}}`, id)
	default:
		http.Error(w, "unexpected query", http.StatusBadRequest)
	}
}

// A checkout run prepares exactly 1 + warm-up + --n carts, checks each out
// once, at a store of the best-stocked store's country that has its units,
// and measures exactly --n of them.
func TestRunCheckout(t *testing.T) {
	s, srv := newCheckoutServer(t)
	var out, errOut bytes.Buffer
	// FR holds 20+10+1+15 (Paris) + 2+6+3 (Lyon) = 57 units: 1 + 10×2 +
	// 12 carts of 1 or 2 lines take 50.
	err := run([]string{"--url", srv.URL, "--op", "checkout", "--key", "pk_test", "--c", "2",
		"--warmup", "1s", "--n", "12", "--json"}, &out, &errOut)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, errOut.String())
	}
	var rep report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if rep.Requests != 12 || rep.Errors != 0 {
		t.Errorf("measured %d checkouts with %d errors %v, want 12 and none", rep.Requests, rep.Errors, rep.ErrorExamples)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	want := 1 + onceWarmupPerConn*2 + 12
	if s.created != want || len(s.checkouts) != want {
		t.Errorf("created %d carts, checked out %d, want %d of each", s.created, len(s.checkouts), want)
	}
	for id, n := range s.checkouts {
		if n != 1 {
			t.Errorf("cart %s checked out %d times", id, n)
		}
	}
	for v, u := range s.stock["mtl"] {
		if (v == "v1" && u != 4) || (v == "v7" && u != 80) {
			t.Errorf("Montréal (another currency) lost units of %s: %d left", v, u)
		}
	}
	if s.stock["par"]["v9"] != 50 {
		t.Error("a variant without a price was put in a cart")
	}
	lines := 0
	for _, vs := range s.carts {
		lines += len(vs)
		if len(vs) < 1 || len(vs) > 2 || (len(vs) == 2 && vs[0] == vs[1]) {
			t.Errorf("cart lines %v, want 1 or 2 distinct variants", vs)
		}
	}
	if lines < want*3/2-1 {
		t.Errorf("%d lines in %d carts, want carts of 1 and 2 lines in turn", lines, want)
	}
}

// When the stock cannot cover the run, it is refused before any cart is
// created.
func TestRunCheckoutRefusesBeyondStock(t *testing.T) {
	s, srv := newCheckoutServer(t)
	err := run([]string{"--url", srv.URL, "--op", "checkout", "--key", "pk_test", "--c", "2",
		"--warmup", "0s", "--n", "40"}, io.Discard, io.Discard) // 41 carts need 61 units of 57
	if err == nil || !strings.Contains(err.Error(), "stock covers") {
		t.Fatalf("run = %v, want a refusal for lack of stock", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.created != 0 {
		t.Errorf("%d carts created before the refusal", s.created)
	}
}

// Without a warm-up every prepared cart but the check is measured, and
// the run ends when they are all sent.
func TestRunCheckoutNoWarmup(t *testing.T) {
	s, srv := newCheckoutServer(t)
	var out bytes.Buffer
	err := run([]string{"--url", srv.URL, "--op", "checkout", "--key", "pk_test", "--c", "4",
		"--warmup", "0s", "--n", "9", "--json"}, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Requests != 9 || rep.Errors != 0 || rep.WarmupSec != 0 {
		t.Errorf("got %d requests, %d errors, %.2fs warm-up; want 9, 0, 0", rep.Requests, rep.Errors, rep.WarmupSec)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.created != 10 || len(s.checkouts) != 10 {
		t.Errorf("created %d carts, checked out %d, want 10", s.created, len(s.checkouts))
	}
}

// The plan never asks a store for more units than it has, spreads carts
// over the stores and consecutive carts over different variants.
func TestPlanCarts(t *testing.T) {
	stock := func() []*pickupStock {
		return []*pickupStock{
			{id: "a", variants: []string{"x", "y", "z"}, units: map[string]int{"x": 3, "y": 2, "z": 1}},
			{id: "b", variants: []string{"x", "w"}, units: map[string]int{"x": 1, "w": 1}},
		}
	}
	plans, err := planCarts(stock(), 5) // 1+2+1+2+1 = 7 units of 8
	if err != nil {
		t.Fatal(err)
	}
	taken := map[string]int{}
	for _, p := range plans {
		for _, v := range p.variants {
			taken[p.store+"/"+v]++
		}
	}
	for k, n := range map[string]int{"a/x": 3, "a/y": 2, "a/z": 1, "b/x": 1, "b/w": 1} {
		if taken[k] > n {
			t.Errorf("%s taken %d times, has %d", k, taken[k], n)
		}
	}
	if plans[0].store == plans[1].store {
		t.Errorf("the first two carts both at %s, want the stores in turn", plans[0].store)
	}
	if _, err := planCarts(stock(), 6); err == nil { // 9 units of 8
		t.Error("planned 6 carts (9 units) from 8 units")
	}
}

func TestFlagsCheckoutNeedsN(t *testing.T) {
	for _, args := range [][]string{
		{"--op", "checkout"},
		{"--op", "checkout", "--n", "0"},
		{"--op", "checkout", "--n", "20001"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
	if _, err := parseFlags([]string{"--op", "checkout", "--n", "3000"}, io.Discard); err != nil {
		t.Error(err)
	}
}
