// Package pickup is click & collect at the store's pickup desk: store
// associates see their store's queue of pickup orders, prepare them, mark
// them ready (which issues the pickup code the customer shows at the desk),
// and hand them over after checking the code; the customer signals their
// arrival at the curb; orders not collected within the store's hold period
// expire.
//
// Orders move only through the order state machine (package order's …Tx
// helpers), so every step is an order transition recorded with the staff
// user and the channel, and writes its order event.
//
// # Access
//
// The desk is for associates of the order's store and for admins
// (commerce.RequireRole, Principal.InLocation). The queue of a store one
// does not work at is FORBIDDEN (stores are public); an order of such a
// store is NOT_FOUND, as everywhere for orders. Arrival is signalled by
// whoever reaches the order (its customer, a guest with its order token).
//
// # Pickup codes
//
// A code is CodeLen characters of cart.HandoffAlphabet (no 0/O, 1/I/L).
// It is derived, when the order becomes ready, as HMAC-SHA256 of the order
// id and its ready time under a key kept in the database
// (pickup_code_keys), so that the order's owner can be shown it again
// (Order.pickupCode) while the order row holds only its SHA-256. Staff
// never see it: the customer shows it, the associate types it. The
// order.ready_for_pickup event carries it in its payload ("pickupCode"),
// for the notifier's SMS or email; it is never logged.
//
// Guessing: a code is checked against one order, so a guesser needs 31^6
// (887 million) tries for a sure hit on it. Wrong codes are counted per
// order (DefaultCodeLimitPerOrder: 5 per hour) and per staff user
// (DefaultCodeLimitPerStaff: 30 per hour) through package ratelimit, and a
// right code gives its unit back; past the limit, RATE_LIMITED. Five
// guesses an hour give a hit with probability 5.6×10⁻⁹ per hour.
package pickup

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/cart"
	"github.com/omnicanal/omnicanal/commerce/channel"
	"github.com/omnicanal/omnicanal/commerce/internal/db"
	"github.com/omnicanal/omnicanal/commerce/inventory"
	"github.com/omnicanal/omnicanal/commerce/order"
	"github.com/omnicanal/omnicanal/commerce/ratelimit"
)

// CodeLen is the length of a pickup code.
const CodeLen = 6

// Default limits on wrong pickup codes.
var (
	DefaultCodeLimitPerOrder = ratelimit.Limit{Max: 5, Window: time.Hour}
	DefaultCodeLimitPerStaff = ratelimit.Limit{Max: 30, Window: time.Hour}
)

const (
	scopeCodeOrder = "pickup.code.order"
	scopeCodeStaff = "pickup.code.staff"
)

// EventArrived is written to the order events queue when the shopper
// signals their arrival.
const EventArrived = "order.pickup_arrived"

// deskRoles may work at the pickup desk.
var deskRoles = []commerce.Role{commerce.RoleAdmin, commerce.RoleAssociate}

// Service runs the pickup desk.
type Service struct {
	pool     *pgxpool.Pool
	orders   *order.Service
	inv      *inventory.Service
	limiter  *ratelimit.Limiter
	hub      *Hub
	log      *slog.Logger
	now      func() time.Time
	perOrder ratelimit.Limit
	perStaff ratelimit.Limit
}

// Option changes a default of the service.
type Option func(*Service)

// WithHub enables live queues (Watch).
func WithHub(h *Hub) Option { return func(s *Service) { s.hub = h } }

// WithLogger sets the logger (slog.Default otherwise).
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// WithClock sets the clock (time.Now otherwise).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithCodeLimits sets the limits on wrong codes per order and per staff user.
func WithCodeLimits(perOrder, perStaff ratelimit.Limit) Option {
	return func(s *Service) { s.perOrder, s.perStaff = perOrder, perStaff }
}

// NewService returns the pickup desk over pool, moving orders of orders and
// fulfilling their stock with inv.
func NewService(pool *pgxpool.Pool, orders *order.Service, inv *inventory.Service, opts ...Option) *Service {
	s := &Service{pool: pool, orders: orders, inv: inv, limiter: ratelimit.New(pool), log: slog.Default(), now: time.Now,
		perOrder: DefaultCodeLimitPerOrder, perStaff: DefaultCodeLimitPerStaff}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Entry is one order of a store's pickup queue, as the desk sees it.
type Entry struct {
	Order *order.Order
	// CustomerName is the signed-in customer's first name and initial
	// ("Anna D."); nil for a guest.
	CustomerName *string
	// MaskedEmail shows enough of the email to tell shoppers apart
	// ("an•••@example.com").
	MaskedEmail string
}

// MaskEmail keeps the first two characters of the local part and the
// domain; an order without an email gives "".
func MaskEmail(email string) string {
	if email == "" {
		return ""
	}
	local, domain, ok := strings.Cut(email, "@")
	if !ok {
		return "•••"
	}
	keep := 0
	for i := range local {
		if keep == 2 {
			return local[:i] + "•••@" + domain
		}
		keep++
	}
	return local + "•••@" + domain
}

// shortName is "Anna D." for "Anna Dupont".
func shortName(name string) string {
	parts := strings.Fields(name)
	if len(parts) == 0 {
		return ""
	}
	if len(parts) == 1 {
		return parts[0]
	}
	r, _ := utf8.DecodeRuneInString(parts[len(parts)-1])
	return parts[0] + " " + string(r) + "."
}

// requireDesk returns the principal if it may work at the pickup desk of loc.
func requireDesk(ctx context.Context, loc commerce.ID) (commerce.Principal, error) {
	p, err := commerce.RequireRole(ctx, deskRoles...)
	if err != nil {
		return p, err
	}
	if !p.InLocation(loc) {
		return p, &commerce.Error{Code: commerce.ErrForbidden, Field: "locationId", Message: "you do not work at this store"}
	}
	return p, nil
}

// FindQueue returns the open pickup orders of the store loc (placed,
// preparing, ready): arrived shoppers first, then ready orders, then by
// placement.
func (s *Service) FindQueue(ctx context.Context, loc commerce.ID) ([]Entry, error) {
	if _, err := requireDesk(ctx, loc); err != nil {
		return nil, fmt.Errorf("pickup.FindQueue: %w", err)
	}
	orders, err := order.FindPickupQueueTx(ctx, s.pool, loc)
	if err != nil {
		return nil, fmt.Errorf("pickup.FindQueue: %w", err)
	}
	names := map[commerce.ID]string{}
	var ids []commerce.ID
	for _, o := range orders {
		if o.CustomerID != nil {
			ids = append(ids, *o.CustomerID)
		}
	}
	if len(ids) > 0 {
		rows, err := s.pool.Query(ctx, `SELECT id, name FROM customers WHERE id = ANY($1)`, ids)
		if err != nil {
			return nil, fmt.Errorf("pickup.FindQueue: %w", err)
		}
		var (
			id   commerce.ID
			name string
		)
		if _, err := pgx.ForEachRow(rows, []any{&id, &name}, func() error { names[id] = shortName(name); return nil }); err != nil {
			return nil, fmt.Errorf("pickup.FindQueue: %w", err)
		}
	}
	out := make([]Entry, len(orders))
	for i, o := range orders {
		out[i] = Entry{Order: o, MaskedEmail: MaskEmail(o.Email)}
		if o.CustomerID != nil {
			if n, ok := names[*o.CustomerID]; ok && n != "" {
				out[i].CustomerName = &n
			}
		}
	}
	return out, nil
}

// actor is the staff user and channel of the request, for the transition log.
func actor(ctx context.Context, p commerce.Principal) order.Actor {
	id := p.StaffID
	a := order.Actor{Kind: order.ActorStaff, ID: &id}
	if ch := channel.FromContext(ctx); ch != nil {
		cid := ch.ID
		a.ChannelID = &cid
	}
	return a
}

// deskTx runs fn in one transaction on the pickup order id, locked, after
// checking that the request works at its store (NOT_FOUND otherwise, as
// for an order that does not exist).
func (s *Service) deskTx(ctx context.Context, id commerce.ID, what string, fn func(tx pgx.Tx, o *order.Order, p commerce.Principal) error) (*order.Order, error) {
	if _, err := commerce.RequireRole(ctx, deskRoles...); err != nil {
		return nil, fmt.Errorf("pickup.%s: %w", what, err)
	}
	var out *order.Order
	err := db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		o, err := order.FindOrderByIDTx(ctx, tx, id, true)
		if err != nil {
			return err
		}
		p, err := requireDesk(ctx, o.LocationID)
		if err != nil || o.Fulfillment != order.Pickup {
			return commerce.NotFound("order not found")
		}
		if err := fn(tx, o, p); err != nil {
			return err
		}
		out = o
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pickup.%s: %w", what, err)
	}
	return out, nil
}

// Prepare moves a placed pickup order to preparing.
func (s *Service) Prepare(ctx context.Context, id commerce.ID) (*order.Order, error) {
	return s.deskTx(ctx, id, "Prepare", func(tx pgx.Tx, o *order.Order, p commerce.Principal) error {
		if o.Status != order.Placed {
			return conflict(o, "prepared")
		}
		return order.TransitionTx(ctx, tx, o, order.Preparing, actor(ctx, p), "preparing at the store")
	})
}

func conflict(o *order.Order, what string) error {
	return &commerce.Error{Code: commerce.ErrConflict, Field: "orderId",
		Message: fmt.Sprintf("order %s is %s and cannot be %s", o.Number, strings.ReplaceAll(string(o.Status), "_", " "), what)}
}

// holdDays is the store's hold period, at least a day.
func holdDays(ctx context.Context, q db.Querier, loc commerce.ID) (int, error) {
	var days int
	if err := q.QueryRow(ctx, `SELECT pickup_hold_days FROM locations WHERE id = $1`, loc).Scan(&days); err != nil {
		return 0, err
	}
	return max(days, 1), nil
}

// MarkReady moves a preparing (or placed) pickup order to ready for
// pickup: its code is issued (only its hash stored), ready_at set, the hold
// period starts (hold_until = ready_at + the store's pickup_hold_days, at
// least one day), and order.ready_for_pickup is written with the code for
// the notifier. A placed order goes through preparing on the way.
func (s *Service) MarkReady(ctx context.Context, id commerce.ID) (*order.Order, error) {
	return s.deskTx(ctx, id, "MarkReady", func(tx pgx.Tx, o *order.Order, p commerce.Principal) error {
		a := actor(ctx, p)
		if o.Status == order.Placed {
			if err := order.TransitionTx(ctx, tx, o, order.Preparing, a, "preparing at the store"); err != nil {
				return err
			}
		}
		if o.Status != order.Preparing {
			return conflict(o, "marked ready")
		}
		days, err := holdDays(ctx, tx, o.LocationID)
		if err != nil {
			return err
		}
		readyAt := s.now().UTC().Truncate(time.Microsecond)
		hold := readyAt.AddDate(0, 0, days)
		key, err := codeKey(ctx, tx)
		if err != nil {
			return err
		}
		code := deriveCode(key, o.ID, readyAt)
		h := sha256.Sum256([]byte(code))
		if _, err := tx.Exec(ctx, `UPDATE orders SET pickup_code_hash = $2, ready_at = $3, hold_until = $4 WHERE id = $1`,
			o.ID, h[:], readyAt, hold); err != nil {
			return err
		}
		o.ReadyAt, o.HoldUntil = &readyAt, &hold
		return order.TransitionWithEventTx(ctx, tx, o, order.ReadyForPickup, a, "ready for pickup",
			map[string]any{"pickupCode": code, "holdUntil": hold, "email": o.Email})
	})
}

// codeKey is the key pickup codes are derived with.
func codeKey(ctx context.Context, q db.Querier) ([]byte, error) {
	var key []byte
	if err := q.QueryRow(ctx, `SELECT key FROM pickup_code_keys WHERE id = 1`).Scan(&key); err != nil {
		return nil, fmt.Errorf("pickup code key: %w", err)
	}
	return key, nil
}

// deriveCode is the pickup code of an order made ready at readyAt: CodeLen
// characters of the alphabet, from HMAC-SHA256(key, id ‖ readyAt ‖ n):
// each character is a byte of the MAC modulo 31, drawing only bytes below
// 248 so that every character is equally likely.
func deriveCode(key []byte, id commerce.ID, readyAt time.Time) string {
	var b strings.Builder
	for counter := uint32(0); b.Len() < CodeLen; counter++ {
		m := hmac.New(sha256.New, key)
		m.Write(id[:])
		_ = binary.Write(m, binary.BigEndian, readyAt.UTC().UnixMicro())
		_ = binary.Write(m, binary.BigEndian, counter)
		for _, x := range m.Sum(nil) {
			if x < 248 && b.Len() < CodeLen {
				b.WriteByte(cart.HandoffAlphabet[int(x)%len(cart.HandoffAlphabet)])
			}
		}
	}
	return b.String()
}

// NormalizeCode upper-cases a typed code and drops spaces and dashes.
func NormalizeCode(code string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '\t':
			return -1
		}
		if r >= 'a' && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, code)
}

// ValidCode tells whether code, normalized (NormalizeCode), has the shape
// of a pickup code.
func ValidCode(code string) bool {
	if len(code) != CodeLen {
		return false
	}
	for i := range len(code) {
		if !strings.ContainsRune(cart.HandoffAlphabet, rune(code[i])) {
			return false
		}
	}
	return true
}

// Code returns the pickup code of the order o, already read by a request
// that reaches it, for its owner: nil unless o is ready for pickup, and
// nil for staff (they type the code the customer shows; they are never
// shown it).
func (s *Service) Code(ctx context.Context, o *order.Order) (*string, error) {
	if p, ok := commerce.PrincipalFrom(ctx); ok && p.StaffID != (commerce.ID{}) {
		return nil, nil
	}
	if o.Status != order.ReadyForPickup || o.ReadyAt == nil {
		return nil, nil
	}
	key, err := codeKey(ctx, s.pool)
	if err != nil {
		return nil, fmt.Errorf("pickup.Code: %w", err)
	}
	code := deriveCode(key, o.ID, *o.ReadyAt)
	return &code, nil
}

// Payment is the in-store payment taken at handover of an order to be
// paid at pickup.
type Payment struct {
	Tender    order.Tender
	Reference string
}

// HandOver gives a ready order to the shopper after checking the code they
// show: a wrong code is INVALID_INPUT (field "code"), and after too many
// (see the package doc) RATE_LIMITED. An order to be paid at pickup needs
// pay (cash or terminal), recorded as an in-store payment by the
// associate; others must not have one. The stock leaves the store
// (inventory.FulfilTx) and the order is picked up.
func (s *Service) HandOver(ctx context.Context, id commerce.ID, code string, pay *Payment) (*order.Order, error) {
	p, err := commerce.RequireRole(ctx, deskRoles...)
	if err != nil {
		return nil, fmt.Errorf("pickup.HandOver: %w", err)
	}
	code = NormalizeCode(code)
	if code == "" || len(code) > 32 {
		return nil, fmt.Errorf("pickup.HandOver: %w", commerce.InvalidInput("code", "type the pickup code the customer shows"))
	}
	// Reachability first, so that counting guesses cannot be used to
	// probe orders of other stores.
	o, err := order.FindOrderByIDTx(ctx, s.pool, id, false)
	if err != nil {
		return nil, fmt.Errorf("pickup.HandOver: %w", err)
	}
	if !p.InLocation(o.LocationID) || o.Fulfillment != order.Pickup {
		return nil, fmt.Errorf("pickup.HandOver: %w", commerce.NotFound("order not found"))
	}
	dOrder, err := s.limiter.Allow(ctx, scopeCodeOrder, id.String(), s.perOrder)
	if err != nil {
		return nil, fmt.Errorf("pickup.HandOver: %w", err)
	}
	dStaff, err := s.limiter.Allow(ctx, scopeCodeStaff, p.StaffID.String(), s.perStaff)
	if err != nil {
		return nil, fmt.Errorf("pickup.HandOver: %w", err)
	}
	if !dOrder.Allowed || !dStaff.Allowed {
		d := dOrder
		if d.Allowed {
			d = dStaff
		}
		_ = s.limiter.Refund(ctx, dOrder)
		_ = s.limiter.Refund(ctx, dStaff)
		return nil, fmt.Errorf("pickup.HandOver: %w", d.Err("too many wrong pickup codes"))
	}
	var wrong bool
	out, err := s.deskTx(ctx, id, "HandOver", func(tx pgx.Tx, o *order.Order, p commerce.Principal) error {
		wrong = false
		if o.Status != order.ReadyForPickup {
			return conflict(o, "handed over")
		}
		var stored []byte
		if err := tx.QueryRow(ctx, `SELECT pickup_code_hash FROM orders WHERE id = $1`, o.ID).Scan(&stored); err != nil {
			return err
		}
		h := sha256.Sum256([]byte(code))
		if stored == nil || subtle.ConstantTimeCompare(stored, h[:]) != 1 {
			wrong = true
			return commerce.InvalidInput("code", "this is not the order's pickup code")
		}
		a := actor(ctx, p)
		switch {
		case o.PaymentMethod == order.AtPickup && o.PaymentStatus != order.Paid:
			if pay == nil {
				return commerce.InvalidInput("payment", "take the payment (cash or terminal): this order is paid at pickup")
			}
			if err := order.RecordInStorePaymentTx(ctx, tx, o, pay.Tender, pay.Reference, p.StaffID, a); err != nil {
				return err
			}
		case pay != nil:
			return commerce.InvalidInput("payment", "this order is already paid")
		case o.PaymentStatus != order.Paid:
			return &commerce.Error{Code: commerce.ErrConflict, Field: "orderId",
				Message: fmt.Sprintf("the payment of order %s is %s", o.Number, o.PaymentStatus)}
		}
		if err := s.inv.FulfilTx(ctx, tx, o.ID); err != nil {
			return err
		}
		now := s.now().UTC()
		if _, err := tx.Exec(ctx, `UPDATE orders SET picked_up_at = $2 WHERE id = $1`, o.ID, now); err != nil {
			return err
		}
		o.PickedUpAt = &now
		return order.TransitionTx(ctx, tx, o, order.PickedUp, a, "handed over, code verified")
	})
	if !wrong {
		// Only wrong codes count: anything else gives its unit back.
		_ = s.limiter.Refund(context.WithoutCancel(ctx), dOrder)
		_ = s.limiter.Refund(context.WithoutCancel(ctx), dStaff)
	}
	return out, err
}

// MaxSpotLen bounds the arrival spot.
const MaxSpotLen = 100

// Arrive records that the shopper is at the store (curbside), at spot
// ("bay 3", "blue car"): whoever reaches the order (its customer, a guest
// with its token; see order.Service.FindOrder) may say so while it is
// open. The store's queue is updated live. Arriving again moves the spot.
func (s *Service) Arrive(ctx context.Context, id commerce.ID, token, spot string) (*order.Order, error) {
	spot = strings.TrimSpace(spot)
	if utf8.RuneCountInString(spot) > MaxSpotLen {
		return nil, fmt.Errorf("pickup.Arrive: %w", commerce.InvalidInput("spot", "a spot has at most %d characters", MaxSpotLen))
	}
	if _, err := s.orders.FindOrder(ctx, id, token); err != nil {
		return nil, fmt.Errorf("pickup.Arrive: %w", err)
	}
	var out *order.Order
	err := db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		o, err := order.FindOrderByIDTx(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if o.Fulfillment != order.Pickup {
			return &commerce.Error{Code: commerce.ErrConflict, Field: "orderId", Message: "this order is shipped, not collected"}
		}
		switch o.Status {
		case order.Placed, order.Preparing, order.ReadyForPickup:
		default:
			return conflict(o, "collected")
		}
		now := s.now().UTC()
		var spotArg *string
		if spot != "" {
			spotArg = &spot
		}
		if err := tx.QueryRow(ctx, `UPDATE orders SET arrived_at = $2, arrival_spot = $3, version = version + 1, updated_at = now()
			WHERE id = $1 RETURNING version, updated_at`, o.ID, now, spotArg).Scan(&o.Version, &o.UpdatedAt); err != nil {
			return err
		}
		o.ArrivedAt, o.ArrivalSpot = &now, spotArg
		out = o
		return order.EnqueueEventTx(ctx, tx, EventArrived, o)
	})
	if err != nil {
		return nil, fmt.Errorf("pickup.Arrive: %w", err)
	}
	return out, nil
}

// ExpireUncollected expires the pickups not collected in time (at now):
// orders ready for pickup past their hold_until, and orders to be paid at
// pickup that nobody made ready, once placed_at + the store's preparation
// time + its hold period has passed. Each is taken under its row lock with
// SKIP LOCKED (instances share the work) and ended through
// order.Service.EndTx: the stock is released, an unpaid payment voided,
// and after commit a captured online payment is refunded
// ("refund:<id>:expire"). Online-paid orders that nobody prepared, and
// orders paid at the till (the job cannot give cash back; EndTx would
// record a till refund nobody made), are left to the store (cancel to
// refund). It returns how many orders expired.
func (s *Service) ExpireUncollected(ctx context.Context, now time.Time) (int, error) {
	rows, err := s.pool.Query(ctx, `SELECT o.id FROM orders o JOIN locations l ON l.id = o.location_id
		WHERE o.fulfillment = 'pickup' AND (
			(o.status = 'ready_for_pickup' AND o.hold_until <= $1 AND o.payment_method <> 'in_store')
			OR (o.status IN ('placed', 'preparing') AND o.payment_method = 'at_pickup' AND o.payment_status = 'unpaid'
				AND coalesce(o.hold_until, o.placed_at + make_interval(mins => l.pickup_prep_minutes, days => greatest(l.pickup_hold_days, 1))) <= $1))
		ORDER BY o.placed_at LIMIT 100`, now)
	if err != nil {
		return 0, fmt.Errorf("pickup.ExpireUncollected: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[commerce.ID])
	if err != nil {
		return 0, fmt.Errorf("pickup.ExpireUncollected: %w", err)
	}
	n := 0
	for _, id := range ids {
		var (
			st      *order.Settlement
			expired bool
		)
		err := db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
			st, expired = nil, false
			var locked commerce.ID
			err := tx.QueryRow(ctx, `SELECT id FROM orders WHERE id = $1 AND status IN ('placed', 'preparing', 'ready_for_pickup')
				FOR UPDATE SKIP LOCKED`, id).Scan(&locked)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil // collected, cancelled, or taken by another instance
			}
			if err != nil {
				return err
			}
			o, err := order.FindOrderByIDTx(ctx, tx, id, false)
			if err != nil {
				return err
			}
			if st, err = s.orders.EndTx(ctx, tx, o, order.Expired, order.SystemActor, expiryReason); err != nil {
				return err
			}
			expired = true
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("pickup.ExpireUncollected: %w", err)
		}
		if expired {
			n++
		}
		if err := s.orders.Settle(ctx, st); err != nil {
			s.log.ErrorContext(ctx, "pickup: settling an expired pickup", "order", id, "err", err)
		}
	}
	s.retryRefunds(ctx)
	return n, nil
}

// expiryReason is the reason of the expiry transitions this package makes.
const expiryReason = "not collected within the hold period"

// retryRefunds refunds again, with the same idempotency key, the captured
// online payments of pickups this package expired whose refund failed
// (the provider unreachable at the time).
func (s *Service) retryRefunds(ctx context.Context) {
	rows, err := s.pool.Query(ctx, `SELECT o.id, p.received - p.refunded, o.currency_code FROM orders o
		JOIN order_payments p ON p.order_id = o.id AND p.provider = 'stripe'
		WHERE o.fulfillment = 'pickup' AND o.status = 'expired' AND p.status = 'paid' AND p.received > p.refunded
			AND EXISTS (SELECT 1 FROM order_transitions t WHERE t.order_id = o.id AND t.field = 'status'
				AND t.to_state = 'expired' AND t.reason = $1)
		LIMIT 20`, expiryReason)
	if err != nil {
		s.log.ErrorContext(ctx, "pickup: finding refunds to retry", "err", err)
		return
	}
	type due struct {
		id     commerce.ID
		amount int64
		cur    string
	}
	var dues []due
	var d due
	if _, err := pgx.ForEachRow(rows, []any{&d.id, &d.amount, &d.cur}, func() error { dues = append(dues, d); return nil }); err != nil {
		s.log.ErrorContext(ctx, "pickup: finding refunds to retry", "err", err)
		return
	}
	for _, d := range dues {
		amount := commerce.Money{Amount: d.amount, Currency: commerce.Currency(d.cur)}
		if err := s.orders.RefundOnline(ctx, d.id, amount, "refund:"+d.id.String()+":expire", expiryReason); err != nil {
			s.log.ErrorContext(ctx, "pickup: refunding an expired pickup again", "order", d.id, "err", err)
		}
	}
}
