package catalog

// Catalog writes, for staff (GraphQL mutations, the bulk feed, later the
// admin). The rules every write follows:
//
//   - It requires the merchandiser or admin role (commerce.RequireRole); the
//     callers never check permissions themselves.
//   - One exported method is one transaction: a write applies completely or
//     not at all, and a failed one leaves no outbox row either.
//   - Input errors are INVALID_INPUT or CONFLICT errors naming the input
//     field ("variants[2].prices[0].amount"); several are joined with
//     errors.Join so that a client sees them all at once (InputErrors).
//   - Every change that shows in the product bumps products.version and
//     enqueues the product for the search indexer in the same transaction,
//     exactly once per product. A write that changes nothing (the same
//     values again) bumps nothing and enqueues nothing.
//
// Idempotency. Products are keyed by handle and variants by SKU, both
// unique in the database, so no retry can ever create a duplicate: a retried
// CreateProduct without a key fails with CONFLICT on the handle. To make a
// retry return the first call's product instead, CreateProduct takes an
// optional idempotency key (per staff user, kept a day, tied to the request
// it was first used with). The bulk feed is naturally idempotent: a line is
// upserted by handle, its variants by SKU, and a line equal to what is
// stored changes nothing. The other writes set values (not deltas), so
// repeating them is harmless.
//
// Every write goes through the same steps: lock and load the product's whole
// editable state (loadStates), merge the input into a copy (merge…), check
// the result (check), then write only the difference (apply).

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/internal/db"
	"github.com/omnicanal/omnicanal/commerce/outbox"
)

// writers are the roles allowed to change the catalog.
var writers = []commerce.Role{commerce.RoleAdmin, commerce.RoleMerchandiser}

// Bounds of one product, so that one request or one feed line cannot grow
// a product beyond what pages and search documents handle.
const (
	maxText        = 255   // handle, title, brand, type, SKU-like strings
	maxDescription = 20000 // characters
	maxAttributes  = 50
	maxOptions     = 5
	maxValues      = 250 // values of one option
	maxVariants    = 500
	maxPrices      = 20 // currencies of one variant
	maxMedia       = 50
	maxRefs        = 200 // categories, collections or channels of one product
	maxSKU         = 64
	maxURL         = 2048
	maxErrors      = 50 // reported at once; beyond, the input is hopeless anyway
)

// ProductInput is the editable state of a product. A nil field is left as
// it is (on create: its default), so the same type serves creates, partial
// updates and feed lines. A non-nil list replaces the whole list: an empty
// one clears it.
type ProductInput struct {
	Handle      *string
	Title       *string
	Description *string
	Brand       *string
	ProductType *string
	// Status defaults to Draft on create: nothing goes on sale by accident.
	Status     *Status
	Attributes map[string]string
	Options    []OptionInput
	// Variants, when given, is the complete list in display order: variants
	// are matched to existing ones by ID, else by SKU; existing variants not
	// listed are deleted (with their prices and stock levels).
	Variants      []VariantInput
	CategoryIDs   []commerce.ID
	CollectionIDs []commerce.ID
	Media         []MediaInput
	// ChannelIDs are the channels the product is published on.
	ChannelIDs []commerce.ID
}

// OptionInput defines an option and its values in display order.
type OptionInput struct {
	Name   string   `json:"name"`
	Values []string `json:"values"`
}

// MediaInput is an image.
type MediaInput struct {
	URL string `json:"url"`
	Alt string `json:"alt"`
}

// VariantInput creates or changes a variant. A nil field is left as it is.
type VariantInput struct {
	// ID names an existing variant (to change its SKU, say); without it a
	// variant is matched by SKU, and a new SKU makes a new variant.
	ID      *commerce.ID
	SKU     *string
	Barcode *string
	// Title defaults to the option values, "Noir / 42".
	Title       *string
	Options     []OptionValue
	WeightGrams *int
	// Prices, when given, is the complete set of the variant's prices.
	Prices []PriceInput
}

// PriceInput is a price in one currency, as decimal strings in major units
// ("129.99"), exactly as clients and feeds send them.
type PriceInput struct {
	CurrencyCode string  `json:"currencyCode"`
	Amount       string  `json:"amount"`
	CompareAt    *string `json:"compareAtAmount,omitempty"`
}

// VariantPriceInput sets one price of one variant.
type VariantPriceInput struct {
	VariantID commerce.ID
	PriceInput
}

// CreateProduct creates a product with everything it holds. With an
// idempotency key, a retry returns the product the first call created.
func (s *Service) CreateProduct(ctx context.Context, in ProductInput, idempotencyKey string) (*Product, error) {
	who, err := commerce.RequireRole(ctx, writers...)
	if err != nil {
		return nil, err
	}
	var prob problems // check reports a missing handle or title
	if len(idempotencyKey) > 200 {
		prob.invalid("idempotencyKey", "an idempotency key has at most 200 characters")
	}
	st := mergeProduct(nil, &in, &prob)
	st.check(&prob)
	if err := prob.err(); err != nil {
		return nil, fmt.Errorf("catalog.CreateProduct: %w", err)
	}
	var out *Product
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if idempotencyKey != "" {
			replayed, id, err := db.ClaimStaffKey(ctx, tx, who.StaffID, idempotencyKey, "productCreate", in)
			if err != nil {
				return err
			}
			if replayed {
				out, err = findProduct(ctx, tx, id)
				return err
			}
		}
		if _, err := apply(ctx, tx, nil, &st); err != nil {
			return err
		}
		if idempotencyKey != "" {
			if err := db.SetStaffKeyResult(ctx, tx, who.StaffID, idempotencyKey, st.ID); err != nil {
				return err
			}
		}
		out, err = findProduct(ctx, tx, st.ID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("catalog.CreateProduct: %w", err)
	}
	return out, nil
}

// UpdateProduct changes the fields in (nil fields are left as they are).
func (s *Service) UpdateProduct(ctx context.Context, id commerce.ID, in ProductInput) (*Product, error) {
	p, err := s.edit(ctx, id, "id", func(st *productState, prob *problems) {
		*st = mergeProduct(st, &in, prob)
	})
	if err != nil {
		return nil, fmt.Errorf("catalog.UpdateProduct: %w", err)
	}
	return p, nil
}

// ArchiveProduct takes a product off sale everywhere, keeping it (and its
// variants, which orders refer to) for the record. UpdateProduct with
// another status brings it back.
func (s *Service) ArchiveProduct(ctx context.Context, id commerce.ID) (*Product, error) {
	p, err := s.edit(ctx, id, "id", func(st *productState, _ *problems) { st.Status = Archived })
	if err != nil {
		return nil, fmt.Errorf("catalog.ArchiveProduct: %w", err)
	}
	return p, nil
}

// UpsertVariants creates or changes some variants of a product, leaving its
// other variants alone. New variants go after the existing ones.
func (s *Service) UpsertVariants(ctx context.Context, productID commerce.ID, variants []VariantInput) (*Product, error) {
	p, err := s.edit(ctx, productID, "productId", func(st *productState, prob *problems) {
		if len(variants) == 0 {
			prob.invalid("variants", "give at least one variant")
		}
		st.Variants = mergeVariants(st.Variants, variants, false, "variants", prob)
	})
	if err != nil {
		return nil, fmt.Errorf("catalog.UpsertVariants: %w", err)
	}
	return p, nil
}

// DeleteVariant deletes a variant with its prices and stock levels, and
// returns its product.
func (s *Service) DeleteVariant(ctx context.Context, variantID commerce.ID) (*Product, error) {
	if _, err := commerce.RequireRole(ctx, writers...); err != nil {
		return nil, err
	}
	var productID commerce.ID
	err := s.pool.QueryRow(ctx, `SELECT product_id FROM variants WHERE id = $1`, variantID).Scan(&productID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, &commerce.Error{Code: commerce.ErrNotFound, Field: "id", Message: "variant not found"}
	}
	if err != nil {
		return nil, fmt.Errorf("catalog.DeleteVariant: %w", err)
	}
	p, err := s.edit(ctx, productID, "id", func(st *productState, prob *problems) {
		n := len(st.Variants)
		st.Variants = slices.DeleteFunc(st.Variants, func(v variantState) bool { return v.ID == variantID })
		if len(st.Variants) == n { // moved to another product meanwhile: impossible, variants never move
			prob.add(&commerce.Error{Code: commerce.ErrNotFound, Field: "id", Message: "variant not found"})
		}
	})
	if err != nil {
		return nil, fmt.Errorf("catalog.DeleteVariant: %w", err)
	}
	return p, nil
}

// SetPrices sets prices of variants of one product, each in one currency;
// the variants' other prices are left alone.
func (s *Service) SetPrices(ctx context.Context, productID commerce.ID, prices []VariantPriceInput) (*Product, error) {
	p, err := s.edit(ctx, productID, "productId", func(st *productState, prob *problems) {
		if len(prices) == 0 {
			prob.invalid("prices", "give at least one price")
		}
		seen := map[[2]string]bool{}
		for i, in := range prices {
			path := fmt.Sprintf("prices[%d]", i)
			vi := slices.IndexFunc(st.Variants, func(v variantState) bool { return v.ID == in.VariantID })
			if vi < 0 {
				prob.add(&commerce.Error{Code: commerce.ErrNotFound, Field: path + ".variantId", Message: "this product has no variant with this id"})
				continue
			}
			pr, ok := parsePrice(path, in.PriceInput, prob)
			if !ok {
				continue
			}
			if k := [2]string{in.VariantID.String(), string(pr.Currency)}; seen[k] {
				prob.invalid(path+".currencyCode", "this variant's %s price is given twice", pr.Currency)
				continue
			} else {
				seen[k] = true
			}
			v := &st.Variants[vi]
			v.Prices = slices.Clone(v.Prices)
			if j := slices.IndexFunc(v.Prices, func(x priceState) bool { return x.Currency == pr.Currency }); j >= 0 {
				v.Prices[j] = pr
			} else {
				v.Prices = append(v.Prices, pr)
				sortPrices(v.Prices)
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("catalog.SetPrices: %w", err)
	}
	return p, nil
}

// SetPublication sets the channels a product is published on: it shows on
// exactly those (when active) from the moment this returns.
func (s *Service) SetPublication(ctx context.Context, productID commerce.ID, channelIDs []commerce.ID) (*Product, error) {
	p, err := s.edit(ctx, productID, "id", func(st *productState, prob *problems) {
		if len(channelIDs) > maxRefs {
			prob.invalid("channelIds", "at most %d channels", maxRefs)
		}
		st.ChannelIDs = sortedIDs(channelIDs)
	})
	if err != nil {
		return nil, fmt.Errorf("catalog.SetPublication: %w", err)
	}
	return p, nil
}

// edit is the body of every write to one existing product: check the role,
// lock and load the product, let change modify a copy, check it, write the
// difference. idField names the input field holding the product id, for a
// NOT_FOUND.
func (s *Service) edit(ctx context.Context, id commerce.ID, idField string, change func(*productState, *problems)) (*Product, error) {
	if _, err := commerce.RequireRole(ctx, writers...); err != nil {
		return nil, err
	}
	var out *Product
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		states, err := loadStates(ctx, tx, []commerce.ID{id}, true)
		if err != nil {
			return err
		}
		if len(states) == 0 {
			return &commerce.Error{Code: commerce.ErrNotFound, Field: idField, Message: "product not found"}
		}
		old := &states[0]
		st := old.clone()
		var prob problems
		change(&st, &prob)
		st.check(&prob)
		if err := prob.err(); err != nil {
			return err
		}
		if _, err := apply(ctx, tx, old, &st); err != nil {
			return err
		}
		out, err = findProduct(ctx, tx, id)
		return err
	})
	return out, err
}

// InputErrors returns the errors a client should fix, when err is made of
// nothing else: INVALID_INPUT, CONFLICT and NOT_FOUND errors, however joined
// or wrapped. For any other error (internal, UNAUTHENTICATED, …) it returns
// nil, and the caller reports err as a whole.
func InputErrors(err error) []*commerce.Error {
	out, _ := commerce.Leaves(err, func(ce *commerce.Error) bool {
		switch ce.Code {
		case commerce.ErrInvalidInput, commerce.ErrConflict, commerce.ErrNotFound:
			return true
		}
		return false
	})
	return out
}

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

func (p *problems) conflict(field, format string, args ...any) {
	p.add(&commerce.Error{Code: commerce.ErrConflict, Field: field, Message: fmt.Sprintf(format, args...)})
}

func (p *problems) err() error { return errors.Join(p.errs...) }

// productState is the whole editable state of a product, normalized so
// that two states holding the same catalog data compare equal: lists that
// are sets are sorted, display lists keep their order, positions are
// implied by order.
type productState struct {
	ID          commerce.ID
	Handle      string
	Title       string
	Description string
	Brand       string
	ProductType string
	Status      Status
	Attributes  map[string]string
	Options     []OptionInput
	Variants    []variantState
	// Sets, sorted.
	CategoryIDs   []commerce.ID
	CollectionIDs []commerce.ID
	ChannelIDs    []commerce.ID
	Media         []MediaInput
}

type variantState struct {
	ID          commerce.ID
	SKU         string
	Barcode     string
	Title       string
	Options     []OptionValue
	WeightGrams *int
	Prices      []priceState // by currency

	position int    // as stored; only the order of variants matters
	path     string // the input element it came from ("variants[2]"), "" if untouched
}

type priceState struct {
	Currency  commerce.Currency
	Amount    int64
	CompareAt *int64
}

func (st *productState) clone() productState {
	c := *st
	c.Attributes = maps.Clone(st.Attributes)
	c.Options = slices.Clone(st.Options)
	c.Variants = slices.Clone(st.Variants)
	c.CategoryIDs = slices.Clone(st.CategoryIDs)
	c.CollectionIDs = slices.Clone(st.CollectionIDs)
	c.ChannelIDs = slices.Clone(st.ChannelIDs)
	c.Media = slices.Clone(st.Media)
	return c
}

// mergeProduct returns old (nil: a new product) with in applied, reporting
// what cannot even be parsed. check validates the result as a whole.
func mergeProduct(old *productState, in *ProductInput, prob *problems) productState {
	var st productState
	if old != nil {
		st = old.clone()
	} else {
		st = productState{ID: commerce.NewID(), Status: Draft}
	}
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = strings.TrimSpace(*src)
		}
	}
	set(&st.Handle, in.Handle)
	set(&st.Title, in.Title)
	set(&st.Brand, in.Brand)
	set(&st.ProductType, in.ProductType)
	if in.Description != nil {
		// Descriptions keep inner line breaks; only the ends are trimmed.
		st.Description = strings.TrimSpace(*in.Description)
	}
	if in.Status != nil {
		st.Status = *in.Status
	}
	if in.Attributes != nil {
		st.Attributes = make(map[string]string, len(in.Attributes))
		for k, v := range in.Attributes {
			st.Attributes[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	if in.Options != nil {
		st.Options = make([]OptionInput, len(in.Options))
		for i, o := range in.Options {
			vals := make([]string, len(o.Values))
			for j, v := range o.Values {
				vals[j] = strings.TrimSpace(v)
			}
			st.Options[i] = OptionInput{Name: strings.TrimSpace(o.Name), Values: vals}
		}
	}
	for _, ref := range []struct {
		field string
		in    []commerce.ID
		dst   *[]commerce.ID
	}{{"categoryIds", in.CategoryIDs, &st.CategoryIDs}, {"collectionIds", in.CollectionIDs, &st.CollectionIDs}, {"channelIds", in.ChannelIDs, &st.ChannelIDs}} {
		if ref.in == nil {
			continue
		}
		if len(ref.in) > maxRefs {
			prob.invalid(ref.field, "at most %d", maxRefs)
		}
		*ref.dst = sortedIDs(ref.in)
	}
	if in.Media != nil {
		st.Media = make([]MediaInput, len(in.Media))
		for i, m := range in.Media {
			st.Media[i] = MediaInput{URL: strings.TrimSpace(m.URL), Alt: strings.TrimSpace(m.Alt)}
		}
	}
	if in.Variants != nil {
		st.Variants = mergeVariants(st.Variants, in.Variants, true, "variants", prob)
	}
	return st
}

// mergeVariants applies ins to current. With replace, the result is
// exactly the variants of ins, in their order; otherwise ins are upserted
// into current: changed in place, new ones appended.
func mergeVariants(current []variantState, ins []VariantInput, replace bool, field string, prob *problems) []variantState {
	var out []variantState
	if !replace {
		out = slices.Clone(current)
		for i := range out {
			out[i].path = ""
		}
	}
	used := map[commerce.ID]bool{}
	for i, in := range ins {
		path := fmt.Sprintf("%s[%d]", field, i)
		at := -1
		switch {
		case in.ID != nil:
			at = slices.IndexFunc(current, func(v variantState) bool { return v.ID == *in.ID })
			if at < 0 {
				prob.add(&commerce.Error{Code: commerce.ErrNotFound, Field: path + ".id", Message: "this product has no variant with this id"})
				continue
			}
		case in.SKU != nil:
			sku := strings.TrimSpace(*in.SKU)
			at = slices.IndexFunc(current, func(v variantState) bool { return v.SKU == sku })
		default:
			prob.invalid(path+".sku", "a SKU is required")
			continue
		}
		var v variantState
		if at >= 0 {
			v = current[at]
			if used[v.ID] {
				if in.ID != nil {
					prob.invalid(path+".id", "this variant is given twice")
				} else {
					prob.conflict(path+".sku", "SKU %q is given to two variants", v.SKU)
				}
				continue
			}
			used[v.ID] = true
		} else {
			v = variantState{ID: commerce.NewID()}
		}
		v.path = path
		if in.SKU != nil {
			v.SKU = strings.TrimSpace(*in.SKU)
		}
		if in.Barcode != nil {
			v.Barcode = strings.TrimSpace(*in.Barcode)
		}
		if in.Title != nil {
			v.Title = strings.TrimSpace(*in.Title)
		}
		if in.Options != nil {
			v.Options = make([]OptionValue, len(in.Options))
			for j, o := range in.Options {
				v.Options[j] = OptionValue{Name: strings.TrimSpace(o.Name), Value: strings.TrimSpace(o.Value)}
			}
		}
		if in.WeightGrams != nil {
			w := *in.WeightGrams
			v.WeightGrams = &w
		}
		if in.Prices != nil {
			if len(in.Prices) > maxPrices {
				prob.invalid(path+".prices", "at most %d prices", maxPrices)
			}
			v.Prices = nil
			for j, pin := range in.Prices {
				pp := fmt.Sprintf("%s.prices[%d]", path, j)
				pr, ok := parsePrice(pp, pin, prob)
				if !ok {
					continue
				}
				if slices.ContainsFunc(v.Prices, func(x priceState) bool { return x.Currency == pr.Currency }) {
					prob.invalid(pp+".currencyCode", "the %s price is given twice", pr.Currency)
					continue
				}
				v.Prices = append(v.Prices, pr)
			}
			sortPrices(v.Prices)
		}
		if replace || at < 0 {
			out = append(out, v)
		} else {
			out[at] = v
		}
	}
	return out
}

// parsePrice reads a price given as decimal strings.
func parsePrice(path string, in PriceInput, prob *problems) (priceState, bool) {
	cur, err := commerce.ParseCurrency(in.CurrencyCode)
	if err != nil {
		prob.invalid(path+".currencyCode", "unsupported currency %q", in.CurrencyCode)
		return priceState{}, false
	}
	m, err := commerce.ParseMoney(in.Amount, cur)
	if err != nil {
		prob.invalid(path+".amount", "%q is not an amount in %s", in.Amount, cur)
		return priceState{}, false
	}
	if m.Amount < 0 {
		prob.invalid(path+".amount", "a price cannot be negative")
		return priceState{}, false
	}
	pr := priceState{Currency: cur, Amount: m.Amount}
	if in.CompareAt != nil && strings.TrimSpace(*in.CompareAt) != "" {
		c, err := commerce.ParseMoney(*in.CompareAt, cur)
		if err != nil {
			prob.invalid(path+".compareAtAmount", "%q is not an amount in %s", *in.CompareAt, cur)
			return priceState{}, false
		}
		if c.Amount <= m.Amount {
			prob.invalid(path+".compareAtAmount", "the compare-at price must be higher than the price (%s)", m.Decimal())
			return priceState{}, false
		}
		pr.CompareAt = &c.Amount
	}
	return pr, true
}

var handleRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// check validates a merged state as a whole and completes what has a
// default (variant titles, the order of a variant's option values).
func (st *productState) check(prob *problems) {
	switch {
	case st.Handle == "":
		prob.invalid("handle", "a handle is required")
	case len(st.Handle) > maxText || !handleRE.MatchString(st.Handle):
		prob.invalid("handle", "a handle is lower-case letters and digits in words joined by single hyphens, like \"chaussure-de-course\" (at most %d)", maxText)
	}
	if st.Title == "" {
		prob.invalid("title", "a title is required")
	}
	for _, f := range []struct{ name, v string }{{"title", st.Title}, {"brand", st.Brand}, {"productType", st.ProductType}} {
		if len(f.v) > maxText || hasControl(f.v) {
			prob.invalid(f.name, "at most %d characters, without control characters", maxText)
		}
	}
	if len(st.Description) > maxDescription {
		prob.invalid("description", "at most %d characters", maxDescription)
	}
	switch st.Status {
	case Draft, Active, Archived:
	default:
		prob.invalid("status", "unknown status %q (draft, active or archived)", st.Status)
	}
	if len(st.Attributes) > maxAttributes {
		prob.invalid("attributes", "at most %d attributes", maxAttributes)
	}
	for _, k := range slices.Sorted(maps.Keys(st.Attributes)) {
		if k == "" || len(k) > maxText || len(st.Attributes[k]) > 1000 {
			prob.invalid("attributes", "attribute names are 1 to %d characters, values at most 1000", maxText)
			break
		}
	}
	st.checkOptions(prob)
	st.checkVariants(prob)
	if len(st.Media) > maxMedia {
		prob.invalid("media", "at most %d images", maxMedia)
	}
	for i, m := range st.Media {
		if u, err := url.Parse(m.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(m.URL) > maxURL {
			prob.invalid(fmt.Sprintf("media[%d].url", i), "an absolute http(s) URL of at most %d characters is required", maxURL)
		}
		if len(m.Alt) > 1000 {
			prob.invalid(fmt.Sprintf("media[%d].alt", i), "at most 1000 characters")
		}
	}
}

func (st *productState) checkOptions(prob *problems) {
	if len(st.Options) > maxOptions {
		prob.invalid("options", "at most %d options", maxOptions)
	}
	names := map[string]bool{}
	for i, o := range st.Options {
		path := fmt.Sprintf("options[%d]", i)
		if o.Name == "" || len(o.Name) > maxText {
			prob.invalid(path+".name", "an option name of 1 to %d characters is required", maxText)
		} else if names[strings.ToLower(o.Name)] {
			prob.invalid(path+".name", "option %q is defined twice", o.Name)
		}
		names[strings.ToLower(o.Name)] = true
		if len(o.Values) == 0 || len(o.Values) > maxValues {
			prob.invalid(path+".values", "an option has 1 to %d values", maxValues)
		}
		seen := map[string]bool{}
		for j, v := range o.Values {
			if v == "" || len(v) > maxText {
				prob.invalid(fmt.Sprintf("%s.values[%d]", path, j), "an option value has 1 to %d characters", maxText)
			} else if seen[v] {
				prob.invalid(fmt.Sprintf("%s.values[%d]", path, j), "value %q is listed twice", v)
			}
			seen[v] = true
		}
	}
}

func (st *productState) checkVariants(prob *problems) {
	if len(st.Variants) > maxVariants {
		prob.invalid("variants", "at most %d variants", maxVariants)
	}
	skus, barcodes, combos := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for i := range st.Variants {
		v := &st.Variants[i]
		path := v.path
		if path == "" {
			// Untouched by this input: its problem comes from a change of
			// the product, e.g. an option that no longer lists its value.
			path = "variants"
		}
		switch {
		case v.SKU == "":
			prob.invalid(path+".sku", "a SKU is required")
		case len(v.SKU) > maxSKU || strings.IndexFunc(v.SKU, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
			prob.invalid(path+".sku", "a SKU has 1 to %d characters and no spaces", maxSKU)
		case skus[v.SKU]:
			prob.conflict(path+".sku", "SKU %q is given to two variants", v.SKU)
		}
		skus[v.SKU] = true
		if v.Barcode != "" {
			if !validGTIN(v.Barcode) {
				prob.invalid(path+".barcode", "%q is not a valid EAN/UPC/GTIN barcode (8, 12, 13 or 14 digits with their check digit)", v.Barcode)
			} else if barcodes[v.Barcode] {
				prob.conflict(path+".barcode", "barcode %q is given to two variants", v.Barcode)
			}
			barcodes[v.Barcode] = true
		}
		if v.WeightGrams != nil && (*v.WeightGrams < 0 || *v.WeightGrams > 1_000_000) {
			prob.invalid(path+".weightGrams", "a weight is between 0 and 1000000 grams")
		}
		if len(v.Title) > maxText || hasControl(v.Title) {
			prob.invalid(path+".title", "at most %d characters, without control characters", maxText)
		}
		st.orderOptions(v, path, prob)
		if len(v.Options) > 0 {
			key := fmt.Sprint(v.Options)
			if combos[key] {
				prob.invalid(path+".options", "another variant has the same option values")
			}
			combos[key] = true
		}
		if v.Title == "" {
			v.Title = "Default"
			if len(v.Options) > 0 {
				vals := make([]string, len(v.Options))
				for j, o := range v.Options {
					vals[j] = o.Value
				}
				v.Title = strings.Join(vals, " / ")
			}
		}
	}
}

// orderOptions checks that a variant gives exactly one defined value for
// each of the product's options, and puts them in the product's order.
func (st *productState) orderOptions(v *variantState, path string, prob *problems) {
	field := path + ".options"
	if path == "variants" {
		field = "options"
	}
	if len(st.Options) == 0 {
		if len(v.Options) > 0 {
			prob.invalid(field, "variant %s has option values but the product defines no options", v.SKU)
		}
		return
	}
	names := make([]string, len(st.Options))
	for i, o := range st.Options {
		names[i] = o.Name
	}
	ordered := make([]OptionValue, 0, len(st.Options))
	for _, o := range st.Options {
		j := slices.IndexFunc(v.Options, func(ov OptionValue) bool { return ov.Name == o.Name })
		if j < 0 {
			prob.invalid(field, "variant %s needs a value for each option (%s); %s is missing", v.SKU, strings.Join(names, ", "), o.Name)
			return
		}
		if !slices.Contains(o.Values, v.Options[j].Value) {
			prob.invalid(field, "variant %s: %q is not a value of option %s (add it to the option's values first)", v.SKU, v.Options[j].Value, o.Name)
			return
		}
		ordered = append(ordered, v.Options[j])
	}
	if len(v.Options) != len(ordered) {
		prob.invalid(field, "variant %s has values for options the product does not define (it defines %s)", v.SKU, strings.Join(names, ", "))
		return
	}
	v.Options = ordered
}

// validGTIN checks a GTIN-8, UPC-A (12), EAN-13 or GTIN-14 and its check digit.
func validGTIN(s string) bool {
	switch len(s) {
	case 8, 12, 13, 14:
	default:
		return false
	}
	sum := 0
	for i := len(s) - 2; i >= 0; i-- {
		d := int(s[i] - '0')
		if d < 0 || d > 9 {
			return false
		}
		if (len(s)-2-i)%2 == 0 {
			d *= 3
		}
		sum += d
	}
	check := int(s[len(s)-1] - '0')
	return check >= 0 && check <= 9 && (10-sum%10)%10 == check
}

func hasControl(s string) bool { return strings.IndexFunc(s, unicode.IsControl) >= 0 }

func sortedIDs(ids []commerce.ID) []commerce.ID {
	out := slices.Clone(ids)
	slices.SortFunc(out, func(a, b commerce.ID) int { return strings.Compare(a.String(), b.String()) })
	return slices.Compact(out)
}

func sortPrices(ps []priceState) {
	slices.SortFunc(ps, func(a, b priceState) int { return cmp.Compare(a.Currency, b.Currency) })
}

// loadStates reads the whole state of the given products, in handle order;
// ids of missing products are left out. With lock, the product rows are
// locked for update first, so that concurrent writers of one product take
// turns and each sees the other's result. Eight statements, one round trip.
func loadStates(ctx context.Context, tx pgx.Tx, ids []commerce.ID, lock bool) ([]productState, error) {
	forUpdate := ""
	if lock {
		forUpdate = " FOR UPDATE"
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT id, handle, title, description, brand, product_type, status, attributes
		FROM products WHERE id = ANY($1) ORDER BY handle`+forUpdate, ids)
	b.Queue(`SELECT product_id, name, "values" FROM product_options WHERE product_id = ANY($1) ORDER BY product_id, position`, ids)
	b.Queue(`SELECT id, product_id, sku, barcode, title, options, weight_grams, position FROM variants
		WHERE product_id = ANY($1) ORDER BY product_id, position, sku`, ids)
	b.Queue(`SELECT vp.variant_id, vp.currency_code, vp.amount, vp.compare_at_amount FROM variant_prices vp
		JOIN variants v ON v.id = vp.variant_id WHERE v.product_id = ANY($1) ORDER BY vp.variant_id, vp.currency_code`, ids)
	b.Queue(`SELECT product_id, category_id FROM product_categories WHERE product_id = ANY($1)`, ids)
	b.Queue(`SELECT product_id, collection_id FROM collection_products WHERE product_id = ANY($1)`, ids)
	b.Queue(`SELECT product_id, url, alt FROM product_media WHERE product_id = ANY($1) ORDER BY product_id, position`, ids)
	b.Queue(`SELECT product_id, channel_id FROM product_publications WHERE product_id = ANY($1)`, ids)
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	each := func(scan []any, fn func()) error {
		rows, err := br.Query()
		if err != nil {
			return err
		}
		_, err = pgx.ForEachRow(rows, scan, func() error { fn(); return nil })
		return err
	}

	var (
		out     []productState
		byID    = map[commerce.ID]*productState{}
		pid, id commerce.ID
		st      productState
		opt     OptionInput
		v       variantState
		pr      priceState
		m       MediaInput
	)
	err := each([]any{&st.ID, &st.Handle, &st.Title, &st.Description, &st.Brand, &st.ProductType, &st.Status, &st.Attributes}, func() {
		out = append(out, st)
		st = productState{}
	})
	if err != nil {
		return nil, err
	}
	for i := range out {
		byID[out[i].ID] = &out[i]
	}
	// The children of a product missing from out (created after the first
	// statement, when unlocked and not in a snapshot) are skipped.
	none := &productState{}
	of := func(id commerce.ID) *productState {
		if p := byID[id]; p != nil {
			return p
		}
		return none
	}
	if err := each([]any{&pid, &opt.Name, &opt.Values}, func() {
		of(pid).Options = append(of(pid).Options, opt)
		opt = OptionInput{}
	}); err != nil {
		return nil, err
	}
	if err := each([]any{&v.ID, &pid, &v.SKU, &v.Barcode, &v.Title, &v.Options, &v.WeightGrams, &v.position}, func() {
		of(pid).Variants = append(of(pid).Variants, v)
		v = variantState{}
	}); err != nil {
		return nil, err
	}
	// Pointers into the variant slices are taken once they stop growing.
	variants := map[commerce.ID]*variantState{}
	for i := range out {
		for j := range out[i].Variants {
			variants[out[i].Variants[j].ID] = &out[i].Variants[j]
		}
	}
	if err := each([]any{&id, &pr.Currency, &pr.Amount, &pr.CompareAt}, func() {
		if v := variants[id]; v != nil {
			v.Prices = append(v.Prices, pr)
		}
		pr = priceState{}
	}); err != nil {
		return nil, err
	}
	if err := each([]any{&pid, &id}, func() { of(pid).CategoryIDs = append(of(pid).CategoryIDs, id) }); err != nil {
		return nil, err
	}
	if err := each([]any{&pid, &id}, func() { of(pid).CollectionIDs = append(of(pid).CollectionIDs, id) }); err != nil {
		return nil, err
	}
	if err := each([]any{&pid, &m.URL, &m.Alt}, func() { of(pid).Media = append(of(pid).Media, m) }); err != nil {
		return nil, err
	}
	if err := each([]any{&pid, &id}, func() { of(pid).ChannelIDs = append(of(pid).ChannelIDs, id) }); err != nil {
		return nil, err
	}
	for i := range out {
		p := &out[i]
		p.CategoryIDs, p.CollectionIDs, p.ChannelIDs = sortedIDs(p.CategoryIDs), sortedIDs(p.CollectionIDs), sortedIDs(p.ChannelIDs)
	}
	return out, br.Close()
}

// apply writes what differs between old (nil for a new product) and st,
// bumps the product's version and enqueues it for search, all in tx. It
// reports whether anything changed; nothing changed means nothing written.
func apply(ctx context.Context, tx pgx.Tx, old, st *productState) (bool, error) {
	var w writeBatch
	created := old == nil
	attrs := st.Attributes
	if attrs == nil {
		attrs = map[string]string{} // the column is a JSON object, never null
	}
	if old == nil {
		w.queue("", `INSERT INTO products (id, handle, title, description, brand, product_type, status, attributes)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			st.ID, st.Handle, st.Title, st.Description, st.Brand, st.ProductType, string(st.Status), attrs)
		old = &productState{ID: st.ID}
	} else if old.Handle != st.Handle || old.Title != st.Title || old.Description != st.Description ||
		old.Brand != st.Brand || old.ProductType != st.ProductType || old.Status != st.Status ||
		!maps.Equal(old.Attributes, st.Attributes) {
		w.queue("", `UPDATE products SET handle = $2, title = $3, description = $4, brand = $5, product_type = $6,
			status = $7, attributes = $8 WHERE id = $1`,
			st.ID, st.Handle, st.Title, st.Description, st.Brand, st.ProductType, string(st.Status), attrs)
	}
	if !slices.EqualFunc(old.Options, st.Options, func(a, b OptionInput) bool { return a.Name == b.Name && slices.Equal(a.Values, b.Values) }) {
		w.queue("options", `DELETE FROM product_options WHERE product_id = $1`, st.ID)
		for i, o := range st.Options {
			w.queue(fmt.Sprintf("options[%d]", i), `INSERT INTO product_options (product_id, position, name, "values") VALUES ($1, $2, $3, $4)`,
				st.ID, i+1, o.Name, o.Values)
		}
	}
	applyVariants(&w, old, st)
	w.queueSet("categoryIds", st.ID, old.CategoryIDs, st.CategoryIDs,
		`DELETE FROM product_categories WHERE product_id = $1 AND category_id <> ALL($2)`,
		`INSERT INTO product_categories (product_id, category_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING`)
	// A product joining a collection goes last in the collection's order.
	w.queueSet("collectionIds", st.ID, old.CollectionIDs, st.CollectionIDs,
		`DELETE FROM collection_products WHERE product_id = $1 AND collection_id <> ALL($2)`,
		`INSERT INTO collection_products (collection_id, product_id, position)
		SELECT c, $1, coalesce((SELECT max(position) + 1 FROM collection_products WHERE collection_id = c), 0) FROM unnest($2::uuid[]) c
		ON CONFLICT DO NOTHING`)
	w.queueSet("channelIds", st.ID, old.ChannelIDs, st.ChannelIDs,
		`DELETE FROM product_publications WHERE product_id = $1 AND channel_id <> ALL($2)`,
		`INSERT INTO product_publications (product_id, channel_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING`)
	if !slices.Equal(old.Media, st.Media) {
		w.queue("media", `DELETE FROM product_media WHERE product_id = $1`, st.ID)
		for i, m := range st.Media {
			w.queue(fmt.Sprintf("media[%d]", i), `INSERT INTO product_media (id, product_id, position, url, alt) VALUES ($1, $2, $3, $4, $5)`,
				commerce.NewID(), st.ID, i+1, m.URL, m.Alt)
		}
	}
	if len(w.fields) == 0 {
		return false, nil
	}
	if !created { // a new product starts at version 1
		w.queue("", `UPDATE products SET version = version + 1, updated_at = now() WHERE id = $1`, st.ID)
	}
	if err := w.run(ctx, tx); err != nil {
		return false, err
	}
	return true, outbox.Enqueue(ctx, tx, outbox.Search, st.ID)
}

// applyVariants queues the variant and price changes from old to st.
// Variants keep their ids (stock levels and, later, order lines refer to
// them), so they are updated in place rather than replaced.
func applyVariants(w *writeBatch, old, st *productState) {
	oldByID := make(map[commerce.ID]*variantState, len(old.Variants))
	for i := range old.Variants {
		oldByID[old.Variants[i].ID] = &old.Variants[i]
	}
	keep := map[commerce.ID]bool{}
	for _, v := range st.Variants {
		keep[v.ID] = true
	}
	var removed []commerce.ID
	for _, v := range old.Variants {
		if !keep[v.ID] {
			removed = append(removed, v.ID)
		}
	}
	if len(removed) > 0 {
		// First, so that a new variant may take a removed one's SKU or barcode.
		w.queue("variants", `DELETE FROM variants WHERE id = ANY($1)`, removed)
	}
	// Positions are rewritten only when the order of the kept variants
	// changes or a new variant lands among them; otherwise existing rows
	// keep theirs and new ones follow the last.
	renumber, last, maxPos := false, -1, 0
	for _, v := range old.Variants {
		maxPos = max(maxPos, v.position)
	}
	seenNew := false
	for _, v := range st.Variants {
		ov, ok := oldByID[v.ID]
		if !ok {
			seenNew = true
			continue
		}
		if seenNew || ov.position < last {
			renumber = true
		}
		last = ov.position
	}
	next := maxPos
	for i := range st.Variants {
		v := &st.Variants[i]
		field := v.path
		if field == "" {
			field = "variants"
		}
		ov := oldByID[v.ID]
		pos := i + 1
		switch {
		case renumber:
		case ov != nil:
			pos = ov.position
		default:
			next++
			pos = next
		}
		v.position = pos
		opts := v.Options
		if opts == nil {
			opts = []OptionValue{}
		}
		if ov == nil {
			w.queue(field, `INSERT INTO variants (id, product_id, sku, barcode, title, options, weight_grams, position)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, v.ID, st.ID, v.SKU, v.Barcode, v.Title, opts, v.WeightGrams, pos)
			ov = &variantState{}
		} else if ov.SKU != v.SKU || ov.Barcode != v.Barcode || ov.Title != v.Title || ov.position != pos ||
			!slices.Equal(ov.Options, v.Options) || !equalPtr(ov.WeightGrams, v.WeightGrams) {
			w.queue(field, `UPDATE variants SET sku = $2, barcode = $3, title = $4, options = $5, weight_grams = $6,
				position = $7, updated_at = now() WHERE id = $1`, v.ID, v.SKU, v.Barcode, v.Title, opts, v.WeightGrams, pos)
		}
		if slices.EqualFunc(ov.Prices, v.Prices, equalPrice) {
			continue
		}
		curs := make([]string, len(v.Prices))
		for j, p := range v.Prices {
			curs[j] = string(p.Currency)
		}
		w.queue(field+".prices", `DELETE FROM variant_prices WHERE variant_id = $1 AND currency_code <> ALL($2)`, v.ID, curs)
		for j, p := range v.Prices {
			if slices.ContainsFunc(ov.Prices, func(o priceState) bool { return equalPrice(o, p) }) {
				continue
			}
			w.queue(fmt.Sprintf("%s.prices[%d]", field, j), `INSERT INTO variant_prices (variant_id, currency_code, amount, compare_at_amount)
				VALUES ($1, $2, $3, $4) ON CONFLICT (variant_id, currency_code)
				DO UPDATE SET amount = EXCLUDED.amount, compare_at_amount = EXCLUDED.compare_at_amount, updated_at = now()`,
				v.ID, string(p.Currency), p.Amount, p.CompareAt)
		}
	}
}

func equalPrice(a, b priceState) bool {
	return a.Currency == b.Currency && a.Amount == b.Amount && equalPtr(a.CompareAt, b.CompareAt)
}

func equalPtr[T comparable](a, b *T) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

// writeBatch queues the statements of one write and sends them in one
// round trip, remembering which input field each one writes so that a
// constraint violation names the right one.
type writeBatch struct {
	batch  pgx.Batch
	fields []string
}

func (w *writeBatch) queue(field, sql string, args ...any) {
	w.batch.Queue(sql, args...)
	w.fields = append(w.fields, field)
}

// queueSet queues the statements that turn the set old into new.
func (w *writeBatch) queueSet(field string, productID commerce.ID, old, new []commerce.ID, del, ins string) {
	if slices.Equal(old, new) {
		return
	}
	if new == nil {
		new = []commerce.ID{}
	}
	w.queue(field, del, productID, new)
	w.queue(field, ins, productID, new)
}

func (w *writeBatch) run(ctx context.Context, tx pgx.Tx) error {
	br := tx.SendBatch(ctx, &w.batch)
	for _, field := range w.fields {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return constraintError(err, field)
		}
	}
	return br.Close()
}

// constraints maps the catalog's constraint names to what a client is told:
// the one place where database constraint violations become input errors.
// Validation catches most of these first; the constraints stay the truth,
// and decide races between concurrent writers.
var constraints = map[string]struct{ code, field, message string }{
	"products_handle_key":                    {commerce.ErrConflict, "handle", "another product already has this handle"},
	"products_handle_check":                  {commerce.ErrInvalidInput, "handle", "a handle is lower-case letters and digits joined by hyphens"},
	"products_status_check":                  {commerce.ErrInvalidInput, "status", "unknown status"},
	"variants_sku_key":                       {commerce.ErrConflict, "sku", "another variant already has this SKU"},
	"variants_barcode_key":                   {commerce.ErrConflict, "barcode", "another variant already has this barcode"},
	"variants_weight_grams_check":            {commerce.ErrInvalidInput, "weightGrams", "a weight cannot be negative"},
	"variant_prices_amount_check":            {commerce.ErrInvalidInput, "amount", "a price cannot be negative"},
	"variant_prices_compare_at_check":        {commerce.ErrInvalidInput, "compareAtAmount", "the compare-at price must be higher than the price"},
	"product_options_name_key":               {commerce.ErrInvalidInput, "name", "an option is defined twice"},
	"product_media_url_check":                {commerce.ErrInvalidInput, "url", "an absolute http(s) URL is required"},
	"product_categories_category_id_fkey":    {commerce.ErrInvalidInput, "", "no category has one of these ids"},
	"collection_products_collection_id_fkey": {commerce.ErrInvalidInput, "", "no collection has one of these ids"},
	"product_publications_channel_id_fkey":   {commerce.ErrInvalidInput, "", "no channel has one of these ids"},
}

// constraintError turns a constraint violation into the client's error on
// field (the input element the failed statement wrote, e.g. "variants[2]").
func constraintError(err error, field string) error {
	pgErr, ok := errors.AsType[*pgconn.PgError](err)
	if !ok {
		return err
	}
	c, ok := constraints[pgErr.ConstraintName]
	if !ok {
		return err
	}
	switch {
	case c.field == "": // the failed statement's own field says it all ("categoryIds")
	case field == "":
		field = c.field
	default:
		field += "." + c.field // "variants[2]" + "sku"
	}
	return &commerce.Error{Code: c.code, Field: field, Message: c.message, Err: err}
}

func findProduct(ctx context.Context, q db.Querier, id commerce.ID) (*Product, error) {
	rows, err := q.Query(ctx, `SELECT `+productColumnsP+` FROM products p WHERE p.id = $1`, id)
	p, err := db.One[Product](rows, err, "product")
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// inTx runs fn in one retried transaction (db.InTx).
func (s *Service) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return db.InTx(ctx, s.pool, fn)
}
