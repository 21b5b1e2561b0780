package pricing_test

import (
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/channel"
	"github.com/omnicanal/omnicanal/commerce/pricing"
)

func ExamplePrice() {
	eur := func(a int64) commerce.Money { return commerce.Money{Amount: a, Currency: "EUR"} }
	running := uuid.MustParse("0196a000-0000-7000-8000-000000000001")

	in := pricing.Input{
		Currency: "EUR",
		Channel:  channel.Kiosk,
		Now:      time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC),
		Lines: []pricing.Line{
			{ProductID: uuid.MustParse("0196a000-0000-7000-8000-0000000000a1"), CategoryIDs: []commerce.ID{running}, Quantity: 1, UnitPrice: eur(8999)},
			{ProductID: uuid.MustParse("0196a000-0000-7000-8000-0000000000a2"), Quantity: 3, UnitPrice: eur(499)},
		},
		Codes:    []string{"welcome10", "SUMMER"},
		Shipping: eur(590),
	}
	offers := []pricing.Offer{{
		ID: uuid.MustParse("0196a000-0000-7000-8000-0000000000f1"), Version: 2,
		Title: "20% off running shoes", Kind: pricing.PercentageOff, Target: pricing.TargetLines,
		PercentOff: 2000, Stackable: true,
		AppliesTo: pricing.Selector{CategoryIDs: []commerce.ID{running}},
	}, {
		ID: uuid.MustParse("0196a000-0000-7000-8000-0000000000f2"), Version: 1,
		Title: "10 EUR off with WELCOME10", Kind: pricing.AmountOff, Target: pricing.TargetOrder,
		Amount: eur(1000), Stackable: true,
		Conditions: pricing.Conditions{Code: "WELCOME10"},
	}, {
		ID: uuid.MustParse("0196a000-0000-7000-8000-0000000000f3"), Version: 1,
		Title: "Free shipping from 50 EUR", Kind: pricing.FreeShipping, Stackable: true,
		Conditions: pricing.Conditions{MinSubtotal: eur(5000)},
	}}

	res, err := pricing.Price(in, offers)
	if err != nil {
		panic(err)
	}
	for _, l := range res.Lines {
		fmt.Printf("%d × %s = %s\n", l.Quantity, l.UnitPrice, l.Subtotal)
		for _, a := range l.Adjustments {
			fmt.Printf("  -%s %s (v%d)\n", a.Amount.Decimal(), a.Description, a.OfferVersion)
		}
		for _, a := range l.Allocations {
			fmt.Printf("  -%s share of an order offer\n", a.Amount.Decimal())
		}
		fmt.Printf("  line total %s\n", l.Total)
	}
	for _, a := range res.Adjustments {
		fmt.Printf("order: -%s %s\n", a.Amount.Decimal(), a.Description)
	}
	for _, c := range res.Coupons {
		if !c.Applied {
			fmt.Printf("code %s: %s\n", c.Code, c.Reason.Message())
		}
	}
	fmt.Printf("subtotal %s, discounts %s, shipping %s - %s, total %s\n",
		res.Subtotal.Decimal(), res.DiscountTotal.Decimal(), res.Shipping.Decimal(), res.ShippingDiscount.Decimal(), res.Total)
	// Output:
	// 1 × 89.99 EUR = 89.99 EUR
	//   -18.00 20% off running shoes (v2)
	//   -8.28 share of an order offer
	//   line total 63.71 EUR
	// 3 × 4.99 EUR = 14.97 EUR
	//   -1.72 share of an order offer
	//   line total 13.25 EUR
	// order: -10.00 10 EUR off with WELCOME10
	// order: -5.90 Free shipping from 50 EUR
	// code SUMMER: This code does not exist.
	// subtotal 104.96, discounts 28.00, shipping 5.90 - 5.90, total 76.96 EUR
}
