package pricing

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/channel"
)

func TestPriceKinds(t *testing.T) {
	cat1 := func(o *Offer) { o.AppliesTo.CategoryIDs = []commerce.ID{cat(1)} }
	tests := []struct {
		name      string
		lines     []Line
		shipping  int64
		offer     Offer
		want      []int64 // line totals
		wantShip  int64   // shipping discount
		wantOrder []int64 // order-level adjustment amounts
		skipped   Reason  // when the offer must not apply
	}{
		{
			name:  "percentage off matching lines",
			lines: []Line{ln(1, 1000, 2, 1), ln(2, 999, 1, 2)},
			offer: offer(1, PercentageOff, cat1),
			want:  []int64{1600, 999},
		},
		{
			// 50 % of 1 cent is half a cent: rounded up, in the
			// shopper's favour. 10 % of 9.99 is 0.999: 1.00 off.
			name:  "percentage off lines rounds half up per line",
			lines: []Line{ln(1, 1, 1), ln(2, 333, 3)},
			offer: offer(1, PercentageOff, func(o *Offer) { o.PercentOff = 5000 }),
			want:  []int64{0, 499},
		},
		{
			name:      "percentage off the order is allocated pro rata",
			lines:     []Line{ln(1, 1000, 1), ln(2, 1000, 3)},
			offer:     offer(1, PercentageOff, func(o *Offer) { o.Target, o.PercentOff = TargetOrder, 1000 }),
			want:      []int64{900, 2700},
			wantOrder: []int64{400},
		},
		{
			// 15 % of 10.00 is 1.50: shares 0.4995, 0.4995, 0.501 →
			// floors 49, 49, 50, the two cents left go to the largest
			// remainders (a tie: the earlier lines).
			name:      "order allocation by largest remainder",
			lines:     []Line{ln(1, 333, 1), ln(2, 333, 1), ln(3, 334, 1)},
			offer:     offer(1, PercentageOff, func(o *Offer) { o.Target, o.PercentOff = TargetOrder, 1500 }),
			want:      []int64{283, 283, 284},
			wantOrder: []int64{150},
		},
		{
			// 1.00 over three equal lines: 33 each, the cent left over to
			// the first line.
			name:      "order allocation tie goes to the earlier line",
			lines:     []Line{ln(1, 100, 1), ln(2, 100, 1), ln(3, 100, 1)},
			offer:     offer(1, AmountOff, func(o *Offer) { o.Amount = eur(100) }),
			want:      []int64{66, 67, 67},
			wantOrder: []int64{100},
		},
		{
			name:  "amount off each matching unit, capped at the line",
			lines: []Line{ln(1, 1000, 2, 1), ln(2, 200, 1, 1), ln(3, 5000, 1, 2)},
			offer: offer(1, AmountOff, func(o *Offer) { o.Target, o.Amount = TargetLines, eur(300); cat1(o) }),
			want:  []int64{1400, 0, 5000},
		},
		{
			name:      "amount off the order once",
			lines:     []Line{ln(1, 1000, 1), ln(2, 3000, 1)},
			offer:     offer(1, AmountOff, nil),
			want:      []int64{875, 2625},
			wantOrder: []int64{500},
		},
		{
			name:      "amount off the order capped at the matching lines",
			lines:     []Line{ln(1, 700, 1, 1), ln(2, 500, 1, 1), ln(3, 900, 1, 2)},
			offer:     offer(1, AmountOff, func(o *Offer) { o.Amount = eur(5000); cat1(o) }),
			want:      []int64{0, 0, 900},
			wantOrder: []int64{1200},
		},
		{
			name:  "fixed price never raises a price",
			lines: []Line{ln(1, 1500, 2, 1), ln(2, 800, 1, 1)},
			offer: offer(1, FixedPrice, cat1),
			want:  []int64{2000, 800},
		},
		{
			name:  "buy 2 get the cheapest free",
			lines: []Line{ln(1, 3000, 1), ln(2, 1000, 1), ln(3, 2000, 1)},
			offer: offer(1, BuyXGetY, nil),
			want:  []int64{3000, 0, 2000},
		},
		{
			// 7 units make two groups of 3: the two cheapest units free.
			name:  "buy 2 get 1 across lines, two groups",
			lines: []Line{ln(1, 1000, 5), ln(2, 500, 2)},
			offer: offer(1, BuyXGetY, nil),
			want:  []int64{5000, 0},
		},
		{
			// Equal prices: the earlier line gives the free unit.
			name:  "buy 1 get 1 tie goes to the earlier line",
			lines: []Line{ln(1, 1000, 1), ln(2, 1000, 1)},
			offer: offer(1, BuyXGetY, func(o *Offer) { o.BuyQuantity = 1 }),
			want:  []int64{0, 1000},
		},
		{
			// One unit of three at half price: 9.99 × 50 % = 4.995 → 5.00.
			name:  "buy 1 get 1 half price rounds once",
			lines: []Line{ln(1, 999, 3)},
			offer: offer(1, BuyXGetY, func(o *Offer) { o.BuyQuantity, o.PercentOff = 1, 5000 }),
			want:  []int64{2497},
		},
		{
			name:    "buy 2 get 1 with two items",
			lines:   []Line{ln(1, 1000, 2)},
			offer:   offer(1, BuyXGetY, nil),
			want:    []int64{2000},
			skipped: ReasonConditionsNotMet,
		},
		{
			name:    "tiered below the first tier",
			lines:   []Line{ln(1, 4999, 1)},
			offer:   offer(1, Tiered, nil),
			want:    []int64{4999},
			skipped: ReasonConditionsNotMet,
		},
		{
			name:      "tiered at the first threshold",
			lines:     []Line{ln(1, 2500, 2)},
			offer:     offer(1, Tiered, nil),
			want:      []int64{4500},
			wantOrder: []int64{500},
		},
		{
			name:      "tiered best tier applies",
			lines:     []Line{ln(1, 6000, 1), ln(2, 6000, 1)},
			offer:     offer(1, Tiered, nil),
			want:      []int64{5250, 5250},
			wantOrder: []int64{1500},
		},
		{
			name:      "free shipping",
			lines:     []Line{ln(1, 1000, 1)},
			shipping:  499,
			offer:     offer(1, FreeShipping, nil),
			want:      []int64{1000},
			wantShip:  499,
			wantOrder: []int64{499},
		},
		{
			name:    "free shipping without shipping",
			lines:   []Line{ln(1, 1000, 1)},
			offer:   offer(1, FreeShipping, nil),
			want:    []int64{1000},
			skipped: ReasonNothingToDiscount,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := cart(tt.lines...)
			if tt.shipping != 0 {
				in.Shipping = eur(tt.shipping)
			}
			res := mustPrice(t, in, tt.offer)
			if got := lineTotals(res); !slices.Equal(got, tt.want) {
				t.Errorf("line totals = %v, want %v", got, tt.want)
			}
			if res.ShippingDiscount.Amount != tt.wantShip {
				t.Errorf("shipping discount = %d, want %d", res.ShippingDiscount.Amount, tt.wantShip)
			}
			var order []int64
			for _, a := range res.Adjustments {
				order = append(order, a.Amount.Amount)
			}
			if !slices.Equal(order, tt.wantOrder) {
				t.Errorf("order adjustments = %v, want %v", order, tt.wantOrder)
			}
			if got := skipReason(res, tt.offer.ID); got != tt.skipped {
				t.Errorf("skip reason = %q, want %q", got, tt.skipped)
			}
		})
	}
}

func TestAdjustmentExplains(t *testing.T) {
	o := offer(7, PercentageOff, func(o *Offer) {
		o.Version = 3
		o.Title = "20% off running shoes"
		o.Conditions.Code = "RUN20"
	})
	in := cart(ln(1, 1000, 1))
	in.Codes = []string{" run20 "}
	res := mustPrice(t, in, o)
	want := []Adjustment{{
		OfferID: o.ID, OfferVersion: 3, Kind: PercentageOff, Target: TargetLines,
		Code: "RUN20", Description: "20% off running shoes", Amount: eur(200),
	}}
	if got := res.Lines[0].Adjustments; !reflect.DeepEqual(got, want) {
		t.Errorf("adjustments = %+v\nwant %+v", got, want)
	}
	if want := []CouponStatus{{Code: "run20", Applied: true, OfferID: o.ID}}; !reflect.DeepEqual(res.Coupons, want) {
		t.Errorf("coupons = %+v, want %+v", res.Coupons, want)
	}
}

func TestConditions(t *testing.T) {
	lines := []Line{ln(1, 6000, 1, 1), ln(2, 4000, 1, 2)}
	lines[0].CollectionIDs = []commerce.ID{coll(1)}
	tests := []struct {
		name  string
		offer func(*Offer)
		input func(*Input)
		want  Reason // "" when the offer applies
	}{
		{name: "no conditions"},
		{name: "product matches", offer: func(o *Offer) { o.AppliesTo.ProductIDs = []commerce.ID{prod(2)} }},
		{name: "product absent", offer: func(o *Offer) { o.AppliesTo.ProductIDs = []commerce.ID{prod(3)} }, want: ReasonConditionsNotMet},
		{name: "variant matches", offer: func(o *Offer) { o.AppliesTo.VariantIDs = []commerce.ID{mkID(kVar, 1)} }},
		{name: "category matches", offer: func(o *Offer) { o.AppliesTo.CategoryIDs = []commerce.ID{cat(9), cat(2)} }},
		{name: "category absent", offer: func(o *Offer) { o.AppliesTo.CategoryIDs = []commerce.ID{cat(9)} }, want: ReasonConditionsNotMet},
		{name: "collection matches", offer: func(o *Offer) { o.AppliesTo.CollectionIDs = []commerce.ID{coll(1)} }},
		{name: "collection absent", offer: func(o *Offer) { o.AppliesTo.CollectionIDs = []commerce.ID{coll(2)} }, want: ReasonConditionsNotMet},
		{
			name:  "matching line of quantity zero",
			offer: func(o *Offer) { o.AppliesTo.ProductIDs = []commerce.ID{prod(2)} },
			input: func(in *Input) { in.Lines[1].Quantity = 0 },
			want:  ReasonConditionsNotMet,
		},
		{name: "min subtotal reached exactly", offer: func(o *Offer) { o.Conditions.MinSubtotal = eur(10000) }},
		{name: "min subtotal missed", offer: func(o *Offer) { o.Conditions.MinSubtotal = eur(10001) }, want: ReasonConditionsNotMet},
		{
			// The minimum is on the matching lines only.
			name: "min subtotal on matching lines",
			offer: func(o *Offer) {
				o.Conditions.MinSubtotal = eur(6001)
				o.AppliesTo.CategoryIDs = []commerce.ID{cat(1)}
			},
			want: ReasonConditionsNotMet,
		},
		{name: "starts now (inclusive)", offer: func(o *Offer) { o.Conditions.StartsAt = now }},
		{name: "starts in a nanosecond", offer: func(o *Offer) { o.Conditions.StartsAt = now.Add(time.Nanosecond) }, want: ReasonNotStarted},
		{name: "ends now (exclusive)", offer: func(o *Offer) { o.Conditions.EndsAt = now }, want: ReasonExpired},
		{name: "ends in a nanosecond", offer: func(o *Offer) { o.Conditions.EndsAt = now.Add(time.Nanosecond) }},
		{
			name:  "window in another time zone",
			offer: func(o *Offer) { o.Conditions.EndsAt = now.In(time.FixedZone("Paris", 3600)) },
			want:  ReasonExpired,
		},
		{name: "code not entered", offer: func(o *Offer) { o.Conditions.Code = "SPRING" }, want: ReasonCodeRequired},
		{
			name:  "code entered in another case",
			offer: func(o *Offer) { o.Conditions.Code = "SPRING" },
			input: func(in *Input) { in.Codes = []string{"Spring"} },
		},
		{name: "signed in required, guest", offer: func(o *Offer) { o.Conditions.RequireSignedIn = true }, want: ReasonCustomer},
		{
			name:  "signed in required, customer",
			offer: func(o *Offer) { o.Conditions.RequireSignedIn = true },
			input: func(in *Input) { in.Customer = customer },
		},
		{
			name:  "segment matches",
			offer: func(o *Offer) { o.Conditions.Segments = []string{"staff", "vip"} },
			input: func(in *Input) { in.Customer = customer },
		},
		{
			name:  "segment missing",
			offer: func(o *Offer) { o.Conditions.Segments = []string{"staff"} },
			input: func(in *Input) { in.Customer = customer },
			want:  ReasonCustomer,
		},
		{
			name:  "loyalty tier matches",
			offer: func(o *Offer) { o.Conditions.LoyaltyTiers = []string{"gold", "platinum"} },
			input: func(in *Input) { in.Customer = customer },
		},
		{name: "loyalty tier, guest", offer: func(o *Offer) { o.Conditions.LoyaltyTiers = []string{"gold"} }, want: ReasonCustomer},
		{name: "other channel", offer: func(o *Offer) { o.Conditions.Channels = []channel.Kind{channel.Kiosk} }, want: ReasonChannel},
		{
			name:  "listed channel",
			offer: func(o *Offer) { o.Conditions.Channels = []channel.Kind{channel.Kiosk, channel.Web} },
		},
		{
			name:  "restricted offer in a preview without channel",
			offer: func(o *Offer) { o.Conditions.Channels = []channel.Kind{channel.Web} },
			input: func(in *Input) { in.Channel = "" },
			want:  ReasonChannel,
		},
		{
			name:  "amounts in another currency",
			offer: func(o *Offer) { o.Conditions.MinSubtotal = commerce.Money{Amount: 100, Currency: "CAD"} },
			want:  ReasonCurrency,
		},
		{name: "total limit reached", input: func(in *Input) { in.ExhaustedOffers = []commerce.ID{offerID(1)} }, want: ReasonUsageLimitReached},
		{name: "customer limit reached", input: func(in *Input) { in.ExhaustedForCustomer = []commerce.ID{offerID(1)} }, want: ReasonCustomerLimitReached},
		{name: "other offer exhausted", input: func(in *Input) { in.ExhaustedOffers = []commerce.ID{offerID(2)} }},
		{name: "invalid offer", offer: func(o *Offer) { o.PercentOff = 0 }, want: ReasonInvalidOffer},
		{
			// Reasons come in a fixed order: the dates before the code.
			name:  "expired coupon reports expiry",
			offer: func(o *Offer) { o.Conditions.Code, o.Conditions.EndsAt = "OLD", now.Add(-time.Hour) },
			input: func(in *Input) { in.Codes = []string{"old"} },
			want:  ReasonExpired,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := cart(slices.Clone(lines)...)
			if tt.input != nil {
				tt.input(&in)
			}
			o := offer(1, PercentageOff, func(o *Offer) { o.PercentOff = 1000 })
			if tt.offer != nil {
				tt.offer(&o)
			}
			res := mustPrice(t, in, o)
			if got := skipReason(res, o.ID); got != tt.want {
				t.Fatalf("reason = %q, want %q", got, tt.want)
			}
			if applied := res.DiscountTotal.Amount > 0; applied != (tt.want == "") {
				t.Fatalf("discount %d with reason %q", res.DiscountTotal.Amount, tt.want)
			}
		})
	}
}

func TestStacking(t *testing.T) {
	exclusive := func(o *Offer) { o.Stackable = false }
	tests := []struct {
		name    string
		lines   []Line
		offers  []Offer
		want    []int64        // line totals
		skipped map[int]Reason // offer number → reason
		applied []int          // offer numbers that must apply
	}{
		{
			name:  "stackable percentages compound",
			lines: []Line{ln(1, 1000, 1)},
			offers: []Offer{
				offer(1, PercentageOff, nil),
				offer(2, PercentageOff, func(o *Offer) { o.PercentOff = 1000; o.Priority = 1 }),
			},
			want:    []int64{720},
			applied: []int{1, 2},
		},
		{
			name:  "exclusive first blocks the rest",
			lines: []Line{ln(1, 1000, 1)},
			offers: []Offer{
				offer(1, PercentageOff, exclusive),
				offer(2, PercentageOff, func(o *Offer) { o.Priority = 1 }),
			},
			want:    []int64{800},
			skipped: map[int]Reason{2: ReasonNotCombinable},
		},
		{
			name:  "exclusive after a stackable is not combinable",
			lines: []Line{ln(1, 1000, 1)},
			offers: []Offer{
				offer(1, PercentageOff, func(o *Offer) { o.PercentOff = 1000 }),
				offer(2, PercentageOff, func(o *Offer) { o.Priority, o.Stackable, o.PercentOff = 1, false, 5000 }),
			},
			want:    []int64{900},
			skipped: map[int]Reason{2: ReasonNotCombinable},
		},
		{
			name:  "priority beats id",
			lines: []Line{ln(1, 1000, 1)},
			offers: []Offer{
				offer(1, PercentageOff, func(o *Offer) { o.Priority, o.Stackable = 5, false }),
				offer(2, PercentageOff, func(o *Offer) { o.Priority, o.Stackable, o.PercentOff = 1, false, 1000 }),
			},
			want:    []int64{900},
			skipped: map[int]Reason{1: ReasonNotCombinable},
		},
		{
			name:  "equal priority: lower id first",
			lines: []Line{ln(1, 1000, 1)},
			offers: []Offer{
				offer(2, PercentageOff, func(o *Offer) { o.Stackable, o.PercentOff = false, 1000 }),
				offer(1, PercentageOff, exclusive),
			},
			want:    []int64{800},
			skipped: map[int]Reason{2: ReasonNotCombinable},
		},
		{
			// The order offer has the higher priority but lines go first:
			// 20.00 → fixed 10.00 → 10 % off the order → 9.00.
			name:  "line offers apply before order offers",
			lines: []Line{ln(1, 2000, 1)},
			offers: []Offer{
				offer(1, PercentageOff, func(o *Offer) { o.Target, o.PercentOff = TargetOrder, 1000 }),
				offer(2, FixedPrice, func(o *Offer) { o.Priority = 5 }),
			},
			want:    []int64{900},
			applied: []int{1, 2},
		},
		{
			// Order offers see what line offers left: 10.00 off an order
			// left at 6.00 is capped at 6.00.
			name:  "order amount capped at what the lines left",
			lines: []Line{ln(1, 1000, 1), ln(2, 500, 1)},
			offers: []Offer{
				offer(1, AmountOff, func(o *Offer) { o.Amount = eur(1000) }),
				offer(2, PercentageOff, func(o *Offer) { o.PercentOff = 6000 }),
			},
			want:    []int64{0, 0},
			applied: []int{1, 2},
		},
		{
			name:  "an exclusive offer with nothing to discount blocks nothing",
			lines: []Line{ln(1, 1000, 1)},
			offers: []Offer{
				offer(1, FreeShipping, exclusive),
				offer(2, PercentageOff, func(o *Offer) { o.Priority = 1 }),
			},
			want:    []int64{800},
			skipped: map[int]Reason{1: ReasonNothingToDiscount},
		},
		{
			name:  "nothing left to discount",
			lines: []Line{ln(1, 1000, 1)},
			offers: []Offer{
				offer(1, PercentageOff, func(o *Offer) { o.PercentOff = basisPoints }),
				offer(2, AmountOff, func(o *Offer) { o.Priority = 1 }),
			},
			want:    []int64{0},
			skipped: map[int]Reason{2: ReasonNothingToDiscount},
		},
		{
			name:  "the line never goes below zero",
			lines: []Line{ln(1, 500, 2), ln(2, 300, 1)},
			offers: []Offer{
				offer(1, AmountOff, func(o *Offer) { o.Target, o.Amount = TargetLines, eur(400) }),
				offer(2, FixedPrice, func(o *Offer) { o.Amount = eur(0) }),
				offer(3, AmountOff, func(o *Offer) { o.Target, o.Amount = TargetLines, eur(1000) }),
				offer(4, AmountOff, func(o *Offer) { o.Amount = eur(100000) }),
			},
			want:    []int64{0, 0},
			applied: []int{1, 2},
			skipped: map[int]Reason{3: ReasonNothingToDiscount, 4: ReasonNothingToDiscount},
		},
		{
			name:  "a stackable coupon and automatic offers combine",
			lines: []Line{ln(1, 10000, 1)},
			offers: []Offer{
				offer(1, PercentageOff, func(o *Offer) { o.Conditions.Code = "TEN"; o.PercentOff = 1000 }),
				offer(2, Tiered, nil),
				offer(3, FreeShipping, nil),
			},
			want:    []int64{7500}, // 100 − 10 % = 90, then 15 off the order
			applied: []int{1, 2},
			skipped: map[int]Reason{3: ReasonNothingToDiscount},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := cart(tt.lines...)
			in.Codes = []string{"TEN"}
			res := mustPrice(t, in, tt.offers...)
			if got := lineTotals(res); !slices.Equal(got, tt.want) {
				t.Errorf("line totals = %v, want %v", got, tt.want)
			}
			for n, want := range tt.skipped {
				if got := skipReason(res, offerID(n)); got != want {
					t.Errorf("offer %d: reason %q, want %q", n, got, want)
				}
			}
			for _, n := range tt.applied {
				if got := skipReason(res, offerID(n)); got != "" {
					t.Errorf("offer %d skipped (%q), want applied", n, got)
				}
			}
			// The order of the slice never matters.
			rev := slices.Clone(tt.offers)
			slices.Reverse(rev)
			if res2 := mustPrice(t, in, rev...); !reflect.DeepEqual(res, res2) {
				t.Errorf("reversing the offers changed the result:\n%+v\n%+v", res, res2)
			}
		})
	}
}

func TestDuplicateOfferIDs(t *testing.T) {
	_, err := Price(cart(ln(1, 100, 1)), []Offer{offer(1, PercentageOff, nil), offer(2, FreeShipping, nil), offer(1, AmountOff, nil)})
	if commerce.ErrorCode(err) != commerce.ErrInvalidInput {
		t.Fatalf("err = %v, want INVALID_INPUT", err)
	}
}

// TestChannelConsistency is the heart of Omnicanal: the same cart and
// offers price identically on every channel unless an offer says otherwise,
// and then the difference is visible.
func TestChannelConsistency(t *testing.T) {
	offers := []Offer{
		offer(1, PercentageOff, func(o *Offer) { o.AppliesTo.CategoryIDs = []commerce.ID{cat(1)} }),
		offer(2, BuyXGetY, nil),
		offer(3, Tiered, nil),
		offer(4, FreeShipping, func(o *Offer) { o.Conditions.Code = "SHIP" }),
		offer(5, AmountOff, func(o *Offer) { o.Conditions.Code = "GONE"; o.Conditions.EndsAt = now }),
	}
	in := cart(ln(1, 4000, 2, 1), ln(2, 1500, 1), ln(3, 2500, 1, 1))
	in.Shipping, in.Codes = eur(590), []string{"ship", "gone", "nope"}
	kinds := []channel.Kind{channel.Web, channel.Mobile, channel.Kiosk, channel.POS}

	var first Result
	for i, k := range kinds {
		in.Channel = k
		res := mustPrice(t, in, offers...)
		if i == 0 {
			first = res
		} else if !reflect.DeepEqual(res, first) {
			t.Fatalf("%s priced differently from %s:\n%+v\n%+v", k, kinds[0], res, first)
		}
	}
	for _, o := range offers {
		if o.VariesByChannel() {
			t.Errorf("offer %v varies by channel without a restriction", o.ID)
		}
	}

	// Restrict one offer to the till: only there does it apply, and
	// elsewhere the explanation says why.
	offers[0].Conditions.Channels = []channel.Kind{channel.POS}
	if !offers[0].VariesByChannel() || offers[0].AppliesOnChannel(channel.Web) || !offers[0].AppliesOnChannel(channel.POS) {
		t.Fatal("channel helpers disagree with the restriction")
	}
	for _, k := range kinds {
		in.Channel = k
		res := mustPrice(t, in, offers...)
		reason := skipReason(res, offers[0].ID)
		switch {
		case k == channel.POS && !reflect.DeepEqual(res, first):
			t.Errorf("pos: restricted to pos yet priced differently")
		case k != channel.POS && reason != ReasonChannel:
			t.Errorf("%s: reason %q, want %q", k, reason, ReasonChannel)
		case k != channel.POS && res.Total == first.Total:
			t.Errorf("%s: total unchanged by a restriction that excludes it", k)
		}
	}
}

func TestCoupons(t *testing.T) {
	offers := []Offer{
		offer(1, PercentageOff, func(o *Offer) { o.Conditions.Code = "SUMMER"; o.PercentOff = 1000 }),
		offer(2, AmountOff, func(o *Offer) { o.Conditions.Code = "OLD"; o.Conditions.EndsAt = now.Add(-time.Hour) }),
		offer(3, AmountOff, func(o *Offer) { o.Conditions.Code = "SOON"; o.Conditions.StartsAt = now.Add(time.Hour) }),
		offer(4, AmountOff, func(o *Offer) { o.Conditions.Code = "BIG"; o.Conditions.MinSubtotal = eur(100000) }),
		offer(5, AmountOff, func(o *Offer) { o.Conditions.Code = "SOLO"; o.Stackable = false; o.Priority = 3 }),
		offer(6, AmountOff, func(o *Offer) { o.Conditions.Code = "LIMIT" }),
		offer(7, AmountOff, func(o *Offer) { o.Conditions.Code = "KIOSK"; o.Conditions.Channels = []channel.Kind{channel.Kiosk} }),
		offer(8, AmountOff, func(o *Offer) { o.Conditions.Code = "VIP"; o.Conditions.Segments = []string{"vip"} }),
		offer(9, AmountOff, func(o *Offer) { o.Conditions.Code = "UNUSED" }),
	}
	in := cart(ln(1, 5000, 1))
	in.ExhaustedOffers = []commerce.ID{offerID(6)}
	in.Codes = []string{"SUMMER", " summer", "", "nope", "old", "Soon", "big", "solo", "limit", "kiosk", "vip"}
	res := mustPrice(t, in, offers...)
	want := []CouponStatus{
		{Code: "SUMMER", Applied: true, OfferID: offerID(1)},
		{Code: "nope", Reason: ReasonNotFound},
		{Code: "old", OfferID: offerID(2), Reason: ReasonExpired},
		{Code: "Soon", OfferID: offerID(3), Reason: ReasonNotStarted},
		{Code: "big", OfferID: offerID(4), Reason: ReasonConditionsNotMet},
		{Code: "solo", OfferID: offerID(5), Reason: ReasonNotCombinable},
		{Code: "limit", OfferID: offerID(6), Reason: ReasonUsageLimitReached},
		{Code: "kiosk", OfferID: offerID(7), Reason: ReasonChannel},
		{Code: "vip", OfferID: offerID(8), Reason: ReasonCustomer},
	}
	if !reflect.DeepEqual(res.Coupons, want) {
		t.Errorf("coupons:\n got %+v\nwant %+v", res.Coupons, want)
	}
	if got := skipReason(res, offerID(9)); got != ReasonCodeRequired {
		t.Errorf("offer without its code entered: reason %q", got)
	}
	for _, c := range res.Coupons {
		if !c.Applied && c.Reason.Message() == string(c.Reason) {
			t.Errorf("reason %q has no message", c.Reason)
		}
	}
}

func TestQuantities(t *testing.T) {
	pct := offer(1, PercentageOff, nil)
	t.Run("zero quantity", func(t *testing.T) {
		res := mustPrice(t, cart(ln(1, 1000, 0), ln(2, 500, 1)), pct)
		if got := lineTotals(res); !slices.Equal(got, []int64{0, 400}) || res.Lines[0].Adjustments != nil {
			t.Errorf("line totals %v, first line adjustments %v", got, res.Lines[0].Adjustments)
		}
	})
	t.Run("only zero quantities", func(t *testing.T) {
		res := mustPrice(t, cart(ln(1, 1000, 0)), pct)
		if skipReason(res, pct.ID) != ReasonConditionsNotMet || res.Total.Amount != 0 {
			t.Errorf("result %+v", res)
		}
	})
	t.Run("empty cart", func(t *testing.T) {
		// Every offer needs a line: even free shipping does not apply
		// to an empty cart.
		in := cart()
		in.Shipping = eur(500)
		res := mustPrice(t, in, pct, offer(2, FreeShipping, nil))
		if res.Total.Amount != 500 || skipReason(res, offerID(2)) != ReasonConditionsNotMet {
			t.Errorf("result %+v", res)
		}
	})
	t.Run("huge quantity at the limit", func(t *testing.T) {
		in := cart(ln(1, MaxAmount/MaxQuantity, MaxQuantity))
		res := mustPrice(t, in, pct, offer(2, BuyXGetY, func(o *Offer) { o.BuyQuantity, o.GetQuantity = 999_999, 1 }))
		// 20 % off 10^15, then 1000 of 10^9 units free: 10^15·0.8·(1 − 10^-6).
		if want := MaxAmount / 5 * 4 / 1_000_000 * 999_999; res.Total.Amount != want {
			t.Errorf("total %d, want %d", res.Total.Amount, want)
		}
	})
	t.Run("huge amount off each unit is capped", func(t *testing.T) {
		res := mustPrice(t, cart(ln(1, 100, MaxQuantity)), offer(1, AmountOff, func(o *Offer) { o.Target, o.Amount = TargetLines, eur(MaxAmount) }))
		if res.Total.Amount != 0 {
			t.Errorf("total %d", res.Total.Amount)
		}
	})
	for name, in := range map[string]Input{
		"quantity beyond the limit": cart(ln(1, 1, MaxQuantity+1)),
		"negative quantity":         cart(ln(1, 1, -1)),
		"line beyond the limit":     cart(ln(1, MaxAmount/1000+1, 1000)),
		"cart beyond the limit":     cart(ln(1, MaxAmount, 1), ln(2, 1, 1)),
		"overflowing product":       cart(ln(1, MaxAmount, MaxQuantity)),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Price(in, []Offer{pct}); commerce.ErrorCode(err) != commerce.ErrInvalidInput {
				t.Errorf("err = %v, want INVALID_INPUT", err)
			}
		})
	}
}

func TestAllocationSkipsFreeLines(t *testing.T) {
	// Line 1 is free after a line offer: the order discount goes to the
	// others, pro rata, and the rounding cent to the largest remainder.
	res := mustPrice(t, cart(ln(1, 1000, 1, 1), ln(2, 100, 1), ln(3, 200, 1)),
		offer(1, PercentageOff, func(o *Offer) { o.PercentOff = basisPoints; o.AppliesTo.CategoryIDs = []commerce.ID{cat(1)} }),
		offer(2, AmountOff, func(o *Offer) { o.Amount = eur(100) }),
	)
	// 100 × 100/300 = 33.3, 100 × 200/300 = 66.6 → 33 + 67.
	if got := lineTotals(res); !slices.Equal(got, []int64{0, 67, 133}) {
		t.Errorf("line totals %v", got)
	}
	if res.Lines[0].Allocations != nil {
		t.Errorf("a free line got a share: %+v", res.Lines[0].Allocations)
	}
}

func TestPriceDoesNotModifyArguments(t *testing.T) {
	in := cart(ln(1, 1000, 3, 1), ln(2, 700, 2))
	in.Codes = []string{" Ten "}
	offers := []Offer{
		offer(3, BuyXGetY, nil),
		offer(1, PercentageOff, func(o *Offer) { o.Conditions.Code = "TEN" }),
		offer(2, AmountOff, nil),
	}
	inCopy, offersCopy := cloneInput(in), cloneOffers(offers)
	mustPrice(t, in, offers...)
	if !reflect.DeepEqual(in, inCopy) || !reflect.DeepEqual(offers, offersCopy) {
		t.Fatal("Price modified its arguments")
	}
}

func TestInputValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Input)
		field string
	}{
		{"valid", func(*Input) {}, ""},
		{"unknown currency", func(in *Input) { in.Currency = "XXX" }, "currency"},
		{"lower-case currency", func(in *Input) { in.Currency = "eur" }, "currency"},
		{"unknown channel", func(in *Input) { in.Channel = "POS" }, "channel"},
		{"no time", func(in *Input) { in.Now = time.Time{} }, "now"},
		{"line in another currency", func(in *Input) { in.Lines[0].UnitPrice.Currency = "USD" }, "lines[0].unitPrice"},
		{"negative price", func(in *Input) { in.Lines[0].UnitPrice.Amount = -1 }, "lines[0].unitPrice"},
		{"shipping in another currency", func(in *Input) { in.Shipping = commerce.Money{Amount: 1, Currency: "USD"} }, "shipping"},
		{"shipping without currency", func(in *Input) { in.Shipping = commerce.Money{Amount: 1} }, "shipping"},
		{"negative shipping", func(in *Input) { in.Shipping = eur(-1) }, "shipping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := cart(ln(1, 100, 1))
			tt.edit(&in)
			checkField(t, in.Validate(), tt.field)
		})
	}
}

func TestOfferValidate(t *testing.T) {
	cad := commerce.Money{Amount: 100, Currency: "CAD"}
	tests := []struct {
		name  string
		offer Offer
		field string
	}{
		{"percentage", offer(1, PercentageOff, nil), ""},
		{"amount", offer(1, AmountOff, nil), ""},
		{"fixed price zero", offer(1, FixedPrice, func(o *Offer) { o.Amount = eur(0) }), ""},
		{"buy x get y", offer(1, BuyXGetY, nil), ""},
		{"tiered", offer(1, Tiered, nil), ""},
		{"free shipping", offer(1, FreeShipping, nil), ""},
		{"explicit default target", offer(1, Tiered, func(o *Offer) { o.Target = TargetOrder }), ""},
		{"everything set", offer(1, AmountOff, func(o *Offer) {
			o.Conditions = Conditions{MinSubtotal: eur(1), StartsAt: now, EndsAt: now.Add(time.Hour), Code: "X-1",
				RequireSignedIn: true, Segments: []string{"a"}, LoyaltyTiers: []string{"b"}, Channels: []channel.Kind{channel.POS}}
			o.UsageLimit, o.UsageLimitPerCustomer = 100, 1
		}), ""},
		{"no id", offer(1, PercentageOff, func(o *Offer) { o.ID = commerce.ID{} }), "id"},
		{"version zero", offer(1, PercentageOff, func(o *Offer) { o.Version = 0 }), "version"},
		{"no title", offer(1, PercentageOff, func(o *Offer) { o.Title = "  " }), "title"},
		{"unknown kind", offer(1, "bogo", nil), "kind"},
		{"percentage without target", offer(1, PercentageOff, func(o *Offer) { o.Target = "" }), "target"},
		{"fixed price on the order", offer(1, FixedPrice, func(o *Offer) { o.Target = TargetOrder }), "target"},
		{"free shipping on lines", offer(1, FreeShipping, func(o *Offer) { o.Target = TargetLines }), "target"},
		{"percentage zero", offer(1, PercentageOff, func(o *Offer) { o.PercentOff = 0 }), "percentOff"},
		{"percentage over 100 %", offer(1, PercentageOff, func(o *Offer) { o.PercentOff = 10001 }), "percentOff"},
		{"percentage 100 %", offer(1, PercentageOff, func(o *Offer) { o.PercentOff = 10000 }), ""},
		{"stray percentage", offer(1, AmountOff, func(o *Offer) { o.PercentOff = 10 }), "percentOff"},
		{"stray amount", offer(1, PercentageOff, func(o *Offer) { o.Amount = eur(1) }), "amount"},
		{"stray tiers", offer(1, AmountOff, func(o *Offer) { o.Tiers = []Tier{{eur(1), eur(1)}} }), "tiers"},
		{"stray quantities", offer(1, AmountOff, func(o *Offer) { o.BuyQuantity = 1 }), "buyQuantity"},
		{"amount zero", offer(1, AmountOff, func(o *Offer) { o.Amount = eur(0) }), "amount"},
		{"amount negative", offer(1, AmountOff, func(o *Offer) { o.Amount = eur(-1) }), "amount"},
		{"amount too large", offer(1, AmountOff, func(o *Offer) { o.Amount = eur(MaxAmount + 1) }), "amount"},
		{"amount without currency", offer(1, AmountOff, func(o *Offer) { o.Amount.Currency = "" }), "amount"},
		{"amount in unknown currency", offer(1, AmountOff, func(o *Offer) { o.Amount.Currency = "XXX" }), "currency"},
		{"fixed price negative", offer(1, FixedPrice, func(o *Offer) { o.Amount = eur(-1) }), "amount"},
		{"buy zero", offer(1, BuyXGetY, func(o *Offer) { o.BuyQuantity = 0 }), "buyQuantity"},
		{"get zero", offer(1, BuyXGetY, func(o *Offer) { o.GetQuantity = 0 }), "getQuantity"},
		{"buy x get y without percentage", offer(1, BuyXGetY, func(o *Offer) { o.PercentOff = 0 }), "percentOff"},
		{"no tiers", offer(1, Tiered, func(o *Offer) { o.Tiers = nil }), "tiers"},
		{"tiers not ascending", offer(1, Tiered, func(o *Offer) { o.Tiers[1].MinSubtotal = eur(5000) }), "tiers[1].minSubtotal"},
		{"tier amounts not ascending", offer(1, Tiered, func(o *Offer) { o.Tiers[1].AmountOff = eur(500) }), "tiers[1].amountOff"},
		{"tier amount zero", offer(1, Tiered, func(o *Offer) { o.Tiers[0].AmountOff = eur(0) }), "tiers[0].amountOff"},
		{"tier in another currency", offer(1, Tiered, func(o *Offer) { o.Tiers[1].AmountOff.Currency = "CAD" }), "tiers[1].amountOff"},
		{"tier without currency", offer(1, Tiered, func(o *Offer) { o.Tiers[0].MinSubtotal = commerce.Money{} }), "tiers[0].minSubtotal"},
		{"minimum in another currency", offer(1, AmountOff, func(o *Offer) { o.Conditions.MinSubtotal = cad }), "conditions.minSubtotal"},
		{"minimum without currency", offer(1, PercentageOff, func(o *Offer) { o.Conditions.MinSubtotal = commerce.Money{Amount: 1} }), "conditions.minSubtotal"},
		{"minimum negative", offer(1, AmountOff, func(o *Offer) { o.Conditions.MinSubtotal = eur(-1) }), "conditions.minSubtotal"},
		{"ends before it starts", offer(1, AmountOff, func(o *Offer) { o.Conditions.StartsAt, o.Conditions.EndsAt = now, now }), "conditions.endsAt"},
		{"code with a space", offer(1, AmountOff, func(o *Offer) { o.Conditions.Code = "SUM MER" }), "conditions.code"},
		{"empty segment", offer(1, AmountOff, func(o *Offer) { o.Conditions.Segments = []string{""} }), "conditions.segments[0]"},
		{"unknown channel", offer(1, AmountOff, func(o *Offer) { o.Conditions.Channels = []channel.Kind{"store"} }), "conditions.channels[0]"},
		{"negative usage limit", offer(1, AmountOff, func(o *Offer) { o.UsageLimit = -1 }), "usageLimit"},
		{"zero id in a selector", offer(1, AmountOff, func(o *Offer) { o.AppliesTo.ProductIDs = []commerce.ID{{}} }), "appliesTo.productIds[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkField(t, tt.offer.Validate(), tt.field)
		})
	}
}

// checkField expects err to be nil when field is empty, else an
// INVALID_INPUT *commerce.Error on that field.
func checkField(t *testing.T, err error, field string) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if e, ok := errors.AsType[*commerce.Error](err); !ok || e.Code != commerce.ErrInvalidInput || e.Field != field {
		t.Fatalf("err = %v, want INVALID_INPUT on %q", err, field)
	}
}

func cloneInput(in Input) Input {
	in.Lines = slices.Clone(in.Lines)
	for i := range in.Lines {
		in.Lines[i].CategoryIDs = slices.Clone(in.Lines[i].CategoryIDs)
		in.Lines[i].CollectionIDs = slices.Clone(in.Lines[i].CollectionIDs)
	}
	in.Codes = slices.Clone(in.Codes)
	in.Customer.Segments = slices.Clone(in.Customer.Segments)
	in.ExhaustedOffers = slices.Clone(in.ExhaustedOffers)
	in.ExhaustedForCustomer = slices.Clone(in.ExhaustedForCustomer)
	return in
}

func cloneOffers(offers []Offer) []Offer {
	out := slices.Clone(offers)
	for i := range out {
		o := &out[i]
		o.Tiers = slices.Clone(o.Tiers)
		o.AppliesTo.ProductIDs = slices.Clone(o.AppliesTo.ProductIDs)
		o.AppliesTo.VariantIDs = slices.Clone(o.AppliesTo.VariantIDs)
		o.AppliesTo.CategoryIDs = slices.Clone(o.AppliesTo.CategoryIDs)
		o.AppliesTo.CollectionIDs = slices.Clone(o.AppliesTo.CollectionIDs)
		o.Conditions.Segments = slices.Clone(o.Conditions.Segments)
		o.Conditions.LoyaltyTiers = slices.Clone(o.Conditions.LoyaltyTiers)
		o.Conditions.Channels = slices.Clone(o.Conditions.Channels)
	}
	return out
}
