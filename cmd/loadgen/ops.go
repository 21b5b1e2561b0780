package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// operation is one GraphQL request shape the tool can send. Its variables
// come from vars, called once before the run: each set becomes one request
// body, and the connections rotate over them, so a run can spread over
// several products or search terms without building bodies under load.
//
// Adding an operation is one entry in operations, e.g.
//
//	"search": {query: `query($q: String!) { search(query: $q, first: 20) { totalCount } }`,
//		vars: rotate("q", "chaussure", "chausures", "pull laine")},
//
// An operation whose requests belong to one connection (a cart that only its
// connection edits) sets perConn instead: it is called once per connection
// before the run, with the connection's number, and returns the variable
// sets that connection goes through in order, then again.
//
// An operation whose requests may be sent only once each (a checkout: a
// second checkout of a converted cart is a cheap replay of the first) sets
// once instead: the run takes its sets from one queue shared by every
// connection, never sends one twice, and ends when the queue is empty. It
// needs --n (see runOnce).
type operation struct {
	query string
	// vars returns the variable sets to rotate over; nil means one request
	// without variables. It may ask the server (c) for real values.
	vars func(ctx context.Context, c *client) ([]map[string]any, error)
	// perConn, when set, replaces vars: the variable sets of connection
	// conn (0 ≤ conn < conns), sent in order. It may change state on the server (create
	// a cart) but must be bounded: it runs before the clock starts.
	perConn func(ctx context.Context, c *client, conn, conns int) ([]map[string]any, error)
	// once, when set, replaces vars and perConn: exactly count variable
	// sets, each sent once by whichever connection is free. It may prepare
	// state on the server (create conns carts at a time) but must be
	// bounded: it runs before the clock starts.
	once func(ctx context.Context, c *client, count, conns int) ([]map[string]any, error)
}

var operations = map[string]operation{
	// A storefront category page: 20 products, each with its variants, their
	// prices and the product's price range.
	"listing": {query: `query Listing {
  products(first: 20) {
    edges { node {
      handle title
      priceRange { minVariantPrice { amount currencyCode } maxVariantPrice { amount currencyCode } }
      variants { sku title price { amount currencyCode } compareAtPrice { amount } }
    } }
  }
}`},
	// A product page, over real handles so the database does not answer
	// the same row from one hot cache line.
	"product": {query: `query Product($handle: String!) {
  product(handle: $handle) {
    handle title description brand
    priceRange { minVariantPrice { amount currencyCode } maxVariantPrice { amount currencyCode } }
    variants { sku title selectedOptions { name value } price { amount currencyCode } compareAtPrice { amount } }
  }
}`, vars: handles(50)},
	// A search box: one French term of the demo catalog, the first page of
	// hits as a result list shows them. The terms match from a handful to
	// most of the catalog; totalCount is what the page header shows.
	"search": {query: `query Search($q: String!) {
  search(query: $q, first: 20) {
    totalCount
    nodes {
      handle title brand
      priceRange { minVariantPrice { amount currencyCode } }
    }
  }
}`, vars: rotate("q", searchTerms...)},
	// The same search with the facets a result page shows beside the hits.
	"search-facets": {query: `query SearchFacets($q: String!) {
  search(query: $q, first: 20, facets: ["brand", "category", "price"]) {
    totalCount
    nodes {
      handle title brand
      priceRange { minVariantPrice { amount currencyCode } }
    }
    facets { facet values { value label count } }
  }
}`, vars: rotate("q", searchTerms...)},
	// Adding one unit to a cart: each request is a cartLinesAdd of
	// quantity 1 to a cart only its connection edits, so 16 connections
	// edit 16 carts in parallel and one connection edits one cart at a
	// time. The variants are the cartVariants with the most online stock
	// (see cartAdds for why a connection has several carts). A userErrors
	// entry (OUT_OF_STOCK, CONFLICT, …) counts as an error. The answer
	// carries what a storefront shows after an add: the cart's version,
	// lines and total.
	"cartAdd": {query: `mutation CartAdd($cartId: ID!, $token: String, $variantId: ID!) {
  cartLinesAdd(cartId: $cartId, token: $token, lines: [{merchandiseId: $variantId, quantity: 1}]) {
    cart { id version lines { id quantity } cost { total { amount currencyCode } } }
    userErrors { field message code }
  }
}`, perConn: cartAdds},
	// A checkout at a store, paid at pickup: each request is the
	// cartCheckout of a fresh guest cart of one or two lines (one unit
	// each) that the pickup store has in stock, created before the clock
	// starts (checkoutCarts). Each cart is checked out once. A userErrors
	// entry (OUT_OF_STOCK, CONFLICT, …) counts as an error.
	"checkout": {query: checkoutQuery, once: checkoutCarts},
}

// searchTerms are words of the demo catalog's French titles and
// descriptions, each found by the Postgres engine (11 to 83 products).
var searchTerms = []string{"chaussure", "veste", "pull", "basket", "jean", "chemise", "sac"}

// cartVariants is how many variants each cart rotates over, and cartsTotal
// how many carts a run creates in all (at least one per connection).
//
// The server refuses an add beyond the variant's online stock (there is no
// reservation: it compares the cart's quantity with the stock), and the demo
// variants have at most ~150 units. So a cart can take about cartVariants ×
// 120 adds before its adds become OUT_OF_STOCK. Spreading the adds of a
// connection over several carts keeps a run of tens of thousands of adds
// within stock while every cart keeps a realistic cartVariants lines: with
// 64 carts of 16 variants, ~120,000 adds.
const (
	cartVariants = 16
	cartsTotal   = 64
)

// cartAdds creates the guest carts of connection conn (of conns) and
// returns one {cartId, token, variantId} set per cart and variant, cart
// after cart. The variants are found once and shared by every connection.
func cartAdds(ctx context.Context, c *client, conn, conns int) ([]map[string]any, error) {
	variants, err := c.stockedVariants(ctx)
	if err != nil {
		return nil, err
	}
	body, err := encodeBody(`mutation { cartCreate { cart { id } token userErrors { code message } } }`, nil)
	if err != nil {
		return nil, err
	}
	carts := max(1, (cartsTotal+conns-1)/conns)
	var sets []map[string]any
	for range carts {
		res := c.send(ctx, body)
		if res.err != nil {
			return nil, fmt.Errorf("cartCreate: %w", res.err)
		}
		var out struct {
			Data struct {
				CartCreate struct {
					Cart  *struct{ ID string }
					Token string
				}
			}
		}
		if err := json.Unmarshal(res.body, &out); err != nil {
			return nil, fmt.Errorf("cartCreate: %w", err)
		}
		if out.Data.CartCreate.Cart == nil || out.Data.CartCreate.Token == "" {
			return nil, fmt.Errorf("cartCreate gave no cart or token: %s", snippet(res.body))
		}
		for i := range variants {
			// Each connection starts at another variant, so the carts do
			// not all add the same variant at the same moment.
			sets = append(sets, map[string]any{
				"cartId":    out.Data.CartCreate.Cart.ID,
				"token":     out.Data.CartCreate.Token,
				"variantId": variants[(i+conn)%len(variants)],
			})
		}
	}
	return sets, nil
}

// stockedVariants returns the ids of the cartVariants priced variants with
// the most online stock among the first 50 products, asked once per client.
func (c *client) stockedVariants(ctx context.Context) ([]string, error) {
	c.setupMu.Lock()
	defer c.setupMu.Unlock()
	if c.variants != nil {
		return c.variants, nil
	}
	body, err := encodeBody(`query { products(first: 50) { nodes { variants { id sku quantityAvailable price { amount } } } } }`, nil)
	if err != nil {
		return nil, err
	}
	res := c.send(ctx, body)
	if res.err != nil {
		return nil, fmt.Errorf("fetch variants: %w", res.err)
	}
	var out struct {
		Data struct {
			Products struct {
				Nodes []struct {
					Variants []struct {
						ID                string
						SKU               string
						QuantityAvailable int
						Price             *struct{ Amount string }
					}
				}
			}
		}
	}
	if err := json.Unmarshal(res.body, &out); err != nil {
		return nil, fmt.Errorf("fetch variants: %w", err)
	}
	type stocked struct {
		id  string
		qty int
	}
	var all []stocked
	for _, p := range out.Data.Products.Nodes {
		for _, v := range p.Variants {
			if v.Price != nil && v.QuantityAvailable > 0 {
				all = append(all, stocked{v.ID, v.QuantityAvailable})
			}
		}
	}
	if len(all) == 0 {
		return nil, errors.New("no priced variant in stock among the first 50 products")
	}
	slices.SortStableFunc(all, func(a, b stocked) int { return cmp.Compare(b.qty, a.qty) })
	for _, v := range all[:min(cartVariants, len(all))] {
		c.variants = append(c.variants, v.id)
	}
	return c.variants, nil
}

// rotate makes one variable set per value of the variable name.
func rotate(name string, values ...string) func(context.Context, *client) ([]map[string]any, error) {
	return func(context.Context, *client) ([]map[string]any, error) {
		sets := make([]map[string]any, len(values))
		for i, v := range values {
			sets[i] = map[string]any{name: v}
		}
		return sets, nil
	}
}

// handles fetches the handles of the first n products from the server and
// makes one {handle} variable set of each.
func handles(n int) func(context.Context, *client) ([]map[string]any, error) {
	return func(ctx context.Context, c *client) ([]map[string]any, error) {
		body, err := encodeBody(`query($n: Int) { products(first: $n) { nodes { handle } } }`, map[string]any{"n": n})
		if err != nil {
			return nil, err
		}
		res := c.send(ctx, body)
		if res.err != nil {
			return nil, fmt.Errorf("fetch product handles: %w", res.err)
		}
		var out struct {
			Data struct {
				Products struct {
					Nodes []struct{ Handle string }
				}
			}
		}
		if err := json.Unmarshal(res.body, &out); err != nil {
			return nil, fmt.Errorf("fetch product handles: %w", err)
		}
		var hs []string
		for _, p := range out.Data.Products.Nodes {
			hs = append(hs, p.Handle)
		}
		if len(hs) == 0 {
			return nil, errors.New("the server lists no products")
		}
		return rotate("handle", hs...)(ctx, c)
	}
}

// connBodies encodes the request bodies of each of conns connections:
// one shared list for an operation without perConn.
func (o operation) connBodies(ctx context.Context, c *client, conns int) ([][][]byte, error) {
	if o.perConn == nil {
		b, err := o.bodies(ctx, c)
		if err != nil {
			return nil, err
		}
		return [][][]byte{b}, nil
	}
	out := make([][][]byte, conns)
	for conn := range conns {
		sets, err := o.perConn(ctx, c, conn, conns)
		if err != nil {
			return nil, err
		}
		if out[conn], err = encodeAll(o.query, sets); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// bodies encodes the operation's request bodies.
func (o operation) bodies(ctx context.Context, c *client) ([][]byte, error) {
	sets := []map[string]any{nil}
	if o.vars != nil {
		var err error
		if sets, err = o.vars(ctx, c); err != nil {
			return nil, err
		}
		if len(sets) == 0 {
			return nil, errors.New("no variables to send")
		}
	}
	return encodeAll(o.query, sets)
}

func encodeAll(query string, sets []map[string]any) ([][]byte, error) {
	if len(sets) == 0 {
		return nil, errors.New("no variables to send")
	}
	out := make([][]byte, len(sets))
	for i, vars := range sets {
		b, err := encodeBody(query, vars)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

func encodeBody(query string, vars map[string]any) ([]byte, error) {
	req := map[string]any{"query": query}
	if vars != nil {
		req["variables"] = vars
	}
	return json.Marshal(req)
}
