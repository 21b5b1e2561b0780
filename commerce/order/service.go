package order

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/cart"
	"github.com/omnicanal/omnicanal/commerce/channel"
	"github.com/omnicanal/omnicanal/commerce/internal/db"
	"github.com/omnicanal/omnicanal/commerce/internal/secret"
	"github.com/omnicanal/omnicanal/commerce/inventory"
	"github.com/omnicanal/omnicanal/commerce/offer"
	"github.com/omnicanal/omnicanal/commerce/outbox"
	"github.com/omnicanal/omnicanal/commerce/payment"
	"github.com/omnicanal/omnicanal/commerce/pricing"
)

// EventQueue is the outbox queue order events go to; the payload is
// {"type": "order.placed", "orderId": …, "number": …, "status": …}.
const EventQueue = "order_events"

// DefaultPaymentHold is how long the stock of an order waiting for its
// online payment stays reserved.
const DefaultPaymentHold = 15 * time.Minute

// Service checks out carts and follows orders.
type Service struct {
	pool      *pgxpool.Pool
	carts     *cart.Service
	inventory *inventory.Service
	offers    *offer.Service
	gateway   payment.Gateway
	log       *slog.Logger
	hold      time.Duration
	now       func() time.Time
	// intentWait bounds how long a checkout retry waits for the request
	// creating the payment intent.
	intentWait time.Duration
	// rates caches tax rates by country (see taxRate).
	rates sync.Map
}

// Option changes a default of the service.
type Option func(*Service)

// WithGateway sets the card payment provider; without one, online payment
// is refused.
func WithGateway(g payment.Gateway) Option { return func(s *Service) { s.gateway = g } }

// WithOffers counts offer usage at checkout (offer.Redeem) and gives it back
// on cancellation and expiry.
func WithOffers(o *offer.Service) Option { return func(s *Service) { s.offers = o } }

// WithPaymentHold sets how long an unpaid online order keeps its stock
// (DefaultPaymentHold otherwise).
func WithPaymentHold(d time.Duration) Option { return func(s *Service) { s.hold = d } }

// WithLogger sets the logger (slog.Default otherwise).
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// WithClock sets the clock (time.Now otherwise); tests move it.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// NewService returns an order service over pool, checking out carts of carts
// and reserving stock with inv.
func NewService(pool *pgxpool.Pool, carts *cart.Service, inv *inventory.Service, opts ...Option) *Service {
	s := &Service{pool: pool, carts: carts, inventory: inv, log: slog.Default(), hold: DefaultPaymentHold,
		now: time.Now, intentWait: 20 * time.Second}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Tokens.

// TokenPrefix starts every order token.
const TokenPrefix = "ot_"

// tokenHashOf is the hash to look a client's token up by; nil for a token
// that cannot be one of ours.
func tokenHashOf(token string) []byte {
	if !secret.WellFormed(TokenPrefix, token) {
		return nil
	}
	return secret.Hash(token)
}

// issueToken gives a guest a token of the order, in tx.
func issueToken(ctx context.Context, tx db.Querier, orderID commerce.ID) (string, error) {
	token, hash := secret.New(TokenPrefix)
	if _, err := tx.Exec(ctx, `INSERT INTO order_tokens (token_hash, order_id) VALUES ($1, $2)`, hash, orderID); err != nil {
		return "", err
	}
	return token, nil
}

// Access.

// access is who the request is, as far as reaching orders goes.
type access struct {
	tokenHash []byte
	customer  *commerce.ID
	// staff: every location (admin, merchandiser) or those listed.
	staff, allLocations bool
	locations           []commerce.ID
}

func accessFor(ctx context.Context, token string) access {
	a := access{tokenHash: tokenHashOf(token)}
	if id, ok := commerce.CustomerFrom(ctx); ok {
		a.customer = &id
	}
	if p, ok := commerce.PrincipalFrom(ctx); ok && p.StaffID != (commerce.ID{}) {
		a.staff = true
		a.allLocations = p.Role == commerce.RoleAdmin || p.Role == commerce.RoleMerchandiser
		a.locations = p.LocationIDs
	}
	return a
}

// reach is the SQL condition that order o may be reached by the request.
const reach = `(
	(@token::bytea IS NOT NULL AND EXISTS (SELECT 1 FROM order_tokens t WHERE t.token_hash = @token AND t.order_id = o.id))
	OR o.customer_id = @customer::uuid
	OR @all_locations::boolean
	OR o.location_id = ANY(@locations::uuid[]))`

func (a access) args() pgx.NamedArgs {
	locs := a.locations
	if locs == nil {
		locs = []commerce.ID{}
	}
	return pgx.NamedArgs{"token": a.tokenHash, "customer": a.customer, "all_locations": a.allLocations, "locations": locs}
}

// actorFrom is who the request is, for the transition log.
func actorFrom(ctx context.Context) Actor {
	var a Actor
	if ch := channel.FromContext(ctx); ch != nil {
		id := ch.ID
		a.ChannelID = &id
	}
	if p, ok := commerce.PrincipalFrom(ctx); ok && p.StaffID != (commerce.ID{}) {
		id := p.StaffID
		a.Kind, a.ID = ActorStaff, &id
		return a
	}
	a.Kind = ActorCustomer
	if id, ok := commerce.CustomerFrom(ctx); ok {
		a.ID = &id
	}
	return a
}

// SystemActor is the background jobs' actor.
var SystemActor = Actor{Kind: ActorSystem}

// Reads.

const orderColumns = `o.id, o.number, o.customer_id, o.email, o.cart_id, o.channel_id, o.status, o.payment_status,
	o.payment_method, o.fulfillment, o.location_id, o.shipping_address, o.currency_code, o.subtotal, o.discount,
	o.shipping, o.shipping_discount, o.tax, o.total, o.pricing, o.expires_at, o.placed_at, o.ready_at,
	o.picked_up_at, o.hold_until, o.arrived_at, o.arrival_spot, o.created_at, o.updated_at, o.version,
	o.carrier, o.tracking_number, o.shipped_at`

func scanOrder(row pgx.Row) (*Order, error) {
	var (
		o                                              Order
		cur                                            string
		sub, disc, ship, shipDisc, tax, total, version int64
		addr, snap                                     []byte
		carrier, tracking                              *string
		shippedAt                                      *time.Time
	)
	if err := row.Scan(&o.ID, &o.Number, &o.CustomerID, &o.Email, &o.CartID, &o.ChannelID, &o.Status, &o.PaymentStatus,
		&o.PaymentMethod, &o.Fulfillment, &o.LocationID, &addr, &cur, &sub, &disc,
		&ship, &shipDisc, &tax, &total, &snap, &o.ExpiresAt, &o.PlacedAt, &o.ReadyAt,
		&o.PickedUpAt, &o.HoldUntil, &o.ArrivedAt, &o.ArrivalSpot, &o.CreatedAt, &o.UpdatedAt, &version,
		&carrier, &tracking, &shippedAt); err != nil {
		return nil, err
	}
	o.Shipment = shipmentOf(carrier, tracking, shippedAt)
	c := commerce.Currency(cur)
	o.Currency = c
	o.Subtotal, o.Discount = commerce.Money{Amount: sub, Currency: c}, commerce.Money{Amount: disc, Currency: c}
	o.Shipping, o.ShippingDiscount = commerce.Money{Amount: ship, Currency: c}, commerce.Money{Amount: shipDisc, Currency: c}
	o.Tax, o.Total = commerce.Money{Amount: tax, Currency: c}, commerce.Money{Amount: total, Currency: c}
	o.Version = int(version)
	if addr != nil {
		o.ShippingAddress = &Address{}
		if err := json.Unmarshal(addr, o.ShippingAddress); err != nil {
			return nil, fmt.Errorf("shipping address: %w", err)
		}
	}
	if err := json.Unmarshal(snap, &o.Pricing); err != nil {
		return nil, fmt.Errorf("pricing snapshot: %w", err)
	}
	return &o, nil
}

// readOrder reads one order (with lines) matching where, with args.
func readOrder(ctx context.Context, q db.Querier, where string, args pgx.NamedArgs, lock bool) (*Order, error) {
	sql := `SELECT ` + orderColumns + ` FROM orders o WHERE ` + where
	if lock {
		sql += ` FOR UPDATE OF o`
	}
	o, err := scanOrder(q.QueryRow(ctx, sql, args))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, commerce.NotFound("order not found")
	}
	if err != nil {
		return nil, err
	}
	if err := readLines(ctx, q, []*Order{o}); err != nil {
		return nil, err
	}
	return o, nil
}

// readLines fills the lines of orders.
func readLines(ctx context.Context, q db.Querier, orders []*Order) error {
	if len(orders) == 0 {
		return nil
	}
	ids := make([]commerce.ID, len(orders))
	byID := make(map[commerce.ID]*Order, len(orders))
	for i, o := range orders {
		ids[i] = o.ID
		byID[o.ID] = o
		o.Lines = nil
	}
	rows, err := q.Query(ctx, `SELECT order_id, id, position, variant_id, product_id, sku, title, variant_title, quantity,
			unit_price, subtotal, discount, tax, total, tax_rate_ppm, adjustments, channel_id
		FROM order_lines WHERE order_id = ANY($1) ORDER BY order_id, position`, ids)
	if err != nil {
		return err
	}
	var (
		orderID                     commerce.ID
		l                           Line
		unit, sub, disc, tax, total int64
		adjs                        []byte
	)
	_, err = pgx.ForEachRow(rows, []any{&orderID, &l.ID, &l.Position, &l.VariantID, &l.ProductID, &l.SKU, &l.Title,
		&l.VariantTitle, &l.Quantity, &unit, &sub, &disc, &tax, &total, &l.TaxRatePPM, &adjs, &l.ChannelID}, func() error {
		o := byID[orderID]
		line := l
		c := o.Currency
		line.UnitPrice, line.Subtotal = commerce.Money{Amount: unit, Currency: c}, commerce.Money{Amount: sub, Currency: c}
		line.Discount, line.Tax = commerce.Money{Amount: disc, Currency: c}, commerce.Money{Amount: tax, Currency: c}
		line.Total = commerce.Money{Amount: total, Currency: c}
		line.Adjustments = nil
		if err := json.Unmarshal(adjs, &line.Adjustments); err != nil {
			return fmt.Errorf("line adjustments: %w", err)
		}
		o.Lines = append(o.Lines, line)
		return nil
	})
	return err
}

// FindOrder returns the order id if the request may reach it (see the
// package doc) with token (a guest's order token; empty for none).
// Anything else is NOT_FOUND.
func (s *Service) FindOrder(ctx context.Context, id commerce.ID, token string) (*Order, error) {
	acc := accessFor(ctx, token)
	args := acc.args()
	args["id"] = id
	o, err := readOrder(ctx, s.pool, `o.id = @id AND `+reach, args, false)
	if err != nil {
		return nil, fmt.Errorf("order.FindOrder: %w", err)
	}
	return o, nil
}

// FindOrderByIDTx reads the order id in tx, locking it FOR UPDATE when lock,
// without any access check: for other areas (pickup, returns) that have
// checked access their own way. A missing order is NOT_FOUND.
func FindOrderByIDTx(ctx context.Context, tx db.Querier, id commerce.ID, lock bool) (*Order, error) {
	o, err := readOrder(ctx, tx, `o.id = @id`, pgx.NamedArgs{"id": id}, lock)
	if err != nil {
		return nil, fmt.Errorf("order.FindOrderByIDTx: %w", err)
	}
	return o, nil
}

// Page asks for First orders after the cursor After (from a previous
// page's EndCursor; empty for the first page).
type Page struct {
	First int
	After string
}

// OrderPage is one page of orders, newest first.
type OrderPage struct {
	Orders      []*Order
	HasNextPage bool
	// Cursors are the orders' cursors: pass the last as Page.After for
	// the next page.
	Cursors []string
}

// MaxPage bounds Page.First.
const MaxPage = 100

// FindCustomerOrders returns the signed-in customer's orders, newest first,
// from every channel together: web, app, kiosk and till.
func (s *Service) FindCustomerOrders(ctx context.Context, page Page) (*OrderPage, error) {
	customer, ok := commerce.CustomerFrom(ctx)
	if !ok {
		return nil, commerce.Errorf(commerce.ErrUnauthenticated, "sign in to see your orders")
	}
	return s.findOrders(ctx, `o.customer_id = @customer`, pgx.NamedArgs{"customer": customer}, page)
}

func (s *Service) findOrders(ctx context.Context, where string, args pgx.NamedArgs, page Page) (*OrderPage, error) {
	if page.First < 0 || page.First > MaxPage {
		return nil, commerce.InvalidInput("first", "first must be between 0 and %d", MaxPage)
	}
	if page.After != "" {
		at, id, err := decodeCursor(page.After)
		if err != nil {
			return nil, err
		}
		where += ` AND (o.created_at, o.id) < (@after_at, @after_id)`
		args["after_at"], args["after_id"] = at, id
	}
	args["limit"] = page.First + 1
	rows, err := s.pool.Query(ctx, `SELECT `+orderColumns+` FROM orders o WHERE `+where+`
		ORDER BY o.created_at DESC, o.id DESC LIMIT @limit`, args)
	if err != nil {
		return nil, fmt.Errorf("order.findOrders: %w", err)
	}
	var out OrderPage
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("order.findOrders: %w", err)
		}
		out.Orders = append(out.Orders, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("order.findOrders: %w", err)
	}
	if len(out.Orders) > page.First {
		out.Orders, out.HasNextPage = out.Orders[:page.First], true
	}
	out.Cursors = make([]string, len(out.Orders))
	for i, o := range out.Orders {
		out.Cursors[i] = encodeCursor(o)
	}
	if err := readLines(ctx, s.pool, out.Orders); err != nil {
		return nil, fmt.Errorf("order.findOrders: %w", err)
	}
	return &out, nil
}

func encodeCursor(o *Order) string {
	return base64.RawURLEncoding.EncodeToString([]byte(o.CreatedAt.UTC().Format(time.RFC3339Nano) + "|" + o.ID.String()))
}

func decodeCursor(c string) (time.Time, commerce.ID, error) {
	bad := commerce.InvalidInput("after", "after is not a cursor of this list")
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, commerce.ID{}, bad
	}
	ts, idStr, ok := strings.Cut(string(raw), "|")
	if !ok {
		return time.Time{}, commerce.ID{}, bad
	}
	at, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return time.Time{}, commerce.ID{}, bad
	}
	id, err := commerce.ParseID("after", idStr)
	if err != nil {
		return time.Time{}, commerce.ID{}, bad
	}
	return at, id, nil
}

// FindTransitions returns the recorded transitions of an order the caller
// has already read (with access), oldest first. FindTransitionsByOrderIDs
// reads those of many orders at once.
func (s *Service) FindTransitions(ctx context.Context, orderID commerce.ID) ([]Transition, error) {
	ts, err := readTransitions(ctx, s.pool, []commerce.ID{orderID})
	if err != nil {
		return nil, fmt.Errorf("order.FindTransitions: %w", err)
	}
	return ts[orderID], nil
}

// FindPayments returns the payments of an order the caller has already read
// (with access), oldest first. FindPaymentsByOrderIDs reads those of many
// orders at once.
func (s *Service) FindPayments(ctx context.Context, orderID commerce.ID) ([]Payment, error) {
	ps, err := readPayments(ctx, s.pool, []commerce.ID{orderID})
	if err != nil {
		return nil, fmt.Errorf("order.FindPayments: %w", err)
	}
	return ps[orderID], nil
}

// Moves, for this package and the areas that join its transactions.

// TransitionTx moves the order o (read and locked in tx by the caller, e.g.
// with FindOrderByIDTx(…, true)) to status to: it checks the state machine
// (CONFLICT when the move is not allowed from where the order is), updates
// the order, records the transition and writes the status's outbox event.
// o is updated in place.
func TransitionTx(ctx context.Context, tx pgx.Tx, o *Order, to Status, actor Actor, reason string) error {
	return TransitionWithEventTx(ctx, tx, o, to, actor, reason, nil)
}

// TransitionWithEventTx is TransitionTx whose outbox event carries extra
// fields besides the usual ones (type, orderId, number, status, …): for
// the pickup's order.ready_for_pickup, which must give the notifier the
// plaintext pickup code (stored nowhere else). extra cannot override the
// usual fields.
func TransitionWithEventTx(ctx context.Context, tx pgx.Tx, o *Order, to Status, actor Actor, reason string, extra map[string]any) error {
	if !CanTransitionFor(o.Fulfillment, o.Status, to) {
		return &commerce.Error{Code: commerce.ErrConflict, Field: "status",
			Message: fmt.Sprintf("order %s is %s and cannot become %s", o.Number, o.Status, to)}
	}
	from := o.Status
	err := tx.QueryRow(ctx, `UPDATE orders SET status = $2, version = version + 1, updated_at = now(),
			placed_at = CASE WHEN $2 = 'placed' THEN coalesce(placed_at, now()) ELSE placed_at END,
			expires_at = CASE WHEN $2 = 'pending_payment' THEN expires_at ELSE NULL END
		WHERE id = $1 RETURNING version, updated_at, placed_at`, o.ID, string(to)).Scan(&o.Version, &o.UpdatedAt, &o.PlacedAt)
	if err != nil {
		return fmt.Errorf("order.TransitionTx: %w", err)
	}
	o.Status = to
	o.ExpiresAt = nil
	if err := recordTransition(ctx, tx, o.ID, "status", string(from), string(to), actor, reason); err != nil {
		return err
	}
	return enqueueEvent(ctx, tx, statusEvent[to], o, extra)
}

// SetPaymentStatusTx moves the payment status of o (locked by the caller)
// to, checking CanTransitionPayment (CONFLICT otherwise), and records the
// transition; a move to paid writes order.paid, a refund order.refunded.
func SetPaymentStatusTx(ctx context.Context, tx pgx.Tx, o *Order, to PaymentStatus, actor Actor, reason string) error {
	if !CanTransitionPayment(o.PaymentStatus, to) {
		return &commerce.Error{Code: commerce.ErrConflict, Field: "paymentStatus",
			Message: fmt.Sprintf("the payment of order %s is %s and cannot become %s", o.Number, o.PaymentStatus, to)}
	}
	from := o.PaymentStatus
	if err := tx.QueryRow(ctx, `UPDATE orders SET payment_status = $2, version = version + 1, updated_at = now()
		WHERE id = $1 RETURNING version, updated_at`, o.ID, string(to)).Scan(&o.Version, &o.UpdatedAt); err != nil {
		return fmt.Errorf("order.SetPaymentStatusTx: %w", err)
	}
	o.PaymentStatus = to
	if err := recordTransition(ctx, tx, o.ID, "payment_status", string(from), string(to), actor, reason); err != nil {
		return err
	}
	switch to {
	case Paid:
		return EnqueueEventTx(ctx, tx, EventPaid, o)
	case Refunded, PartiallyRefunded:
		return EnqueueEventTx(ctx, tx, EventRefunded, o)
	case PaymentFailed:
		return EnqueueEventTx(ctx, tx, EventPaymentFailed, o)
	}
	return nil
}

func recordTransition(ctx context.Context, tx pgx.Tx, orderID commerce.ID, field, from, to string, a Actor, reason string) error {
	kind := a.Kind
	if kind == "" {
		kind = ActorSystem
	}
	if _, err := tx.Exec(ctx, `INSERT INTO order_transitions (order_id, field, from_state, to_state, actor_kind, actor_id, channel_id, reason)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, orderID, field, from, to, string(kind), a.ID, a.ChannelID, reason); err != nil {
		return fmt.Errorf("order transition: %w", err)
	}
	return nil
}

// EnqueueEventTx writes the order event typ ("order.ready_for_pickup", …)
// to the outbox in tx.
func EnqueueEventTx(ctx context.Context, tx pgx.Tx, typ string, o *Order) error {
	return enqueueEvent(ctx, tx, typ, o, nil)
}

// enqueueEvent is EnqueueEventTx with extra fields, which do not override
// the usual ones.
func enqueueEvent(ctx context.Context, tx pgx.Tx, typ string, o *Order, extra map[string]any) error {
	if typ == "" {
		return nil
	}
	payload := map[string]any{
		"type": typ, "orderId": o.ID, "number": o.Number, "status": o.Status, "paymentStatus": o.PaymentStatus,
		"locationId": o.LocationID, "channelId": o.ChannelID, "customerId": o.CustomerID,
	}
	for k, v := range extra {
		if _, usual := payload[k]; !usual {
			payload[k] = v
		}
	}
	return outbox.EnqueuePayload(ctx, tx, EventQueue, o.ID, payload)
}

// snapshotOf is the frozen pricing of a priced cart.
func snapshotOf(res pricing.Result, at time.Time) Snapshot {
	return Snapshot{Adjustments: res.Adjustments, Coupons: res.Coupons, Skipped: res.Skipped, PricedAt: at.UTC()}
}
