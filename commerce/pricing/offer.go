package pricing

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/channel"
)

// Kind is what an offer does.
type Kind string

const (
	// PercentageOff takes PercentOff basis points off each matching line
	// (TargetLines) or off the matching lines together (TargetOrder).
	PercentageOff Kind = "percentage_off"
	// AmountOff takes Amount off each matching unit (TargetLines) or once off
	// the matching lines together (TargetOrder).
	AmountOff Kind = "amount_off"
	// FixedPrice sells each matching unit at Amount (never raising a price).
	FixedPrice Kind = "fixed_price"
	// BuyXGetY gives PercentOff on the GetQuantity cheapest units of every
	// BuyQuantity+GetQuantity matching units.
	BuyXGetY Kind = "buy_x_get_y"
	// Tiered is "spend N, get M off": the highest tier whose MinSubtotal the
	// matching lines reach takes its AmountOff off the order.
	Tiered Kind = "tiered"
	// FreeShipping takes the shipping amount off.
	FreeShipping Kind = "free_shipping"
)

// Target is what an offer's discount is taken from.
type Target string

const (
	// TargetLines discounts each matching line on its own; the adjustment
	// shows on the line.
	TargetLines Target = "lines"
	// TargetOrder computes one discount for the matching lines together; the
	// adjustment shows on the order and is allocated across those lines.
	TargetOrder Target = "order"
	// TargetShipping discounts the shipping amount.
	TargetShipping Target = "shipping"
)

// Limits that keep every intermediate product inside int64. A cart beyond
// them is refused with INVALID_INPUT rather than priced with an overflow.
const (
	// MaxAmount bounds any amount in minor units: a unit price, a line or
	// order subtotal, shipping, an offer amount (10^13 euros).
	MaxAmount int64 = 1_000_000_000_000_000
	// MaxQuantity bounds the quantity of one line.
	MaxQuantity = 1_000_000_000
	// MaxLines bounds the lines of one cart, far above any real cart.
	MaxLines = 5_000
	// maxGroupQuantity bounds BuyQuantity and GetQuantity.
	maxGroupQuantity = 1_000_000
	// maxTiers bounds the tiers of a Tiered offer.
	maxTiers = 50
	// maxCodeLen bounds a coupon code.
	maxCodeLen = 64
)

// basisPoints is 100 %.
const basisPoints = 10_000

// Offer is a promotion as the merchandiser defined it. Offers are values:
// the engine never changes them, and every change in the admin makes a new
// Version so an order can record exactly which version priced it.
type Offer struct {
	ID commerce.ID
	// Version increases with every edit of the offer; adjustments carry it.
	Version int
	// Title is what shoppers see next to the discount, on every channel.
	Title string
	Kind  Kind
	// Target may stay empty for kinds that have only one: FixedPrice and
	// BuyXGetY (lines), Tiered (order), FreeShipping (shipping).
	// PercentageOff and AmountOff must say which they mean.
	Target Target
	// Priority orders offers: lower values are considered first. Ties are
	// broken by ID, so the order of a slice of offers never matters.
	Priority int
	// Stackable offers combine with other stackable offers. An offer that is
	// not stackable is exclusive: it applies alone or not at all.
	Stackable bool
	// AppliesTo selects the lines the offer is about. Empty selects all.
	AppliesTo Selector

	// PercentOff in basis points (2000 = 20 %) for PercentageOff, and the
	// discount on the free items of BuyXGetY (10000 = free).
	PercentOff int
	// Amount is the amount off (AmountOff) or the unit price (FixedPrice).
	Amount commerce.Money
	// BuyQuantity and GetQuantity define BuyXGetY: buy X, get Y.
	BuyQuantity, GetQuantity int
	// Tiers are Tiered's thresholds, ascending.
	Tiers []Tier

	Conditions Conditions

	// UsageLimit is how many orders may use the offer in total and
	// UsageLimitPerCustomer how many per customer; 0 is unlimited. The
	// database counts uses and enforces them; the engine only honours
	// Input.ExhaustedOffers and Input.ExhaustedForCustomer.
	UsageLimit, UsageLimitPerCustomer int
}

// Tier is one step of a Tiered offer: spend MinSubtotal, get AmountOff off.
type Tier struct {
	MinSubtotal commerce.Money
	AmountOff   commerce.Money
}

// Selector picks cart lines. A line matches when any of its identifiers is
// listed (the lists are alternatives, not all required); an empty Selector
// matches every line.
type Selector struct {
	ProductIDs    []commerce.ID
	VariantIDs    []commerce.ID
	CategoryIDs   []commerce.ID
	CollectionIDs []commerce.ID
}

// Conditions must all hold for an offer to apply. Zero values mean "no
// condition".
type Conditions struct {
	// MinSubtotal is the least the matching lines must add up to, at their
	// prices before any discount.
	MinSubtotal commerce.Money
	// StartsAt is inclusive and EndsAt exclusive; a zero time is open.
	StartsAt, EndsAt time.Time
	// Code makes this a coupon offer: it applies only when the shopper
	// entered this code (letter case and surrounding spaces ignored).
	Code string
	// RequireSignedIn restricts the offer to signed-in customers.
	RequireSignedIn bool
	// Segments and LoyaltyTiers, when not empty, each require the customer
	// to be in one of those listed.
	Segments     []string
	LoyaltyTiers []string
	// Channels restricts the offer to these kinds of channel. Empty means
	// every channel, and should stay so: an offer that differs per channel
	// is the exception the admin consistency report lists.
	Channels []channel.Kind
}

// VariesByChannel reports whether the offer may apply on some channels and
// not on others. Any explicit channel list counts, even one naming every
// kind known today: it would silently exclude a kind added tomorrow.
func (o *Offer) VariesByChannel() bool { return len(o.Conditions.Channels) > 0 }

// AppliesOnChannel reports whether the channel restriction lets the offer
// apply on channel kind k. Other conditions are not considered.
func (o *Offer) AppliesOnChannel(k channel.Kind) bool {
	if len(o.Conditions.Channels) == 0 {
		return true
	}
	for _, c := range o.Conditions.Channels {
		if c == k {
			return true
		}
	}
	return false
}

// target is the offer's effective target, with the kind's default filled in.
func (o *Offer) target() Target {
	if o.Target != "" {
		return o.Target
	}
	switch o.Kind {
	case FixedPrice, BuyXGetY:
		return TargetLines
	case Tiered:
		return TargetOrder
	case FreeShipping:
		return TargetShipping
	}
	return ""
}

// currency is the currency of the offer's amounts, or "" when it has none
// (a pure percentage offer applies in every currency). Validate makes sure
// all amounts agree.
func (o *Offer) currency() commerce.Currency {
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

// Validate checks that the offer is complete and coherent. It returns the
// first problem as an INVALID_INPUT *commerce.Error naming the field, so the
// admin can point at it. Price skips offers that fail it.
func (o *Offer) Validate() error {
	if o.ID == (commerce.ID{}) {
		return commerce.InvalidInput("id", "an offer needs an id")
	}
	if o.Version < 1 {
		return commerce.InvalidInput("version", "version must be 1 or more, got %d", o.Version)
	}
	if strings.TrimSpace(o.Title) == "" {
		return commerce.InvalidInput("title", "an offer needs a title: shoppers see it next to the discount")
	}
	if err := o.validateKind(); err != nil {
		return err
	}
	if err := o.AppliesTo.validate(); err != nil {
		return err
	}
	if err := o.validateCurrency(); err != nil {
		return err
	}
	return o.Conditions.validate(o.UsageLimit, o.UsageLimitPerCustomer)
}

func (o *Offer) validateKind() error {
	t := o.target()
	switch o.Kind {
	case PercentageOff, AmountOff:
		if t != TargetLines && t != TargetOrder {
			return commerce.InvalidInput("target", "%s needs target %q or %q, got %q", o.Kind, TargetLines, TargetOrder, o.Target)
		}
	case FixedPrice, BuyXGetY:
		if t != TargetLines {
			return commerce.InvalidInput("target", "%s applies to lines, not %q", o.Kind, o.Target)
		}
	case Tiered:
		if t != TargetOrder {
			return commerce.InvalidInput("target", "%s applies to the order, not %q", o.Kind, o.Target)
		}
	case FreeShipping:
		if t != TargetShipping {
			return commerce.InvalidInput("target", "%s applies to shipping, not %q", o.Kind, o.Target)
		}
	default:
		return commerce.InvalidInput("kind", "unknown offer kind %q", o.Kind)
	}

	// Each kind uses only its own parameters; a stray one is a sign the
	// merchandiser meant another kind.
	usesPercent := o.Kind == PercentageOff || o.Kind == BuyXGetY
	usesAmount := o.Kind == AmountOff || o.Kind == FixedPrice
	switch {
	case usesPercent && (o.PercentOff < 1 || o.PercentOff > basisPoints):
		return commerce.InvalidInput("percentOff", "percentOff is in basis points from 1 to 10000 (100 %%), got %d", o.PercentOff)
	case !usesPercent && o.PercentOff != 0:
		return commerce.InvalidInput("percentOff", "%s takes no percentOff", o.Kind)
	case !usesAmount && o.Amount != (commerce.Money{}):
		return commerce.InvalidInput("amount", "%s takes no amount", o.Kind)
	case o.Kind != BuyXGetY && (o.BuyQuantity != 0 || o.GetQuantity != 0):
		return commerce.InvalidInput("buyQuantity", "%s takes no buy or get quantity", o.Kind)
	case o.Kind != Tiered && len(o.Tiers) != 0:
		return commerce.InvalidInput("tiers", "%s takes no tiers", o.Kind)
	}

	switch o.Kind {
	case AmountOff:
		if o.Amount.Amount <= 0 || o.Amount.Amount > MaxAmount {
			return commerce.InvalidInput("amount", "amount off must be positive and at most %d, got %d", MaxAmount, o.Amount.Amount)
		}
	case FixedPrice:
		if o.Amount.Amount < 0 || o.Amount.Amount > MaxAmount {
			return commerce.InvalidInput("amount", "fixed price must be between 0 and %d, got %d", MaxAmount, o.Amount.Amount)
		}
	case BuyXGetY:
		if o.BuyQuantity < 1 || o.BuyQuantity > maxGroupQuantity {
			return commerce.InvalidInput("buyQuantity", "buyQuantity must be between 1 and %d, got %d", maxGroupQuantity, o.BuyQuantity)
		}
		if o.GetQuantity < 1 || o.GetQuantity > maxGroupQuantity {
			return commerce.InvalidInput("getQuantity", "getQuantity must be between 1 and %d, got %d", maxGroupQuantity, o.GetQuantity)
		}
	case Tiered:
		if len(o.Tiers) == 0 || len(o.Tiers) > maxTiers {
			return commerce.InvalidInput("tiers", "a tiered offer needs 1 to %d tiers, got %d", maxTiers, len(o.Tiers))
		}
		for i, tr := range o.Tiers {
			if tr.MinSubtotal.Amount < 0 || tr.MinSubtotal.Amount > MaxAmount {
				return commerce.InvalidInput(fmt.Sprintf("tiers[%d].minSubtotal", i), "minSubtotal must be between 0 and %d", MaxAmount)
			}
			if tr.AmountOff.Amount <= 0 || tr.AmountOff.Amount > MaxAmount {
				return commerce.InvalidInput(fmt.Sprintf("tiers[%d].amountOff", i), "amountOff must be positive and at most %d", MaxAmount)
			}
			// Ascending thresholds and amounts make "the highest tier
			// reached" also the best one for the shopper.
			if i > 0 && tr.MinSubtotal.Amount <= o.Tiers[i-1].MinSubtotal.Amount {
				return commerce.InvalidInput(fmt.Sprintf("tiers[%d].minSubtotal", i), "tiers must be in strictly ascending order of minSubtotal")
			}
			if i > 0 && tr.AmountOff.Amount <= o.Tiers[i-1].AmountOff.Amount {
				return commerce.InvalidInput(fmt.Sprintf("tiers[%d].amountOff", i), "a higher tier must give more off than the one below it")
			}
		}
	}
	return nil
}

// validateCurrency checks that every amount of the offer names the same
// supported currency, and that amounts that matter name one at all.
func (o *Offer) validateCurrency() error {
	want := o.currency()
	if want != "" {
		if c, err := commerce.ParseCurrency(string(want)); err != nil || c != want {
			return commerce.InvalidInput("currency", "unsupported currency %q", want)
		}
	}
	// problem says what is wrong with one amount, or "" when it is fine.
	problem := func(m commerce.Money, required bool) string {
		switch {
		case m.Currency == "" && (required || m.Amount != 0):
			return "an amount needs a currency"
		case m.Currency != "" && m.Currency != want:
			return fmt.Sprintf("all amounts of an offer must be in one currency: %s and %s", want, m.Currency)
		}
		return ""
	}
	if p := problem(o.Amount, o.Kind == AmountOff || o.Kind == FixedPrice); p != "" {
		return commerce.InvalidInput("amount", "%s", p)
	}
	if p := problem(o.Conditions.MinSubtotal, false); p != "" {
		return commerce.InvalidInput("conditions.minSubtotal", "%s", p)
	}
	for i, tr := range o.Tiers {
		if p := problem(tr.MinSubtotal, true); p != "" {
			return commerce.InvalidInput(fmt.Sprintf("tiers[%d].minSubtotal", i), "%s", p)
		}
		if p := problem(tr.AmountOff, true); p != "" {
			return commerce.InvalidInput(fmt.Sprintf("tiers[%d].amountOff", i), "%s", p)
		}
	}
	return nil
}

func (s *Selector) validate() error {
	for _, list := range [...]struct {
		field string
		ids   []commerce.ID
	}{
		{"appliesTo.productIds", s.ProductIDs},
		{"appliesTo.variantIds", s.VariantIDs},
		{"appliesTo.categoryIds", s.CategoryIDs},
		{"appliesTo.collectionIds", s.CollectionIDs},
	} {
		for i, id := range list.ids {
			if id == (commerce.ID{}) {
				return commerce.InvalidInput(fmt.Sprintf("%s[%d]", list.field, i), "a zero id selects nothing")
			}
		}
	}
	return nil
}

func (c *Conditions) validate(usageLimit, perCustomer int) error {
	if c.MinSubtotal.Amount < 0 || c.MinSubtotal.Amount > MaxAmount {
		return commerce.InvalidInput("conditions.minSubtotal", "minSubtotal must be between 0 and %d, got %d", MaxAmount, c.MinSubtotal.Amount)
	}
	if !c.StartsAt.IsZero() && !c.EndsAt.IsZero() && !c.EndsAt.After(c.StartsAt) {
		return commerce.InvalidInput("conditions.endsAt", "endsAt must be after startsAt")
	}
	if c.Code != "" {
		if len(c.Code) > maxCodeLen {
			return commerce.InvalidInput("conditions.code", "a code has at most %d characters", maxCodeLen)
		}
		// Shoppers type codes at a till as well as on a phone: a code
		// with spaces in it would be read back differently by each.
		if strings.IndexFunc(c.Code, unicode.IsSpace) >= 0 {
			return commerce.InvalidInput("conditions.code", "a code cannot contain spaces")
		}
	}
	for i, s := range c.Segments {
		if s == "" {
			return commerce.InvalidInput(fmt.Sprintf("conditions.segments[%d]", i), "empty segment")
		}
	}
	for i, s := range c.LoyaltyTiers {
		if s == "" {
			return commerce.InvalidInput(fmt.Sprintf("conditions.loyaltyTiers[%d]", i), "empty loyalty tier")
		}
	}
	for i, k := range c.Channels {
		if !knownChannel(k) {
			return commerce.InvalidInput(fmt.Sprintf("conditions.channels[%d]", i), "unknown channel kind %q", k)
		}
	}
	if usageLimit < 0 {
		return commerce.InvalidInput("usageLimit", "usageLimit cannot be negative")
	}
	if perCustomer < 0 {
		return commerce.InvalidInput("usageLimitPerCustomer", "usageLimitPerCustomer cannot be negative")
	}
	return nil
}

// knownChannel reports whether k is one of the channel kinds of package
// channel. A typo such as "POS" would otherwise never match any request.
func knownChannel(k channel.Kind) bool {
	switch k {
	case channel.Web, channel.Mobile, channel.Kiosk, channel.POS:
		return true
	}
	return false
}
