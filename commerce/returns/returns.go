// Package returns takes back units of orders, from any channel, in any
// store: a customer (or a guest with the order token) starts a return of
// an order they reach, naming the store they will bring the units to; a
// store associate takes a return over the counter, for any order, into a
// store they work in (an online order shipped from a warehouse may come
// back to Paris).
//
// # When stock and money move
//
// The units go back on hand at the receiving store, with 'returned' ledger
// rows (inventory.RestockTx), when the store has them:
//
//   - a return taken by an associate is received at once: created,
//     restocked and refunded in one transaction (the online refund after
//     commit);
//   - a return started by a customer is "requested": nothing is restocked
//     nor refunded until an associate of the receiving store receives it
//     (ReceiveReturn), after checking the units.
//
// Either way the returned quantities are counted against the order lines
// at creation, so two returns (concurrent or not) can never take back more
// units of a line than were bought: the order row is locked, then its
// lines in position order, and order_lines.returned_quantity only rises
// through a conditional update.
//
// # Refunds
//
// The amount follows the refund rule of ComputeRefund, on the prices and
// offer versions frozen in the order. It goes back "original" (the order's
// payment: a provider refund with the idempotency key "return:<return id>",
// made after commit and recorded by order.Service.RefundOnline; for an
// order paid in store, the till's tender) or in "cash" at the till by the
// associate (order.RecordInStoreRefundTx). A provider refund that failed
// leaves the return refund_status "pending": the same request again (same
// idempotency key) or ReceiveReturn retries it with the same key, so the
// customer is refunded once.
//
// Events go to the outbox queue [EventQueue]: return.created,
// return.received, return.refunded; the order's own order.refunded is
// written for every refund (by the order package when the payment status
// moves, here when it stays partially_refunded).
package returns

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/internal/db"
	"github.com/omnicanal/omnicanal/commerce/inventory"
	"github.com/omnicanal/omnicanal/commerce/offer"
	"github.com/omnicanal/omnicanal/commerce/order"
	"github.com/omnicanal/omnicanal/commerce/outbox"
	"github.com/omnicanal/omnicanal/commerce/pricing"
)

// EventQueue is the outbox queue of return events; the payload is
// {"type": "return.created", "returnId", "orderId", "locationId", "status",
// "refundAmount", "refundStatus"}.
const EventQueue = "return_events"

// Event types.
const (
	EventCreated  = "return.created"
	EventReceived = "return.received"
	EventRefunded = "return.refunded"
)

// Status is where a return is.
type Status string

const (
	// Requested: started by the customer; the units are not in the store yet.
	Requested Status = "requested"
	// Received: the units are in the receiving store, restocked.
	Received Status = "received"
)

// RefundMethod is how a return's money goes back.
type RefundMethod string

const (
	// Original: to the order's payment (the card through the provider, or
	// the till's tender for an order paid in store).
	Original RefundMethod = "original"
	// Cash: at the till, by the associate who takes the return.
	Cash RefundMethod = "cash"
)

// RefundStatus is where a return's refund is.
type RefundStatus string

const (
	RefundNone     RefundStatus = "none"
	RefundPending  RefundStatus = "pending"
	RefundRefunded RefundStatus = "refunded"
)

// Input asks for a return.
type Input struct {
	OrderID commerce.ID
	// Token is a guest's order token; empty otherwise.
	Token string
	// LocationID is the receiving store.
	LocationID commerce.ID
	Lines      []LineInput
	Reason     string
	Refund     RefundInput
	// IdempotencyKey (16–200 characters) makes a retry return the same
	// return; it is unique per staff user, customer, or (guests) order.
	IdempotencyKey string
}

// LineInput is units of one order line.
type LineInput struct {
	OrderLineID commerce.ID
	Quantity    int
}

// RefundInput says how to refund.
type RefundInput struct {
	Method RefundMethod
}

// Return is a return of units of an order.
type Return struct {
	ID           commerce.ID
	OrderID      commerce.ID
	LocationID   commerce.ID
	Status       Status
	Reason       string
	RefundMethod RefundMethod
	// Refund is what the return gives back; Clawback the discount the kept
	// units lost, already taken from it.
	Refund       commerce.Money
	Clawback     commerce.Money
	RefundStatus RefundStatus
	Lines        []Line
	CreatedAt    time.Time
	ReceivedAt   *time.Time
	RefundedAt   *time.Time
}

// Line is units of one order line in a return.
type Line struct {
	OrderLineID commerce.ID
	VariantID   commerce.ID
	Quantity    int
	// Paid is the units' share of what the line was paid.
	Paid commerce.Money
}

// Service takes returns.
type Service struct {
	pool      *pgxpool.Pool
	orders    *order.Service
	inventory *inventory.Service
	offers    *offer.Service
	log       *slog.Logger
}

// NewService returns a returns service. offers reads the offer versions
// that priced an order (the refund rule re-prices the kept units with
// them).
func NewService(pool *pgxpool.Pool, orders *order.Service, inv *inventory.Service, offers *offer.Service, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{pool: pool, orders: orders, inventory: inv, offers: offers, log: log}
}

// Validate checks the input's shape.
func (in *Input) Validate() error {
	if in.OrderID == (commerce.ID{}) {
		return commerce.InvalidInput("orderId", "an order is required")
	}
	if in.LocationID == (commerce.ID{}) {
		return commerce.InvalidInput("locationId", "the receiving store is required")
	}
	if len(in.Lines) == 0 {
		return commerce.InvalidInput("lines", "a return needs at least one line")
	}
	if len(in.Lines) > 500 {
		return commerce.InvalidInput("lines", "a return has at most 500 lines")
	}
	seen := map[commerce.ID]bool{}
	for i, l := range in.Lines {
		if l.OrderLineID == (commerce.ID{}) {
			return commerce.InvalidInput(fmt.Sprintf("lines[%d].orderLineId", i), "an order line is required")
		}
		if seen[l.OrderLineID] {
			return commerce.InvalidInput(fmt.Sprintf("lines[%d].orderLineId", i), "this order line is listed twice")
		}
		seen[l.OrderLineID] = true
		if l.Quantity <= 0 {
			return commerce.InvalidInput(fmt.Sprintf("lines[%d].quantity", i), "the quantity must be positive")
		}
	}
	if len(in.Reason) > 500 {
		return commerce.InvalidInput("reason", "a reason has at most 500 characters")
	}
	if in.Refund.Method != Original && in.Refund.Method != Cash {
		return commerce.InvalidInput("refund.method", "the refund method is original or cash")
	}
	if n := len(in.IdempotencyKey); n < 16 || n > 200 {
		return commerce.InvalidInput("idempotencyKey", "an idempotency key has 16 to 200 characters")
	}
	return nil
}

// counterRoles may take and receive returns (and give money back at the
// till): as at the pickup desk, merchandisers are not store staff.
var counterRoles = []commerce.Role{commerce.RoleAdmin, commerce.RoleAssociate}

// who is the request, as far as returns go.
type who struct {
	staff    *commerce.Principal
	customer *commerce.ID
}

func (w who) scope(orderID commerce.ID) string {
	switch {
	case w.staff != nil:
		return "staff:" + w.staff.StaffID.String()
	case w.customer != nil:
		return "customer:" + w.customer.String()
	}
	return "order:" + orderID.String()
}

func (w who) actor() order.Actor {
	if w.staff != nil {
		id := w.staff.StaffID
		return order.Actor{Kind: order.ActorStaff, ID: &id}
	}
	return order.Actor{Kind: order.ActorCustomer, ID: w.customer}
}

func whoFrom(ctx context.Context) who {
	var w who
	if p, ok := commerce.PrincipalFrom(ctx); ok && p.StaffID != (commerce.ID{}) {
		w.staff = &p
		return w
	}
	if id, ok := commerce.CustomerFrom(ctx); ok {
		w.customer = &id
	}
	return w
}

// CreateReturn records a return of in.Lines of the order (see the package
// doc for who may, and when stock and money move). The order must have
// been handed over or shipped and paid. A retry with the same idempotency
// key returns the same return (retrying its refund if the provider could
// not be reached); the key used for another order is a CONFLICT.
//
// Errors: NOT_FOUND for an order the request cannot reach; FORBIDDEN for
// an associate taking a return into a store they do not work in; CONFLICT
// for an order not returnable; INVALID_INPUT for a line not in the order
// or more units than are left to return; PAYMENT_FAILED when the provider
// refund failed (the return is recorded; retry with the same key).
func (s *Service) CreateReturn(ctx context.Context, in Input) (*Return, error) {
	r, err := s.createReturn(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("returns.CreateReturn: %w", err)
	}
	return r, nil
}

func (s *Service) createReturn(ctx context.Context, in Input) (*Return, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	w := whoFrom(ctx)
	var (
		o   *order.Order
		err error
	)
	if w.staff != nil {
		if !slices.Contains(counterRoles, w.staff.Role) {
			return nil, commerce.Errorf(commerce.ErrForbidden, "returns are taken by store associates and admins")
		}
		if !w.staff.InLocation(in.LocationID) {
			return nil, &commerce.Error{Code: commerce.ErrForbidden, Field: "locationId",
				Message: "you can take returns only into a store you work in"}
		}
		// An associate serves whoever walks in with a receipt: any order.
		o, err = order.FindOrderByIDTx(ctx, s.pool, in.OrderID, false)
	} else {
		if in.Refund.Method == Cash {
			return nil, &commerce.Error{Code: commerce.ErrInvalidInput, Field: "refund.method",
				Message: "a cash refund is given at the till by a store associate"}
		}
		o, err = s.orders.FindOrder(ctx, in.OrderID, in.Token)
	}
	if err != nil {
		return nil, err
	}
	scope := w.scope(o.ID)
	keyHash := sha256.Sum256([]byte(in.IdempotencyKey))
	if r, err := s.replay(ctx, scope, keyHash[:], o.ID); r != nil || err != nil {
		return r, err
	}
	offers, err := s.offerVersions(ctx, o)
	if err != nil {
		return nil, err
	}
	groups, err := s.groups(ctx, o)
	if err != nil {
		return nil, err
	}
	var id commerce.ID
	err = db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		id, err = s.createTx(ctx, tx, w, in, offers, groups, scope, keyHash[:])
		return err
	})
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.ConstraintName == "returns_idempotency_key" {
		// A concurrent request with the same key won.
		if r, err := s.replay(ctx, scope, keyHash[:], o.ID); r != nil || err != nil {
			return r, err
		}
	}
	if err != nil {
		return nil, constraintError(err)
	}
	return s.settle(ctx, id)
}

// replay returns the return recorded under the key, after retrying its
// refund if still pending; nil when there is none.
func (s *Service) replay(ctx context.Context, scope string, keyHash []byte, orderID commerce.ID) (*Return, error) {
	var id, forOrder commerce.ID
	err := s.pool.QueryRow(ctx, `SELECT id, order_id FROM returns WHERE idempotency_scope = $1 AND idempotency_key_hash = $2`,
		scope, keyHash).Scan(&id, &forOrder)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if forOrder != orderID {
		return nil, &commerce.Error{Code: commerce.ErrConflict, Field: "idempotencyKey",
			Message: "this idempotency key was used for a return of another order"}
	}
	return s.settle(ctx, id)
}

// offerVersions reads the definitions of the offer versions that priced o.
// Versions never change, so they are read outside the transaction.
func (s *Service) offerVersions(ctx context.Context, o *order.Order) ([]pricing.Offer, error) {
	seen := map[commerce.ID]bool{}
	var out []pricing.Offer
	add := func(a pricing.Adjustment) error {
		if a.OfferID == (commerce.ID{}) || seen[a.OfferID] || a.Target == pricing.TargetShipping {
			return nil
		}
		seen[a.OfferID] = true
		def, err := s.offers.FindOfferVersion(ctx, a.OfferID, a.OfferVersion)
		if err != nil {
			return err
		}
		def.ID, def.Version = a.OfferID, a.OfferVersion
		out = append(out, *def)
		return nil
	}
	for _, a := range o.Pricing.Adjustments {
		if err := add(a); err != nil {
			return nil, err
		}
	}
	for _, l := range o.Lines {
		for _, a := range l.Adjustments {
			if err := add(a); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// groups reads the categories and collections of the order's products, for
// offers that select lines by them.
func (s *Service) groups(ctx context.Context, o *order.Order) (map[commerce.ID][]commerce.ID, error) {
	ids := make([]commerce.ID, 0, len(o.Lines))
	for _, l := range o.Lines {
		ids = append(ids, l.ProductID)
	}
	rows, err := s.pool.Query(ctx, `SELECT product_id, category_id FROM product_categories WHERE product_id = ANY($1)
		UNION ALL SELECT product_id, collection_id FROM collection_products WHERE product_id = ANY($1)`, ids)
	if err != nil {
		return nil, err
	}
	out := map[commerce.ID][]commerce.ID{}
	var p, g commerce.ID
	_, err = pgx.ForEachRow(rows, []any{&p, &g}, func() error {
		out[p] = append(out[p], g)
		return nil
	})
	return out, err
}

// createTx writes the return in tx and, for an associate, receives it.
func (s *Service) createTx(ctx context.Context, tx pgx.Tx, w who, in Input, offers []pricing.Offer,
	groups map[commerce.ID][]commerce.ID, scope string, keyHash []byte) (commerce.ID, error) {
	// Lock order: the order row, then its lines in position order.
	o, err := order.FindOrderByIDTx(ctx, tx, in.OrderID, true)
	if err != nil {
		return commerce.ID{}, err
	}
	if o.Status != order.PickedUp && o.Status != order.Shipped {
		return commerce.ID{}, &commerce.Error{Code: commerce.ErrConflict, Field: "orderId",
			Message: fmt.Sprintf("order %s is %s: only orders handed over or shipped can be returned (cancel it instead)", o.Number, o.Status)}
	}
	if err := order.CheckLocationCurrencyTx(ctx, tx, in.LocationID, o.Currency, "locationId"); err != nil {
		return commerce.ID{}, err
	}
	returned := map[commerce.ID]int{}
	rows, err := tx.Query(ctx, `SELECT id, returned_quantity FROM order_lines WHERE order_id = $1 ORDER BY position FOR UPDATE`, o.ID)
	if err != nil {
		return commerce.ID{}, err
	}
	var (
		lineID commerce.ID
		n      int
	)
	if _, err := pgx.ForEachRow(rows, []any{&lineID, &n}, func() error { returned[lineID] = n; return nil }); err != nil {
		return commerce.ID{}, err
	}
	returning := map[commerce.ID]int{}
	for i, l := range in.Lines {
		idx := slices.IndexFunc(o.Lines, func(ol order.Line) bool { return ol.ID == l.OrderLineID })
		if idx < 0 {
			return commerce.ID{}, commerce.InvalidInput(fmt.Sprintf("lines[%d].orderLineId", i), "this line is not in order %s", o.Number)
		}
		if left := o.Lines[idx].Quantity - returned[l.OrderLineID]; l.Quantity > left {
			return commerce.ID{}, commerce.InvalidInput(fmt.Sprintf("lines[%d].quantity", i),
				"%d of this line can still be returned (%d bought)", left, o.Lines[idx].Quantity)
		}
		returning[l.OrderLineID] = l.Quantity
	}
	// Checked after the lines, so that returning what was all returned
	// already says so (INVALID_INPUT), whatever the payment became since.
	if o.PaymentStatus != order.Paid && o.PaymentStatus != order.PartiallyRefunded {
		return commerce.ID{}, &commerce.Error{Code: commerce.ErrConflict, Field: "orderId",
			Message: fmt.Sprintf("the payment of order %s is %s: nothing to return against", o.Number, o.PaymentStatus)}
	}
	var refundedBefore, received, otherRefunds int64
	if err := tx.QueryRow(ctx, `SELECT coalesce(sum(refund_amount), 0) FROM returns WHERE order_id = $1`, o.ID).Scan(&refundedBefore); err != nil {
		return commerce.ID{}, err
	}
	if err := tx.QueryRow(ctx, `SELECT
			coalesce((SELECT sum(received) FROM order_payments WHERE order_id = $1), 0),
			coalesce((SELECT sum(amount) FROM order_refunds WHERE order_id = $1 AND idempotency_key NOT LIKE 'return:%'), 0)`,
		o.ID).Scan(&received, &otherRefunds); err != nil {
		return commerce.ID{}, err
	}
	rin := RuleInput{Currency: o.Currency, Offers: offers, RefundedBefore: refundedBefore}
	for _, l := range o.Lines {
		rl := RefundLine{ID: l.ID, VariantID: l.VariantID, ProductID: l.ProductID, CategoryIDs: groups[l.ProductID],
			CollectionIDs: groups[l.ProductID], UnitPrice: l.UnitPrice, Quantity: l.Quantity, Total: l.Total,
			Returned: returned[l.ID], Returning: returning[l.ID]}
		for _, a := range l.Adjustments {
			rl.OfferIDs = append(rl.OfferIDs, a.OfferID)
		}
		rin.Lines = append(rin.Lines, rl)
	}
	res, err := ComputeRefund(rin)
	if err != nil {
		return commerce.ID{}, err
	}
	// Never more than the payments still hold.
	amount := max(0, min(res.Amount, received-otherRefunds-refundedBefore))
	clawback := max(0, res.Paid-amount)

	r := &Return{ID: commerce.NewID(), OrderID: o.ID, LocationID: in.LocationID, Status: Requested, Reason: in.Reason,
		RefundMethod: in.Refund.Method, Refund: commerce.Money{Amount: amount, Currency: o.Currency},
		Clawback: commerce.Money{Amount: clawback, Currency: o.Currency}, RefundStatus: RefundPending}
	if amount == 0 {
		r.RefundStatus = RefundNone
	}
	kind := "customer"
	if w.staff != nil {
		kind = "staff"
	}
	actor := w.actor()
	if _, err := tx.Exec(ctx, `INSERT INTO returns (id, order_id, location_id, status, reason, refund_method, currency_code,
			refund_amount, clawback, refund_status, created_by_kind, created_by_id, idempotency_scope, idempotency_key_hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		r.ID, o.ID, r.LocationID, string(r.Status), r.Reason, string(r.RefundMethod), string(o.Currency), amount, clawback,
		string(r.RefundStatus), kind, actor.ID, scope, keyHash); err != nil {
		return commerce.ID{}, err
	}
	for i, l := range o.Lines {
		q := returning[l.ID]
		if q == 0 {
			continue
		}
		if _, err := tx.Exec(ctx, `INSERT INTO return_lines (return_id, order_id, order_line_id, variant_id, quantity, paid)
			VALUES ($1, $2, $3, $4, $5, $6)`, r.ID, o.ID, l.ID, l.VariantID, q, res.Lines[i]); err != nil {
			return commerce.ID{}, err
		}
		// The row is locked and checked above; the condition keeps the
		// invariant even for a caller that forgot the lock.
		tag, err := tx.Exec(ctx, `UPDATE order_lines SET returned_quantity = returned_quantity + $3
			WHERE order_id = $1 AND id = $2 AND returned_quantity + $3 <= quantity`, o.ID, l.ID, q)
		if err != nil {
			return commerce.ID{}, err
		}
		if tag.RowsAffected() != 1 {
			return commerce.ID{}, commerce.Errorf(commerce.ErrConflict, "more units of a line than were bought")
		}
		r.Lines = append(r.Lines, Line{OrderLineID: l.ID, VariantID: l.VariantID, Quantity: q})
	}
	if err := enqueue(ctx, tx, EventCreated, r); err != nil {
		return commerce.ID{}, err
	}
	if w.staff != nil {
		if err := s.receiveTx(ctx, tx, o, r, w.staff.StaffID); err != nil {
			return commerce.ID{}, err
		}
	}
	return r.ID, nil
}

// receiveTx receives the requested return r of the locked order o in tx:
// restocks its units at the receiving store and refunds what can be
// refunded in the transaction (cash, or an in-store payment's tender); an
// online refund is left pending for settle, after commit.
func (s *Service) receiveTx(ctx context.Context, tx pgx.Tx, o *order.Order, r *Return, staffID commerce.ID) error {
	lines := make([]inventory.Line, len(r.Lines))
	for i, l := range r.Lines {
		lines[i] = inventory.Line{VariantID: l.VariantID, Quantity: l.Quantity}
	}
	if err := s.inventory.RestockTx(ctx, tx, r.LocationID, lines, &o.ID, "return "+r.ID.String()+" of order "+o.Number); err != nil {
		return err
	}
	r.Status = Received
	if _, err := tx.Exec(ctx, `UPDATE returns SET status = 'received', received_by = $2, received_at = now(), updated_at = now()
		WHERE id = $1`, r.ID, staffID); err != nil {
		return err
	}
	if err := enqueue(ctx, tx, EventReceived, r); err != nil {
		return err
	}
	if r.RefundStatus != RefundPending {
		return nil
	}
	tender := order.Cash
	if r.RefundMethod == Original {
		if o.PaymentMethod == order.Online {
			return nil // the provider, after commit
		}
		var t *string
		err := tx.QueryRow(ctx, `SELECT tender FROM order_payments WHERE order_id = $1 AND provider = 'in_store'
			ORDER BY created_at LIMIT 1`, o.ID).Scan(&t)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if t != nil {
			tender = order.Tender(*t)
		}
	}
	before := o.PaymentStatus
	if err := order.RecordInStoreRefundTx(ctx, tx, o, r.Refund, tender, staffID, refundKey(r.ID), refundReason(r)); err != nil {
		return err
	}
	return s.markRefundedTx(ctx, tx, o, r, before)
}

// markRefundedTx records that r's refund was given, and writes
// order.refunded when the order's payment status did not move (a move
// wrote it already).
func (s *Service) markRefundedTx(ctx context.Context, tx pgx.Tx, o *order.Order, r *Return, before order.PaymentStatus) error {
	tag, err := tx.Exec(ctx, `UPDATE returns SET refund_status = 'refunded', refunded_at = now(), updated_at = now()
		WHERE id = $1 AND refund_status = 'pending'`, r.ID)
	if err != nil || tag.RowsAffected() == 0 {
		return err
	}
	r.RefundStatus = RefundRefunded
	if o.PaymentStatus == before {
		if err := order.EnqueueEventTx(ctx, tx, order.EventRefunded, o); err != nil {
			return err
		}
	}
	return enqueue(ctx, tx, EventRefunded, r)
}

func refundKey(id commerce.ID) string { return "return:" + id.String() }

func refundReason(r *Return) string {
	if r.Reason == "" {
		return "return " + r.ID.String()
	}
	return "return: " + r.Reason
}

// settle gives a received return's pending online refund through the
// provider (after commit; the key "return:<id>" makes retries count once)
// and returns the return as it is then.
func (s *Service) settle(ctx context.Context, id commerce.ID) (*Return, error) {
	r, err := findReturn(ctx, s.pool, id)
	if err != nil {
		return nil, err
	}
	if r.Status != Received || r.RefundStatus != RefundPending || r.RefundMethod != Original {
		return r, nil
	}
	var before order.PaymentStatus
	if err := s.pool.QueryRow(ctx, `SELECT payment_status FROM orders WHERE id = $1`, r.OrderID).Scan(&before); err != nil {
		return nil, err
	}
	if err := s.orders.RefundOnline(ctx, r.OrderID, r.Refund, refundKey(r.ID), refundReason(r)); err != nil {
		return nil, err
	}
	err = db.InTx(context.WithoutCancel(ctx), s.pool, func(tx pgx.Tx) error {
		o, err := order.FindOrderByIDTx(ctx, tx, r.OrderID, true)
		if err != nil {
			return err
		}
		return s.markRefundedTx(ctx, tx, o, r, before)
	})
	if err != nil {
		return nil, err
	}
	return findReturn(ctx, s.pool, id)
}

// ReceiveReturn is an associate of the receiving store taking in the units
// of a return the customer started: they are restocked there and the
// refund given (to the original payment). Receiving it again changes
// nothing, but retries a refund the provider could not make. NOT_FOUND for
// a return of a store the associate does not work in.
func (s *Service) ReceiveReturn(ctx context.Context, id commerce.ID) (*Return, error) {
	p, err := commerce.RequireRole(ctx, counterRoles...)
	if err != nil {
		return nil, fmt.Errorf("returns.ReceiveReturn: %w", err)
	}
	r, err := findReturn(ctx, s.pool, id)
	if err == nil && !p.InLocation(r.LocationID) {
		err = commerce.NotFound("return not found")
	}
	if err != nil {
		return nil, fmt.Errorf("returns.ReceiveReturn: %w", err)
	}
	err = db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		o, err := order.FindOrderByIDTx(ctx, tx, r.OrderID, true)
		if err != nil {
			return err
		}
		cur, err := findReturnTx(ctx, tx, id, true)
		if err != nil || cur.Status != Requested {
			return err
		}
		return s.receiveTx(ctx, tx, o, cur, p.StaffID)
	})
	if err != nil {
		return nil, fmt.Errorf("returns.ReceiveReturn: %w", err)
	}
	r, err = s.settle(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("returns.ReceiveReturn: %w", err)
	}
	return r, nil
}

// FindReturnsByOrderID returns the returns of an order the caller has
// already read (with access), oldest first.
func (s *Service) FindReturnsByOrderID(ctx context.Context, orderID commerce.ID) ([]*Return, error) {
	rs, err := readReturns(ctx, s.pool, `r.order_id = $1`, false, orderID)
	if err != nil {
		return nil, fmt.Errorf("returns.FindReturnsByOrderID: %w", err)
	}
	return rs, nil
}

func findReturn(ctx context.Context, q db.Querier, id commerce.ID) (*Return, error) {
	return findReturnTx(ctx, q, id, false)
}

func findReturnTx(ctx context.Context, q db.Querier, id commerce.ID, lock bool) (*Return, error) {
	rs, err := readReturns(ctx, q, `r.id = $1`, lock, id)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, commerce.NotFound("return not found")
	}
	return rs[0], nil
}

func readReturns(ctx context.Context, q db.Querier, where string, lock bool, arg any) ([]*Return, error) {
	sql := `SELECT r.id, r.order_id, r.location_id, r.status, r.reason, r.refund_method, r.currency_code, r.refund_amount,
			r.clawback, r.refund_status, r.created_at, r.received_at, r.refunded_at
		FROM returns r WHERE ` + where + ` ORDER BY r.created_at, r.id`
	if lock {
		sql += ` FOR UPDATE`
	}
	rows, err := q.Query(ctx, sql, arg)
	if err != nil {
		return nil, err
	}
	var (
		out              []*Return
		byID             = map[commerce.ID]*Return{}
		r                Return
		cur              string
		amount, clawback int64
	)
	_, err = pgx.ForEachRow(rows, []any{&r.ID, &r.OrderID, &r.LocationID, &r.Status, &r.Reason, &r.RefundMethod, &cur, &amount,
		&clawback, &r.RefundStatus, &r.CreatedAt, &r.ReceivedAt, &r.RefundedAt}, func() error {
		ret := r
		c := commerce.Currency(cur)
		ret.Refund, ret.Clawback = commerce.Money{Amount: amount, Currency: c}, commerce.Money{Amount: clawback, Currency: c}
		out = append(out, &ret)
		byID[ret.ID] = &ret
		return nil
	})
	if err != nil || len(out) == 0 {
		return out, err
	}
	ids := make([]commerce.ID, len(out))
	for i, r := range out {
		ids[i] = r.ID
	}
	rows, err = q.Query(ctx, `SELECT rl.return_id, rl.order_line_id, rl.variant_id, rl.quantity, rl.paid
		FROM return_lines rl JOIN order_lines ol ON ol.order_id = rl.order_id AND ol.id = rl.order_line_id
		WHERE rl.return_id = ANY($1) ORDER BY rl.return_id, ol.position`, ids)
	if err != nil {
		return nil, err
	}
	var (
		rid  commerce.ID
		l    Line
		paid int64
	)
	_, err = pgx.ForEachRow(rows, []any{&rid, &l.OrderLineID, &l.VariantID, &l.Quantity, &paid}, func() error {
		ret := byID[rid]
		line := l
		line.Paid = commerce.Money{Amount: paid, Currency: ret.Refund.Currency}
		ret.Lines = append(ret.Lines, line)
		return nil
	})
	return out, err
}

func enqueue(ctx context.Context, tx pgx.Tx, typ string, r *Return) error {
	return outbox.EnqueuePayload(ctx, tx, EventQueue, r.ID, map[string]any{
		"type": typ, "returnId": r.ID, "orderId": r.OrderID, "locationId": r.LocationID, "status": r.Status,
		"refundAmount": r.Refund, "refundStatus": r.RefundStatus,
	})
}

// constraintError maps the returns' constraint violations to client errors.
func constraintError(err error) error {
	pgErr, ok := errors.AsType[*pgconn.PgError](err)
	if !ok {
		return err
	}
	switch pgErr.ConstraintName {
	case "returns_location_id_fkey":
		return &commerce.Error{Code: commerce.ErrInvalidInput, Field: "locationId", Err: err, Message: "no such store"}
	case "order_lines_returned_quantity_check":
		return &commerce.Error{Code: commerce.ErrConflict, Field: "lines", Err: err,
			Message: "more units of a line than were bought"}
	}
	return err
}
