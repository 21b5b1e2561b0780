package order_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/order"
)

// BenchmarkCheckoutPickupAtPickup measures checkouts (pickup at Paris, pay
// at pickup) of one-line carts made before the clock starts, 16 shoppers
// at a time (-cpu sets GOMAXPROCS; SetParallelism makes 16 goroutines on
// two cores). The target is ≥ 300 checkouts per second on two cores.
func BenchmarkCheckoutPickupAtPickup(b *testing.B) {
	e := newEnv(b)
	ctx := e.web(b)
	vs := make([]commerce.ID, 8)
	for i := range vs {
		vs[i] = e.variant(b, i, 1_000_000)
	}
	type c struct {
		id    commerce.ID
		token string
	}
	carts := make([]c, b.N)
	for i := range carts {
		carts[i].id, carts[i].token = e.cart(b, ctx, one(vs[i%len(vs)], 1))
	}
	var next atomic.Int64
	b.SetParallelism(max(1, 16/max(1, runtimeProcs())))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			k := carts[next.Add(1)-1]
			f, p := pickupAt(paris, order.AtPickup)
			if _, err := e.orders.Checkout(ctx, order.CheckoutInput{CartID: k.id, Token: k.token, Fulfillment: f, Payment: p}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checkouts/s")
}

// BenchmarkCheckoutRace1000For10 is 1,000 shoppers checking out at once
// for the last 10 units: exactly 10 orders (checked), in the time reported.
// The target is under 10 s.
func BenchmarkCheckoutRace1000For10(b *testing.B) {
	e := newEnv(b)
	ctx := e.web(b)
	v := e.variant(b, 0, 1_000_000)
	for range b.N {
		b.StopTimer()
		carts := make([][2]any, 1000)
		for i := range carts {
			id, token := e.cart(b, ctx, one(v, 1))
			carts[i] = [2]any{id, token}
		}
		e.setStock(b, v, paris, 10)
		if _, err := e.pool.Exec(context.Background(), `DELETE FROM stock_reservations WHERE variant_id = $1`, v); err != nil {
			b.Fatal(err)
		}
		before := e.count(b, `SELECT count(*) FROM orders`)
		b.StartTimer()
		var wg sync.WaitGroup
		var won, lost atomic.Int64
		for _, k := range carts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f, p := pickupAt(paris, order.AtPickup)
				_, err := e.orders.Checkout(ctx, order.CheckoutInput{CartID: k[0].(commerce.ID), Token: k[1].(string), Fulfillment: f, Payment: p})
				switch commerce.ErrorCode(err) {
				case "":
					won.Add(1)
				case commerce.ErrOutOfStock:
					lost.Add(1)
				default:
					b.Error(err)
				}
			}()
		}
		wg.Wait()
		b.StopTimer()
		if won.Load() != 10 || lost.Load() != 990 || e.count(b, `SELECT count(*) FROM orders`)-before != 10 {
			b.Fatalf("won %d, lost %d", won.Load(), lost.Load())
		}
	}
}
