package order_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/demo"
	"github.com/omnicanal/omnicanal/commerce/offer"
	"github.com/omnicanal/omnicanal/commerce/order"
	"github.com/omnicanal/omnicanal/commerce/pricing"
)

// The order freezes exactly what the cart showed just before checkout: the
// lines' SKUs and titles, and the discount of an offer whose condition is a
// category (so checkout must know the lines' categories, as a cart read
// does).
func TestCheckoutFreezesWhatTheCartShows(t *testing.T) {
	e := newEnv(t)
	ctx := e.web(t)
	v := e.variant(t, 0, 10)
	e.categoryOffer(t, v, "15 % on the category", "15")
	cartID, token := e.cart(t, ctx, one(v, 2))
	c, err := e.carts.FindCart(ctx, cartID, token)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Lines) != 1 || len(c.Lines[0].Adjustments) == 0 || c.Cost.Total.Amount >= c.Cost.Subtotal.Amount {
		t.Fatalf("the cart does not show the category offer: %+v", c.Cost)
	}
	var sku string
	if err := e.pool.QueryRow(context.Background(), `SELECT sku FROM variants WHERE id = $1`, v).Scan(&sku); err != nil {
		t.Fatal(err)
	}
	res := e.checkout(t, ctx, cartID, token, order.AtPickup, uuid.NewString())
	l := res.Order.Lines[0]
	if l.SKU != sku || l.SKU == "" || l.Title != c.Lines[0].Product.Title || l.Title == "" {
		t.Errorf("order line sku %q title %q, want %q %q", l.SKU, l.Title, sku, c.Lines[0].Product.Title)
	}
	if res.Order.Total != c.Cost.Total || res.Order.Discount != c.Cost.DiscountTotal || len(l.Adjustments) == 0 {
		t.Errorf("order total %v discount %v (adjustments %d), the cart showed %v of %v",
			res.Order.Total, res.Order.Discount, len(l.Adjustments), c.Cost.Total, c.Cost.Subtotal)
	}
}

// categoryOffer makes a merchandiser's offer of pct percent off every line
// of the first category of v's product: an offer whose condition only a
// cart read that knows the lines' categories applies.
func (e *env) categoryOffer(t testing.TB, v commerce.ID, title, pct string) {
	t.Helper()
	var category commerce.ID
	if err := e.pool.QueryRow(context.Background(), `SELECT pc.category_id FROM product_categories pc
		JOIN variants v ON v.product_id = pc.product_id WHERE v.id = $1 LIMIT 1`, v).Scan(&category); err != nil {
		t.Fatal(err)
	}
	kind, target := pricing.PercentageOff, pricing.TargetLines
	merch := e.staffCtx(t, demo.KeyWebEU, commerce.RoleMerchandiser)
	if _, err := offer.NewService(e.pool).CreateOffer(merch, offer.Input{Title: &title, Kind: &kind, Target: &target, PercentOff: &pct,
		AppliesTo: &pricing.Selector{CategoryIDs: []commerce.ID{category}}}, ""); err != nil {
		t.Fatal(err)
	}
}
