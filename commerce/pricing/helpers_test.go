package pricing

import (
	"testing"
	"time"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/channel"
)

// Readable fixed identifiers: the first byte says what it is, the last two
// which one, so a failing test prints ids a human can tell apart.
const (
	kOffer byte = 0x0f
	kProd  byte = 0x0a
	kVar   byte = 0x0b
	kCat   byte = 0x0c
	kColl  byte = 0x0d
	kLine  byte = 0x01
	kCust  byte = 0x0e
)

func mkID(kind byte, n int) commerce.ID {
	var id commerce.ID
	id[0] = kind
	id[14], id[15] = byte(n>>8), byte(n)
	return id
}

func offerID(n int) commerce.ID { return mkID(kOffer, n) }
func prod(n int) commerce.ID    { return mkID(kProd, n) }
func cat(n int) commerce.ID     { return mkID(kCat, n) }
func coll(n int) commerce.ID    { return mkID(kColl, n) }

func eur(a int64) commerce.Money { return commerce.Money{Amount: a, Currency: "EUR"} }

var (
	now      = time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)
	customer = Customer{ID: mkID(kCust, 1), Segments: []string{"vip"}, LoyaltyTier: "gold"}
)

// ln is a line of product p (variant and line id derived from it) in the
// given categories.
func ln(p int, unit int64, qty int, cats ...int) Line {
	l := Line{
		ID:        mkID(kLine, p),
		VariantID: mkID(kVar, p),
		ProductID: prod(p),
		Quantity:  qty,
		UnitPrice: eur(unit),
	}
	for _, c := range cats {
		l.CategoryIDs = append(l.CategoryIDs, cat(c))
	}
	return l
}

func cart(lines ...Line) Input {
	return Input{Currency: "EUR", Channel: channel.Web, Now: now, Lines: lines}
}

// offer is a valid stackable offer n of kind k; edit tweaks it.
func offer(n int, k Kind, edit func(*Offer)) Offer {
	o := Offer{ID: offerID(n), Version: 1, Title: string(k), Kind: k, Stackable: true}
	switch k {
	case PercentageOff:
		o.Target, o.PercentOff = TargetLines, 2000
	case AmountOff:
		o.Target, o.Amount = TargetOrder, eur(500)
	case FixedPrice:
		o.Amount = eur(1000)
	case BuyXGetY:
		o.BuyQuantity, o.GetQuantity, o.PercentOff = 2, 1, basisPoints
	case Tiered:
		o.Tiers = []Tier{{eur(5000), eur(500)}, {eur(10000), eur(1500)}}
	}
	if edit != nil {
		edit(&o)
	}
	return o
}

func mustPrice(t *testing.T, in Input, offers ...Offer) Result {
	t.Helper()
	res, err := Price(in, offers)
	if err != nil {
		t.Fatalf("Price: %v", err)
	}
	checkInvariants(t, in, offers, res)
	return res
}

// lineTotals lists each line's total.
func lineTotals(res Result) []int64 {
	out := make([]int64, len(res.Lines))
	for i, l := range res.Lines {
		out[i] = l.Total.Amount
	}
	return out
}

func skipReason(res Result, id commerce.ID) Reason {
	for _, s := range res.Skipped {
		if s.OfferID == id {
			return s.Reason
		}
	}
	return ""
}

// checkInvariants verifies what every Result must satisfy, whatever the
// cart and offers: the sums add up, nothing is negative, every offer is
// either applied or skipped, everything is in the cart's currency.
func checkInvariants(t testing.TB, in Input, offers []Offer, res Result) {
	t.Helper()
	cur := in.Currency
	money := func(what string, m commerce.Money) int64 {
		t.Helper()
		if m.Currency != cur {
			t.Fatalf("%s in %q, cart in %q", what, m.Currency, cur)
		}
		return m.Amount
	}
	if len(res.Lines) != len(in.Lines) {
		t.Fatalf("%d result lines for %d input lines", len(res.Lines), len(in.Lines))
	}
	applied := map[commerce.ID]int64{} // offer → total applied
	allocated := map[commerce.ID]int64{}
	var subtotal, sumLines, discount int64
	for i, l := range res.Lines {
		want := in.Lines[i].UnitPrice.Amount * int64(in.Lines[i].Quantity)
		sub := money("line subtotal", l.Subtotal)
		if sub != want || l.Quantity != in.Lines[i].Quantity || l.ID != in.Lines[i].ID {
			t.Fatalf("line %d: subtotal %d, quantity %d; want %d, %d", i, sub, l.Quantity, want, in.Lines[i].Quantity)
		}
		var d int64
		for _, a := range l.Adjustments {
			amt := money("line adjustment", a.Amount)
			if amt <= 0 || a.Target != TargetLines {
				t.Fatalf("line %d: adjustment %+v", i, a)
			}
			d += amt
			applied[a.OfferID] += amt
		}
		for _, a := range l.Allocations {
			amt := money("allocation", a.Amount)
			if amt <= 0 {
				t.Fatalf("line %d: allocation %+v", i, a)
			}
			d += amt
			allocated[a.OfferID] += amt
		}
		total := money("line total", l.Total)
		if money("line discount", l.Discount) != d || total != sub-d || total < 0 {
			t.Fatalf("line %d: subtotal %d discount %d (adjustments %d) total %d", i, sub, l.Discount.Amount, d, total)
		}
		subtotal += sub
		sumLines += total
		discount += d
	}
	var shipDisc int64
	for _, a := range res.Adjustments {
		amt := money("order adjustment", a.Amount)
		if amt <= 0 {
			t.Fatalf("order adjustment %+v", a)
		}
		switch a.Target {
		case TargetOrder:
			if allocated[a.OfferID] != amt {
				t.Fatalf("offer %v: adjustment %d but %d allocated to lines", a.OfferID, amt, allocated[a.OfferID])
			}
			delete(allocated, a.OfferID)
		case TargetShipping:
			shipDisc += amt
		default:
			t.Fatalf("order adjustment with target %q", a.Target)
		}
		applied[a.OfferID] += amt
	}
	if len(allocated) != 0 {
		t.Fatalf("allocations without an order adjustment: %v", allocated)
	}
	shipping := in.Shipping.Amount
	if money("subtotal", res.Subtotal) != subtotal ||
		money("discount total", res.DiscountTotal) != discount ||
		money("shipping", res.Shipping) != shipping ||
		money("shipping discount", res.ShippingDiscount) != shipDisc {
		t.Fatalf("order sums: %+v; lines say subtotal %d discount %d shipping discount %d", res, subtotal, discount, shipDisc)
	}
	total := money("total", res.Total)
	if total != sumLines+shipping-shipDisc {
		t.Fatalf("total %d != Σ line totals %d + shipping %d − shipping discount %d", total, sumLines, shipping, shipDisc)
	}
	if total < 0 || discount < 0 || discount > subtotal || shipDisc < 0 || shipDisc > shipping {
		t.Fatalf("out of range: total %d discount %d/%d shipping discount %d/%d", total, discount, subtotal, shipDisc, shipping)
	}
	if len(applied)+len(res.Skipped) != len(offers) {
		t.Fatalf("%d offers applied + %d skipped != %d offers", len(applied), len(res.Skipped), len(offers))
	}
	for _, s := range res.Skipped {
		if s.Reason == "" {
			t.Fatalf("skipped offer %v without a reason", s.OfferID)
		}
		if _, ok := applied[s.OfferID]; ok {
			t.Fatalf("offer %v both applied and skipped", s.OfferID)
		}
	}
	for _, c := range res.Coupons {
		if c.Applied != (c.Reason == "") {
			t.Fatalf("coupon %+v: applied and reason disagree", c)
		}
		if c.Applied && applied[c.OfferID] == 0 {
			t.Fatalf("coupon %+v applied but its offer took nothing off", c)
		}
	}
}
