package order_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/cart"
	"github.com/omnicanal/omnicanal/commerce/demo"
	"github.com/omnicanal/omnicanal/commerce/inventory"
	"github.com/omnicanal/omnicanal/commerce/offer"
	"github.com/omnicanal/omnicanal/commerce/order"
	"github.com/omnicanal/omnicanal/commerce/payment"
	"github.com/omnicanal/omnicanal/commerce/payment/paymenttest"
)

// hookGateway runs before() while the provider creates an intent.
type hookGateway struct {
	*paymenttest.Gateway
	before func()
}

func (g *hookGateway) CreateIntent(ctx context.Context, req payment.IntentRequest) (payment.Intent, error) {
	if g.before != nil {
		g.before()
	}
	return g.Gateway.CreateIntent(ctx, req)
}

// The shopper cancels while the intent is being created: the intent must
// not be handed out (nor left open) for the cancelled order.
func TestReviewCancelWhileIntentIsCreated(t *testing.T) {
	e := newEnv(t)
	gw := &hookGateway{Gateway: paymenttest.New()}
	offers := offer.NewService(e.pool)
	e.carts = cart.NewService(e.pool, offers)
	e.orders = order.NewService(e.pool, e.carts, inventory.NewService(e.pool), order.WithOffers(offers), order.WithGateway(gw),
		order.WithClock(e.clock.now))
	v := e.variant(t, 0, 3)
	ctx := e.web(t)
	cartID, token := e.cart(t, ctx, one(v, 1))
	var cancelErr error
	gw.before = func() {
		gw.before = nil
		var id commerce.ID
		if err := e.pool.QueryRow(context.Background(), `SELECT id FROM orders WHERE cart_id = $1`, cartID).Scan(&id); err != nil {
			cancelErr = err
			return
		}
		// An admin cancels it (the guest's token is not out yet).
		_, cancelErr = e.orders.CancelOrder(e.staffCtx(t, demo.KeyWebEU, commerce.RoleAdmin), id, "", "changed my mind")
	}
	f, p := pickupAt(paris, order.Online)
	res, err := e.orders.Checkout(ctx, order.CheckoutInput{CartID: cartID, Token: token, Fulfillment: f, Payment: p, IdempotencyKey: uuid.NewString()})
	if cancelErr != nil {
		t.Fatal(cancelErr)
	}
	if err != nil {
		t.Fatal(err)
	}
	o, _ := order.FindOrderByIDTx(context.Background(), e.pool, res.Order.ID, false)
	in, _ := gw.Intent("pi_fake_1")
	if res.Payment != nil || in.Status != payment.Canceled {
		t.Errorf("order %s/%s: client secret handed out: %v; intent %s", o.Status, o.PaymentStatus, res.Payment != nil, in.Status)
	}
}
