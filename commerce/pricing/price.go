package pricing

import (
	"bytes"
	"cmp"
	"slices"
	"strings"

	"github.com/omnicanal/omnicanal/commerce"
)

// Price prices the cart described by in with the offers currently defined.
//
// It returns an INVALID_INPUT error when in fails Validate or when two
// offers share an ID (the priority order would then depend on the slice).
// An offer that fails its own Validate is skipped with ReasonInvalidOffer
// instead: one bad offer must not stop every cart from pricing.
//
// Price is pure: it reads nothing but its arguments, does not modify them,
// and returns the same Result for the same arguments, whatever the order of
// offers.
func Price(in Input, offers []Offer) (Result, error) {
	if err := in.Validate(); err != nil {
		return Result{}, err
	}
	n, m := len(in.Lines), len(offers)

	// Scratch space in a few blocks, each sized once: the engine runs on
	// every cart read, so it must not allocate per line or per offer.
	i64 := make([]int64, 4*n+m)
	order := i64[4*n:]
	if err := sortOffers(order, offers); err != nil {
		return Result{}, err
	}
	r := run{
		in:       in,
		st:       make([]offerState, m),
		sub:      i64[0*n : 1*n : 1*n],
		rem:      i64[1*n : 2*n : 2*n],
		row:      i64[2*n : 3*n : 3*n],
		keys:     i64[3*n : 4*n : 4*n],
		match:    make([]bool, m*n),
		shipping: in.Shipping.Amount,
	}
	for i := range in.Lines {
		r.sub[i], _ = lineSubtotal(&in.Lines[i]) // Validate checked the bound
	}
	copy(r.rem, r.sub)
	for p, oi := range order {
		r.st[p] = offerState{offer: &offers[oi], target: offers[oi].target()}
	}

	r.selectOffers()
	// Each selected line or order offer adds at most one entry per line.
	r.entries = make([]entry, 0, r.maxEntries())
	r.apply(TargetLines)
	r.apply(TargetOrder)
	r.apply(TargetShipping)
	return r.result(), nil
}

// run is the working state of one Price call.
type run struct {
	in Input
	// st holds one state per offer, in priority order. An offer's
	// "position" p indexes st and the rows of match.
	st []offerState
	// Per line: subtotal as entered, what remains of it after the offers
	// applied so far, one offer's discount, and sort keys.
	sub, rem, row, keys []int64
	// match[p*n+i] reports whether the offer at position p selects line i.
	match []bool
	// entries are the non-zero discounts on lines, in application order.
	entries []entry
	// shipping is what remains of the shipping amount.
	shipping int64
}

type offerState struct {
	offer  *Offer
	target Target
	// reason is why the offer does not apply; empty while it does.
	reason Reason
	// selected is true once the offer passed selection and, after the
	// application phases, only if it took something off.
	selected bool
	// matched is the entered subtotal and units the offer's lines add up to.
	matched, units int64
	// amount is what the offer took off in total.
	amount int64
}

// entry is one offer's discount on one line.
type entry struct {
	pos, line int32
	amount    int64
}

// sortOffers fills order with the indices of offers in priority order:
// Priority ascending, then ID. It sorts indices rather than the offers'
// states so that the swaps move plain integers.
func sortOffers(order []int64, offers []Offer) error {
	for i := range order {
		order[i] = int64(i)
	}
	slices.SortFunc(order, func(a, b int64) int {
		return bytes.Compare(offers[a].ID[:], offers[b].ID[:])
	})
	for p := 1; p < len(order); p++ {
		if id := offers[order[p]].ID; id == offers[order[p-1]].ID {
			return commerce.InvalidInput("offers", "two offers have the id %s", id)
		}
	}
	// Stable, so offers of equal priority stay in ID order.
	slices.SortStableFunc(order, func(a, b int64) int {
		return cmp.Compare(offers[a].Priority, offers[b].Priority)
	})
	return nil
}

// selectOffers decides, on the cart as entered, which offers take part:
// walking the priority order, an eligible offer is selected unless an
// exclusive offer was selected before it, or it is exclusive and anything
// was selected before it.
func (r *run) selectOffers() {
	var anySelected, exclusive bool
	for p := range r.st {
		st := &r.st[p]
		if st.reason = r.eligible(st, p); st.reason != "" {
			continue
		}
		if exclusive || (!st.offer.Stackable && anySelected) {
			st.reason = ReasonNotCombinable
			continue
		}
		st.selected, anySelected, exclusive = true, true, !st.offer.Stackable
	}
}

// maxEntries bounds the entries the selected offers can make.
func (r *run) maxEntries() int {
	count, n := 0, len(r.in.Lines)
	for p := range r.st {
		if !r.st[p].selected || r.st[p].target == TargetShipping {
			continue
		}
		for _, ok := range r.match[p*n : (p+1)*n] {
			if ok {
				count++
			}
		}
	}
	return count
}

// eligible checks the offer at position p against the cart as entered and
// returns why it cannot apply, or "" when it can. The checks run in a fixed
// order so the reason reported is the same everywhere.
func (r *run) eligible(st *offerState, p int) Reason {
	o, in, c := st.offer, &r.in, &st.offer.Conditions
	if o.Validate() != nil {
		return ReasonInvalidOffer
	}
	if c.Code != "" && !r.entered(c.Code) {
		return ReasonCodeRequired
	}
	if slices.Contains(in.ExhaustedOffers, o.ID) {
		return ReasonUsageLimitReached
	}
	if slices.Contains(in.ExhaustedForCustomer, o.ID) {
		return ReasonCustomerLimitReached
	}
	if !c.StartsAt.IsZero() && in.Now.Before(c.StartsAt) {
		return ReasonNotStarted
	}
	if !c.EndsAt.IsZero() && !in.Now.Before(c.EndsAt) {
		return ReasonExpired
	}
	if !o.AppliesOnChannel(in.Channel) {
		return ReasonChannel
	}
	if cur := o.currency(); cur != "" && cur != in.Currency {
		return ReasonCurrency
	}
	if !customerQualifies(c, &in.Customer) {
		return ReasonCustomer
	}

	n := len(in.Lines)
	match := r.match[p*n : (p+1)*n]
	for i := range in.Lines {
		l := &in.Lines[i]
		// A line of quantity zero is not in the cart for any purpose.
		if l.Quantity > 0 && o.AppliesTo.matches(l) {
			match[i] = true
			st.matched += r.sub[i]
			st.units += int64(l.Quantity)
		}
	}
	if st.units == 0 || st.matched < c.MinSubtotal.Amount {
		return ReasonConditionsNotMet
	}
	switch o.Kind {
	case BuyXGetY:
		if st.units < int64(o.BuyQuantity+o.GetQuantity) {
			return ReasonConditionsNotMet
		}
	case Tiered:
		if st.matched < o.Tiers[0].MinSubtotal.Amount {
			return ReasonConditionsNotMet
		}
	case FreeShipping:
		if r.shipping == 0 {
			return ReasonNothingToDiscount
		}
		return ""
	}
	// An offer that would take nothing off must not take part: as an
	// exclusive offer it would block others and give the shopper nothing.
	if r.compute(st, p, r.sub, false) == 0 {
		return ReasonNothingToDiscount
	}
	return ""
}

// entered reports whether the shopper entered code.
func (r *run) entered(code string) bool {
	for _, c := range r.in.Codes {
		if strings.EqualFold(strings.TrimSpace(c), code) {
			return true
		}
	}
	return false
}

func customerQualifies(c *Conditions, cu *Customer) bool {
	if c.RequireSignedIn && !cu.SignedIn() {
		return false
	}
	if len(c.Segments) > 0 && !slices.ContainsFunc(cu.Segments, func(s string) bool { return slices.Contains(c.Segments, s) }) {
		return false
	}
	if len(c.LoyaltyTiers) > 0 && !slices.Contains(c.LoyaltyTiers, cu.LoyaltyTier) {
		return false
	}
	return true
}

func (s *Selector) matches(l *Line) bool {
	if len(s.ProductIDs)+len(s.VariantIDs)+len(s.CategoryIDs)+len(s.CollectionIDs) == 0 {
		return true
	}
	return slices.Contains(s.ProductIDs, l.ProductID) ||
		slices.Contains(s.VariantIDs, l.VariantID) ||
		sharesAny(s.CategoryIDs, l.CategoryIDs) ||
		sharesAny(s.CollectionIDs, l.CollectionIDs)
}

func sharesAny(a, b []commerce.ID) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// apply applies the selected offers of one phase in priority order, each on
// what the previous ones left.
func (r *run) apply(phase Target) {
	for p := range r.st {
		st := &r.st[p]
		if !st.selected || st.target != phase {
			continue
		}
		var d int64
		if phase == TargetShipping {
			d, r.shipping = r.shipping, 0
		} else {
			d = r.compute(st, p, r.rem, true)
			for i, a := range r.row {
				if a != 0 {
					r.rem[i] -= a
					r.entries = append(r.entries, entry{pos: int32(p), line: int32(i), amount: a})
				}
			}
		}
		if d == 0 {
			st.selected, st.reason = false, ReasonNothingToDiscount
			continue
		}
		st.amount = d
	}
}

// compute works out what the line or order offer at position p takes off
// when rem is what remains of the lines, and returns it. It writes the
// per-line amounts to r.row, never more than rem on any line — except that
// an order discount is only spread over the lines when spread is set, as
// selection needs just the total.
func (r *run) compute(st *offerState, p int, rem []int64, spread bool) int64 {
	o, row, lines := st.offer, r.row, r.in.Lines
	clear(row)
	match := r.match[p*len(lines) : (p+1)*len(lines)]
	var total int64

	if st.target == TargetOrder {
		var base int64
		for i, ok := range match {
			if ok {
				base += rem[i]
			}
		}
		var d int64
		switch o.Kind {
		case PercentageOff:
			d = percentOf(base, o.PercentOff)
		case AmountOff:
			d = min(o.Amount.Amount, base)
		case Tiered:
			d = min(bestTier(o, st.matched), base)
		}
		if !spread {
			return d
		}
		return r.allocate(d, base, match, rem)
	}

	switch o.Kind {
	case PercentageOff:
		for i, ok := range match {
			if ok {
				row[i] = percentOf(rem[i], o.PercentOff)
			}
		}
	case AmountOff:
		for i, ok := range match {
			if ok {
				row[i] = min(mulCap(o.Amount.Amount, int64(lines[i].Quantity)), rem[i])
			}
		}
	case FixedPrice:
		for i, ok := range match {
			if ok {
				row[i] = max(rem[i]-mulCap(o.Amount.Amount, int64(lines[i].Quantity)), 0)
			}
		}
	case BuyXGetY:
		r.buyXGetY(o, st.units, match, rem)
	}
	for _, a := range row {
		total += a
	}
	return total
}

// bestTier is the AmountOff of the highest tier reached by matched, the
// entered subtotal of the offer's lines. Tiers ascend, so it is also the
// largest.
func bestTier(o *Offer, matched int64) int64 {
	var off int64
	for _, t := range o.Tiers {
		if t.MinSubtotal.Amount > matched {
			break
		}
		off = t.AmountOff.Amount
	}
	return off
}

// buyXGetY discounts the cheapest units: of every BuyQuantity+GetQuantity
// matching units, the GetQuantity cheapest get PercentOff. "Cheapest" is by
// catalogue unit price, ties going to the earlier line.
func (r *run) buyXGetY(o *Offer, units int64, match []bool, rem []int64) {
	lines := r.in.Lines
	keys := r.keys[:0]
	for i, ok := range match {
		if ok {
			keys = append(keys, sortKey(lines[i].UnitPrice.Amount, i))
		}
	}
	slices.Sort(keys)
	free := units / int64(o.BuyQuantity+o.GetQuantity) * int64(o.GetQuantity)
	for _, key := range keys {
		if free == 0 {
			break
		}
		i := keyLine(key)
		q := int64(lines[i].Quantity)
		k := min(q, free)
		free -= k
		// The k units' share of what remains of the line, times the
		// percentage, rounded once: rem·k·bp / (q·10000).
		r.row[i] = min(mulDivRound(rem[i], k*int64(o.PercentOff), q*basisPoints), rem[i])
	}
}

// allocate spreads an order discount d over the matching lines pro rata to
// what remains of them (base in total), by the largest-remainder method:
// each line gets ⌊d·rem/base⌋ and the cents left over go one by one to the
// lines with the largest remainders, the earlier line first on a tie. The
// shares add up to d exactly and none exceeds its line, since d ≤ base.
func (r *run) allocate(d, base int64, match []bool, rem []int64) int64 {
	if d <= 0 {
		return 0
	}
	row, keys := r.row, r.keys[:0]
	var given int64
	for i, ok := range match {
		if ok && rem[i] > 0 {
			var frac int64
			row[i], frac = mulDiv(d, rem[i], base)
			given += row[i]
			// Largest remainder first: sort on its complement.
			keys = append(keys, sortKey(amountMax-frac, i))
		}
	}
	if left := d - given; left > 0 {
		// Fewer than len(keys) units are left: the remainders sum to
		// left·base and each is below base.
		slices.Sort(keys)
		for _, key := range keys[:left] {
			row[keyLine(key)]++
		}
	}
	return d
}

// result builds the Result from the run in a few allocations, each sized
// exactly.
func (r *run) result() Result {
	in, cur := &r.in, r.in.Currency
	money := func(a int64) commerce.Money { return commerce.Money{Amount: a, Currency: cur} }
	n := len(in.Lines)

	// Count each line's adjustments (line offers) and allocations (its
	// shares of order offers), reusing row and keys as counters.
	nAdj, nAlloc := r.row, r.keys
	clear(nAdj)
	clear(nAlloc)
	for _, e := range r.entries {
		if r.st[e.pos].target == TargetLines {
			nAdj[e.line]++
		} else {
			nAlloc[e.line]++
		}
	}
	nOrder := 0
	for p := range r.st {
		if r.st[p].selected && r.st[p].target != TargetLines {
			nOrder++
		}
	}

	// One block holds every line's adjustments followed by the order's,
	// another every line's allocations; sub-slices are capped so appending
	// to one never overwrites the next.
	var nLineAdj int
	for _, c := range nAdj {
		nLineAdj += int(c)
	}
	block := make([]Adjustment, nLineAdj+nOrder)
	var allocs []Allocation
	if len(r.entries) > nLineAdj {
		allocs = make([]Allocation, len(r.entries)-nLineAdj)
	}
	lines := make([]LineResult, n)
	var subtotal, discount int64
	at, atAlloc := 0, 0
	for i := range in.Lines {
		// Field by field into the zeroed slice: assigning a whole struct
		// literal costs a bulk write barrier per line while the GC runs.
		l, lr := &in.Lines[i], &lines[i]
		lr.ID, lr.VariantID, lr.UnitPrice, lr.Quantity = l.ID, l.VariantID, l.UnitPrice, l.Quantity
		lr.Subtotal = money(r.sub[i])
		lr.Discount = money(r.sub[i] - r.rem[i])
		lr.Total = money(r.rem[i])
		// Empty stays nil rather than a zero-length slice, so equal results
		// compare equal however they were built.
		if a := int(nAdj[i]); a > 0 {
			lr.Adjustments = block[at : at : at+a]
			at += a
		}
		if b := int(nAlloc[i]); b > 0 {
			lr.Allocations = allocs[atAlloc : atAlloc : atAlloc+b]
			atAlloc += b
		}
		subtotal += r.sub[i]
		discount += r.sub[i] - r.rem[i]
	}
	for _, e := range r.entries {
		st, lr := &r.st[e.pos], &lines[e.line]
		if st.target == TargetLines {
			k := len(lr.Adjustments)
			lr.Adjustments = lr.Adjustments[:k+1]
			st.fill(&lr.Adjustments[k], e.amount, cur)
		} else {
			k := len(lr.Allocations)
			lr.Allocations = lr.Allocations[:k+1]
			a := &lr.Allocations[k]
			a.OfferID, a.Amount = st.offer.ID, money(e.amount)
		}
	}

	var orderAdj []Adjustment
	if nOrder > 0 {
		orderAdj = block[at:at:len(block)]
		for _, phase := range [...]Target{TargetOrder, TargetShipping} {
			for p := range r.st {
				if st := &r.st[p]; st.selected && st.target == phase {
					k := len(orderAdj)
					orderAdj = orderAdj[:k+1]
					st.fill(&orderAdj[k], st.amount, cur)
				}
			}
		}
	}

	shipping := in.Shipping.Amount
	return Result{
		Currency:         cur,
		Lines:            lines,
		Subtotal:         money(subtotal),
		DiscountTotal:    money(discount),
		Shipping:         money(shipping),
		ShippingDiscount: money(shipping - r.shipping),
		Total:            money(subtotal - discount + r.shipping),
		Adjustments:      orderAdj,
		Coupons:          r.coupons(),
		Skipped:          r.skipped(),
	}
}

// fill writes the adjustment the offer made of amount into a, a zeroed
// element of a result block (in place, for the reason given in result).
func (st *offerState) fill(a *Adjustment, amount int64, cur commerce.Currency) {
	o := st.offer
	a.OfferID, a.OfferVersion = o.ID, o.Version
	a.Kind, a.Target = o.Kind, st.target
	a.Code, a.Description = o.Conditions.Code, o.Title
	a.Amount = commerce.Money{Amount: amount, Currency: cur}
}

// coupons reports each distinct entered code: applied if an offer with that
// code applied, else the reason of the first such offer in priority order.
func (r *run) coupons() []CouponStatus {
	var out []CouponStatus
	for k, raw := range r.in.Codes {
		code := strings.TrimSpace(raw)
		if code == "" || slices.ContainsFunc(r.in.Codes[:k], func(prev string) bool {
			return strings.EqualFold(strings.TrimSpace(prev), code)
		}) {
			continue
		}
		cs := CouponStatus{Code: code, Reason: ReasonNotFound}
		for p := range r.st {
			st := &r.st[p]
			if c := st.offer.Conditions.Code; c == "" || !strings.EqualFold(c, code) {
				continue
			}
			if st.selected {
				cs.Applied, cs.OfferID, cs.Reason = true, st.offer.ID, ""
				break
			}
			if cs.OfferID == (commerce.ID{}) {
				cs.OfferID, cs.Reason = st.offer.ID, st.reason
			}
		}
		if out == nil {
			out = make([]CouponStatus, 0, len(r.in.Codes)-k)
		}
		out = append(out, cs)
	}
	return out
}

func (r *run) skipped() []SkippedOffer {
	count := 0
	for p := range r.st {
		if !r.st[p].selected {
			count++
		}
	}
	if count == 0 {
		return nil
	}
	out := make([]SkippedOffer, 0, count)
	for p := range r.st {
		if st := &r.st[p]; !st.selected {
			out = append(out, SkippedOffer{OfferID: st.offer.ID, OfferVersion: st.offer.Version, Reason: st.reason})
		}
	}
	return out
}
