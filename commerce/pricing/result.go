package pricing

import "github.com/omnicanal/omnicanal/commerce"

// Result is a priced cart. Amounts are in the input's currency and
// discounts are positive amounts taken off.
//
// Invariants, for every Result Price returns:
//
//	Σ Lines[i].Total == Subtotal − DiscountTotal
//	Total == Subtotal − DiscountTotal + Shipping − ShippingDiscount
//	0 ≤ DiscountTotal ≤ Subtotal, 0 ≤ ShippingDiscount ≤ Shipping
type Result struct {
	Currency commerce.Currency
	// Lines are in the order of Input.Lines.
	Lines []LineResult
	// Subtotal is the sum of line subtotals before any offer.
	Subtotal commerce.Money
	// DiscountTotal is every line and order discount, shipping excluded.
	DiscountTotal    commerce.Money
	Shipping         commerce.Money
	ShippingDiscount commerce.Money
	Total            commerce.Money
	// Adjustments are the order-level and shipping discounts, in the order
	// they were applied. Their line shares are in LineResult.Allocations.
	Adjustments []Adjustment
	// Coupons reports each distinct code entered, in the order entered.
	Coupons []CouponStatus
	// Skipped lists the offers that did not apply and why, in priority
	// order; the admin preview shows it. Every offer is either here or in
	// an adjustment.
	Skipped []SkippedOffer
}

// LineResult is one priced line.
type LineResult struct {
	ID        commerce.ID
	VariantID commerce.ID
	UnitPrice commerce.Money
	Quantity  int
	// Subtotal is UnitPrice × Quantity.
	Subtotal commerce.Money
	// Adjustments are the line-level offers on this line.
	Adjustments []Adjustment
	// Allocations are this line's shares of the order-level adjustments
	// (explained once, in Result.Adjustments): what a refund of the line
	// must give back of them.
	Allocations []Allocation
	// Discount is the sum of Adjustments and Allocations.
	Discount commerce.Money
	// Total is Subtotal − Discount, never negative.
	Total commerce.Money
}

// Adjustment is one offer's effect on a line, on the order or on shipping,
// with what every channel needs to explain it the same way.
type Adjustment struct {
	OfferID commerce.ID
	// OfferVersion is the version of the offer that priced it, so an order
	// can freeze it.
	OfferVersion int
	Kind         Kind
	Target       Target
	// Code is the coupon code that unlocked the offer, as the offer spells
	// it; empty for automatic offers.
	Code string
	// Description is the offer's title, e.g. "20% off running shoes".
	Description string
	// Amount is what the offer took off here, positive.
	Amount commerce.Money
}

// Allocation is one line's share of an order-level adjustment.
type Allocation struct {
	OfferID commerce.ID
	Amount  commerce.Money
}

// CouponStatus is the outcome of one entered code.
type CouponStatus struct {
	// Code is the code as entered, without surrounding spaces.
	Code    string
	Applied bool
	// OfferID is the offer the code names; zero when no offer has it.
	OfferID commerce.ID
	// Reason is why the code did not apply; empty when it did.
	Reason Reason
}

// SkippedOffer is an offer that did not apply, and why.
type SkippedOffer struct {
	OfferID      commerce.ID
	OfferVersion int
	Reason       Reason
}

// Reason says why an offer or a coupon code did not apply. The values are
// stable: clients may switch on them and show their own wording.
type Reason string

const (
	// ReasonNotFound: no offer has the code entered.
	ReasonNotFound Reason = "not_found"
	// ReasonInvalidOffer: the offer fails Validate (a data problem for the
	// merchandiser, not for the shopper).
	ReasonInvalidOffer Reason = "invalid_offer"
	// ReasonCodeRequired: a coupon offer whose code was not entered.
	ReasonCodeRequired Reason = "code_required"
	// ReasonUsageLimitReached: the offer's total usage limit is reached.
	ReasonUsageLimitReached Reason = "usage_limit_reached"
	// ReasonCustomerLimitReached: this customer has used the offer up.
	ReasonCustomerLimitReached Reason = "customer_limit_reached"
	// ReasonNotStarted: Now is before the offer's StartsAt.
	ReasonNotStarted Reason = "not_started"
	// ReasonExpired: Now is at or after the offer's EndsAt.
	ReasonExpired Reason = "expired"
	// ReasonChannel: the offer is restricted to other channels.
	ReasonChannel Reason = "channel_not_eligible"
	// ReasonCurrency: the offer's amounts are in another currency.
	ReasonCurrency Reason = "currency_not_eligible"
	// ReasonCustomer: the buyer is not signed in or not in the segment or
	// loyalty tier the offer requires.
	ReasonCustomer Reason = "customer_not_eligible"
	// ReasonConditionsNotMet: no line matches, the minimum subtotal or the
	// lowest tier is not reached, or too few items for buy X get Y.
	ReasonConditionsNotMet Reason = "conditions_not_met"
	// ReasonNothingToDiscount: the offer would take nothing off (no
	// shipping to make free, prices already at or below a fixed price, or
	// earlier offers took everything).
	ReasonNothingToDiscount Reason = "nothing_to_discount"
	// ReasonNotCombinable: the offer and another one do not stack.
	ReasonNotCombinable Reason = "not_combinable"
)

// Message is an English sentence for the reason, the same on every channel.
func (r Reason) Message() string {
	switch r {
	case ReasonNotFound:
		return "This code does not exist."
	case ReasonInvalidOffer:
		return "This offer cannot be used at the moment."
	case ReasonCodeRequired:
		return "This offer needs a code."
	case ReasonUsageLimitReached:
		return "This offer has been used as many times as it can be."
	case ReasonCustomerLimitReached:
		return "You have already used this offer as many times as you can."
	case ReasonNotStarted:
		return "This offer has not started yet."
	case ReasonExpired:
		return "This offer has expired."
	case ReasonChannel:
		return "This offer is not available on this channel."
	case ReasonCurrency:
		return "This offer is not available in this currency."
	case ReasonCustomer:
		return "This offer is reserved for some customers."
	case ReasonConditionsNotMet:
		return "Your cart does not meet this offer's conditions."
	case ReasonNothingToDiscount:
		return "This offer does not lower the price of your cart."
	case ReasonNotCombinable:
		return "This offer cannot be combined with another offer in your cart."
	}
	return string(r)
}
