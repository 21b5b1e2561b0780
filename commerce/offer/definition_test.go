package offer

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/channel"
	"github.com/omnicanal/omnicanal/commerce/pricing"
)

// The stored form must give back exactly the offer that was stored: an
// order's frozen version is read back from it.
func TestDefinitionRoundTrips(t *testing.T) {
	eur := func(a int64) commerce.Money { return commerce.Money{Amount: a, Currency: "EUR"} }
	start := time.Date(2025, 6, 21, 0, 0, 0, 0, time.UTC)
	offers := []pricing.Offer{
		{Title: "20 %", Kind: pricing.PercentageOff, Target: pricing.TargetLines, PercentOff: 2000},
		{Title: "Gratuit", Kind: pricing.FixedPrice, Target: pricing.TargetLines, Amount: eur(0), Priority: -3, Stackable: true,
			AppliesTo: pricing.Selector{VariantIDs: []commerce.ID{commerce.NewID()}}},
		{Title: "Paliers", Kind: pricing.Tiered, Target: pricing.TargetOrder,
			Tiers: []pricing.Tier{{MinSubtotal: eur(5000), AmountOff: eur(500)}, {MinSubtotal: eur(10000), AmountOff: eur(1500)}}},
		{Title: "2+1", Kind: pricing.BuyXGetY, Target: pricing.TargetLines, PercentOff: 10000, BuyQuantity: 2, GetQuantity: 1,
			AppliesTo: pricing.Selector{CategoryIDs: []commerce.ID{commerce.NewID()}, CollectionIDs: []commerce.ID{commerce.NewID()}},
			Conditions: pricing.Conditions{MinSubtotal: eur(3000), StartsAt: start, EndsAt: start.Add(72 * time.Hour), Code: "Été",
				RequireSignedIn: true, Segments: []string{"vip"}, LoyaltyTiers: []string{"or"}, Channels: []channel.Kind{channel.POS}},
			UsageLimit: 100, UsageLimitPerCustomer: 1},
	}
	for _, o := range offers {
		o.ID, o.Version = commerce.NewID(), 7
		if err := o.Validate(); err != nil {
			t.Fatalf("%s: %v", o.Title, err)
		}
		raw, err := encode(&o)
		if err != nil {
			t.Fatal(err)
		}
		back, err := decode(o.ID, o.Version, raw)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, o) {
			t.Errorf("%s:\n stored %+v\n read   %+v", o.Title, o, back)
		}
	}
}

func TestCodeKeyIsTheEnginesEquality(t *testing.T) {
	codes := []string{"SUMMER", "summer", "Summer", "ÉTÉ", "été", "\u212Aelvin", "kelvin", "ſun", "SUN", "straße", "STRASSE", "Σίσυφος", "σίσυφοσ"}
	for _, a := range codes {
		for _, b := range codes {
			if (codeKey(a) == codeKey(b)) != strings.EqualFold(a, b) {
				t.Errorf("%q, %q: keys equal %v, EqualFold %v", a, b, codeKey(a) == codeKey(b), strings.EqualFold(a, b))
			}
		}
	}
}

func TestPercentages(t *testing.T) {
	for in, want := range map[string]int{"20": 2000, "12.5": 1250, "33.33": 3333, "0.01": 1, "100": 10000, " 7.50 ": 750, "05": 500} {
		var prob problems
		if got := parsePercent("p", in, &prob); got != want || prob.err() != nil {
			t.Errorf("%q: %d (%v), want %d", in, got, prob.err(), want)
		}
		if back := FormatPercent(want); parsePercent("p", back, &prob) != want {
			t.Errorf("%d formats as %q, which does not read back", want, back)
		}
	}
	for _, in := range []string{"0", "100.01", "12.345", "-5", "+5", "1e2", "12.", ".5", "12,5", "abc", "1000"} {
		var prob problems
		if parsePercent("p", in, &prob); prob.err() == nil {
			t.Errorf("%q accepted", in)
		}
	}
	if FormatPercent(1250) != "12.5" || FormatPercent(2000) != "20" || FormatPercent(3333) != "33.33" || FormatPercent(5) != "0.05" {
		t.Error("FormatPercent")
	}
}
