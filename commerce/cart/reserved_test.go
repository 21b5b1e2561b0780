package cart_test

import (
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/cart"
	"github.com/omnicanal/omnicanal/commerce/commercetest"
	"github.com/omnicanal/omnicanal/commerce/demo"
	"github.com/omnicanal/omnicanal/commerce/inventory"
)

// Units reserved for orders are not available to carts: the cart checks
// on hand less reserved, at its pickup store, everywhere else, and in the
// stores it suggests.
func TestReservedStockIsNotAvailable(t *testing.T) {
	e := newEnv(t, nil)
	web := e.on(t, demo.KeyWebEU)
	lyon := demo.LocationID(demo.CodeLyon)
	shoe := demo.VariantID(demo.SKUInLyonNotParis) // 4 at Lyon, 2 at Bordeaux
	err := pgx.BeginFunc(t.Context(), e.pool, func(tx pgx.Tx) error {
		order := commerce.NewID()
		if err := commercetest.EnsureOrder(t.Context(), tx, order, lyon); err != nil {
			return err
		}
		return inventory.NewService(e.pool).ReserveTx(t.Context(), tx, order, lyon,
			[]inventory.Line{{VariantID: shoe, Quantity: 3}}, nil, "test")
	})
	if err != nil {
		t.Fatal(err)
	}
	c, token, err := e.svc.CreateCart(web, cart.CreateInput{})
	if err != nil {
		t.Fatal(err)
	}
	if c, err = e.svc.SetPickupStore(web, c.ID, token, &lyon, nil); err != nil {
		t.Fatal(err)
	}
	var se *cart.StockError
	_, err = e.svc.AddLines(web, c.ID, token, []cart.LineInput{{VariantID: shoe, Quantity: 2}}, nil)
	if !errors.As(err, &se) || se.Available != 1 {
		t.Fatalf("2 at Lyon with 3 of 4 reserved: %v", err)
	}
	// Bordeaux (2) is suggested; Lyon (1 left) is the pickup store itself.
	if len(se.Stores) != 1 || se.Stores[0].Store.Code != demo.CodeBordeaux || se.Stores[0].Available != 2 {
		t.Errorf("stores %+v", se.Stores)
	}
	if c, err = e.svc.AddLines(web, c.ID, token, []cart.LineInput{{VariantID: shoe, Quantity: 1}}, nil); err != nil {
		t.Fatalf("the one unit left: %v", err)
	}
	// Online (no pickup store): 56 on hand, 3 reserved.
	if c, err = e.svc.SetPickupStore(web, c.ID, token, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err = e.svc.AddLines(web, c.ID, token, []cart.LineInput{{VariantID: shoe, Quantity: 53}}, nil); !errors.As(err, &se) || se.Available != 53 {
		t.Fatalf("54 of 53 available online: %v", err)
	}
}
