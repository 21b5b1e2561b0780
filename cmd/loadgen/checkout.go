package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// checkoutQuery turns one fresh guest cart into a pickup order paid at
// pickup. The answer carries what a storefront shows next: the order's
// number, status and total.
const checkoutQuery = `mutation Checkout($input: CartCheckoutInput!) {
  cartCheckout(input: $input) {
    order { id number status cost { total { amount currencyCode } } }
    userErrors { field message code }
  }
}`

// checkoutLines is how many lines the carts have in turn: one, then two,
// 1.5 units per checkout on average.
var checkoutLines = []int{1, 2}

// pickupStock is what one store offering pickup has of the channel's
// priced variants.
type pickupStock struct {
	id, country string
	variants    []string // in stock, most units first
	units       map[string]int
	next        int // where the next cart starts looking in variants
}

// checkoutCarts creates count guest carts for the checkout operation and
// returns one cartCheckout input per cart, each to be sent once. Each cart
// is picked up at a store offering pickup that has every unit of it, paid
// at pickup. The stores are those in the country of the store with the
// most units (Paris, Lyon and Bordeaux on the demo data for
// pk_demo_web_eu); carts go to them in turn and their lines to the store's
// variants in turn, and the units are counted as they are planned, so no
// cart asks for a unit another has taken. Stock left by earlier runs (the
// orders they placed keep their units) is what is planned against: when
// it cannot cover count carts, the run is refused before anything is
// created.
func checkoutCarts(ctx context.Context, c *client, count, conns int) ([]map[string]any, error) {
	stores, err := c.pickupStock(ctx)
	if err != nil {
		return nil, err
	}
	plans, err := planCarts(stores, count)
	if err != nil {
		return nil, err
	}
	sets := make([]map[string]any, count)
	errs := make([]error, conns)
	var wg sync.WaitGroup
	for w := range conns {
		wg.Go(func() {
			for i := w; i < count; i += conns {
				if errs[w] = ctx.Err(); errs[w] != nil {
					return
				}
				cartID, token, err := c.createCart(ctx, plans[i].variants)
				if err != nil {
					errs[w] = err
					return
				}
				sets[i] = map[string]any{"input": map[string]any{
					"cartId":         cartID,
					"token":          token,
					"idempotencyKey": newKey(),
					"fulfillment":    map[string]any{"pickup": map[string]any{"storeId": plans[i].store}},
					"payment":        map[string]any{"method": "AT_PICKUP"},
				}}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return sets, nil
}

// cartPlan is one cart to create: its variants (one unit each) and the
// store it is picked up at.
type cartPlan struct {
	store    string
	variants []string
}

// planCarts spreads count carts over stores, taking their units as it goes.
func planCarts(stores []*pickupStock, count int) ([]cartPlan, error) {
	plans := make([]cartPlan, 0, count)
	for i := 0; len(plans) < count; i++ {
		lines := checkoutLines[len(plans)%len(checkoutLines)]
		var plan *cartPlan
		// The next store in turn that still has lines distinct variants.
		for k := range stores {
			s := stores[(i+k)%len(stores)]
			if vs := s.take(lines); vs != nil {
				plan = &cartPlan{store: s.id, variants: vs}
				break
			}
		}
		if plan == nil {
			total := 0
			for _, s := range stores {
				for _, u := range s.units {
					total += u
				}
			}
			return nil, fmt.Errorf("the pickup stores' stock covers %d of the %d carts the run needs (%d units left): ask for fewer (--n) or start the server on a fresh --data-dir",
				len(plans), count, total)
		}
		plans = append(plans, *plan)
	}
	return plans, nil
}

// take returns n distinct variants that still have a unit, taking one unit
// of each, or nil (taking nothing) when the store has fewer than n.
func (s *pickupStock) take(n int) []string {
	var vs []string
	for k := 0; k < len(s.variants) && len(vs) < n; k++ {
		v := s.variants[(s.next+k)%len(s.variants)]
		if s.units[v] > 0 {
			vs = append(vs, v)
		}
	}
	if len(vs) < n {
		return nil
	}
	for _, v := range vs {
		s.units[v]--
	}
	// The next cart starts after the last variant taken, so consecutive
	// carts (and the connections sending them) touch different rows.
	s.next = (slices.Index(s.variants, vs[len(vs)-1]) + 1) % len(s.variants)
	return vs
}

// pickupStock reads the stores offering pickup and, over the whole
// catalog of the channel, the units of each priced variant in each, and
// keeps the stores of the country of the best-stocked one.
func (c *client) pickupStock(ctx context.Context) ([]*pickupStock, error) {
	var st struct {
		Data struct {
			Channel struct{ CurrencyCode string }
			Stores  struct {
				Nodes []struct {
					ID           string
					CurrencyCode string
					Address      struct{ CountryCode string }
				}
			}
		}
	}
	if err := c.query(ctx, `query { channel { currencyCode }
  stores(pickupOnly: true, first: 100) { nodes { id currencyCode address { countryCode } } } }`, nil, &st); err != nil {
		return nil, fmt.Errorf("fetch stores: %w", err)
	}
	byID := map[string]*pickupStock{}
	for _, s := range st.Data.Stores.Nodes {
		// A cart is collected only at a store of its currency.
		if s.CurrencyCode != st.Data.Channel.CurrencyCode {
			continue
		}
		byID[s.ID] = &pickupStock{id: s.ID, country: s.Address.CountryCode, units: map[string]int{}}
	}
	if len(byID) == 0 {
		return nil, errors.New("no store of the channel's currency offers pickup")
	}
	const page = `query($after: String) { products(first: 50, after: $after) {
  pageInfo { hasNextPage endCursor }
  nodes { variants { id price { amount } storeAvailability { store { id } quantityAvailable } } }
} }`
	var after any // nil: the first page
	for pages := 0; ; pages++ {
		if pages == 1000 {
			return nil, errors.New("fetch stock: more than 1,000 pages of products")
		}
		var out struct {
			Data struct {
				Products struct {
					PageInfo struct {
						HasNextPage bool
						EndCursor   string
					}
					Nodes []struct {
						Variants []struct {
							ID                string
							Price             *struct{ Amount string }
							StoreAvailability []struct {
								Store             struct{ ID string }
								QuantityAvailable int
							}
						}
					}
				}
			}
		}
		if err := c.query(ctx, page, map[string]any{"after": after}, &out); err != nil {
			return nil, fmt.Errorf("fetch stock: %w", err)
		}
		for _, p := range out.Data.Products.Nodes {
			for _, v := range p.Variants {
				if v.Price == nil {
					continue
				}
				for _, a := range v.StoreAvailability {
					if s := byID[a.Store.ID]; s != nil && a.QuantityAvailable > 0 {
						s.units[v.ID] += a.QuantityAvailable
					}
				}
			}
		}
		if !out.Data.Products.PageInfo.HasNextPage {
			break
		}
		after = out.Data.Products.PageInfo.EndCursor
	}
	var all []*pickupStock
	var best *pickupStock
	bestUnits := 0
	for _, s := range byID {
		n := 0
		for v, u := range s.units {
			s.variants = append(s.variants, v)
			n += u
		}
		slices.SortFunc(s.variants, func(a, b string) int {
			return cmp.Or(cmp.Compare(s.units[b], s.units[a]), cmp.Compare(a, b))
		})
		if n > bestUnits || n == bestUnits && best != nil && s.id < best.id {
			best, bestUnits = s, n
		}
		all = append(all, s)
	}
	if best == nil {
		return nil, errors.New("no store offering pickup has a priced variant in stock")
	}
	var stores []*pickupStock
	for _, s := range all {
		if s.country == best.country && len(s.variants) > 0 {
			stores = append(stores, s)
		}
	}
	slices.SortFunc(stores, func(a, b *pickupStock) int { return cmp.Compare(a.id, b.id) })
	return stores, nil
}

// createCart creates a guest cart with one unit of each variant.
func (c *client) createCart(ctx context.Context, variants []string) (id, token string, err error) {
	lines := make([]map[string]any, len(variants))
	for i, v := range variants {
		lines[i] = map[string]any{"merchandiseId": v, "quantity": 1}
	}
	var out struct {
		Data struct {
			CartCreate struct {
				Cart  *struct{ ID string }
				Token string
			}
		}
	}
	err = c.query(ctx, `mutation($lines: [CartLineInput!]) { cartCreate(input: {lines: $lines}) { cart { id } token userErrors { code message } } }`,
		map[string]any{"lines": lines}, &out)
	if err != nil {
		return "", "", fmt.Errorf("cartCreate: %w", err)
	}
	if out.Data.CartCreate.Cart == nil || out.Data.CartCreate.Token == "" {
		return "", "", errors.New("cartCreate gave no cart or token")
	}
	return out.Data.CartCreate.Cart.ID, out.Data.CartCreate.Token, nil
}

// query sends one request and decodes its answer into out; any error of
// send (HTTP status, GraphQL errors, userErrors) is returned.
func (c *client) query(ctx context.Context, query string, vars map[string]any, out any) error {
	body, err := encodeBody(query, vars)
	if err != nil {
		return err
	}
	res := c.send(ctx, body)
	if res.err != nil {
		return res.err
	}
	if err := json.Unmarshal(res.body, out); err != nil {
		return fmt.Errorf("%w: %s", err, snippet(res.body))
	}
	return nil
}

// newKey returns a random idempotency key (32 hex digits).
func newKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}
