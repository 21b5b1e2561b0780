package order_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/demo"
	"github.com/omnicanal/omnicanal/commerce/order"
)

var montreal = demo.LocationID(demo.CodeMontreal)

// A cart of the Canadian storefront (CAD) cannot be collected in Paris (the
// till and the VAT are in euros), nor shipped from there; Montréal takes it.
func TestCADCartFulfilledOnlyInCAD(t *testing.T) {
	e := newEnv(t)
	v := e.variant(t, 0, 5)
	e.setStock(t, v, montreal, 5)
	ctx := e.on(t, context.Background(), demo.KeyWebCA)
	cartID, token := e.cart(t, ctx, one(v, 1))

	f, p := pickupAt(paris, order.AtPickup)
	_, err := e.orders.Checkout(ctx, order.CheckoutInput{CartID: cartID, Token: token, Fulfillment: f, Payment: p, IdempotencyKey: uuid.NewString()})
	if ce, ok := errors.AsType[*commerce.Error](err); !ok || ce.Code != commerce.ErrInvalidInput || ce.Field != "fulfillment.pickup.locationId" {
		t.Fatalf("CAD cart collected in Paris: %v", err)
	}
	addr := order.Address{Name: "Anna", Line1: "1 rue de la Paix", City: "Paris", PostalCode: "75002", CountryCode: "FR"}
	_, err = e.orders.Checkout(ctx, order.CheckoutInput{CartID: cartID, Token: token, IdempotencyKey: uuid.NewString(),
		Fulfillment: order.Fulfillment{Shipping: &order.ShippingInput{Address: addr, FromLocationID: &paris}}, Payment: order.PaymentInput{Method: order.Online}})
	if ce, ok := errors.AsType[*commerce.Error](err); !ok || ce.Code != commerce.ErrInvalidInput || ce.Field != "fulfillment.shipping.fromLocationId" {
		t.Fatalf("CAD cart shipped from Paris: %v", err)
	}
	if lv := e.level(t, v, paris); lv.Reserved != 0 {
		t.Errorf("Paris reserved %d", lv.Reserved)
	}

	f, p = pickupAt(montreal, order.AtPickup)
	res, err := e.orders.Checkout(ctx, order.CheckoutInput{CartID: cartID, Token: token, Fulfillment: f, Payment: p, IdempotencyKey: uuid.NewString()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Order.Currency != "CAD" || res.Order.LocationID != montreal || res.Order.Lines[0].TaxRatePPM != 149750 {
		t.Errorf("Montréal order: %s at %s, rate %d", res.Order.Currency, res.Order.LocationID, res.Order.Lines[0].TaxRatePPM)
	}
}

// The automatic choice of a shipping origin only looks at locations of the
// cart's currency: with the Canadian locations empty, a CAD cart is out of
// stock even though Paris holds the units.
func TestAutomaticShippingOriginKeepsTheCurrency(t *testing.T) {
	e := newEnv(t)
	v := e.variant(t, 0, 5)
	e.setStock(t, v, montreal, 0)
	e.setStock(t, v, demo.LocationID(demo.CodeWarehouseCA), 0)
	ctx := e.on(t, context.Background(), demo.KeyWebCA)
	cartID, token := e.cart(t, ctx, one(v, 1))
	addr := order.Address{Name: "Anna", Line1: "1 rue de la Paix", City: "Paris", PostalCode: "75002", CountryCode: "FR"}
	in := order.CheckoutInput{CartID: cartID, Token: token, IdempotencyKey: uuid.NewString(),
		Fulfillment: order.Fulfillment{Shipping: &order.ShippingInput{Address: addr}}, Payment: order.PaymentInput{Method: order.Online}}
	if _, err := e.orders.Checkout(ctx, in); code(err) != commerce.ErrOutOfStock {
		t.Fatalf("CAD cart with no CAD stock: %v", err)
	}
	e.setStock(t, v, montreal, 2)
	in.IdempotencyKey = uuid.NewString()
	res, err := e.orders.Checkout(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if res.Order.LocationID != montreal {
		t.Errorf("shipped from %s, want Montréal", res.Order.LocationID)
	}
}
