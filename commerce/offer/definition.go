package offer

import (
	"encoding/json"
	"strings"
	"time"
	"unicode"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/channel"
	"github.com/omnicanal/omnicanal/commerce/pricing"
)

// definition is the stored form of a pricing.Offer without its ID and
// Version: the jsonb of offers.definition and offer_versions.definition.
// It is a format of its own, not pricing.Offer marshalled, so that a field
// renamed in Go cannot silently change (or lose) what stored history says.
// Fields are only ever added, with omitempty, and their absence must mean
// what the offer meant before they existed.
//
// Amounts are minor units of Currency; pricing.Offer.Validate guarantees
// that an offer has at most one currency.
type definition struct {
	Title       string            `json:"title"`
	Kind        pricing.Kind      `json:"kind"`
	Target      pricing.Target    `json:"target,omitempty"`
	Priority    int               `json:"priority,omitempty"`
	Stackable   bool              `json:"stackable,omitempty"`
	Currency    commerce.Currency `json:"currency,omitempty"`
	PercentOff  int               `json:"percentOff,omitempty"` // basis points
	Amount      *int64            `json:"amount,omitempty"`     // present when the offer has one, even 0 (free)
	BuyQuantity int               `json:"buyQuantity,omitempty"`
	GetQuantity int               `json:"getQuantity,omitempty"`
	Tiers       []tierDef         `json:"tiers,omitempty"`

	ProductIDs    []commerce.ID `json:"productIds,omitempty"`
	VariantIDs    []commerce.ID `json:"variantIds,omitempty"`
	CategoryIDs   []commerce.ID `json:"categoryIds,omitempty"`
	CollectionIDs []commerce.ID `json:"collectionIds,omitempty"`

	MinSubtotal     int64          `json:"minSubtotal,omitempty"`
	StartsAt        *time.Time     `json:"startsAt,omitempty"`
	EndsAt          *time.Time     `json:"endsAt,omitempty"`
	Code            string         `json:"code,omitempty"`
	RequireSignedIn bool           `json:"requireSignedIn,omitempty"`
	Segments        []string       `json:"segments,omitempty"`
	LoyaltyTiers    []string       `json:"loyaltyTiers,omitempty"`
	Channels        []channel.Kind `json:"channels,omitempty"`

	UsageLimit            int `json:"usageLimit,omitempty"`
	UsageLimitPerCustomer int `json:"usageLimitPerCustomer,omitempty"`
}

type tierDef struct {
	MinSubtotal int64 `json:"minSubtotal"`
	AmountOff   int64 `json:"amountOff"`
}

// currencyOf is the currency of the offer's amounts, or "" for an offer
// without any.
func currencyOf(o *pricing.Offer) commerce.Currency {
	if o.Amount.Currency != "" {
		return o.Amount.Currency
	}
	if o.Conditions.MinSubtotal.Currency != "" {
		return o.Conditions.MinSubtotal.Currency
	}
	for _, t := range o.Tiers {
		if t.AmountOff.Currency != "" {
			return t.AmountOff.Currency
		}
	}
	return ""
}

// encode returns the stored form of a valid, normalized offer. Equal
// definitions encode to equal bytes, which is how an update that changes
// nothing is recognized.
func encode(o *pricing.Offer) ([]byte, error) {
	c := &o.Conditions
	d := definition{
		Title: o.Title, Kind: o.Kind, Target: o.Target, Priority: o.Priority, Stackable: o.Stackable,
		Currency: currencyOf(o), PercentOff: o.PercentOff, BuyQuantity: o.BuyQuantity, GetQuantity: o.GetQuantity,
		ProductIDs: o.AppliesTo.ProductIDs, VariantIDs: o.AppliesTo.VariantIDs,
		CategoryIDs: o.AppliesTo.CategoryIDs, CollectionIDs: o.AppliesTo.CollectionIDs,
		MinSubtotal: c.MinSubtotal.Amount, Code: c.Code, RequireSignedIn: c.RequireSignedIn,
		Segments: c.Segments, LoyaltyTiers: c.LoyaltyTiers, Channels: c.Channels,
		UsageLimit: o.UsageLimit, UsageLimitPerCustomer: o.UsageLimitPerCustomer,
	}
	if o.Amount != (commerce.Money{}) {
		d.Amount = &o.Amount.Amount
	}
	for _, t := range o.Tiers {
		d.Tiers = append(d.Tiers, tierDef{MinSubtotal: t.MinSubtotal.Amount, AmountOff: t.AmountOff.Amount})
	}
	if !c.StartsAt.IsZero() {
		d.StartsAt = &c.StartsAt
	}
	if !c.EndsAt.IsZero() {
		d.EndsAt = &c.EndsAt
	}
	return json.Marshal(d)
}

// decode reads a stored definition back into the offer it was encoded from.
func decode(id commerce.ID, version int, raw []byte) (pricing.Offer, error) {
	var d definition
	if err := json.Unmarshal(raw, &d); err != nil {
		return pricing.Offer{}, err
	}
	money := func(v int64) commerce.Money { return commerce.Money{Amount: v, Currency: d.Currency} }
	o := pricing.Offer{
		ID: id, Version: version, Title: d.Title, Kind: d.Kind, Target: d.Target,
		Priority: d.Priority, Stackable: d.Stackable, PercentOff: d.PercentOff,
		BuyQuantity: d.BuyQuantity, GetQuantity: d.GetQuantity,
		AppliesTo: pricing.Selector{ProductIDs: d.ProductIDs, VariantIDs: d.VariantIDs,
			CategoryIDs: d.CategoryIDs, CollectionIDs: d.CollectionIDs},
		Conditions: pricing.Conditions{Code: d.Code, RequireSignedIn: d.RequireSignedIn,
			Segments: d.Segments, LoyaltyTiers: d.LoyaltyTiers, Channels: d.Channels},
		UsageLimit: d.UsageLimit, UsageLimitPerCustomer: d.UsageLimitPerCustomer,
	}
	if d.Amount != nil {
		o.Amount = money(*d.Amount)
	}
	if d.MinSubtotal != 0 {
		o.Conditions.MinSubtotal = money(d.MinSubtotal)
	}
	for _, t := range d.Tiers {
		o.Tiers = append(o.Tiers, pricing.Tier{MinSubtotal: money(t.MinSubtotal), AmountOff: money(t.AmountOff)})
	}
	if d.StartsAt != nil {
		o.Conditions.StartsAt = d.StartsAt.UTC()
	}
	if d.EndsAt != nil {
		o.Conditions.EndsAt = d.EndsAt.UTC()
	}
	return o, nil
}

// codeKey is the form of a coupon code its uniqueness is checked on: each
// rune replaced by the smallest rune of its Unicode simple case-folding
// orbit, so that codeKey(a) == codeKey(b) exactly when strings.EqualFold(a,
// b) — the equality the engine uses to match an entered code.
func codeKey(code string) string {
	return strings.Map(func(r rune) rune {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		return least
	}, code)
}
