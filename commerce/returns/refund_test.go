package returns_test

import (
	"testing"
	"time"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/pricing"
	"github.com/omnicanal/omnicanal/commerce/returns"
)

func eur(n int64) commerce.Money { return commerce.Money{Amount: n, Currency: "EUR"} }

// bought prices units (unit prices in cents) with offers as checkout would,
// and returns the lines as the refund rule sees them.
func bought(t *testing.T, offers []pricing.Offer, units ...[2]int64) []returns.RefundLine {
	t.Helper()
	in := pricing.Input{Currency: "EUR", Now: time.Now()}
	for _, u := range units {
		in.Lines = append(in.Lines, pricing.Line{ID: commerce.NewID(), VariantID: commerce.NewID(), ProductID: commerce.NewID(),
			UnitPrice: eur(u[0]), Quantity: int(u[1])})
	}
	res, err := pricing.Price(in, offers)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]returns.RefundLine, len(res.Lines))
	for i, l := range res.Lines {
		out[i] = returns.RefundLine{ID: l.ID, VariantID: l.VariantID, ProductID: in.Lines[i].ProductID, UnitPrice: l.UnitPrice,
			Quantity: l.Quantity, Total: l.Total}
		for _, a := range l.Adjustments {
			out[i].OfferIDs = append(out[i].OfferIDs, a.OfferID)
		}
		for _, a := range l.Allocations {
			out[i].OfferIDs = append(out[i].OfferIDs, a.OfferID)
		}
	}
	return out
}

func tiered(min, off int64) pricing.Offer {
	return pricing.Offer{ID: commerce.NewID(), Version: 1, Title: "spend", Kind: pricing.Tiered, Stackable: true,
		Tiers: []pricing.Tier{{MinSubtotal: eur(min), AmountOff: eur(off)}}}
}

func TestComputeRefund(t *testing.T) {
	pct := pricing.Offer{ID: commerce.NewID(), Version: 1, Title: "20%", Kind: pricing.PercentageOff, Target: pricing.TargetLines,
		PercentOff: 2000, Stackable: true}
	b2g1 := pricing.Offer{ID: commerce.NewID(), Version: 1, Title: "3 for 2", Kind: pricing.BuyXGetY, BuyQuantity: 2, GetQuantity: 1,
		PercentOff: 10000, Stackable: true}
	minSub := pricing.Offer{ID: commerce.NewID(), Version: 1, Title: "10% from 50", Kind: pricing.PercentageOff, Target: pricing.TargetOrder,
		PercentOff: 1000, Stackable: true, Conditions: pricing.Conditions{MinSubtotal: eur(5000), Code: "TEN",
			EndsAt: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}}
	// step is one return: units returned per line, and the refund expected.
	type step struct {
		returning        []int
		amount, clawback int64
	}
	tests := []struct {
		name   string
		offers []pricing.Offer
		units  [][2]int64
		steps  []step
	}{
		{"no offer, unit by unit", nil, [][2]int64{{1000, 2}},
			[]step{{[]int{1}, 1000, 0}, {[]int{1}, 1000, 0}}},
		{"line percentage, pro rata, rounding never adds up", []pricing.Offer{pct}, [][2]int64{{999, 3}},
			// 2997 − 599 = 2398 paid: ⌊2398/3⌋ = 799, then 1598 − 799, then the rest.
			[]step{{[]int{1}, 799, 0}, {[]int{1}, 799, 0}, {[]int{1}, 800, 0}}},
		{"tier lost: the lost discount is clawed back", []pricing.Offer{tiered(10000, 2000)}, [][2]int64{{6000, 1}, {6000, 1}},
			// Paid 10000, 5000 each. Kept B alone costs 6000: refund 4000.
			[]step{{[]int{1, 0}, 4000, 1000}, {[]int{0, 1}, 6000, 0}}},
		{"tier kept: no more than the units' share", []pricing.Offer{tiered(10000, 2000)}, [][2]int64{{10000, 1}, {10000, 1}},
			// Paid 18000; kept A alone costs 8000, but B was paid 9000.
			[]step{{[]int{0, 1}, 9000, 0}, {[]int{1, 0}, 9000, 0}}},
		{"buy 2 get 1: the free unit is given back last", []pricing.Offer{b2g1}, [][2]int64{{3000, 3}},
			// Paid 6000 for 3. Keeping 2 costs 6000: nothing back; then
			// 3000 each.
			[]step{{[]int{1}, 0, 2000}, {[]int{1}, 3000, 0}, {[]int{1}, 3000, 0}}},
		{"never negative: kept units cost more than what was paid", []pricing.Offer{tiered(7000, 3000)}, [][2]int64{{6000, 1}, {1000, 1}},
			// Paid 4000 (A 3429, B 571). Kept A costs 6000 > 4000: 0; then A: all 4000.
			[]step{{[]int{0, 1}, 0, 571}, {[]int{1, 0}, 4000, 0}}},
		{"minimum subtotal lost; code and dates still honoured", []pricing.Offer{minSub}, [][2]int64{{3000, 1}, {3000, 1}},
			[]step{{[]int{0, 1}, 2400, 300}, {[]int{1, 0}, 3000, 0}}},
		{"several units of several lines at once", []pricing.Offer{b2g1}, [][2]int64{{3000, 2}, {1500, 2}},
			// 4 units: one free (the cheapest, 1500). Paid 7500. Return
			// one of each: kept {3000, 1500} costs 4500: refund 3000.
			[]step{{[]int{1, 1}, 3000, 750}, {[]int{1, 1}, 4500, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := pricing.Input{Currency: "EUR", Now: time.Date(2019, 6, 1, 0, 0, 0, 0, time.UTC), Codes: []string{"ten"}}
			offers := tt.offers
			var lines []returns.RefundLine
			if len(offers) > 0 && offers[0].Conditions.Code != "" {
				lines = boughtWith(t, offers, in, tt.units...)
			} else {
				lines = bought(t, offers, tt.units...)
			}
			var paid, refunded int64
			for _, l := range lines {
				paid += l.Total.Amount
			}
			for i, st := range tt.steps {
				for j := range lines {
					lines[j].Returning = st.returning[j]
				}
				res, err := returns.ComputeRefund(returns.RuleInput{Currency: "EUR", Lines: lines, Offers: offers, RefundedBefore: refunded})
				if err != nil {
					t.Fatal(err)
				}
				if res.Amount != st.amount || res.Clawback != st.clawback {
					t.Errorf("step %d: refund %d clawback %d (paid share %d), want %d and %d", i, res.Amount, res.Clawback, res.Paid, st.amount, st.clawback)
				}
				if res.Amount < 0 || res.Amount > paid-refunded {
					t.Errorf("step %d: refund %d out of [0, %d]", i, res.Amount, paid-refunded)
				}
				refunded += res.Amount
				for j := range lines {
					lines[j].Returned += lines[j].Returning
					lines[j].Returning = 0
				}
			}
			if all := func() bool {
				for _, l := range lines {
					if l.Returned != l.Quantity {
						return false
					}
				}
				return true
			}(); all && refunded != paid {
				t.Errorf("everything returned: %d refunded of %d paid", refunded, paid)
			}
		})
	}
}

// boughtWith is bought with the checkout's own input (codes, date).
func boughtWith(t *testing.T, offers []pricing.Offer, in pricing.Input, units ...[2]int64) []returns.RefundLine {
	t.Helper()
	for _, u := range units {
		in.Lines = append(in.Lines, pricing.Line{ID: commerce.NewID(), VariantID: commerce.NewID(), ProductID: commerce.NewID(),
			UnitPrice: eur(u[0]), Quantity: int(u[1])})
	}
	res, err := pricing.Price(in, offers)
	if err != nil {
		t.Fatal(err)
	}
	if res.DiscountTotal.Amount == 0 {
		t.Fatal("the offer did not apply at checkout")
	}
	out := make([]returns.RefundLine, len(res.Lines))
	for i, l := range res.Lines {
		out[i] = returns.RefundLine{ID: l.ID, VariantID: l.VariantID, ProductID: in.Lines[i].ProductID, UnitPrice: l.UnitPrice,
			Quantity: l.Quantity, Total: l.Total}
		for _, a := range l.Allocations {
			out[i].OfferIDs = append(out[i].OfferIDs, a.OfferID)
		}
	}
	return out
}

func TestComputeRefundRefusesOverReturn(t *testing.T) {
	lines := bought(t, nil, [2]int64{1000, 1})
	lines[0].Returned, lines[0].Returning = 1, 1
	if _, err := returns.ComputeRefund(returns.RuleInput{Currency: "EUR", Lines: lines}); err == nil {
		t.Error("returning more than bought was priced")
	}
}

// A selector by product still matches a line whose product is elsewhere
// now: the frozen adjustment says it matched.
func TestComputeRefundMatchesByFrozenAdjustment(t *testing.T) {
	o := tiered(10000, 2000)
	lines := bought(t, []pricing.Offer{o}, [2]int64{10000, 1}, [2]int64{10000, 1})
	o.AppliesTo = pricing.Selector{ProductIDs: []commerce.ID{commerce.NewID()}} // no longer names them
	lines[1].Returning = 1
	res, err := returns.ComputeRefund(returns.RuleInput{Currency: "EUR", Lines: lines, Offers: []pricing.Offer{o}})
	if err != nil {
		t.Fatal(err)
	}
	// Kept A still reaches the tier (8000, not 10000): B's share, 9000.
	if res.Amount != 9000 {
		t.Errorf("refund %d, want 9000", res.Amount)
	}
}
