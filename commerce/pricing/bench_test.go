package pricing

import (
	"fmt"
	"testing"
	"time"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/channel"
)

// benchCart is a cart of n lines over 8 products in 4 categories, priced
// with 20 offers of every kind: some apply, some stack, some are blocked as
// exclusive, some wait for a code or another channel — the mix a busy
// merchandiser produces.
func benchCart(n int) (Input, []Offer) {
	in := Input{
		Currency: "EUR", Channel: channel.Web, Now: now, Customer: customer,
		Shipping: eur(590), Codes: []string{"WELCOME", "bogus"},
	}
	for i := range n {
		l := ln(i, int64(990+i*250), 1+i%3, i%4)
		l.ProductID = prod(i % 8)
		l.CollectionIDs = []commerce.ID{coll(i % 2)}
		in.Lines = append(in.Lines, l)
	}
	cats := func(c ...int) Selector {
		var s Selector
		for _, x := range c {
			s.CategoryIDs = append(s.CategoryIDs, cat(x))
		}
		return s
	}
	offers := []Offer{
		offer(1, PercentageOff, func(o *Offer) { o.AppliesTo = cats(0) }),
		offer(2, PercentageOff, func(o *Offer) { o.AppliesTo, o.PercentOff, o.Priority = cats(1, 2), 1500, 2 }),
		offer(3, PercentageOff, func(o *Offer) { o.Target, o.PercentOff, o.Priority = TargetOrder, 500, 5 }),
		offer(4, AmountOff, func(o *Offer) { o.Target, o.Amount, o.AppliesTo = TargetLines, eur(200), cats(3) }),
		offer(5, AmountOff, func(o *Offer) { o.Conditions.Code, o.Priority = "WELCOME", 1 }),
		offer(6, AmountOff, func(o *Offer) { o.Conditions.Code = "SPRING" }),
		offer(7, FixedPrice, func(o *Offer) { o.Amount, o.AppliesTo.ProductIDs = eur(1500), []commerce.ID{prod(5), prod(6)} }),
		offer(8, BuyXGetY, func(o *Offer) { o.AppliesTo = cats(2) }),
		offer(9, BuyXGetY, func(o *Offer) { o.BuyQuantity, o.PercentOff, o.AppliesTo = 1, 5000, cats(1) }),
		offer(10, Tiered, func(o *Offer) { o.Priority = 6 }),
		offer(11, FreeShipping, func(o *Offer) { o.Conditions.MinSubtotal = eur(5000) }),
		offer(12, FreeShipping, func(o *Offer) { o.Conditions.Channels = []channel.Kind{channel.Kiosk} }),
		offer(13, PercentageOff, func(o *Offer) { o.Stackable, o.PercentOff, o.Priority = false, 3000, 9 }),
		offer(14, AmountOff, func(o *Offer) { o.Conditions.EndsAt = now.Add(-time.Hour) }),
		offer(15, AmountOff, func(o *Offer) { o.Conditions.StartsAt = now.Add(time.Hour) }),
		offer(16, PercentageOff, func(o *Offer) { o.Conditions.Segments = []string{"staff"} }),
		offer(17, PercentageOff, func(o *Offer) { o.Conditions.LoyaltyTiers, o.PercentOff = []string{"gold"}, 500 }),
		offer(18, AmountOff, func(o *Offer) { o.Conditions.MinSubtotal = eur(1_000_000) }),
		offer(19, PercentageOff, func(o *Offer) { o.AppliesTo.CollectionIDs = []commerce.ID{coll(1)}; o.Priority = 3 }),
		offer(20, AmountOff, func(o *Offer) {
			o.Target, o.Amount, o.AppliesTo.ProductIDs = TargetLines, eur(100), []commerce.ID{prod(1)}
		}),
	}
	return in, offers
}

func BenchmarkPrice(b *testing.B) {
	for _, n := range []int{10, 50} {
		b.Run(fmt.Sprintf("lines=%d/offers=20", n), func(b *testing.B) {
			in, offers := benchCart(n)
			res, err := Price(in, offers)
			if err != nil {
				b.Fatal(err)
			}
			checkInvariants(b, in, offers, res)
			if len(res.Skipped) == len(offers) {
				b.Fatal("no offer applies: the benchmark would measure nothing")
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Price(in, offers); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
