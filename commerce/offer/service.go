package offer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/internal/db"
	"github.com/omnicanal/omnicanal/commerce/pricing"
)

// DefaultCacheTTL is how long ActiveOffers serves the live offers from
// memory before reading them again. Every cart read prices the cart, so
// reading the offers from the database each time would double the cost of
// the hottest path for data that changes a few times a day. The price of
// the cache: an offer created, changed or disabled through another server
// instance applies on this one up to this long later (on the instance that
// made the change, at once). Usage limits are not cached: Exhausted asks
// the database, and Redeem is the final word at checkout.
const DefaultCacheTTL = 5 * time.Second

// Service stores offers and counts their uses.
type Service struct {
	pool  *pgxpool.Pool
	clock func() time.Time
	ttl   time.Duration

	// loadMu lets one caller at a time reload the live offers, so that an
	// expired cache costs one query, not one per concurrent cart read.
	loadMu sync.Mutex
	mu     sync.RWMutex // guards the fields below
	live   *snapshot    // nil when there is none or it was invalidated
	gen    uint64       // incremented by every invalidation
}

// snapshot is the live offers as read at one moment.
type snapshot struct {
	loadedAt time.Time
	// offers are every offer not disabled and not ended at loadedAt, in
	// pricing order (priority, then id).
	offers []pricing.Offer
	// byCurrency holds, per currency asked for, the offers that apply in it
	// (those in it and those without a currency), built on first demand.
	byCurrency map[commerce.Currency][]pricing.Offer
}

// Option configures a Service.
type Option func(*Service)

// WithClock replaces time.Now as the clock the cache's age is measured on
// (tests move it instead of sleeping).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.clock = now } }

// WithCacheTTL replaces DefaultCacheTTL; 0 or less disables the cache.
func WithCacheTTL(d time.Duration) Option { return func(s *Service) { s.ttl = d } }

// NewService returns an offer service over pool.
func NewService(pool *pgxpool.Pool, opts ...Option) *Service {
	s := &Service{pool: pool, clock: time.Now, ttl: DefaultCacheTTL}
	for _, o := range opts {
		o(s)
	}
	return s
}

// readers are the roles that may list offers and their codes; writers those
// that may change them.
var (
	readers = []commerce.Role{commerce.RoleAdmin, commerce.RoleMerchandiser}
	writers = []commerce.Role{commerce.RoleAdmin, commerce.RoleMerchandiser}
)

// ActiveOffers returns the offers that may apply to a cart in currency at
// now: not disabled, started (StartsAt ≤ now), not ended (now < EndsAt),
// and in that currency or in none. They are in pricing order, ready for
// pricing.Price. It needs no role: every cart read calls it.
//
// The offers come from memory, read again from the database when older than
// the cache TTL or after a write through this Service. The slice and the
// offers in it are shared with other callers: do not modify them (Price
// never does). now may be later than the clock (an admin preview of next
// week); offers that ended before the cache was loaded are not returned,
// even for an earlier now.
func (s *Service) ActiveOffers(ctx context.Context, currency commerce.Currency, now time.Time) ([]pricing.Offer, error) {
	if c, err := commerce.ParseCurrency(string(currency)); err != nil || c != currency {
		return nil, commerce.InvalidInput("currency", "unsupported currency %q", currency)
	}
	if now.IsZero() {
		return nil, commerce.InvalidInput("now", "the moment of pricing is required")
	}
	snap, err := s.snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("offer.ActiveOffers: %w", err)
	}
	offers := s.forCurrency(snap, currency)
	// Most of the time every offer is within its window and the shared
	// slice is the answer; otherwise copy the ones that are.
	for i := range offers {
		if !inWindow(&offers[i], now) {
			out := make([]pricing.Offer, 0, len(offers))
			for j := range offers {
				if inWindow(&offers[j], now) {
					out = append(out, offers[j])
				}
			}
			return out, nil
		}
	}
	return offers, nil
}

func inWindow(o *pricing.Offer, now time.Time) bool {
	c := &o.Conditions
	return (c.StartsAt.IsZero() || !now.Before(c.StartsAt)) && (c.EndsAt.IsZero() || now.Before(c.EndsAt))
}

// forCurrency returns the snapshot's offers that apply in currency,
// remembering the answer in the snapshot.
func (s *Service) forCurrency(snap *snapshot, currency commerce.Currency) []pricing.Offer {
	s.mu.RLock()
	offers, ok := snap.byCurrency[currency]
	s.mu.RUnlock()
	if ok {
		return offers
	}
	offers = []pricing.Offer{}
	for i := range snap.offers {
		if c := currencyOf(&snap.offers[i]); c == "" || c == currency {
			offers = append(offers, snap.offers[i])
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if have, ok := snap.byCurrency[currency]; ok { // another caller was first
		return have
	}
	snap.byCurrency[currency] = offers
	return offers
}

// snapshot returns a fresh enough snapshot of the live offers.
func (s *Service) snapshot(ctx context.Context) (*snapshot, error) {
	if snap := s.fresh(); snap != nil {
		return snap, nil
	}
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	if snap := s.fresh(); snap != nil { // loaded while we waited
		return snap, nil
	}
	s.mu.RLock()
	gen := s.gen
	s.mu.RUnlock()
	at := s.clock()
	offers, err := loadLive(ctx, s.pool, at)
	if err != nil {
		return nil, err
	}
	snap := &snapshot{loadedAt: at, offers: offers, byCurrency: map[commerce.Currency][]pricing.Offer{}}
	s.mu.Lock()
	defer s.mu.Unlock()
	// A write that committed while we read may be missing from what we
	// read: serve it to this caller, whose request overlapped the write,
	// but do not keep it for later ones.
	if gen == s.gen && s.ttl > 0 {
		s.live = snap
	}
	return snap, nil
}

// fresh returns the cached snapshot when it is younger than the TTL.
func (s *Service) fresh() *snapshot {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.live == nil {
		return nil
	}
	age := s.clock().Sub(s.live.loadedAt)
	if age < 0 || age >= s.ttl { // a clock that went back is not trusted either
		return nil
	}
	return s.live
}

// invalidate drops the cached offers; this process's next ActiveOffers
// reads them again. Writes call it after they commit.
func (s *Service) invalidate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.live = nil
	s.gen++
}

// loadLive reads the offers not disabled and not ended at at.
func loadLive(ctx context.Context, q querier, at time.Time) ([]pricing.Offer, error) {
	rows, err := q.Query(ctx, `SELECT id, version, definition FROM offers
		WHERE disabled_at IS NULL AND (ends_at IS NULL OR ends_at > $1)
		ORDER BY priority, id`, at)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (pricing.Offer, error) {
		var (
			id      commerce.ID
			version int
			raw     []byte
		)
		if err := row.Scan(&id, &version, &raw); err != nil {
			return pricing.Offer{}, err
		}
		return decode(id, version, raw)
	})
}

// querier is what a pool and a transaction have in common.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

const offerColumns = `o.id, o.version, o.definition, o.disabled_at, o.created_at, o.updated_at,
	(SELECT count(*) FROM offer_redemptions r WHERE r.offer_id = o.id)`

func scanOffer(row pgx.CollectableRow) (Offer, error) {
	var (
		o       Offer
		id      commerce.ID
		version int
		raw     []byte
	)
	if err := row.Scan(&id, &version, &raw, &o.DisabledAt, &o.CreatedAt, &o.UpdatedAt, &o.UsageCount); err != nil {
		return Offer{}, err
	}
	def, err := decode(id, version, raw)
	o.Offer = def
	return o, err
}

func findOffer(ctx context.Context, q querier, id commerce.ID) (*Offer, error) {
	rows, err := q.Query(ctx, `SELECT `+offerColumns+` FROM offers o WHERE o.id = $1`, id)
	if err != nil {
		return nil, err
	}
	o, err := pgx.CollectExactlyOneRow(rows, scanOffer)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, &commerce.Error{Code: commerce.ErrNotFound, Field: "id", Message: "offer not found"}
	}
	if err != nil {
		return nil, err
	}
	return &o, nil
}

// FindOffer returns an offer, live or disabled, for staff.
func (s *Service) FindOffer(ctx context.Context, id commerce.ID) (*Offer, error) {
	if _, err := commerce.RequireRole(ctx, readers...); err != nil {
		return nil, err
	}
	o, err := findOffer(ctx, s.pool, id)
	if err != nil {
		return nil, fmt.Errorf("offer.FindOffer: %w", err)
	}
	return o, nil
}

// Filter selects a page of offers for the staff listing.
type Filter struct {
	// First is the page size, 0 to 100.
	First int
	// After is the id of the last offer of the previous page.
	After *commerce.ID
	// Live leaves disabled offers out.
	Live bool
}

// Page is one page of offers, newest first.
type Page struct {
	Offers  []Offer
	HasNext bool
}

// FindOffers lists offers for staff, newest first (ids are time-ordered),
// paginated by key so that pages stay stable while offers are added.
func (s *Service) FindOffers(ctx context.Context, f Filter) (Page, error) {
	if _, err := commerce.RequireRole(ctx, readers...); err != nil {
		return Page{}, err
	}
	if f.First < 0 || f.First > 100 {
		return Page{}, commerce.InvalidInput("first", "first must be between 0 and 100")
	}
	rows, err := s.pool.Query(ctx, `SELECT `+offerColumns+` FROM offers o
		WHERE ($1::uuid IS NULL OR o.id < $1) AND (NOT $2 OR o.disabled_at IS NULL)
		ORDER BY o.id DESC LIMIT $3`, f.After, f.Live, f.First+1)
	if err != nil {
		return Page{}, fmt.Errorf("offer.FindOffers: %w", err)
	}
	offers, err := pgx.CollectRows(rows, scanOffer)
	if err != nil {
		return Page{}, fmt.Errorf("offer.FindOffers: %w", err)
	}
	// One extra row tells whether another page follows.
	page := Page{HasNext: len(offers) > f.First}
	page.Offers = offers[:min(len(offers), f.First)]
	return page, nil
}

// FindOfferVersion returns the definition an offer had at version: what
// priced an order that recorded it. It needs no role, because orders are
// shown to the customers who placed them; callers decide who sees an order.
func (s *Service) FindOfferVersion(ctx context.Context, id commerce.ID, version int) (*pricing.Offer, error) {
	var raw []byte
	err := s.pool.QueryRow(ctx, `SELECT definition FROM offer_versions WHERE offer_id = $1 AND version = $2`,
		id, version).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, commerce.NotFound("offer %s has no version %d", id, version)
	}
	if err != nil {
		return nil, fmt.Errorf("offer.FindOfferVersion: %w", err)
	}
	o, err := decode(id, version, raw)
	if err != nil {
		return nil, fmt.Errorf("offer.FindOfferVersion: %w", err)
	}
	return &o, nil
}

// inTx runs fn in one retried transaction (db.InTx).
func (s *Service) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return db.InTx(ctx, s.pool, fn)
}
