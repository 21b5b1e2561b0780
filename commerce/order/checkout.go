package order

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/cart"
	"github.com/omnicanal/omnicanal/commerce/channel"
	"github.com/omnicanal/omnicanal/commerce/internal/db"
	"github.com/omnicanal/omnicanal/commerce/inventory"
	"github.com/omnicanal/omnicanal/commerce/location"
	"github.com/omnicanal/omnicanal/commerce/offer"
	"github.com/omnicanal/omnicanal/commerce/payment"
)

// CheckoutInput turns a cart into an order.
type CheckoutInput struct {
	CartID commerce.ID
	// Token is the cart's token, for a guest.
	Token       string
	Fulfillment Fulfillment
	Payment     PaymentInput
	// Email is where a guest hears about the order; a signed-in
	// customer's account email is used otherwise.
	Email string
	// IdempotencyKey makes a retry return the same order and the same
	// payment intent (optional, 16 to 200 characters; random, e.g. a
	// UUID v4). Keys are per customer, per staff user, or per channel for
	// guests; a key reused for another cart is a CONFLICT.
	IdempotencyKey string
}

// Fulfillment is exactly one of Pickup and Shipping.
type Fulfillment struct {
	Pickup   *PickupInput
	Shipping *ShippingInput
}

// PickupInput collects the order at a store that offers pickup.
type PickupInput struct {
	LocationID commerce.ID
}

// ShippingInput ships the order to Address, from FromLocationID or, without
// it, from the location chosen by the rule of [Service.Checkout].
type ShippingInput struct {
	Address        Address
	FromLocationID *commerce.ID
}

// PaymentInput is how the order is paid.
type PaymentInput struct {
	Method PaymentMethod
	// Tender and Reference, for InStore: cash or terminal, and the
	// terminal's receipt reference.
	Tender    Tender
	Reference string
}

// CheckoutResult is the order a checkout made or found.
type CheckoutResult struct {
	Order *Order
	// Token is a token of the order for a guest (shown once per call;
	// every token given keeps working); empty for a customer.
	Token string
	// Payment is the intent to confirm on the client, for online payment.
	Payment *PaymentSession
	// Replayed tells that the order existed already (a retry).
	Replayed bool
}

// PaymentSession is what a paying client needs: the intent and its client
// secret (never stored: fetched from the provider when needed).
type PaymentSession struct {
	IntentID     string
	ClientSecret string
	Status       payment.IntentStatus
}

// errShortage rolls a checkout back on a shortage (reported as a StockError).
var errShortage = errors.New("order: out of stock")

// errConverted: the cart was converted while the checkout waited for it.
var errConverted = errors.New("order: cart converted meanwhile")

// Key lengths: long enough to be unguessable, short enough to index.
const minKeyLen, maxKeyLen = 16, 200

// Checkout turns the cart into an order, in one transaction: it locks the
// cart row (concurrent checkouts of one cart queue there), prices it with
// the cart's own pricing path, checks it is active and not empty, chooses
// the location, reserves the stock there (inventory.ReserveTx: all or
// nothing), counts the offers used (offer.Redeem), writes the order, its
// lines, its first transitions and event, and marks the cart converted.
//
// Location: a pickup is at the store given, which must offer pickup. A
// shipment leaves from FromLocationID when given; otherwise from the
// locations that hold every unit, in this order: in the address's country
// first, warehouses before stores (ship-from-store only when no warehouse
// can), then nearest to the address when it has coordinates, then by code.
//
// Stock: pickup with online payment reserves the units until the payment
// hold ends (WithPaymentHold, 15 minutes by default; ExpireUnpaid releases
// them); pay at pickup allocates them (they stay until the order is
// collected, cancelled or its pickup hold expires); in-store payment
// allocates them and records the payment at once. Shipping with online
// payment reserves like pickup; pay at pickup is refused for shipping. An
// online order whose total is zero (a 100 % discount) needs no intent: it
// is placed and marked paid ("nothing to pay"), its stock allocated.
// OUT_OF_STOCK is a *StockError listing the stores that have every unit.
//
// Online payment: after commit, the provider intent is created with the
// idempotency key "order:<id>" and recorded; a retry (same key, or any
// checkout of the converted cart) finds the order and its intent. When the
// provider fails, the order is returned with a PAYMENT_FAILED error: retry
// the checkout with the same key.
//
// In-store payment needs a staff principal working at the store (the
// channel's store, or the pickup store): an associate of it or an admin.
func (s *Service) Checkout(ctx context.Context, in CheckoutInput) (*CheckoutResult, error) {
	res, err := s.checkout(ctx, in)
	if err != nil {
		return res, fmt.Errorf("order.Checkout: %w", err)
	}
	return res, nil
}

func (s *Service) checkout(ctx context.Context, in CheckoutInput) (*CheckoutResult, error) {
	ch, err := channel.Require(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.validate(ctx, ch, &in); err != nil {
		return nil, err
	}
	scope, keyHash := keyScope(ctx, ch, in.IdempotencyKey)

	// A retry finds the order without locking anything: one statement
	// tells whether there is an order for the cart or the key at all.
	var seen bool
	// Two EXISTS rather than one with OR: planned on an empty orders table
	// (a new shop), the OR became a sequential scan, and the connection's
	// cached plan stayed one as the table grew (1.1 ms a checkout after
	// 3,000 orders, docs/performance.md).
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM orders WHERE cart_id = $1)
			OR EXISTS (SELECT 1 FROM orders WHERE idempotency_scope = $2 AND idempotency_key_hash = $3)`, in.CartID, scope, keyHash).Scan(&seen); err != nil {
		return nil, err
	}
	if seen {
		if res, err := s.replay(ctx, in, scope, keyHash); res != nil || err != nil {
			return s.finish(ctx, res, err)
		}
	}
	prep, err := s.carts.PrepareCheckout(ctx, in.CartID)
	if err != nil {
		return nil, err
	}
	var (
		res      *CheckoutResult
		shortage *StockError
	)
	err = db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		res, shortage = nil, nil
		var err error
		res, shortage, err = s.checkoutTx(ctx, tx, ch, in, prep, scope, keyHash)
		if err == nil && shortage != nil {
			err = errShortage // roll back what ReserveTx did reserve
		}
		return err
	})
	if errors.Is(err, errShortage) {
		err = nil
	}
	if errors.Is(err, errConverted) {
		res, err = s.replay(ctx, in, scope, keyHash)
		if err == nil && res == nil {
			err = &commerce.Error{Code: commerce.ErrConflict, Field: "cartId", Message: "this cart was converted without an order"}
		}
	}
	if shortage != nil {
		if ferr := s.fillStores(ctx, shortage); ferr != nil {
			return nil, ferr
		}
		return nil, shortage
	}
	return s.finish(ctx, res, err)
}

// finish creates or finds the payment intent of an online order, after the
// transaction.
func (s *Service) finish(ctx context.Context, res *CheckoutResult, err error) (*CheckoutResult, error) {
	if err != nil {
		return nil, err
	}
	if res.Order.PaymentMethod != Online || res.Order.Status != PendingPayment || s.gateway == nil {
		return res, nil
	}
	sess, err := s.ensureIntent(ctx, res.Order)
	if err != nil {
		return res, err
	}
	res.Payment = sess
	// The intent's recording may have moved the payment status.
	if o, rerr := FindOrderByIDTx(ctx, s.pool, res.Order.ID, false); rerr == nil {
		res.Order = o
	}
	return res, nil
}

func (s *Service) validate(ctx context.Context, ch *channel.Channel, in *CheckoutInput) error {
	f := in.Fulfillment
	if (f.Pickup == nil) == (f.Shipping == nil) {
		return commerce.InvalidInput("fulfillment", "choose exactly one of pickup and shipping")
	}
	if f.Shipping != nil {
		a := &f.Shipping.Address
		a.CountryCode = strings.ToUpper(strings.TrimSpace(a.CountryCode))
		switch {
		case strings.TrimSpace(a.Name) == "":
			return commerce.InvalidInput("fulfillment.shipping.address.name", "a name is required")
		case strings.TrimSpace(a.Line1) == "":
			return commerce.InvalidInput("fulfillment.shipping.address.line1", "a street address is required")
		case strings.TrimSpace(a.City) == "":
			return commerce.InvalidInput("fulfillment.shipping.address.city", "a city is required")
		case strings.TrimSpace(a.PostalCode) == "":
			return commerce.InvalidInput("fulfillment.shipping.address.postalCode", "a postal code is required")
		case len(a.CountryCode) != 2 || strings.Trim(a.CountryCode, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "":
			return commerce.InvalidInput("fulfillment.shipping.address.countryCode", "a two-letter country code is required")
		case (a.Lat == nil) != (a.Lng == nil):
			return commerce.InvalidInput("fulfillment.shipping.address", "give both lat and lng, or neither")
		case a.Lat != nil:
			if err := (location.Point{Lat: *a.Lat, Lng: *a.Lng}).Validate(); err != nil {
				return commerce.InvalidInput("fulfillment.shipping.address", "lat and lng must be on Earth")
			}
		}
		for _, v := range []string{a.Name, a.Line1, a.Line2, a.City, a.PostalCode, a.Region, a.Phone} {
			if len(v) > 200 {
				return commerce.InvalidInput("fulfillment.shipping.address", "address fields have at most 200 characters")
			}
		}
	}
	switch in.Payment.Method {
	case Online:
		if s.gateway == nil {
			return &commerce.Error{Code: commerce.ErrPaymentFailed, Field: "payment.method",
				Message: "online payment is not available: pay at pickup or in store"}
		}
		if in.Payment.Tender != "" {
			return commerce.InvalidInput("payment.tender", "a tender is for in-store payments only")
		}
	case AtPickup:
		if f.Pickup == nil {
			return commerce.InvalidInput("payment.method", "paying at pickup needs a pickup order")
		}
		if in.Payment.Tender != "" {
			return commerce.InvalidInput("payment.tender", "a tender is for in-store payments only")
		}
	case InStore:
		if in.Payment.Tender != Cash && in.Payment.Tender != Terminal {
			return commerce.InvalidInput("payment.tender", "an in-store payment is in cash or by terminal")
		}
		if len(in.Payment.Reference) > 200 {
			return commerce.InvalidInput("payment.reference", "a reference has at most 200 characters")
		}
		p, err := commerce.RequireRole(ctx, commerce.RoleAdmin, commerce.RoleAssociate)
		if err != nil {
			return err
		}
		store := ch.LocationID
		if store == nil && f.Pickup != nil {
			store = &f.Pickup.LocationID
		}
		if store == nil {
			return commerce.InvalidInput("payment.method", "an in-store payment is taken at a store's till (a POS channel) or for a pickup")
		}
		if p.Role != commerce.RoleAdmin && !p.InLocation(*store) {
			return commerce.Errorf(commerce.ErrForbidden, "you do not work at this store")
		}
	default:
		return commerce.InvalidInput("payment.method", "unknown payment method %s", quoteInput(string(in.Payment.Method)))
	}
	if k := in.IdempotencyKey; k != "" && (len(k) < minKeyLen || len(k) > maxKeyLen) {
		return commerce.InvalidInput("idempotencyKey", "an idempotency key has %d to %d characters", minKeyLen, maxKeyLen)
	}
	if e := strings.TrimSpace(in.Email); e != "" {
		addr, err := mail.ParseAddress(e)
		if err != nil || addr.Address != e || len(e) > 254 {
			return commerce.InvalidInput("email", "%s is not an email address", quoteInput(e))
		}
		in.Email = strings.ToLower(e)
	}
	return nil
}

// maxQuoted is how many characters of a caller's input an error message
// quotes.
const maxQuoted = 40

// quoteInput quotes the caller's input s for an error message, cut after
// maxQuoted characters: a message never echoes a long input back.
func quoteInput(s string) string {
	if r := []rune(s); len(r) > maxQuoted {
		return strconv.Quote(string(r[:maxQuoted])) + "…"
	}
	return strconv.Quote(s)
}

// keyScope is where the idempotency key is unique, and its hash; nil hash
// for no key.
func keyScope(ctx context.Context, ch *channel.Channel, key string) (string, []byte) {
	if key == "" {
		return "", nil
	}
	h := sha256.Sum256([]byte(key))
	if p, ok := commerce.PrincipalFrom(ctx); ok && p.StaffID != (commerce.ID{}) {
		return "staff:" + p.StaffID.String(), h[:]
	}
	if id, ok := commerce.CustomerFrom(ctx); ok {
		return "customer:" + id.String(), h[:]
	}
	return "channel:" + ch.ID.String(), h[:]
}

// replay finds the order a retry is asking for: the order of the cart, for
// whoever may reach the cart. A key already used for another cart is a
// CONFLICT. It returns nil, nil when there is no order yet.
func (s *Service) replay(ctx context.Context, in CheckoutInput, scope string, keyHash []byte) (*CheckoutResult, error) {
	var res *CheckoutResult
	err := db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		res = nil
		var err error
		res, err = s.replayTx(ctx, tx, in, scope, keyHash)
		return err
	})
	return res, err
}

func (s *Service) replayTx(ctx context.Context, tx pgx.Tx, in CheckoutInput, scope string, keyHash []byte) (*CheckoutResult, error) {
	if keyHash != nil {
		var cartID *commerce.ID
		err := tx.QueryRow(ctx, `SELECT cart_id FROM orders WHERE idempotency_scope = $1 AND idempotency_key_hash = $2`,
			scope, keyHash).Scan(&cartID)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return nil, err
		case cartID == nil || *cartID != in.CartID:
			return nil, &commerce.Error{Code: commerce.ErrConflict, Field: "idempotencyKey",
				Message: "this idempotency key was already used for another cart"}
		}
	}
	var orderID commerce.ID
	err := tx.QueryRow(ctx, `SELECT id FROM orders WHERE cart_id = $1`, in.CartID).Scan(&orderID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ok, err := cart.CanReachTx(ctx, tx, in.CartID, in.Token)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &commerce.Error{Code: commerce.ErrNotFound, Field: "cartId", Message: "cart not found"}
	}
	o, err := FindOrderByIDTx(ctx, tx, orderID, false)
	if err != nil {
		return nil, err
	}
	res := &CheckoutResult{Order: o, Replayed: true}
	if o.CustomerID == nil {
		// The first call's token is not stored: give another.
		if res.Token, err = issueToken(ctx, tx, o.ID); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// target is the location an order is fulfilled from.
type target struct {
	id       commerce.ID
	kind     location.Kind
	country  string
	point    location.Point
	code     string
	pickup   bool
	currency commerce.Currency
}

// targetColumns are the columns of a target, read by findTarget and
// shipFrom.
const targetColumns = `l.id, l.kind, l.country_code, l.latitude, l.longitude, l.code, l.pickup_enabled, l.currency_code`

func (t *target) scanTargets() []any {
	return []any{&t.id, &t.kind, &t.country, &t.point.Lat, &t.point.Lng, &t.code, &t.pickup, &t.currency}
}

func findTarget(ctx context.Context, q db.Querier, id commerce.ID) (*target, error) {
	var t target
	err := q.QueryRow(ctx, `SELECT `+targetColumns+` FROM locations l WHERE l.id = $1`, id).Scan(t.scanTargets()...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return &t, err
}

func (s *Service) checkoutTx(ctx context.Context, tx pgx.Tx, ch *channel.Channel, in CheckoutInput, prep *cart.CheckoutPricing,
	scope string, keyHash []byte) (*CheckoutResult, *StockError, error) {
	c, err := s.carts.LockForCheckoutTx(ctx, tx, in.CartID, in.Token, prep)
	if err != nil {
		return nil, nil, err
	}
	if c.Status == cart.Converted {
		// Another checkout of this cart committed while we waited for its
		// lock: find its order in a transaction of its own, so that this
		// one, holding the cart, never waits for the order's row.
		return nil, nil, errConverted
	}
	if c.Status != cart.Active {
		return nil, nil, &commerce.Error{Code: commerce.ErrConflict, Field: "cartId",
			Message: fmt.Sprintf("this cart is %s and cannot be checked out", c.Status)}
	}
	if len(c.Lines) == 0 {
		return nil, nil, commerce.InvalidInput("cartId", "the cart is empty")
	}
	for i := range c.Lines {
		if c.Lines[i].Price == nil || c.Lines[i].Cost == nil {
			return nil, nil, &commerce.Error{Code: commerce.ErrInvalidInput, Field: "cartId",
				Message: fmt.Sprintf("%s has no price in %s any more; remove it from the cart", c.Lines[i].Variant.SKU, c.Currency)}
		}
	}
	now := s.now()
	orderID := commerce.NewID()
	want := wanted(c)

	// Where, and the stock there.
	var (
		expires *time.Time
		loc     *target
	)
	// An online order with nothing to pay (a 100 % discount) needs no
	// intent (the provider refuses a zero amount): it is placed and paid
	// at once, its stock allocated.
	free := in.Payment.Method == Online && c.Cost.Total.Amount == 0
	if in.Payment.Method == Online && !free {
		t := now.Add(s.hold)
		expires = &t
	}
	reason := "checkout"
	switch f := in.Fulfillment; {
	case f.Pickup != nil:
		loc, err = findTarget(ctx, tx, f.Pickup.LocationID)
		if err != nil {
			return nil, nil, err
		}
		if err := loc.sells(c.Currency, "fulfillment.pickup.locationId"); err != nil {
			return nil, nil, err
		}
		if loc == nil || loc.kind != location.Store || !loc.pickup {
			return nil, nil, commerce.InvalidInput("fulfillment.pickup.locationId", "this store does not offer pickup")
		}
		if err := s.inventory.ReserveTx(ctx, tx, orderID, loc.id, want, expires, reason); err != nil {
			if isShortage(err) {
				return nil, stockError(err, c, want, loc, "fulfillment.pickup.locationId"), nil
			}
			return nil, nil, err
		}
	case f.Shipping.FromLocationID != nil:
		loc, err = findTarget(ctx, tx, *f.Shipping.FromLocationID)
		if err != nil {
			return nil, nil, err
		}
		if err := loc.sells(c.Currency, "fulfillment.shipping.fromLocationId"); err != nil {
			return nil, nil, err
		}
		if loc == nil {
			return nil, nil, commerce.InvalidInput("fulfillment.shipping.fromLocationId", "no such location")
		}
		if err := s.inventory.ReserveTx(ctx, tx, orderID, loc.id, want, expires, reason); err != nil {
			if isShortage(err) {
				return nil, stockError(err, c, want, loc, "fulfillment.shipping.fromLocationId"), nil
			}
			return nil, nil, err
		}
	default:
		cands, err := shipFrom(ctx, tx, c.Currency, want, &f.Shipping.Address)
		if err != nil {
			return nil, nil, err
		}
		for _, cand := range cands {
			err := s.reserve(ctx, tx, orderID, cand.id, want, expires, reason)
			if err == nil {
				loc = &cand
				break
			}
			if !isShortage(err) {
				return nil, nil, err
			}
		}
		if loc == nil {
			return nil, stockError(nil, c, want, nil, "fulfillment.shipping"), nil
		}
	}

	// Offers: counted now, so that limits hold under concurrency.
	var customerID commerce.ID
	if c.CustomerID != nil {
		customerID = *c.CustomerID
	}
	if s.offers != nil {
		if err := s.offers.Redeem(ctx, tx, offer.UsesOf(c.Cost), customerID, orderID.String()); err != nil {
			return nil, nil, err
		}
	}

	// The order.
	rate, err := s.taxRate(ctx, tx, loc.country, now)
	if err != nil {
		return nil, nil, err
	}
	email := in.Email
	if c.CustomerID != nil {
		if err := tx.QueryRow(ctx, `SELECT email FROM customers WHERE id = $1`, *c.CustomerID).Scan(&email); err != nil {
			return nil, nil, fmt.Errorf("customer email: %w", err)
		}
	}
	o := &Order{ID: orderID, CustomerID: c.CustomerID, Email: email, CartID: &c.ID, ChannelID: ch.ID,
		Status: Placed, PaymentStatus: Unpaid, PaymentMethod: in.Payment.Method, LocationID: loc.id,
		Currency: c.Currency, Subtotal: c.Cost.Subtotal, Discount: c.Cost.DiscountTotal,
		Shipping: money(c.Cost.Shipping, c.Currency), ShippingDiscount: money(c.Cost.ShippingDiscount, c.Currency),
		Total: c.Cost.Total, Pricing: snapshotOf(c.Cost, now), ExpiresAt: expires}
	if in.Payment.Method == Online && !free {
		o.Status = PendingPayment
	}
	if in.Fulfillment.Pickup != nil {
		o.Fulfillment = Pickup
	} else {
		o.Fulfillment = Shipping
		addr := in.Fulfillment.Shipping.Address
		o.ShippingAddress = &addr
	}
	var tax int64
	for i := range c.Lines {
		l := &c.Lines[i]
		lt := InclusiveTax(l.Cost.Total.Amount, rate)
		tax += lt
		chID := l.AddedBy.ID
		o.Lines = append(o.Lines, Line{ID: commerce.NewID(), Position: i, VariantID: l.Variant.ID, ProductID: l.Product.ID,
			SKU: l.Variant.SKU, Title: l.Product.Title, VariantTitle: l.Variant.Title, Quantity: l.Quantity,
			UnitPrice: l.Cost.UnitPrice, Subtotal: l.Cost.Subtotal, Discount: l.Cost.Discount,
			Tax: commerce.Money{Amount: lt, Currency: c.Currency}, Total: l.Cost.Total, TaxRatePPM: rate,
			Adjustments: l.Adjustments, ChannelID: &chID})
	}
	o.Tax = commerce.Money{Amount: tax, Currency: c.Currency}
	if err := insertOrder(ctx, tx, o, scope, keyHash); err != nil {
		return nil, nil, err
	}
	actor := actorFrom(ctx)
	if _, err := tx.Exec(ctx, `INSERT INTO order_transitions (order_id, field, from_state, to_state, actor_kind, actor_id, channel_id, reason)
		VALUES ($1, 'status', '', $2, $4, $5, $6, 'checkout'), ($1, 'payment_status', '', $3, $4, $5, $6, 'checkout')`,
		o.ID, string(o.Status), string(o.PaymentStatus), string(actor.Kind), actor.ID, actor.ChannelID); err != nil {
		return nil, nil, err
	}
	if err := EnqueueEventTx(ctx, tx, statusEvent[o.Status], o); err != nil {
		return nil, nil, err
	}
	switch in.Payment.Method {
	case Online:
		status := Unpaid
		if free {
			status = Paid
		}
		if _, err := tx.Exec(ctx, `INSERT INTO order_payments (id, order_id, provider, amount, currency_code, status, method)
			VALUES ($1, $2, 'stripe', $3, $4, $5, 'online')`, commerce.NewID(), o.ID, o.Total.Amount, string(o.Currency), string(status)); err != nil {
			return nil, nil, err
		}
		if free {
			if err := SetPaymentStatusTx(ctx, tx, o, Paid, actor, "nothing to pay"); err != nil {
				return nil, nil, err
			}
		}
	case InStore:
		p, _ := commerce.PrincipalFrom(ctx)
		if err := RecordInStorePaymentTx(ctx, tx, o, in.Payment.Tender, in.Payment.Reference, p.StaffID, actor); err != nil {
			return nil, nil, err
		}
	}
	if err := cart.MarkConvertedTx(ctx, tx, c.ID); err != nil {
		return nil, nil, err
	}
	res := &CheckoutResult{Order: o}
	if o.CustomerID == nil {
		if res.Token, err = issueToken(ctx, tx, o.ID); err != nil {
			return nil, nil, err
		}
	}
	return res, nil, nil
}

func money(m commerce.Money, c commerce.Currency) commerce.Money {
	return commerce.Money{Amount: m.Amount, Currency: c}
}

// wanted is the cart's units per variant, in a fixed order (by variant id,
// so that concurrent checkouts lock stock rows in one order).
func wanted(c *cart.Cart) []inventory.Line {
	byVariant := map[commerce.ID]int{}
	for _, l := range c.Lines {
		byVariant[l.Variant.ID] += l.Quantity
	}
	out := make([]inventory.Line, 0, len(byVariant))
	for v, q := range byVariant {
		out = append(out, inventory.Line{VariantID: v, Quantity: q})
	}
	slices.SortFunc(out, func(a, b inventory.Line) int { return strings.Compare(a.VariantID.String(), b.VariantID.String()) })
	return out
}

// reserve reserves in a savepoint, so that a shortage leaves tx usable for
// the next candidate location.
func (s *Service) reserve(ctx context.Context, tx pgx.Tx, orderID, locationID commerce.ID, lines []inventory.Line, expires *time.Time, reason string) error {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return err
	}
	defer sp.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
	if err := s.inventory.ReserveTx(ctx, sp, orderID, locationID, lines, expires, reason); err != nil {
		return err
	}
	return sp.Commit(ctx)
}

func isShortage(err error) bool {
	if _, ok := errors.AsType[*inventory.ShortageError](err); ok {
		return true
	}
	return commerce.ErrorCode(err) == commerce.ErrOutOfStock
}

// haveAll is the SQL condition that location l has every unit of
// (@variants, @quantities) available.
var haveAll = `NOT EXISTS (SELECT 1 FROM unnest(@variants::uuid[], @quantities::int[]) AS w(variant_id, quantity)
	WHERE NOT EXISTS (SELECT 1 FROM stock_levels s WHERE s.variant_id = w.variant_id AND s.location_id = l.id
		AND ` + inventory.AvailableSQL("s") + ` >= w.quantity))`

func wantArgs(want []inventory.Line) pgx.NamedArgs {
	vs := make([]commerce.ID, len(want))
	qs := make([]int32, len(want))
	for i, w := range want {
		vs[i], qs[i] = w.VariantID, int32(w.Quantity)
	}
	return pgx.NamedArgs{"variants": vs, "quantities": qs}
}

// shipFrom lists the locations that hold every unit, best first (see
// Checkout).
//
// Only locations of the cart's currency cur are candidates: the automatic
// choice of a shipping origin never leaves it.
func shipFrom(ctx context.Context, q db.Querier, cur commerce.Currency, want []inventory.Line, to *Address) ([]target, error) {
	args := wantArgs(want)
	args["currency"] = string(cur)
	rows, err := q.Query(ctx, `SELECT `+targetColumns+` FROM locations l WHERE l.currency_code = @currency AND `+haveAll, args)
	if err != nil {
		return nil, err
	}
	var (
		t   target
		out []target
	)
	if _, err := pgx.ForEachRow(rows, t.scanTargets(), func() error {
		out = append(out, t)
		return nil
	}); err != nil {
		return nil, err
	}
	rank := func(t target) (int, int, float64) {
		country, kind, dist := 1, 1, 0.0
		if t.country == to.CountryCode {
			country = 0
		}
		if t.kind == location.Warehouse {
			kind = 0
		}
		if to.Lat != nil {
			dist = location.DistanceKm(location.Point{Lat: *to.Lat, Lng: *to.Lng}, t.point)
		}
		return country, kind, dist
	}
	slices.SortFunc(out, func(a, b target) int {
		ac, ak, ad := rank(a)
		bc, bk, bd := rank(b)
		return cmp.Or(cmp.Compare(ac, bc), cmp.Compare(ak, bk), cmp.Compare(ad, bd), cmp.Compare(a.code, b.code))
	})
	return out, nil
}

// StockError is an OUT_OF_STOCK refusal of a checkout: the lines short at
// the location, and the stores that have every unit.
type StockError struct {
	Field string
	// Location is where the stock was looked for; nil when no location
	// could ship the whole order.
	Location  *commerce.ID
	Shortages []Shortage
	// Stores are up to five stores offering pickup that have every unit,
	// nearest to Location first.
	Stores []location.Location

	want []inventory.Line
	from *location.Point
	// currency is the cart's: only stores of that currency are named.
	currency commerce.Currency
}

// Shortage is one variant short at the location.
type Shortage struct {
	VariantID commerce.ID
	SKU       string
	Requested int
	Available int
}

// Message is the sentence shown to the shopper.
func (e *StockError) Message() string {
	var b strings.Builder
	if e.Location == nil {
		b.WriteString("no single location can ship the whole order")
	} else {
		parts := make([]string, len(e.Shortages))
		for i, sh := range e.Shortages {
			parts[i] = fmt.Sprintf("only %d of %s available, %d wanted", sh.Available, sh.SKU, sh.Requested)
		}
		b.WriteString(strings.Join(parts, "; "))
	}
	if len(e.Stores) > 0 {
		names := make([]string, len(e.Stores))
		for i, st := range e.Stores {
			names[i] = st.Name
		}
		b.WriteString("; everything is in stock at " + strings.Join(names, ", "))
	}
	return b.String()
}

func (e *StockError) Error() string { return commerce.ErrOutOfStock + ": " + e.Message() }

// Unwrap makes the error an OUT_OF_STOCK *commerce.Error.
func (e *StockError) Unwrap() error {
	return &commerce.Error{Code: commerce.ErrOutOfStock, Field: e.Field, Message: e.Message()}
}

// stockError describes the shortage cause reported at loc (nil: no
// location could ship everything); the stores are looked up after the
// transaction (fillStores).
func stockError(cause error, c *cart.Cart, want []inventory.Line, loc *target, field string) *StockError {
	e := &StockError{Field: field, want: want, currency: c.Currency}
	if loc == nil {
		return e
	}
	e.Location, e.from = &loc.id, &loc.point
	sku := map[commerce.ID]string{}
	for _, l := range c.Lines {
		sku[l.Variant.ID] = l.Variant.SKU
	}
	if se, ok := errors.AsType[*inventory.ShortageError](cause); ok {
		for _, sh := range se.Short {
			e.Shortages = append(e.Shortages, Shortage{VariantID: sh.VariantID, SKU: sku[sh.VariantID],
				Requested: sh.Requested, Available: sh.Available})
		}
	}
	return e
}

// fillStores lists the stores that have every unit of e, after the
// transaction.
func (s *Service) fillStores(ctx context.Context, e *StockError) error {
	args := wantArgs(e.want)
	args["currency"] = string(e.currency)
	rows, err := s.pool.Query(ctx, `SELECT l.id, l.code, l.name, l.latitude, l.longitude FROM locations l
		WHERE l.kind = 'store' AND l.pickup_enabled AND l.currency_code = @currency AND `+haveAll+` ORDER BY l.code`, args)
	if err != nil {
		return fmt.Errorf("stores with stock: %w", err)
	}
	var l location.Location
	var stores []location.Location
	if _, err := pgx.ForEachRow(rows, []any{&l.ID, &l.Code, &l.Name, &l.Point.Lat, &l.Point.Lng}, func() error {
		if e.Location != nil && l.ID == *e.Location {
			return nil
		}
		st := l
		st.Kind, st.PickupEnabled = location.Store, true
		if e.from != nil {
			d := location.DistanceKm(*e.from, st.Point)
			st.DistanceKm = &d
		}
		stores = append(stores, st)
		return nil
	}); err != nil {
		return fmt.Errorf("stores with stock: %w", err)
	}
	if e.from != nil {
		slices.SortStableFunc(stores, func(a, b location.Location) int { return cmp.Compare(*a.DistanceKm, *b.DistanceKm) })
	}
	e.Stores = stores[:min(len(stores), 5)]
	return nil
}

func insertOrder(ctx context.Context, tx pgx.Tx, o *Order, scope string, keyHash []byte) error {
	var addr []byte
	if o.ShippingAddress != nil {
		var err error
		if addr, err = json.Marshal(o.ShippingAddress); err != nil {
			return err
		}
	}
	snap, err := json.Marshal(o.Pricing)
	if err != nil {
		return err
	}
	var sc *string
	if keyHash != nil {
		sc = &scope
	}
	var version int64
	err = tx.QueryRow(ctx, `INSERT INTO orders (id, customer_id, email, cart_id, channel_id, status, payment_status, payment_method,
			fulfillment, location_id, shipping_address, currency_code, subtotal, discount, shipping, shipping_discount, tax, total,
			pricing, expires_at, placed_at, idempotency_scope, idempotency_key_hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
			CASE WHEN $6 = 'placed' THEN now() END, $21, $22)
		RETURNING number, placed_at, created_at, updated_at, version`,
		o.ID, o.CustomerID, o.Email, o.CartID, o.ChannelID, string(o.Status), string(o.PaymentStatus), string(o.PaymentMethod),
		string(o.Fulfillment), o.LocationID, addr, string(o.Currency), o.Subtotal.Amount, o.Discount.Amount, o.Shipping.Amount,
		o.ShippingDiscount.Amount, o.Tax.Amount, o.Total.Amount, snap, o.ExpiresAt, sc, keyHash).
		Scan(&o.Number, &o.PlacedAt, &o.CreatedAt, &o.UpdatedAt, &version)
	if err != nil {
		return constraintError(err)
	}
	o.Version = int(version)
	b := &pgx.Batch{}
	for _, l := range o.Lines {
		adjs, err := json.Marshal(l.Adjustments)
		if err != nil {
			return err
		}
		if adjs == nil || string(adjs) == "null" {
			adjs = []byte("[]")
		}
		b.Queue(`INSERT INTO order_lines (order_id, id, position, variant_id, product_id, sku, title, variant_title,
				quantity, unit_price, subtotal, discount, tax, total, tax_rate_ppm, adjustments, channel_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
			o.ID, l.ID, l.Position, l.VariantID, l.ProductID, l.SKU, l.Title, l.VariantTitle, l.Quantity, l.UnitPrice.Amount,
			l.Subtotal.Amount, l.Discount.Amount, l.Tax.Amount, l.Total.Amount, l.TaxRatePPM, adjs, l.ChannelID)
	}
	return tx.SendBatch(ctx, b).Close()
}
