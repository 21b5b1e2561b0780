package catalog_test

import (
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/catalog"
	"github.com/omnicanal/omnicanal/commerce/commercetest"
	"github.com/omnicanal/omnicanal/commerce/demo"
	"github.com/omnicanal/omnicanal/commerce/inventory"
)

// A store whose every unit of a product is reserved no longer holds it, for
// the listing's "available at" filter and for the search projection.
func TestReservedStockIsNotInStock(t *testing.T) {
	pool := demoDB(t)
	ctx := t.Context()
	svc := catalog.NewService(pool)
	lyon := demo.LocationID(demo.CodeLyon)
	var product commerce.ID
	if err := pool.QueryRow(ctx, `SELECT product_id FROM variants WHERE id = $1`, demo.VariantID(demo.SKUInLyonNotParis)).Scan(&product); err != nil {
		t.Fatal(err)
	}
	state := func() (listed, projected bool) {
		t.Helper()
		f := catalog.ProductFilter{ChannelID: demo.ChannelID(demo.KeyWebEU), Currency: "EUR", AvailableAt: &lyon, First: catalog.MaxPageSize}
		for {
			page, err := svc.FindProducts(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range page.Products {
				listed = listed || p.ID == product
			}
			if !page.HasNext {
				break
			}
			f.After = page.Cursors[len(page.Cursors)-1]
		}
		ps, err := svc.FindProjections(ctx, []commerce.ID{product})
		if err != nil || len(ps) != 1 {
			t.Fatalf("projection: %v", err)
		}
		return listed, slices.Contains(ps[0].StoreIDs, lyon)
	}
	if listed, projected := state(); !listed || !projected {
		t.Fatalf("before: listed %v, projected %v; want the product in stock at Lyon", listed, projected)
	}

	rows, err := pool.Query(ctx, `SELECT s.variant_id, s.on_hand FROM stock_levels s JOIN variants v ON v.id = s.variant_id
		WHERE v.product_id = $1 AND s.location_id = $2 AND s.on_hand > 0`, product, lyon)
	if err != nil {
		t.Fatal(err)
	}
	var lines []inventory.Line
	var l inventory.Line
	if _, err := pgx.ForEachRow(rows, []any{&l.VariantID, &l.Quantity}, func() error { lines = append(lines, l); return nil }); err != nil {
		t.Fatal(err)
	}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		order := commerce.NewID()
		if err := commercetest.EnsureOrder(ctx, tx, order, lyon); err != nil {
			return err
		}
		return inventory.NewService(pool).ReserveTx(ctx, tx, order, lyon, lines, nil, "test")
	})
	if err != nil {
		t.Fatal(err)
	}
	if listed, projected := state(); listed || projected {
		t.Errorf("every unit reserved: listed %v, projected %v; want neither", listed, projected)
	}
}
