package pickup_test

import (
	"context"
	"testing"
	"time"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/cart"
	"github.com/omnicanal/omnicanal/commerce/order"
)

// An order paid at the till for later pickup, never collected: the expiry
// job is nobody at a till, so it must not record that the cash went back:
// the order is left to the store.
func TestReviewExpiryDoesNotFakeATillRefund(t *testing.T) {
	e := newEnv(t)
	v := e.variant(t, 0, 5)
	desk, _ := e.staffCtx(t, commerce.RoleAssociate, paris)
	c, token, err := e.carts.CreateCart(desk, cartInput(v))
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.orders.Checkout(desk, order.CheckoutInput{CartID: c.ID, Token: token,
		Fulfillment: order.Fulfillment{Pickup: &order.PickupInput{LocationID: paris}},
		Payment:     order.PaymentInput{Method: order.InStore, Tender: order.Cash}})
	if err != nil {
		t.Fatal(err)
	}
	o, err := e.desk.MarkReady(desk, res.Order.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.desk.ExpireUncollected(context.Background(), o.HoldUntil.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	got, err := order.FindOrderByIDTx(context.Background(), e.pool, o.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	var refunds int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM order_refunds WHERE order_id = $1`, o.ID).Scan(&refunds); err != nil {
		t.Fatal(err)
	}
	if got.Status != order.ReadyForPickup || got.PaymentStatus != order.Paid || refunds != 0 {
		t.Errorf("order %s/%s: the cash is recorded given back by the expiry job (%d refund rows, no staff)", got.Status, got.PaymentStatus, refunds)
	}
}

func cartInput(v commerce.ID) cart.CreateInput {
	return cart.CreateInput{Lines: []cart.LineInput{{VariantID: v, Quantity: 1}}}
}
