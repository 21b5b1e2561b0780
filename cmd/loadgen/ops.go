package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
type operation struct {
	query string
	// vars returns the variable sets to rotate over; nil means one request
	// without variables. It may ask the server (c) for real values.
	vars func(ctx context.Context, c *client) ([]map[string]any, error)
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
	out := make([][]byte, len(sets))
	for i, vars := range sets {
		b, err := encodeBody(o.query, vars)
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
