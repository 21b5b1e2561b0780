// Package offer stores the offers and coupon codes the pricing engine
// (package pricing) applies: staff create, change and disable them; carts
// and checkout read the live ones and count their uses.
//
// # For the cart and checkout
//
// Pricing a cart:
//
//	offers, err := svc.ActiveOffers(ctx, cart.Currency, now)
//	total, mine, err := svc.Exhausted(ctx, offers, customerID)
//	res, err := pricing.Price(pricing.Input{…, Now: now, ExhaustedOffers: total, ExhaustedForCustomer: mine}, offers)
//
// ActiveOffers is served from memory (see [DefaultCacheTTL]); Exhausted asks
// the database only when one of the offers has a usage limit.
//
// Checking out, inside the checkout transaction, after pricing:
//
//	err := svc.Redeem(ctx, tx, offer.UsesOf(res), customerID, orderID.String())
//
// Redeem records the uses and refuses with CONFLICT (a *RedeemError in the
// chain says which offer and why) when a limit is reached, or when an offer
// changed or was disabled since the cart was priced: the checkout then
// prices again and shows the shopper the new result. Release gives the uses
// of a cancelled order back.
//
// # Versions
//
// Every change of an offer's definition increments its Version and keeps
// the new definition in the offer's history, so an order that recorded the
// (offer, version) of each adjustment can show exactly what priced it
// ([Service.FindOfferVersion]). Offers are never deleted, only disabled.
//
// # Usage limits
//
// A limit is enforced by the database, never by reading a count and then
// writing: see Redeem. A per-customer limit counts a signed-in customer's
// uses, so an offer with one must require a signed-in customer (a guest
// could otherwise use it without end).
package offer

import (
	"fmt"
	"time"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/channel"
	"github.com/omnicanal/omnicanal/commerce/pricing"
)

// Offer is a stored offer: its current definition (with ID and Version) and
// what staff see besides.
type Offer struct {
	pricing.Offer
	// UsageCount is how many orders used the offer.
	UsageCount int
	// DisabledAt is when staff disabled the offer; nil while it is live.
	DisabledAt *time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// MoneyInput is an amount as staff send it: a decimal string in major units
// ("12.50") and an ISO 4217 currency code. All amounts of one offer must be
// in one currency.
type MoneyInput struct {
	Amount       string `json:"amount"`
	CurrencyCode string `json:"currencyCode"`
}

// TierInput is one step of a tiered offer: spend MinSubtotal, get AmountOff.
type TierInput struct {
	MinSubtotal MoneyInput `json:"minSubtotal"`
	AmountOff   MoneyInput `json:"amountOff"`
}

// Input is the editable definition of an offer. A nil field keeps its value
// (on create: its default, the zero value); a non-nil list replaces the
// whole list, an empty one clears it. Values that may be absent are cleared
// with their zero: an empty string (PercentOff, a code), a zero MoneyInput,
// a zero time.
//
// Changing Kind replaces the kind's parameters (Target, PercentOff, Amount,
// BuyQuantity, GetQuantity, Tiers): those not given are cleared, so that a
// parameter of the former kind does not linger and make the offer invalid.
//
// Field names in errors are those of the GraphQL input: "percentOff",
// "tiers[1].amountOff.amount", "conditions.code".
type Input struct {
	Title *string       `json:"title,omitempty"`
	Kind  *pricing.Kind `json:"kind,omitempty"`
	// Target may be "" for the kind's only target.
	Target    *pricing.Target `json:"target,omitempty"`
	Priority  *int            `json:"priority,omitempty"`
	Stackable *bool           `json:"stackable,omitempty"`
	// PercentOff is a decimal percent with at most two decimals: "20" is
	// 20 %, "12.5" is 12.5 % (the engine's 1250 basis points).
	PercentOff  *string     `json:"percentOff,omitempty"`
	Amount      *MoneyInput `json:"amount,omitempty"`
	BuyQuantity *int        `json:"buyQuantity,omitempty"`
	GetQuantity *int        `json:"getQuantity,omitempty"`
	Tiers       []TierInput `json:"tiers,omitempty"`
	// AppliesTo, when given, replaces the whole selector.
	AppliesTo  *pricing.Selector `json:"appliesTo,omitempty"`
	Conditions *ConditionsInput  `json:"conditions,omitempty"`
	// UsageLimit and UsageLimitPerCustomer: 0 is unlimited.
	UsageLimit            *int `json:"usageLimit,omitempty"`
	UsageLimitPerCustomer *int `json:"usageLimitPerCustomer,omitempty"`
}

// ConditionsInput changes an offer's conditions, with Input's rules: nil
// keeps, a zero value clears, a non-nil list replaces.
type ConditionsInput struct {
	MinSubtotal *MoneyInput `json:"minSubtotal,omitempty"`
	// StartsAt is inclusive, EndsAt exclusive.
	StartsAt *time.Time `json:"startsAt,omitempty"`
	EndsAt   *time.Time `json:"endsAt,omitempty"`
	// Code makes the offer a coupon: unique among live offers whatever the
	// letter case, at most 64 characters, no spaces.
	Code            *string        `json:"code,omitempty"`
	RequireSignedIn *bool          `json:"requireSignedIn,omitempty"`
	Segments        []string       `json:"segments,omitempty"`
	LoyaltyTiers    []string       `json:"loyaltyTiers,omitempty"`
	Channels        []channel.Kind `json:"channels,omitempty"`
}

// Use is an offer as it priced an order: Redeem checks that the offer is
// still at that version.
type Use struct {
	OfferID commerce.ID
	// Version is the version that priced the order; 0 skips the check.
	Version int
}

// UsesOf returns the offers that took something off in a priced cart, each
// once, with the version that priced it: what Redeem needs.
func UsesOf(res pricing.Result) []Use {
	var uses []Use
	seen := map[commerce.ID]bool{}
	add := func(adjs []pricing.Adjustment) {
		for _, a := range adjs {
			if !seen[a.OfferID] {
				seen[a.OfferID] = true
				uses = append(uses, Use{OfferID: a.OfferID, Version: a.OfferVersion})
			}
		}
	}
	for _, l := range res.Lines {
		add(l.Adjustments)
	}
	add(res.Adjustments)
	return uses
}

// Reasons a redemption is refused, besides pricing.ReasonUsageLimitReached,
// pricing.ReasonCustomerLimitReached and pricing.ReasonCustomer (an offer
// with a per-customer limit, redeemed for a guest).
const (
	// ReasonChanged: the offer has a newer version than the one that priced
	// the order.
	ReasonChanged pricing.Reason = "offer_changed"
	// ReasonDisabled: staff disabled the offer.
	ReasonDisabled pricing.Reason = "offer_disabled"
)

// RedeemError says which offer Redeem refused and why. Redeem returns it
// inside a CONFLICT *commerce.Error; find it with errors.As.
type RedeemError struct {
	OfferID commerce.ID
	Reason  pricing.Reason
}

func (e *RedeemError) Error() string {
	return fmt.Sprintf("offer %s: %s", e.OfferID, e.Reason)
}

// message is what the shopper is told.
func (e *RedeemError) message() string {
	switch e.Reason {
	case ReasonChanged:
		return "An offer in your cart has changed; please review your cart."
	case ReasonDisabled:
		return "An offer in your cart is no longer available; please review your cart."
	case pricing.ReasonCustomer:
		return "This offer can be used only when signed in."
	}
	return e.Reason.Message()
}

func refuse(id commerce.ID, reason pricing.Reason) error {
	re := &RedeemError{OfferID: id, Reason: reason}
	return &commerce.Error{Code: commerce.ErrConflict, Field: "offers", Message: re.message(), Err: re}
}
