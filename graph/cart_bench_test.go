package graph_test

import (
	"fmt"
	"log/slog"
	"testing"

	"github.com/omnicanal/omnicanal/commerce/cart"
	"github.com/omnicanal/omnicanal/commerce/offer"
	"github.com/omnicanal/omnicanal/graph"
	"github.com/omnicanal/omnicanal/internal/reqid"
)

// cartAddBench is loadgen's cartAdd: one unit of a variant, and what a
// storefront shows after an add (the cart's version, lines and total).
const cartAddBench = `mutation CartAdd($cartId: ID!, $token: String, $variantId: ID!) {
  cartLinesAdd(cartId: $cartId, token: $token, lines: [{merchandiseId: $variantId, quantity: 1}]) {
    cart { id version lines { id quantity } cost { total { amount currencyCode } } }
    userErrors { field message code }
  }
}`

// BenchmarkCartLinesAdd: cartLinesAdd over 16 guest carts of 16 lines each,
// as loadgen's cartAdd sends it (docs/performance.md, issue 4). It reports
// the server's CPU per add (not Postgres's) and its statements.
func BenchmarkCartLinesAdd(b *testing.B) {
	counter := &statementCounter{}
	pool, cfg := tracedDemoDB(b, counter)
	svc := services(pool)
	svc.Offers = offer.NewService(pool)
	addPool, err := cart.NewAddPool(b.Context(), cfg) // counted by the same tracer
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(addPool.Close)
	svc.Carts = cart.NewService(pool, svc.Offers, cart.WithAddPool(addPool)) // as cmd/omnicanal does, less live updates
	h := reqid.Middleware(graph.NewHandler(svc, graph.Options{Limits: testLimits, Logger: slog.New(slog.DiscardHandler)}))
	variants := cartVariants(b, 16, 100)
	var bodies [][]byte
	for range 16 {
		var created struct {
			CartCreate struct {
				Cart  struct{ ID string }
				Token string
			}
		}
		mustServe(b, h, benchBody(b, `mutation { cartCreate { cart { id } token } }`, nil), &created)
		for _, v := range variants {
			body := benchBody(b, cartAddBench, map[string]any{"cartId": created.CartCreate.Cart.ID,
				"token": created.CartCreate.Token, "variantId": v.String()})
			mustServe(b, h, body, nil) // every cart has its 16 lines from the start
			bodies = append(bodies, body)
		}
	}
	if len(bodies) == 0 {
		b.Fatal(fmt.Errorf("no cart"))
	}
	runBoth(b, h, counter, bodies)
}
