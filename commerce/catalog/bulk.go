package catalog

// The catalog feed: bulk import and export as JSON Lines, for an ERP or a
// PIM to drive the catalog. The HTTP endpoint is admin/bulk.
//
// # Format
//
// One product per line, a JSON object (UTF-8, at most MaxLineBytes), with
// its variants, prices and publication:
//
//	{"handle": "chaussure-de-course-elan",          the key: required, never changed by a line
//	 "title": "Chaussure de course Élan",           required for a new product
//	 "description": "…", "brand": "Sentier", "productType": "Chaussures",
//	 "status": "active",                            draft (default) | active | archived
//	 "attributes": {"Matière": "Mesh"},
//	 "options": [{"name": "Couleur", "values": ["Noir", "Blanc"]}, {"name": "Taille", "values": ["41", "42"]}],
//	 "categories": ["chaussures-de-course"],        category handles
//	 "collections": ["running"],                    collection handles
//	 "media": [{"url": "https://…/elan.jpg", "alt": "Élan, vue de profil"}],
//	 "channelIds": ["…"],                           ids of the channels it is published on
//	 "variants": [{"sku": "MS-000001-NOI-41",       the variant's key
//	               "barcode": "3770015000018", "title": "Noir / 41",
//	               "options": [{"name": "Couleur", "value": "Noir"}, {"name": "Taille", "value": "41"}],
//	               "weightGrams": 640,
//	               "prices": [{"currencyCode": "EUR", "amount": "129.99", "compareAtAmount": "149.99"},
//	                          {"currencyCode": "CAD", "amount": "189.99"}]}]}
//
// Semantics. A line is upserted by handle: a new handle creates the
// product, a known one updates it. A key left out keeps its current value;
// a list given replaces the whole list ([] clears it). Variants are matched
// by SKU: "variants" is the complete list of the product's variants, in
// display order, and a variant it no longer lists is deleted (with its stock
// levels); a variant's "prices" is the complete set of its prices. Amounts
// are decimal strings in major units, never floats. Unknown keys are an
// error, so a misspelt key is not silently ignored.
//
// Every line is applied in its own transaction, so a line is applied
// completely or not at all, and a bad line does not stop the others. A line
// equal to what is stored changes nothing: no write, no version bump, no
// search reindex. Re-sending a file is therefore harmless, and importing an
// export is a no-op (the export writes every key).
//
// Results stream back as JSON Lines too, one per non-blank input line, in
// order, then a summary:
//
//	{"line": 1, "handle": "chaussure-de-course-elan", "status": "unchanged"}
//	{"line": 2, "handle": "sac", "status": "error", "errors": [{"field": "variants[0].prices[0].amount", "code": "INVALID_INPUT", "message": "…"}]}
//	{"summary": {"lines": 2, "created": 0, "updated": 0, "unchanged": 1, "errors": 1}}
//
// status is created, updated, unchanged or error.

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/internal/jsonl"
)

// Bounds of one import.
const (
	// MaxLineBytes bounds one line: a product with hundreds of variants
	// priced in several currencies fits well within it.
	MaxLineBytes = 1 << 20
	// MaxLines bounds the lines of one import; larger catalogs are sent
	// in several files.
	MaxLines = 100_000
)

// Line is one product of the feed. Pointer and list fields left nil (a key
// absent from the JSON) keep the product's current value.
type Line struct {
	Handle      *string           `json:"handle"`
	Title       *string           `json:"title"`
	Description *string           `json:"description"`
	Brand       *string           `json:"brand"`
	ProductType *string           `json:"productType"`
	Status      *Status           `json:"status"`
	Attributes  map[string]string `json:"attributes"`
	Options     []OptionInput     `json:"options"`
	Categories  []string          `json:"categories"`
	Collections []string          `json:"collections"`
	Media       []MediaInput      `json:"media"`
	ChannelIDs  []commerce.ID     `json:"channelIds"`
	Variants    []LineVariant     `json:"variants"`
}

// LineVariant is one variant of a Line, keyed by SKU.
type LineVariant struct {
	SKU         string        `json:"sku"`
	Barcode     *string       `json:"barcode"`
	Title       *string       `json:"title"`
	Options     []OptionValue `json:"options"`
	WeightGrams *int          `json:"weightGrams"`
	Prices      []PriceInput  `json:"prices"`
}

// ImportStatus is what an import did with one line.
type ImportStatus string

const (
	Created   ImportStatus = "created"
	Updated   ImportStatus = "updated"
	Unchanged ImportStatus = "unchanged"
	Failed    ImportStatus = "error"
)

// LineResult reports one line of an import.
type LineResult struct {
	Line   int          `json:"line"`
	Handle string       `json:"handle,omitempty"`
	Status ImportStatus `json:"status"`
	Errors []LineError  `json:"errors,omitempty"`
	// Cause is the error behind an INTERNAL line error, for the server's
	// log only: it is never sent to the client.
	Cause error `json:"-"`
}

// LineError is one problem of a line.
type LineError struct {
	Field   string `json:"field,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ImportSummary counts the lines of an import by status.
type ImportSummary struct {
	Lines     int `json:"lines"`
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Errors    int `json:"errors"`
}

// ImportLimits bound an import; zero fields take the defaults.
type ImportLimits struct {
	MaxLineBytes int
	MaxLines     int
}

// Import reads a JSON Lines feed from r and applies it line by line, each
// line in its own transaction, calling emit with each line's result as soon
// as it is known (so a client sees progress, and a long import holds no
// transaction open). It returns early only when ctx ends, emit fails or the
// caller lacks the role; bad lines are reported, not fatal.
func (s *Service) Import(ctx context.Context, r io.Reader, limits ImportLimits, emit func(LineResult) error) (ImportSummary, error) {
	var sum ImportSummary
	if _, err := commerce.RequireRole(ctx, writers...); err != nil {
		return sum, err
	}
	if limits.MaxLineBytes <= 0 {
		limits.MaxLineBytes = MaxLineBytes
	}
	if limits.MaxLines <= 0 {
		limits.MaxLines = MaxLines
	}
	refs, err := s.loadRefs(ctx)
	if err != nil {
		return sum, fmt.Errorf("catalog.Import: %w", err)
	}
	err = jsonl.Each(ctx, r, limits.MaxLineBytes, limits.MaxLines, func(l jsonl.Line) error {
		var res LineResult
		switch {
		case l.TooMany:
			res = LineResult{Line: l.N, Status: Failed, Errors: []LineError{{Code: commerce.ErrInvalidInput,
				Message: fmt.Sprintf("an import holds at most %d lines; this line and the rest were not read", limits.MaxLines)}}}
		case l.TooLong:
			res = LineResult{Line: l.N, Status: Failed, Errors: []LineError{{Code: commerce.ErrInvalidInput,
				Message: fmt.Sprintf("a line holds at most %d bytes", limits.MaxLineBytes)}}}
		default:
			res = s.importLine(ctx, l.N, l.Raw, refs)
		}
		sum.Lines++
		switch res.Status {
		case Created:
			sum.Created++
		case Updated:
			sum.Updated++
		case Unchanged:
			sum.Unchanged++
		default:
			sum.Errors++
		}
		return emit(res)
	})
	if err != nil {
		return sum, fmt.Errorf("catalog.Import: %w", err)
	}
	return sum, nil
}

// refs maps category and collection handles to ids, and back.
type refs struct {
	categories, collections map[string]commerce.ID
	categoryHandles         map[commerce.ID]string
	collectionHandles       map[commerce.ID]string
}

// loadRefs reads every category and collection handle: tens of rows, read
// once per import or export rather than once per line.
func (s *Service) loadRefs(ctx context.Context) (*refs, error) {
	r := &refs{categories: map[string]commerce.ID{}, collections: map[string]commerce.ID{},
		categoryHandles: map[commerce.ID]string{}, collectionHandles: map[commerce.ID]string{}}
	for _, t := range []struct {
		sql     string
		byName  map[string]commerce.ID
		byID    map[commerce.ID]string
		tableOf string
	}{
		{`SELECT id, handle FROM categories`, r.categories, r.categoryHandles, "categories"},
		{`SELECT id, handle FROM collections`, r.collections, r.collectionHandles, "collections"},
	} {
		rows, err := s.pool.Query(ctx, t.sql)
		if err != nil {
			return nil, err
		}
		var (
			id     commerce.ID
			handle string
		)
		if _, err := pgx.ForEachRow(rows, []any{&id, &handle}, func() error {
			t.byName[handle], t.byID[id] = id, handle
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// importLine parses and applies one line, turning every error into the
// line's result.
func (s *Service) importLine(ctx context.Context, n int, raw []byte, refs *refs) LineResult {
	res := LineResult{Line: n, Status: Failed}
	var line Line
	if err := jsonl.Decode(raw, &line); err != nil {
		res.Errors = []LineError{{Code: commerce.ErrInvalidInput, Message: "not a JSON object of the catalog feed: " + err.Error()}}
		return res
	}
	if line.Handle != nil {
		res.Handle = *line.Handle
	}
	in, err := line.input(refs)
	if err == nil {
		res.Status, _, err = s.ImportProduct(ctx, in)
	}
	if err == nil {
		return res
	}
	res.Status = Failed
	if errs := InputErrors(err); errs != nil {
		for _, e := range errs {
			res.Errors = append(res.Errors, LineError{Field: e.Field, Code: e.Code, Message: e.Message})
		}
		return res
	}
	if ce, ok := errors.AsType[*commerce.Error](err); ok && ce.Code != commerce.ErrInternal {
		res.Errors = []LineError{{Field: ce.Field, Code: ce.Code, Message: ce.Message}}
		return res
	}
	res.Errors, res.Cause = []LineError{{Code: commerce.ErrInternal, Message: "internal error"}}, err
	return res
}

// input converts a line to a ProductInput, resolving handles.
func (l *Line) input(refs *refs) (ProductInput, error) {
	var prob problems
	if l.Handle == nil || strings.TrimSpace(*l.Handle) == "" {
		prob.invalid("handle", "every line needs the product's handle")
	}
	in := ProductInput{Handle: l.Handle, Title: l.Title, Description: l.Description, Brand: l.Brand, ProductType: l.ProductType,
		Status: l.Status, Attributes: l.Attributes, Options: l.Options, Media: l.Media, ChannelIDs: l.ChannelIDs}
	resolve := func(field, noun string, handles []string, byName map[string]commerce.ID) []commerce.ID {
		if handles == nil {
			return nil
		}
		ids := make([]commerce.ID, 0, len(handles))
		for i, h := range handles {
			id, ok := byName[strings.TrimSpace(h)]
			if !ok {
				prob.invalid(fmt.Sprintf("%s[%d]", field, i), "no %s has the handle %q", noun, h)
				continue
			}
			ids = append(ids, id)
		}
		return ids
	}
	in.CategoryIDs = resolve("categories", "category", l.Categories, refs.categories)
	in.CollectionIDs = resolve("collections", "collection", l.Collections, refs.collections)
	if l.Variants != nil {
		in.Variants = make([]VariantInput, len(l.Variants))
		for i, v := range l.Variants {
			v := v
			in.Variants[i] = VariantInput{SKU: &v.SKU, Barcode: v.Barcode, Title: v.Title, Options: v.Options,
				WeightGrams: v.WeightGrams, Prices: v.Prices}
			if strings.TrimSpace(v.SKU) == "" {
				prob.invalid(fmt.Sprintf("variants[%d].sku", i), "every variant needs its SKU")
			}
		}
	}
	return in, prob.err()
}

// ImportProduct upserts one product by handle, as one feed line: created
// when the handle is new, updated when something differs, unchanged (and
// untouched: no version bump, no reindex) when the line matches what is
// stored. Concurrent imports of the same handle take turns, so two feeds
// sending the same new product create it once.
func (s *Service) ImportProduct(ctx context.Context, in ProductInput) (ImportStatus, *Product, error) {
	if _, err := commerce.RequireRole(ctx, writers...); err != nil {
		return Failed, nil, err
	}
	if in.Handle == nil || strings.TrimSpace(*in.Handle) == "" {
		return Failed, nil, commerce.InvalidInput("handle", "a handle is required")
	}
	handle := strings.TrimSpace(*in.Handle)
	var (
		status ImportStatus
		out    *Product
	)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// The product row cannot be locked before it exists; a lock on the
		// handle serializes creations of the same product. The second
		// importer then finds the first one's product and compares.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, handleLock(handle)); err != nil {
			return err
		}
		var id commerce.ID
		err := tx.QueryRow(ctx, `SELECT id FROM products WHERE handle = $1`, handle).Scan(&id)
		var old *productState
		if err == nil {
			states, err := loadStates(ctx, tx, []commerce.ID{id}, true)
			if err != nil {
				return err
			}
			if len(states) == 1 {
				old = &states[0]
			}
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		var prob problems
		st := mergeProduct(old, &in, &prob)
		st.check(&prob)
		if err := prob.err(); err != nil {
			return err
		}
		changed, err := apply(ctx, tx, old, &st)
		if err != nil {
			return err
		}
		switch {
		case old == nil:
			status = Created
		case changed:
			status = Updated
		default:
			status = Unchanged
		}
		out, err = findProduct(ctx, tx, st.ID)
		return err
	})
	if err != nil {
		return Failed, nil, fmt.Errorf("catalog.ImportProduct: %w", err)
	}
	return status, out, nil
}

func handleLock(handle string) int64 {
	h := fnv.New64a()
	h.Write([]byte("catalog.product:" + handle))
	return int64(h.Sum64())
}

// exportPage is how many products an export reads per snapshot.
const exportPage = 100

// Export writes every product (drafts and archived ones included) as feed
// lines in handle order, complete (every key written), so that importing
// the export changes nothing. Pages are read in short read-only
// transactions and emitted between them: a slow client never holds a
// transaction open.
func (s *Service) Export(ctx context.Context, emit func(*Line) error) error {
	if _, err := commerce.RequireRole(ctx, writers...); err != nil {
		return err
	}
	refs, err := s.loadRefs(ctx)
	if err != nil {
		return fmt.Errorf("catalog.Export: %w", err)
	}
	after := ""
	for {
		var states []productState
		err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `SELECT id FROM products WHERE handle > $1 ORDER BY handle LIMIT $2`, after, exportPage)
			if err != nil {
				return err
			}
			ids, err := pgx.CollectRows(rows, pgx.RowTo[commerce.ID])
			if err != nil || len(ids) == 0 {
				return err
			}
			states, err = loadStates(ctx, tx, ids, false)
			return err
		})
		if err != nil {
			return fmt.Errorf("catalog.Export: %w", err)
		}
		if len(states) == 0 {
			return nil
		}
		for i := range states {
			if err := emit(states[i].line(refs)); err != nil {
				return err
			}
		}
		after = states[len(states)-1].Handle
	}
}

// line is the feed line of a stored product, every key written.
func (st *productState) line(refs *refs) *Line {
	l := &Line{
		Handle: &st.Handle, Title: &st.Title, Description: &st.Description, Brand: &st.Brand,
		ProductType: &st.ProductType, Status: &st.Status,
		Attributes:  st.Attributes,
		Options:     st.Options,
		Categories:  handles(st.CategoryIDs, refs.categoryHandles),
		Collections: handles(st.CollectionIDs, refs.collectionHandles),
		Media:       st.Media,
		ChannelIDs:  st.ChannelIDs,
		Variants:    make([]LineVariant, len(st.Variants)),
	}
	if l.Attributes == nil {
		l.Attributes = map[string]string{}
	}
	if l.Options == nil {
		l.Options = []OptionInput{}
	}
	if l.Media == nil {
		l.Media = []MediaInput{}
	}
	if l.ChannelIDs == nil {
		l.ChannelIDs = []commerce.ID{}
	}
	for i := range st.Variants {
		v := &st.Variants[i]
		lv := LineVariant{SKU: v.SKU, Barcode: &v.Barcode, Title: &v.Title, Options: v.Options, WeightGrams: v.WeightGrams,
			Prices: make([]PriceInput, len(v.Prices))}
		if lv.Options == nil {
			lv.Options = []OptionValue{}
		}
		for j, p := range v.Prices {
			lv.Prices[j] = PriceInput{CurrencyCode: string(p.Currency), Amount: commerce.Money{Amount: p.Amount, Currency: p.Currency}.Decimal()}
			if p.CompareAt != nil {
				c := commerce.Money{Amount: *p.CompareAt, Currency: p.Currency}.Decimal()
				lv.Prices[j].CompareAt = &c
			}
		}
		l.Variants[i] = lv
	}
	return l
}

// handles returns the handles of ids, sorted; ids without a handle (deleted
// meanwhile) are left out.
func handles(ids []commerce.ID, byID map[commerce.ID]string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if h, ok := byID[id]; ok {
			out = append(out, h)
		}
	}
	slices.Sort(out)
	return out
}
