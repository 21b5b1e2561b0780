package returns

import (
	"fmt"
	"math/bits"
	"time"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/pricing"
)

// RefundLine is one order line as the refund rule sees it: what was bought
// and paid, frozen at checkout, and how many units are returned.
type RefundLine struct {
	// ID is the order line's id.
	ID            commerce.ID
	VariantID     commerce.ID
	ProductID     commerce.ID
	CategoryIDs   []commerce.ID
	CollectionIDs []commerce.ID
	// UnitPrice is the frozen catalogue price; Quantity the units bought;
	// Total what the line was paid (after its own offers and its share of
	// the order's).
	UnitPrice commerce.Money
	Quantity  int
	Total     commerce.Money
	// OfferIDs are the offers with an adjustment on the line at checkout:
	// the line matched them, whatever the catalogue says now.
	OfferIDs []commerce.ID
	// Returned is how many units earlier returns took back; Returning how
	// many this return takes.
	Returned, Returning int
}

// RuleInput is an order's lines, the offer versions that priced it, and
// what earlier returns gave back.
type RuleInput struct {
	Currency commerce.Currency
	Lines    []RefundLine
	// Offers are the definitions, at the versions the order recorded, of
	// the offers that applied to it.
	Offers []pricing.Offer
	// RefundedBefore is what earlier returns of the order gave back (or
	// owe).
	RefundedBefore int64
}

// RuleResult is what a return gives back.
type RuleResult struct {
	// Amount is the refund of this return.
	Amount int64
	// Paid is the returned units' share of what their lines were paid,
	// before the claw-back.
	Paid int64
	// Clawback is the discount the kept units lost by the return, taken
	// from Paid: Paid − Amount when positive.
	Clawback int64
	// Lines is each line's Paid share, in input order.
	Lines []int64
}

// ComputeRefund applies the refund rule (docs/orders.md, "Returns"):
//
//   - A line's units are worth its paid total pro rata: k of its n units
//     returned so far are worth ⌊total × k / n⌋, so that all of them are
//     worth exactly the total and rounding never adds up across returns.
//   - The kept units (bought, minus returned by every return including this
//     one) are priced again, at their frozen catalogue prices, with the
//     offer versions that applied to the order: conditions that held at
//     checkout and do not depend on the basket (dates, codes, channel,
//     customer, usage limits) are taken as still holding; those that do
//     (minimum subtotal, tiers, buy X get Y) are evaluated on the kept units.
//   - What the order's returns may give back in total is the smaller of
//     what the returned units are worth and what was paid minus the kept
//     units' new price (the claw-back of a threshold offer the return broke).
//     This return gives that minus what earlier returns gave, never less
//     than zero and never more than was paid.
func ComputeRefund(in RuleInput) (RuleResult, error) {
	var (
		res                   RuleResult
		paid, cumulativeWorth int64
	)
	res.Lines = make([]int64, len(in.Lines))
	kept := make([]pricing.Line, 0, len(in.Lines))
	matched := map[commerce.ID][]commerce.ID{} // offer → variants of lines it touched
	for i, l := range in.Lines {
		if l.Quantity <= 0 || l.Returned < 0 || l.Returning < 0 || l.Returned+l.Returning > l.Quantity {
			return RuleResult{}, fmt.Errorf("returns.ComputeRefund: line %s: %d + %d returned of %d", l.ID, l.Returned, l.Returning, l.Quantity)
		}
		if l.Total.Currency != in.Currency || l.UnitPrice.Currency != in.Currency || l.Total.Amount < 0 {
			return RuleResult{}, fmt.Errorf("returns.ComputeRefund: line %s: amounts not in %s", l.ID, in.Currency)
		}
		paid += l.Total.Amount
		before := proRata(l.Total.Amount, l.Returned, l.Quantity)
		after := proRata(l.Total.Amount, l.Returned+l.Returning, l.Quantity)
		res.Lines[i] = after - before
		res.Paid += after - before
		cumulativeWorth += after
		if k := l.Quantity - l.Returned - l.Returning; k > 0 {
			kept = append(kept, pricing.Line{ID: l.ID, VariantID: l.VariantID, ProductID: l.ProductID,
				CategoryIDs: l.CategoryIDs, CollectionIDs: l.CollectionIDs, Quantity: k, UnitPrice: l.UnitPrice})
		}
		for _, o := range l.OfferIDs {
			matched[o] = append(matched[o], l.VariantID)
		}
	}
	var keptPrice int64
	if len(kept) > 0 {
		offers := make([]pricing.Offer, len(in.Offers))
		for i, o := range in.Offers {
			offers[i] = basketOnly(o, matched[o.ID])
		}
		// Now is only required to be set: basketOnly removed the dates.
		r, err := pricing.Price(pricing.Input{Currency: in.Currency, Lines: kept, Now: time.Unix(0, 0).UTC()}, offers)
		if err != nil {
			return RuleResult{}, fmt.Errorf("returns.ComputeRefund: pricing the kept units: %w", err)
		}
		keptPrice = r.Subtotal.Amount - r.DiscountTotal.Amount
	}
	target := min(cumulativeWorth, paid-keptPrice)
	res.Amount = max(0, min(target-in.RefundedBefore, paid-in.RefundedBefore))
	res.Clawback = max(0, res.Paid-res.Amount)
	return res, nil
}

// proRata is ⌊total × k / n⌋ without overflow (total and k are bounded by
// pricing.MaxAmount and pricing.MaxQuantity, whose product exceeds int64).
func proRata(total int64, k, n int) int64 {
	if k == n {
		return total
	}
	hi, lo := bits.Mul64(uint64(total), uint64(k))
	q, _ := bits.Div64(hi, lo, uint64(n)) // hi < n since k < n
	return int64(q)
}

// basketOnly is the offer with only its basket conditions: what held at
// checkout and does not depend on the units (dates, code, channel,
// customer, usage limits) is taken as still holding. Lines that carried
// the offer's adjustments matched it then and still do (variants added to
// a non-empty selector), whatever the catalogue became.
func basketOnly(o pricing.Offer, variants []commerce.ID) pricing.Offer {
	o.Conditions = pricing.Conditions{MinSubtotal: o.Conditions.MinSubtotal}
	o.UsageLimit, o.UsageLimitPerCustomer = 0, 0
	s := o.AppliesTo
	if len(s.ProductIDs)+len(s.VariantIDs)+len(s.CategoryIDs)+len(s.CollectionIDs) > 0 {
		s.VariantIDs = append(append([]commerce.ID(nil), s.VariantIDs...), variants...)
		o.AppliesTo = s
	}
	return o
}
