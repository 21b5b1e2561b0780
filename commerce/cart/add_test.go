package cart_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/omnicanal/omnicanal/commerce/cart"
	"github.com/omnicanal/omnicanal/commerce/demo"
)

// An add of several lines is all or nothing: one line refused, and the
// others are not written either, nor is the version moved.
func TestAddIsAllOrNothing(t *testing.T) {
	e := newEnv(t, nil)
	web := e.on(t, demo.KeyWebEU)
	c, token, err := e.svc.CreateCart(web, cart.CreateInput{})
	if err != nil {
		t.Fatal(err)
	}
	ok, short := stocked(t, 1, 5)[0], demo.VariantID(demo.SKUInLyonNotParis) // 56 online
	got, err := e.svc.AddLines(web, c.ID, token, []cart.LineInput{{VariantID: ok, Quantity: 1}, {VariantID: short, Quantity: 57}}, nil)
	var se *cart.StockError
	if !errors.As(err, &se) || se.Field != "lines[1].quantity" {
		t.Fatalf("want OUT_OF_STOCK for lines[1], got %v", err)
	}
	if got == nil || len(got.Lines) != 0 || got.Version != c.Version {
		t.Fatalf("after a refused add: %+v, want the cart unchanged at version %d", got, c.Version)
	}
}

// The add checks stock on its snapshot of the cart and commits in the same
// round trip, so a change landing between that snapshot and the cart's lock
// must not let it through: a line raised meanwhile (the add fails in the
// database and is tried again) or a pickup store chosen meanwhile (the bump
// is refused and the add tried again). Both end in OUT_OF_STOCK as they
// should, with the other device's change kept.
func TestAddRacingAnotherChange(t *testing.T) {
	e := newEnv(t, nil)
	web := e.on(t, demo.KeyWebEU)
	shoe := demo.VariantID(demo.SKUInLyonNotParis) // 56 online, none in Paris
	c, token, err := e.svc.CreateCart(web, cart.CreateInput{Lines: []cart.LineInput{{VariantID: shoe, Quantity: 40}}})
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, change                   string
		quantity, requested, available int
	}{
		// 40 + 10 fits the snapshot; 50 + 10 does not.
		{"line raised", `UPDATE cart_lines SET quantity = 50 WHERE cart_id = $1`, 10, 60, 56},
		// 50 + 1 fits online stock; Paris has none.
		{"pickup store chosen", `UPDATE carts SET pickup_location_id = '` + demo.LocationID(demo.CodeParis).String() + `' WHERE id = $1`, 1, 51, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx, err := e.pool.Begin(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(context.Background()) //nolint:errcheck // committed below
			b := &pgx.Batch{}
			b.Queue(`UPDATE carts SET version = version + 1 WHERE id = $1`, c.ID)
			b.Queue(tc.change, c.ID)
			if err := tx.SendBatch(t.Context(), b).Close(); err != nil {
				t.Fatal(err)
			}
			added := make(chan error, 1)
			go func() {
				_, err := e.svc.AddLines(web, c.ID, token, []cart.LineInput{{VariantID: shoe, Quantity: tc.quantity}}, nil)
				added <- err
			}()
			waitForLock(t, e)
			if err := tx.Commit(t.Context()); err != nil {
				t.Fatal(err)
			}
			var se *cart.StockError
			if err := <-added; !errors.As(err, &se) || se.Requested != tc.requested || se.Available != tc.available {
				t.Fatalf("want OUT_OF_STOCK for %d of %d, got %v", tc.requested, tc.available, err)
			}
		})
	}
	got, err := e.svc.FindCart(web, c.ID, token)
	if err != nil || len(got.Lines) != 1 || got.Lines[0].Quantity != 50 {
		t.Fatalf("cart %+v, %v: want the one line at 50", got, err)
	}
}

// waitForLock waits until a session of the test's database waits for a
// lock: the add, behind the open transaction.
func waitForLock(t *testing.T, e *env) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		if err := e.pool.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the add never waited for the cart's lock")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
