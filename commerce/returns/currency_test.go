package returns_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/cart"
	"github.com/omnicanal/omnicanal/commerce/demo"
	"github.com/omnicanal/omnicanal/commerce/order"
	"github.com/omnicanal/omnicanal/commerce/returns"
)

// A CAD order collected in Montréal and brought to Paris: the Paris till
// cannot give Canadian dollars back in cash.
func TestNoReturnIntoAStoreOfAnotherCurrency(t *testing.T) {
	e := newEnv(t)
	v := e.variant(t, 0)
	mtl := demo.LocationID(demo.CodeMontreal)
	if _, err := e.pool.Exec(context.Background(), `INSERT INTO stock_levels (variant_id, location_id, on_hand) VALUES ($1, $2, 10)
		ON CONFLICT (variant_id, location_id) DO UPDATE SET on_hand = 10, reserved = 0`, v, mtl); err != nil {
		t.Fatal(err)
	}
	ctx := e.on(t, context.Background(), demo.KeyWebCA)
	c, token, err := e.carts.CreateCart(ctx, cart.CreateInput{Lines: []cart.LineInput{line(v, 1)}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.orders.Checkout(ctx, order.CheckoutInput{CartID: c.ID, Token: token, IdempotencyKey: uuid.NewString(),
		Fulfillment: order.Fulfillment{Pickup: &order.PickupInput{LocationID: mtl}}, Payment: order.PaymentInput{Method: order.AtPickup}})
	if err != nil {
		t.Fatal(err)
	}
	e.handOverPaid(t, res.Order.ID)
	o := e.order(t, res.Order.ID)
	r, err := e.returns.CreateReturn(e.staffCtx(t, commerce.RoleAssociate, paris), input(o, "", paris, 1, returns.Cash))
	if ce, ok := errors.AsType[*commerce.Error](err); !ok || ce.Code != commerce.ErrInvalidInput || ce.Field != "locationId" {
		t.Fatalf("a Paris associate took back a CAD order: %v (return %+v)", err, r)
	}
	if n := e.count(t, `SELECT count(*) FROM returns WHERE order_id = $1`, o.ID); n != 0 {
		t.Errorf("%d returns written", n)
	}
	// Montréal takes it back.
	if _, err := e.returns.CreateReturn(e.staffCtx(t, commerce.RoleAssociate, mtl), input(o, "", mtl, 1, returns.Cash)); err != nil {
		t.Fatal(err)
	}
}

func (e *env) handOverPaid(t testing.TB, id commerce.ID) {
	t.Helper()
	ctx := context.Background()
	staffID := commerce.NewID()
	if _, err := e.pool.Exec(ctx, `INSERT INTO staff_users (id, email, name, role, location_ids) VALUES ($1, $2, 'S', 'admin', '{}')`,
		staffID, staffID.String()+"@example.com"); err != nil {
		t.Fatal(err)
	}
	err := pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		o, err := order.FindOrderByIDTx(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if err := order.RecordInStorePaymentTx(ctx, tx, o, order.Cash, "", staffID, order.SystemActor); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e.handOver(t, id)
}
