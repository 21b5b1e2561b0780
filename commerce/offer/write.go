package offer

// Offer writes, for staff (GraphQL mutations, later the admin). They follow
// the catalog's rules (commerce/catalog/write.go): the merchandiser or
// admin role, one transaction per method, input errors as INVALID_INPUT or
// CONFLICT errors naming the input field, all of them at once where they
// can be found before writing, and constraint violations mapped to fields
// by constraint name in one place.

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/internal/db"
	"github.com/omnicanal/omnicanal/commerce/pricing"
)

// Bounds of one offer beyond the engine's own, so that one request cannot
// store an offer every cart read then pays for.
const (
	maxTitle    = 255 // characters
	maxIDs      = 500 // of each list of the selector
	maxLabels   = 50  // segments, loyalty tiers
	maxLabelLen = 64
	maxPriority = 1_000_000
	maxLimit    = 1_000_000_000 // usage limits are integer columns
	maxKeyLen   = 200
	maxErrors   = 50
)

// CreateOffer creates an offer; Title and Kind are required. With an
// idempotency key (per staff user, kept a day), a retry returns the offer
// the first call created instead of creating another.
func (s *Service) CreateOffer(ctx context.Context, in Input, idempotencyKey string) (*Offer, error) {
	who, err := commerce.RequireRole(ctx, writers...)
	if err != nil {
		return nil, err
	}
	var prob problems
	if len(idempotencyKey) > maxKeyLen {
		prob.invalid("idempotencyKey", "an idempotency key has at most %d characters", maxKeyLen)
	}
	if in.Title == nil {
		prob.invalid("title", "an offer needs a title: shoppers see it next to the discount")
	}
	if in.Kind == nil {
		prob.invalid("kind", "an offer needs a kind")
	}
	o := merge(pricing.Offer{ID: commerce.NewID(), Version: 1}, &in, &prob)
	check(&o, &prob)
	if err := prob.err(); err != nil {
		return nil, fmt.Errorf("offer.CreateOffer: %w", err)
	}
	def, err := encode(&o)
	if err != nil {
		return nil, fmt.Errorf("offer.CreateOffer: %w", err)
	}
	var out *Offer
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if idempotencyKey != "" {
			replayed, id, err := db.ClaimStaffKey(ctx, tx, who.StaffID, idempotencyKey, "offerCreate", in)
			if err != nil {
				return err
			}
			if replayed {
				out, err = findOffer(ctx, tx, id)
				return err
			}
		}
		c := columnsOf(&o)
		if _, err := tx.Exec(ctx, `INSERT INTO offers (id, version, title, kind, priority, definition, currency_code,
				code, code_key, starts_at, ends_at, usage_limit, usage_limit_per_customer)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			o.ID, o.Version, o.Title, o.Kind, o.Priority, def, c.currency,
			c.code, c.codeKey, c.startsAt, c.endsAt, o.UsageLimit, o.UsageLimitPerCustomer); err != nil {
			return constraintError(err)
		}
		if err := keepVersion(ctx, tx, &o, def, who.StaffID); err != nil {
			return err
		}
		if idempotencyKey != "" {
			if err := db.SetStaffKeyResult(ctx, tx, who.StaffID, idempotencyKey, o.ID); err != nil {
				return err
			}
		}
		out, err = findOffer(ctx, tx, o.ID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("offer.CreateOffer: %w", err)
	}
	s.invalidate()
	return out, nil
}

// UpdateOffer changes the fields in gives (see Input). A change of the
// definition increments the version and keeps the new version in the
// history; an update that changes nothing changes nothing, not even the
// version. A disabled offer cannot be changed: it stays as orders knew it.
func (s *Service) UpdateOffer(ctx context.Context, id commerce.ID, in Input) (*Offer, error) {
	who, err := commerce.RequireRole(ctx, writers...)
	if err != nil {
		return nil, err
	}
	var out *Offer
	changed := false
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		changed = false
		// The row lock waits for checkouts redeeming the offer (they hold
		// it shared) and holds new ones back until this commits, so that
		// limits and counters change while no use is being counted.
		var (
			version  int
			raw      []byte
			disabled bool
		)
		err := tx.QueryRow(ctx, `SELECT version, definition, disabled_at IS NOT NULL FROM offers WHERE id = $1 FOR UPDATE`,
			id).Scan(&version, &raw, &disabled)
		if errors.Is(err, pgx.ErrNoRows) {
			return &commerce.Error{Code: commerce.ErrNotFound, Field: "id", Message: "offer not found"}
		}
		if err != nil {
			return err
		}
		if disabled {
			return &commerce.Error{Code: commerce.ErrConflict, Field: "id",
				Message: "this offer is disabled and can no longer be changed; create a new one"}
		}
		old, err := decode(id, version, raw)
		if err != nil {
			return err
		}
		var prob problems
		o := merge(old, &in, &prob)
		o.Version = old.Version + 1
		check(&o, &prob)
		if err := prob.err(); err != nil {
			return err
		}
		def, err := encode(&o)
		if err != nil {
			return err
		}
		// Compare with the old definition encoded the same way, not with
		// the stored bytes, which jsonb has reformatted.
		if oldDef, err := encode(&old); err != nil || bytes.Equal(oldDef, def) {
			if err == nil {
				out, err = findOffer(ctx, tx, id)
			}
			return err
		}
		c := columnsOf(&o)
		if _, err := tx.Exec(ctx, `UPDATE offers SET version = $2, title = $3, kind = $4, priority = $5,
				definition = $6, currency_code = $7, code = $8, code_key = $9, starts_at = $10, ends_at = $11,
				usage_limit = $12, usage_limit_per_customer = $13, updated_at = now()
			WHERE id = $1`,
			id, o.Version, o.Title, o.Kind, o.Priority, def, c.currency,
			c.code, c.codeKey, c.startsAt, c.endsAt, o.UsageLimit, o.UsageLimitPerCustomer); err != nil {
			return constraintError(err)
		}
		if err := keepVersion(ctx, tx, &o, def, who.StaffID); err != nil {
			return err
		}
		if o.UsageLimit != old.UsageLimit || o.UsageLimitPerCustomer != old.UsageLimitPerCustomer {
			if err := recount(ctx, tx, id); err != nil {
				return err
			}
		}
		changed = true
		out, err = findOffer(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("offer.UpdateOffer: %w", err)
	}
	if changed {
		s.invalidate()
	}
	return out, nil
}

// DisableOffer stops an offer from applying anywhere, at once on this
// instance and within the cache TTL on the others; checkouts that priced
// with it are refused by Redeem. The offer is kept, with its history,
// because orders refer to it; its coupon code becomes free for a new offer.
// Disabling a disabled offer changes nothing.
func (s *Service) DisableOffer(ctx context.Context, id commerce.ID) (*Offer, error) {
	if _, err := commerce.RequireRole(ctx, writers...); err != nil {
		return nil, err
	}
	var out *Offer
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE offers SET disabled_at = now(), updated_at = now()
			WHERE id = $1 AND disabled_at IS NULL`, id); err != nil {
			return err
		}
		var err error
		out, err = findOffer(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("offer.DisableOffer: %w", err)
	}
	s.invalidate()
	return out, nil
}

// keepVersion adds the offer's definition to its history.
func keepVersion(ctx context.Context, tx pgx.Tx, o *pricing.Offer, def []byte, staffID commerce.ID) error {
	_, err := tx.Exec(ctx, `INSERT INTO offer_versions (offer_id, version, definition, created_by) VALUES ($1, $2, $3, $4)`,
		o.ID, o.Version, def, staffID)
	return err
}

// recount rebuilds the offer's usage counters from its redemptions. The
// counters are kept only while a limit of their kind is set (see Redeem),
// so a limit that is set or changed must start from the true count. The
// caller holds the offer's row lock, so no redemption is in flight.
func recount(ctx context.Context, tx pgx.Tx, id commerce.ID) error {
	batch := &pgx.Batch{}
	batch.Queue(`INSERT INTO offer_usage (offer_id, uses)
		SELECT $1, count(*) FROM offer_redemptions WHERE offer_id = $1
		ON CONFLICT (offer_id) DO UPDATE SET uses = excluded.uses`, id)
	batch.Queue(`DELETE FROM offer_customer_usage WHERE offer_id = $1`, id)
	batch.Queue(`INSERT INTO offer_customer_usage (offer_id, customer_id, uses)
		SELECT offer_id, customer_id, count(*) FROM offer_redemptions
		WHERE offer_id = $1 AND customer_id IS NOT NULL GROUP BY offer_id, customer_id`, id)
	return tx.SendBatch(ctx, batch).Close()
}

// columns are the offers columns derived from the definition.
type columns struct {
	currency         *string
	code, codeKey    *string
	startsAt, endsAt *time.Time
}

func columnsOf(o *pricing.Offer) columns {
	var c columns
	if cur := currencyOf(o); cur != "" {
		s := string(cur)
		c.currency = &s
	}
	if code := o.Conditions.Code; code != "" {
		key := codeKey(code)
		c.code, c.codeKey = &code, &key
	}
	if t := o.Conditions.StartsAt; !t.IsZero() {
		c.startsAt = &t
	}
	if t := o.Conditions.EndsAt; !t.IsZero() {
		c.endsAt = &t
	}
	return c
}

// merge returns old changed by in, normalized so that equal offers encode
// equally: trimmed strings, sets sorted without duplicates, times in UTC to
// the microsecond (what Postgres keeps), the kind's target spelled out.
// Values that do not parse are reported to prob and left as they were.
func merge(old pricing.Offer, in *Input, prob *problems) pricing.Offer {
	o := old // lists are replaced below, never changed in place
	if in.Kind != nil && *in.Kind != o.Kind {
		o.Kind = *in.Kind
		o.Target, o.PercentOff, o.Amount, o.BuyQuantity, o.GetQuantity, o.Tiers = "", 0, commerce.Money{}, 0, 0, nil
	}
	if in.Title != nil {
		o.Title = strings.TrimSpace(*in.Title)
	}
	if in.Target != nil {
		o.Target = *in.Target
	}
	if o.Target == "" {
		o.Target = defaultTarget(o.Kind)
	}
	setIf(&o.Priority, in.Priority)
	setIf(&o.Stackable, in.Stackable)
	if in.PercentOff != nil {
		o.PercentOff = parsePercent("percentOff", *in.PercentOff, prob)
	}
	if in.Amount != nil {
		o.Amount = parseMoney("amount", *in.Amount, prob)
	}
	setIf(&o.BuyQuantity, in.BuyQuantity)
	setIf(&o.GetQuantity, in.GetQuantity)
	if in.Tiers != nil {
		o.Tiers = make([]pricing.Tier, len(in.Tiers))
		for i, t := range in.Tiers {
			o.Tiers[i] = pricing.Tier{
				MinSubtotal: parseMoney(fmt.Sprintf("tiers[%d].minSubtotal", i), t.MinSubtotal, prob),
				AmountOff:   parseMoney(fmt.Sprintf("tiers[%d].amountOff", i), t.AmountOff, prob),
			}
		}
	}
	if a := in.AppliesTo; a != nil {
		o.AppliesTo = pricing.Selector{ProductIDs: idSet(a.ProductIDs), VariantIDs: idSet(a.VariantIDs),
			CategoryIDs: idSet(a.CategoryIDs), CollectionIDs: idSet(a.CollectionIDs)}
	}
	if c := in.Conditions; c != nil {
		oc := &o.Conditions
		if c.MinSubtotal != nil {
			oc.MinSubtotal = parseMoney("conditions.minSubtotal", *c.MinSubtotal, prob)
		}
		if c.StartsAt != nil {
			oc.StartsAt = instant(*c.StartsAt)
		}
		if c.EndsAt != nil {
			oc.EndsAt = instant(*c.EndsAt)
		}
		if c.Code != nil {
			oc.Code = strings.TrimSpace(*c.Code)
		}
		setIf(&oc.RequireSignedIn, c.RequireSignedIn)
		if c.Segments != nil {
			oc.Segments = set(trimAll(c.Segments))
		}
		if c.LoyaltyTiers != nil {
			oc.LoyaltyTiers = set(trimAll(c.LoyaltyTiers))
		}
		if c.Channels != nil {
			oc.Channels = set(c.Channels)
		}
	}
	// A minimum of zero is no minimum, whatever its currency: keep one form.
	if o.Conditions.MinSubtotal.Amount == 0 {
		o.Conditions.MinSubtotal = commerce.Money{}
	}
	setIf(&o.UsageLimit, in.UsageLimit)
	setIf(&o.UsageLimitPerCustomer, in.UsageLimitPerCustomer)
	return o
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// set returns the values sorted without duplicates, nil for none: the
// lists of an offer are sets, and one form makes equal offers encode alike.
func set[T cmp.Ordered](in []T) []T {
	if len(in) == 0 {
		return nil
	}
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

// idSet is set for ids.
func idSet(in []commerce.ID) []commerce.ID {
	if len(in) == 0 {
		return nil
	}
	out := slices.Clone(in)
	slices.SortFunc(out, func(a, b commerce.ID) int { return bytes.Compare(a[:], b[:]) })
	return slices.Compact(out)
}

func trimAll(in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = strings.TrimSpace(s)
	}
	return out
}

// instant normalizes a time to what Postgres stores; the zero time stays
// zero (no bound).
func instant(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// defaultTarget is the target of kinds that have only one; "" for the
// kinds that must say.
func defaultTarget(k pricing.Kind) pricing.Target {
	switch k {
	case pricing.FixedPrice, pricing.BuyXGetY:
		return pricing.TargetLines
	case pricing.Tiered:
		return pricing.TargetOrder
	case pricing.FreeShipping:
		return pricing.TargetShipping
	}
	return ""
}

// parseMoney reads an amount; the zero MoneyInput is no amount.
func parseMoney(field string, in MoneyInput, prob *problems) commerce.Money {
	if in == (MoneyInput{}) {
		return commerce.Money{}
	}
	cur, err := commerce.ParseCurrency(in.CurrencyCode)
	if err != nil {
		prob.invalid(field+".currencyCode", "unsupported currency %q", in.CurrencyCode)
		return commerce.Money{}
	}
	m, err := commerce.ParseMoney(in.Amount, cur)
	if err != nil {
		prob.invalid(field+".amount", "%q is not an amount in %s", in.Amount, cur)
		return commerce.Money{}
	}
	return m
}

// parsePercent reads a decimal percent ("12.5") into basis points (1250);
// "" is none.
func parsePercent(field, s string, prob *problems) int {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0
	}
	whole, frac, hasFrac := strings.Cut(s, ".")
	digits := func(d string) bool { return strings.Trim(d, "0123456789") == "" }
	if whole == "" || !digits(whole) || !digits(frac) || (hasFrac && frac == "") || len(frac) > 2 || len(whole) > 3 {
		prob.invalid(field, "%q is not a percentage: give a decimal percent with at most 2 decimals, such as \"12.5\"", s)
		return 0
	}
	w, _ := strconv.Atoi(whole)
	f, _ := strconv.Atoi((frac + "00")[:2])
	bp := w*100 + f
	if bp < 1 || bp > 10000 {
		prob.invalid(field, "a percentage is between 0.01 and 100, got %s", s)
		return 0
	}
	return bp
}

// FormatPercent writes basis points as the decimal percent staff give:
// 2000 → "20", 1250 → "12.5", 3333 → "33.33".
func FormatPercent(bp int) string {
	s := strconv.Itoa(bp / 100)
	if f := bp % 100; f != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%02d", f), "0")
	}
	return s
}

// check reports what is wrong with a merged offer: first this service's
// own bounds and rules, then, when nothing else is wrong, the engine's
// Validate (which stops at the first problem).
func check(o *pricing.Offer, prob *problems) {
	if n := utf8.RuneCountInString(o.Title); n > maxTitle || hasControl(o.Title) {
		prob.invalid("title", "a title has at most %d characters and no control characters", maxTitle)
	}
	if o.Priority < -maxPriority || o.Priority > maxPriority {
		prob.invalid("priority", "priority must be between %d and %d", -maxPriority, maxPriority)
	}
	for _, l := range []struct {
		field string
		n     int
	}{
		{"appliesTo.productIds", len(o.AppliesTo.ProductIDs)},
		{"appliesTo.variantIds", len(o.AppliesTo.VariantIDs)},
		{"appliesTo.categoryIds", len(o.AppliesTo.CategoryIDs)},
		{"appliesTo.collectionIds", len(o.AppliesTo.CollectionIDs)},
	} {
		if l.n > maxIDs {
			prob.invalid(l.field, "at most %d ids", maxIDs)
		}
	}
	c := &o.Conditions
	if hasControl(c.Code) {
		prob.invalid("conditions.code", "a code cannot contain control characters")
	}
	for _, l := range []struct {
		field  string
		labels []string
	}{{"conditions.segments", c.Segments}, {"conditions.loyaltyTiers", c.LoyaltyTiers}} {
		if len(l.labels) > maxLabels {
			prob.invalid(l.field, "at most %d values", maxLabels)
		}
		for i, s := range l.labels {
			if len(s) > maxLabelLen || hasControl(s) {
				prob.invalid(fmt.Sprintf("%s[%d]", l.field, i), "at most %d characters, no control characters", maxLabelLen)
			}
		}
	}
	if o.UsageLimit > maxLimit {
		prob.invalid("usageLimit", "usageLimit is at most %d", maxLimit)
	}
	if o.UsageLimitPerCustomer > maxLimit {
		prob.invalid("usageLimitPerCustomer", "usageLimitPerCustomer is at most %d", maxLimit)
	}
	// Uses are counted per signed-in customer: without this, the same
	// shopper checking out as a guest would escape the limit.
	if o.UsageLimitPerCustomer > 0 && !c.RequireSignedIn {
		prob.invalid("conditions.requireSignedIn", "an offer limited per customer must require a signed-in customer: guests cannot be counted")
	}
	if len(prob.errs) > 0 {
		return // the engine's checks would only repeat these, less precisely
	}
	if err := o.Validate(); err != nil {
		if ce, ok := errors.AsType[*commerce.Error](err); ok {
			prob.add(ce)
		} else {
			prob.add(commerce.InvalidInput("", "%v", err))
		}
	}
}

func hasControl(s string) bool { return strings.IndexFunc(s, unicode.IsControl) >= 0 }

// problems collects the input errors of one write.
type problems struct{ errs []error }

func (p *problems) add(e *commerce.Error) {
	if len(p.errs) < maxErrors {
		p.errs = append(p.errs, e)
	}
}

func (p *problems) invalid(field, format string, args ...any) {
	p.add(commerce.InvalidInput(field, format, args...))
}

func (p *problems) err() error { return errors.Join(p.errs...) }

// constraints maps the offers' constraint names to what a client is told:
// the one place where database constraint violations become input errors.
// Validation catches all but the code's uniqueness first; the constraints
// stay the truth, and decide races between concurrent writers.
var constraints = map[string]struct{ code, field, message string }{
	"offers_code_key":          {commerce.ErrConflict, "conditions.code", "another live offer already has this code (letter case does not matter)"},
	"offers_title_check":       {commerce.ErrInvalidInput, "title", "an offer needs a title of at most 255 characters"},
	"offers_kind_check":        {commerce.ErrInvalidInput, "kind", "unknown offer kind"},
	"offers_window_check":      {commerce.ErrInvalidInput, "conditions.endsAt", "endsAt must be after startsAt"},
	"offers_usage_limit_check": {commerce.ErrInvalidInput, "usageLimit", "usage limits cannot be negative"},
}

func constraintError(err error) error {
	pgErr, ok := errors.AsType[*pgconn.PgError](err)
	if !ok {
		return err
	}
	c, ok := constraints[pgErr.ConstraintName]
	if !ok {
		return err
	}
	return &commerce.Error{Code: c.code, Field: c.field, Message: c.message, Err: err}
}
