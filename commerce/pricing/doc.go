// Package pricing is Omnicanal's one pricing and offers engine. Carts,
// checkout, the admin preview and the consistency report all call [Price],
// so the same cart with the same offers gets the same totals and the same
// explanations on the web, in the app, at the kiosk and at the till.
//
// Price is a pure function of its arguments: no clock (the caller passes
// Input.Now), no database, no globals. Usage limits are counted by the
// database; the caller passes the offers that are used up.
//
// The rules below are product behaviour. Changing one changes what shoppers
// pay: do it on purpose, here and in the tests.
//
// # Money and rounding
//
// Amounts are int64 minor units of the cart's currency, never floats.
// Percentages are basis points: 2000 is 20 %. A percentage is taken of an
// amount and rounded half up to the minor unit (half a cent off becomes a
// cent off, in the shopper's favour), once per line for a line-level offer
// and once for the order for an order-level one. Amount-off, fixed-price and
// tier amounts are exact and never rounded.
//
// # Kinds and targets
//
//   - PercentageOff, TargetLines: PercentOff off each matching line.
//   - PercentageOff, TargetOrder: PercentOff off the matching lines together.
//   - AmountOff, TargetLines: Amount off each matching unit.
//   - AmountOff, TargetOrder: Amount off once, from the matching lines together.
//   - FixedPrice: each matching unit costs Amount; a line already cheaper
//     keeps its price.
//   - BuyXGetY: of every BuyQuantity+GetQuantity matching units, counted
//     across all matching lines, the GetQuantity cheapest get PercentOff off
//     (10000 = free). Cheapest is by catalogue unit price; on a tie, the
//     unit of the earlier line.
//   - Tiered (spend N get M): the highest tier whose MinSubtotal the
//     matching lines reach takes its AmountOff off them. Tiers ascend in both
//     threshold and amount, so the highest reached is the best.
//   - FreeShipping: the shipping amount is taken off.
//
// Line-level discounts (TargetLines) show on the line. Order-level ones
// (TargetOrder) show on the order and are allocated to its lines.
//
// # Conditions
//
// An offer applies only if all its conditions hold on the cart as the
// shopper built it, before any discount, so that stacking never makes an
// offer appear or disappear:
//
//   - AppliesTo: at least one line of positive quantity matches (by
//     product, variant, category or collection; empty matches all lines).
//     The same lines are the ones discounted.
//   - Conditions.MinSubtotal and the tiers of a Tiered offer are compared
//     with the matching lines' subtotal at catalogue prices.
//   - StartsAt is inclusive and EndsAt exclusive: an offer ending at
//     midnight no longer applies at midnight.
//   - Code: the shopper entered it, ignoring letter case and surrounding
//     spaces. An offer without a code is automatic.
//   - RequireSignedIn, Segments, LoyaltyTiers: the buyer must be signed in,
//     be in one of the segments, have one of the tiers.
//   - Channels is empty by default, meaning every channel. Only an explicit
//     list makes an offer channel-specific; [Offer.VariesByChannel] reports
//     it for the consistency report, and a shopper on another channel sees
//     ReasonChannel — the difference is visible, never silent.
//   - The offer is not in Input.ExhaustedOffers or ExhaustedForCustomer.
//   - The offer's amounts are in the cart's currency (a pure percentage
//     offer has no currency and applies in all).
//
// # Priority and stacking
//
//  1. Offers are ordered by Priority, lower first, then by ID. The order of
//     the slice passed to Price never matters; two offers with one ID are an
//     error.
//  2. Selection, on the cart as entered: walking that order, an offer whose
//     conditions hold and that would take something off is selected, unless
//     an exclusive offer (Stackable false) was selected before it, or it is
//     exclusive and any offer was selected before it. Either way it is
//     skipped as not combinable. An exclusive offer thus applies alone, and
//     the first in priority order wins; stackable offers combine freely.
//  3. Application, in three phases: line-level offers, then order-level
//     offers, then shipping offers; in priority order within a phase. Each
//     discount is computed on what the previous ones left, so 20 % then 10 %
//     is 28 % off, not 30 %, and is capped at what is left: a line never goes
//     below zero, an order discount never exceeds what remains of its lines,
//     and a shipping discount never exceeds shipping. An amount off each unit
//     is capped per line, not per unit.
//  4. A selected offer left with nothing to take off by earlier ones is
//     reported as ReasonNothingToDiscount.
//
// A coupon offer follows the same rules as an automatic one: give it a low
// Priority value to make it win over automatic exclusive offers.
//
// # Allocation
//
// An order-level discount d is shared among its matching lines pro rata to
// what remains of each (r_i, summing to R) by the largest-remainder method:
// line i gets ⌊d·r_i/R⌋, and the few minor units left over go one each to
// the lines with the largest remainders, the earlier line first on a tie.
// The shares add up to d exactly and never exceed their line, so
//
//	Σ line totals = Subtotal − DiscountTotal = Total − Shipping + ShippingDiscount
//
// and a refund of one line knows its exact share of every order discount
// (LineResult.Allocations).
//
// # Explanations
//
// Every Adjustment names the offer, its Version, kind, target, the coupon
// code that unlocked it and its title. Every entered code is reported in
// Result.Coupons, applied or with a [Reason]; every offer that did not apply
// is in Result.Skipped with its reason. Reasons are checked in a fixed order
// (invalid, code, usage limits, dates, channel, currency, customer, lines
// and amounts, something to discount, combinability) so that the one
// reported is the same everywhere.
package pricing
