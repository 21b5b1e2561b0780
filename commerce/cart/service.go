package cart

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/catalog"
	"github.com/omnicanal/omnicanal/commerce/channel"
	"github.com/omnicanal/omnicanal/commerce/internal/db"
	"github.com/omnicanal/omnicanal/commerce/inventory"
	"github.com/omnicanal/omnicanal/commerce/location"
	"github.com/omnicanal/omnicanal/commerce/pricing"
	"github.com/omnicanal/omnicanal/commerce/ratelimit"
)

// Service reads and changes carts.
type Service struct {
	pool *pgxpool.Pool
	// addPool, when set, runs the adds (see addpool.go).
	addPool   *pgxpool.Pool
	offers    Offers
	locations *location.Service
	inventory *inventory.Service
	limiter   *ratelimit.Limiter
	catalog   *catalogCache
	// combiner groups adds that arrive together (combine.go); nil runs
	// every add alone.
	combiner *combiner
	// hub delivers change notifications to Watch; nil refuses Watch.
	hub *Hub
	// Handoff codes: how long one lives, and how many wrong codes a
	// client, and everyone together, may try (see handoff.go).
	handoffTTL                  time.Duration
	resumePerClient, resumeGlob ratelimit.Limit
	now                         func() time.Time
	catalogTTL                  time.Duration
}

// Option changes a default of the service.
type Option func(*Service)

// WithHub makes Watch (live updates) available, fed by the hub, which the
// caller runs (Hub.Run).
func WithHub(h *Hub) Option { return func(s *Service) { s.hub = h } }

// WithResumeLimits sets how many wrong handoff codes one client, and all
// clients together, may try per window (DefaultResumePerClient and
// DefaultResumeGlobal otherwise).
func WithResumeLimits(perClient, global ratelimit.Limit) Option {
	return func(s *Service) { s.resumePerClient, s.resumeGlob = perClient, global }
}

// WithHandoffTTL sets how long a handoff code lives (DefaultHandoffTTL
// otherwise).
func WithHandoffTTL(d time.Duration) Option { return func(s *Service) { s.handoffTTL = d } }

// WithCatalogTTL sets how long the catalog data of lines may be served from
// memory (DefaultCatalogTTL otherwise; see PurgeCatalog). 0 reads it for
// every cart.
func WithCatalogTTL(d time.Duration) Option { return func(s *Service) { s.catalogTTL = d } }

// DefaultAddGroupSize is how many adds one group takes at most when
// WithAddGroups does not say (see combine.go).
const DefaultAddGroupSize = 8

// defaultAddGroups is how many groups of adds may run at once when
// WithAddGroups does not say: one per two processors. On this project's
// 2-core reference machine one group at a time gave the most adds per
// second (docs/performance.md, issue 4): more groups run side by side
// make each group smaller, and a group's cost in Postgres is mostly per
// group.
func defaultAddGroups() int { return max(1, runtime.GOMAXPROCS(0)/2) }

// WithAddGroups sets how many groups of adds may run at once and how many
// adds one group may take (see combine.go); groups of 1 run every add
// alone, in its own transaction.
func WithAddGroups(groups, size int) Option {
	return func(s *Service) {
		s.combiner = nil
		if groups > 0 && size > 1 {
			s.combiner = &combiner{limit: groups, max: size}
		}
	}
}

// NewService returns a cart service over pool that prices carts with
// offers (nil: no offers).
func NewService(pool *pgxpool.Pool, offers Offers, opts ...Option) *Service {
	s := &Service{pool: pool, offers: offers, locations: location.NewService(pool),
		inventory: inventory.NewService(pool), limiter: ratelimit.New(pool), now: time.Now,
		handoffTTL: DefaultHandoffTTL, catalogTTL: DefaultCatalogTTL, resumePerClient: DefaultResumePerClient, resumeGlob: DefaultResumeGlobal}
	s.combiner = &combiner{limit: defaultAddGroups(), max: DefaultAddGroupSize}
	for _, o := range opts {
		o(s)
	}
	s.catalog = newCatalogCache(s.catalogTTL, s.now)
	return s
}

// FindCart returns the cart with its lines, priced now for the request's
// channel. A cart the request may not reach (see the package doc) is
// NOT_FOUND, like one that does not exist.
func (s *Service) FindCart(ctx context.Context, id commerce.ID, token string) (*Cart, error) {
	acc := accessFor(ctx, token)
	c, err := s.find(ctx, s.pool, acc, id)
	if commerce.ErrorCode(err) == commerce.ErrNotFound {
		err = s.unreachable(ctx, acc, id, "")
	}
	if err != nil {
		return nil, fmt.Errorf("cart.FindCart: %w", err)
	}
	return c, nil
}

// FindCustomerCart returns the signed-in customer's active cart, the same
// on every device and channel. A guest is UNAUTHENTICATED; a customer
// without an active cart gets NOT_FOUND (cartCreate makes one).
func (s *Service) FindCustomerCart(ctx context.Context) (*Cart, error) {
	customer, ok := commerce.CustomerFrom(ctx)
	if !ok {
		return nil, commerce.Errorf(commerce.ErrUnauthenticated, "sign in to find your cart, or give its id and token")
	}
	var id commerce.ID
	err := s.pool.QueryRow(ctx, `SELECT id FROM carts WHERE customer_id = $1 AND status = 'active'`, customer).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("cart.FindCustomerCart: %w", commerce.NotFound("you have no active cart"))
	}
	if err != nil {
		return nil, fmt.Errorf("cart.FindCustomerCart: %w", err)
	}
	// Read with the customer's access, as any other read: the cart may
	// have been merged or converted between the two statements, and then
	// it is still theirs to see.
	c, err := s.find(ctx, s.pool, accessFor(ctx, ""), id)
	if err != nil {
		return nil, fmt.Errorf("cart.FindCustomerCart: %w", err)
	}
	return c, nil
}

// unreachable is the error for a cart the request could not reach. It is
// NOT_FOUND, as for a cart that does not exist, except for a request with
// a token that was revoked when its cart went to a customer: that device
// did reach the cart a moment ago, and telling it why it no longer does
// (sign in) reveals nothing it did not know. field names the argument
// ("cartId"), or nothing for a query.
func (s *Service) unreachable(ctx context.Context, acc access, id commerce.ID, field string) error {
	e := &commerce.Error{Code: commerce.ErrNotFound, Field: field, Message: "cart not found"}
	if acc.tokenHash == nil {
		return e
	}
	var status string
	err := s.pool.QueryRow(ctx, `SELECT c.status FROM cart_tokens t JOIN carts c ON c.id = t.cart_id
		WHERE t.token_hash = $1 AND t.cart_id = $2 AND t.revoked_at IS NOT NULL`, acc.tokenHash, id).Scan(&status)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return e
	case err != nil:
		return err
	case Status(status) == Merged:
		e.Message = "cart not found: it was merged into the cart of the customer who signed in with it; sign in to see it"
	default:
		e.Message = "cart not found with this token: the cart now belongs to a customer account; sign in to reach it"
	}
	return e
}

// find reads and prices a cart in one statement (plus what Offers costs,
// and the catalog data of lines the cache lacks).
func (s *Service) find(ctx context.Context, q db.Querier, acc access, id commerce.ID) (*Cart, error) {
	c, err := read(ctx, q, acc, id)
	if err != nil {
		return nil, err
	}
	if err := s.completeAndPrice(ctx, q, c); err != nil {
		return nil, err
	}
	return c, nil
}

// completeAndPrice gives a cart as read its lines' catalog side and its cost.
func (s *Service) completeAndPrice(ctx context.Context, q db.Querier, c *Cart) error {
	if err := s.complete(ctx, q, c); err != nil {
		return err
	}
	return s.price(ctx, c)
}

// readSQL reads a cart and its lines with what must be current (prices), in
// one statement: one row per line (one row with NULL line columns for an
// empty cart). The catalog side of the lines comes from complete.
var readSQL = `SELECT ` + readColumns + ` FROM carts c ` + readJoins + `
	WHERE ` + reach + `
	ORDER BY l.id`

// readManySQL is readSQL for several carts, each reached its own way (the
// arguments of addSQL's calls), one after the other: see scanCarts.
//
// Each cart is found by its key in a subquery of its own (LATERAL, kept
// apart from the join by OFFSET 0). Joined directly, the planner may hash
// every active cart (and every token) at each call: it did so in generic
// plans made on a carts table without statistics, as on a fresh database,
// which then stay in each connection's plan cache.
var readManySQL = `SELECT ` + readColumns + `
	FROM unnest(@carts::uuid[], @tokens::bytea[], @customers::uuid[], @staff::boolean[]) WITH ORDINALITY AS a(cart_id, token, customer, staff, call)
	CROSS JOIN LATERAL (SELECT c.* FROM carts c WHERE ` + reachOf("a.cart_id", "a.token", "a.customer", "a.staff") + ` OFFSET 0) c
	` + readJoins + `
	ORDER BY a.call, l.id`

const (
	readColumns = `c.id, c.version, c.status, c.currency_code, c.customer_id, c.pickup_location_id,
		c.discount_codes, c.created_channel_id, c.created_at, c.updated_at, c.merged_into_id,
		l.id, l.quantity, l.created_at, l.updated_at, l.channel_id, l.variant_id,
		vp.amount, vp.compare_at_amount`
	readJoins = `LEFT JOIN cart_lines l ON l.cart_id = c.id
	LEFT JOIN variant_prices vp ON vp.variant_id = l.variant_id AND vp.currency_code = c.currency_code`
)

// readStmt is readSQL with positional arguments, for the hot path.
var readStmt, readManyStmt = toPositional(readSQL), toPositional(readManySQL)

// read reads a cart without pricing it, its lines without their catalog side.
func read(ctx context.Context, q db.Querier, acc access, id commerce.ID) (*Cart, error) {
	rows, err := q.Query(ctx, readStmt.sql, readStmt.args(acc.args(id))...)
	if err != nil {
		return nil, err
	}
	return scanCart(rows)
}

// scanCart reads the rows of readSQL into a cart, unpriced and without the
// catalog side of its lines, and closes them.
func scanCart(rows pgx.Rows) (*Cart, error) {
	carts, err := scanCarts(rows)
	if err != nil {
		return nil, err
	}
	if len(carts) == 0 {
		return nil, commerce.NotFound("cart not found")
	}
	return carts[0], nil
}

// scanCarts reads the rows of readSQL or readManySQL into carts, as
// scanCart, and closes them. A cart's rows follow each other.
func scanCarts(rows pgx.Rows) ([]*Cart, error) {
	defer rows.Close()
	var (
		carts []*Cart
		c     *Cart
		// Scanned into again at every row, without allocating: the cart's
		// columns repeat on every row, and the line's are NULL for an
		// empty cart.
		cart                         Cart
		version                      int
		status, currency             string
		codes                        []string
		customerID, pickupID, merged pgtype.UUID
		lineID, chID, vID            pgtype.UUID
		quantity                     pgtype.Int4
		lineCreated, lineUpdated     pgtype.Timestamptz
		amount, compareAt            pgtype.Int8
		targets                      = []any{&cart.ID, &version, &status, &currency, &customerID, &pickupID,
			&codes, &cart.CreatedChannelID, &cart.CreatedAt, &cart.UpdatedAt, &merged,
			&lineID, &quantity, &lineCreated, &lineUpdated, &chID, &vID, &amount, &compareAt}
	)
	// The same with the cart's columns skipped (nil), for the rows after a
	// cart's first: its strings and codes would be allocated again at
	// every line.
	lineTargets := slices.Clone(targets)
	clear(lineTargets[:11])
	for rows.Next() {
		t := targets
		if c != nil && sameID(rows.RawValues()[0], c.ID) {
			t = lineTargets
		}
		if err := rows.Scan(t...); err != nil {
			return nil, err
		}
		if c == nil || c.ID != cart.ID {
			c = &Cart{ID: cart.ID, Version: version, Status: Status(status), Currency: commerce.Currency(currency),
				CustomerID: optionalID(customerID), PickupLocationID: optionalID(pickupID), CreatedChannelID: cart.CreatedChannelID,
				MergedIntoID: optionalID(merged), CreatedAt: cart.CreatedAt, UpdatedAt: cart.UpdatedAt, codes: codes}
			carts = append(carts, c)
		}
		if !lineID.Valid {
			continue
		}
		l := Line{ID: lineID.Bytes, Quantity: int(quantity.Int32), CreatedAt: lineCreated.Time, UpdatedAt: lineUpdated.Time,
			AddedBy: channel.Channel{ID: chID.Bytes}, Variant: catalog.Variant{ID: vID.Bytes}}
		if amount.Valid {
			l.Price = &catalog.Price{VariantID: vID.Bytes, Price: commerce.Money{Amount: amount.Int64, Currency: c.Currency}}
			if compareAt.Valid {
				l.Price.CompareAt = &commerce.Money{Amount: compareAt.Int64, Currency: c.Currency}
			}
		}
		c.Lines = append(c.Lines, l)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return carts, nil
}

// sameID tells whether raw, a uuid column in binary format, is id. A
// column in text format never is: the caller then scans it in full.
func sameID(raw []byte, id commerce.ID) bool {
	return len(raw) == len(id) && commerce.ID(raw) == id
}

// optionalID is a nullable uuid column as an optional id.
func optionalID(u pgtype.UUID) *commerce.ID {
	if !u.Valid {
		return nil
	}
	id := commerce.ID(u.Bytes)
	return &id
}

// price fills the cart's cost from current prices and offers.
func (s *Service) price(ctx context.Context, c *Cart) error {
	now := s.now()
	in := pricing.Input{Currency: c.Currency, Now: now, Lines: make([]pricing.Line, 0, len(c.Lines))}
	if ch := channel.FromContext(ctx); ch != nil {
		in.Channel = ch.Kind
	}
	// The buyer is the cart's owner, whoever reads it: a till assisting a
	// customer must show the customer's prices.
	if c.CustomerID != nil {
		in.Customer.ID = *c.CustomerID
	}
	in.Codes = c.codes
	priced := make([]int, 0, len(c.Lines)) // index in c.Lines of each pricing line
	for i := range c.Lines {
		l := &c.Lines[i]
		if l.Price == nil {
			continue
		}
		in.Lines = append(in.Lines, pricing.Line{ID: l.ID, VariantID: l.Variant.ID, ProductID: l.Product.ID,
			CategoryIDs: l.categoryIDs, CollectionIDs: l.collectionIDs, Quantity: l.Quantity, UnitPrice: l.Price.Price})
		priced = append(priced, i)
	}
	var offers []pricing.Offer
	if s.offers != nil {
		var err error
		if offers, err = s.offers.ActiveOffers(ctx, c.Currency, now); err != nil {
			return fmt.Errorf("active offers: %w", err)
		}
		if limits, ok := s.offers.(UsageLimits); ok && len(offers) > 0 {
			if in.ExhaustedOffers, in.ExhaustedForCustomer, err = limits.Exhausted(ctx, offers, in.Customer.ID); err != nil {
				return fmt.Errorf("offer usage: %w", err)
			}
		}
	}
	res, err := pricing.Price(in, offers)
	if err != nil {
		return fmt.Errorf("pricing: %w", err)
	}
	c.Cost = res
	explain := make(map[commerce.ID]pricing.Adjustment, len(res.Adjustments))
	for _, a := range res.Adjustments {
		explain[a.OfferID] = a
	}
	for k, i := range priced {
		l := &c.Lines[i]
		l.Cost = &res.Lines[k]
		l.Adjustments = append(l.Adjustments, l.Cost.Adjustments...)
		for _, share := range l.Cost.Allocations {
			a := explain[share.OfferID]
			a.Amount = share.Amount
			l.Adjustments = append(l.Adjustments, a)
		}
	}
	// The stored codes are trimmed and distinct ignoring case, as the
	// engine counts them, so it reports each once, in order.
	c.DiscountCodes = make([]DiscountCode, len(res.Coupons))
	for i, cs := range res.Coupons {
		d := DiscountCode{Code: cs.Code, Applicable: cs.Applied}
		if !cs.Applied {
			reason, msg := string(cs.Reason), cs.Reason.Message()
			d.Reason, d.Message = &reason, &msg
		}
		c.DiscountCodes[i] = d
	}
	return nil
}

// inTx runs fn in one retried transaction (db.InTx).
func (s *Service) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return db.InTx(ctx, s.pool, fn)
}
