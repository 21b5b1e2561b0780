// Package order turns carts into orders and follows them to the end: checkout
// (prices, offers and taxes frozen, stock reserved, payment started, all in
// one transaction), payments (provider intents created after commit,
// verified webhooks and client confirmations applied once), expiry of unpaid
// reservations, cancellation with stock release and refund, and reads for
// customers, guests and staff.
//
// # State machine
//
// An order has a status and a payment status, each moved only along the
// tables of [CanTransition] and [CanTransitionPayment]; every move writes an
// order_transitions row (who, through which channel, when, why) and an
// outbox event in the transaction that makes it. docs/orders.md draws them.
//
// # Access
//
// An order is reached by its customer (signed in), a guest holding one of
// its order tokens ("ot_…", given at checkout), or staff: associates for the
// orders of their locations, admins and merchandisers for all. Anything else
// is NOT_FOUND, as for an order that does not exist.
//
// # For other areas
//
// Pickup and returns move orders with the exported …Tx helpers
// ([FindOrderByIDTx] with lock, [TransitionTx], [SetPaymentStatusTx],
// [Service.EndTx], [EnqueueEventTx]) inside their own transactions, so
// that the state machine, the transition log and the events stay in one
// place.
package order

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/pricing"
)

// Status is where an order is in its life.
type Status string

const (
	// PendingPayment: checked out with online payment, not paid yet; the
	// stock is reserved until ExpiresAt.
	PendingPayment Status = "pending_payment"
	// Placed: paid online, or to be paid at pickup, or paid in store; the
	// stock is allocated.
	Placed Status = "placed"
	// Preparing: a store or warehouse is picking the items.
	Preparing      Status = "preparing"
	ReadyForPickup Status = "ready_for_pickup"
	PickedUp       Status = "picked_up"
	Shipped        Status = "shipped"
	Cancelled      Status = "cancelled"
	// Expired: not paid in time, or not collected within the hold period.
	Expired Status = "expired"
)

// Open tells whether the order may still change status.
func (s Status) Open() bool {
	switch s {
	case PendingPayment, Placed, Preparing, ReadyForPickup:
		return true
	}
	return false
}

// transitions is the order state machine: from → the statuses it may go to.
var transitions = map[Status][]Status{
	PendingPayment: {Placed, Cancelled, Expired},
	Placed:         {Preparing, Cancelled, Expired},
	Preparing:      {ReadyForPickup, Shipped, Cancelled, Expired},
	ReadyForPickup: {PickedUp, Cancelled, Expired},
}

// CanTransition tells whether an order may go from one status to another.
// A status never goes to itself: applying a move twice is a no-op the
// caller detects, not a transition.
func CanTransition(from, to Status) bool {
	return slices.Contains(transitions[from], to)
}

// CanTransitionFor is CanTransition with the fulfilment's own steps: only a
// pickup is ready for pickup and picked up; only a shipment ships.
func CanTransitionFor(f FulfillmentKind, from, to Status) bool {
	switch to {
	case ReadyForPickup, PickedUp:
		if f != Pickup {
			return false
		}
	case Shipped:
		if f != Shipping {
			return false
		}
	}
	return CanTransition(from, to)
}

// PaymentStatus is where an order's payment is.
type PaymentStatus string

const (
	// Unpaid: nothing asked yet (pay at pickup, or an intent not created).
	Unpaid PaymentStatus = "unpaid"
	// PaymentPending: an intent exists or is processing.
	PaymentPending    PaymentStatus = "pending"
	Paid              PaymentStatus = "paid"
	Refunded          PaymentStatus = "refunded"
	PartiallyRefunded PaymentStatus = "partially_refunded"
	// Voided: the intent was cancelled before any capture.
	Voided PaymentStatus = "voided"
	// PaymentFailed: the last attempt failed; the shopper may try again
	// on the same intent until the reservation expires.
	PaymentFailed PaymentStatus = "failed"
)

// paymentTransitions only move forward: a late "processing" after
// "succeeded" finds no edge and changes nothing.
var paymentTransitions = map[PaymentStatus][]PaymentStatus{
	Unpaid:         {PaymentPending, Paid, PaymentFailed, Voided},
	PaymentPending: {Paid, PaymentFailed, Voided},
	PaymentFailed:  {PaymentPending, Paid, Voided},
	// A void that came too late: the provider captured the payment before
	// the cancellation reached it. The money is real; the order, ended,
	// refunds it.
	Voided:            {Paid},
	Paid:              {PartiallyRefunded, Refunded},
	PartiallyRefunded: {Refunded},
}

// CanTransitionPayment tells whether a payment may go from one status to
// another. A partial refund growing (partially_refunded again, with a
// larger amount) is not a status change; SetPaymentStatusTx records the
// amount.
func CanTransitionPayment(from, to PaymentStatus) bool {
	return slices.Contains(paymentTransitions[from], to)
}

// PaymentMethod is how the shopper pays.
type PaymentMethod string

const (
	// Online: a card payment through the provider (Stripe), before the
	// order is placed.
	Online PaymentMethod = "online"
	// AtPickup: paid in the store when collecting.
	AtPickup PaymentMethod = "at_pickup"
	// InStore: paid now at the till, recorded by an associate.
	InStore PaymentMethod = "in_store"
)

// Tender is how an in-store payment was made.
type Tender string

const (
	Cash     Tender = "cash"
	Terminal Tender = "terminal"
)

// FulfillmentKind is how the goods reach the shopper.
type FulfillmentKind string

const (
	Pickup   FulfillmentKind = "pickup"
	Shipping FulfillmentKind = "shipping"
)

// ActorKind is who made a transition.
type ActorKind string

const (
	ActorCustomer ActorKind = "customer"
	ActorStaff    ActorKind = "staff"
	ActorSystem   ActorKind = "system"
	ActorProvider ActorKind = "provider"
)

// Actor is who makes a change and through which channel.
type Actor struct {
	Kind ActorKind
	// ID is the customer or staff user; nil for a guest, the system or
	// the provider.
	ID        *commerce.ID
	ChannelID *commerce.ID
}

// Address is a shipping address.
type Address struct {
	Name        string `json:"name"`
	Line1       string `json:"line1"`
	Line2       string `json:"line2,omitempty"`
	City        string `json:"city"`
	PostalCode  string `json:"postalCode"`
	Region      string `json:"region,omitempty"`
	CountryCode string `json:"countryCode"`
	Phone       string `json:"phone,omitempty"`
	// Lat and Lng, when the client knows them, choose the nearest
	// location to ship from.
	Lat *float64 `json:"lat,omitempty"`
	Lng *float64 `json:"lng,omitempty"`
}

// Order is an order with its lines.
type Order struct {
	ID commerce.ID
	// Shipment is the carrier and tracking of a shipped order; nil before.
	Shipment *Shipment
	// Number is the human-readable number, e.g. "MS-000123".
	Number        string
	CustomerID    *commerce.ID
	Email         string
	CartID        *commerce.ID
	ChannelID     commerce.ID
	Status        Status
	PaymentStatus PaymentStatus
	PaymentMethod PaymentMethod
	Fulfillment   FulfillmentKind
	// LocationID is the pickup store, or the location that ships.
	LocationID      commerce.ID
	ShippingAddress *Address
	Currency        commerce.Currency
	Subtotal        commerce.Money
	// Discount is every line and order discount, shipping excluded.
	Discount         commerce.Money
	Shipping         commerce.Money
	ShippingDiscount commerce.Money
	// Tax is included in Total (prices are tax-inclusive).
	Tax   commerce.Money
	Total commerce.Money
	// Pricing is the pricing as it was at checkout.
	Pricing Snapshot
	// ExpiresAt is when an unpaid reservation lapses.
	ExpiresAt *time.Time
	PlacedAt  *time.Time
	// Pickup (package pickup).
	ReadyAt     *time.Time
	PickedUpAt  *time.Time
	HoldUntil   *time.Time
	ArrivedAt   *time.Time
	ArrivalSpot *string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Version     int
	Lines       []Line
}

// Snapshot is the frozen pricing of an order: what explains its discounts
// for ever, whatever the offers become.
type Snapshot struct {
	// Adjustments are the order-level and shipping adjustments, each
	// with the offer, its version and its description.
	Adjustments []pricing.Adjustment   `json:"adjustments"`
	Coupons     []pricing.CouponStatus `json:"coupons,omitempty"`
	Skipped     []pricing.SkippedOffer `json:"skipped,omitempty"`
	PricedAt    time.Time              `json:"pricedAt"`
}

// Line is one line of an order, priced as at checkout.
type Line struct {
	ID           commerce.ID
	Position     int
	VariantID    commerce.ID
	ProductID    commerce.ID
	SKU          string
	Title        string
	VariantTitle string
	Quantity     int
	UnitPrice    commerce.Money
	Subtotal     commerce.Money
	Discount     commerce.Money
	Tax          commerce.Money
	Total        commerce.Money
	// TaxRatePPM is the VAT rate in millionths (200000 = 20%).
	TaxRatePPM int
	// Adjustments are the line's own offers and its shares of the
	// order-level ones, each with its explanation.
	Adjustments []pricing.Adjustment
	// ChannelID is the channel that added the line to the cart.
	ChannelID *commerce.ID
}

// Transition is one recorded change of status or payment status.
type Transition struct {
	ID int64
	// Field is "status" or "payment_status".
	Field  string
	From   string
	To     string
	Actor  Actor
	Reason string
	At     time.Time
}

// Payment is a payment of an order.
type Payment struct {
	ID       commerce.ID
	Provider string
	IntentID *string
	Amount   commerce.Money
	Received commerce.Money
	Refunded commerce.Money
	Status   PaymentStatus
	Method   PaymentMethod
	Tender   *Tender
	// Reference is the terminal's receipt reference, for in-store payments.
	Reference string
	StaffID   *commerce.ID
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Event types written to the outbox (queue [EventQueue]).
const (
	EventCreated        = "order.created"
	EventPlaced         = "order.placed"
	EventPaid           = "order.paid"
	EventPaymentFailed  = "order.payment_failed"
	EventCancelled      = "order.cancelled"
	EventExpired        = "order.expired"
	EventRefunded       = "order.refunded"
	EventPreparing      = "order.preparing"
	EventReadyForPickup = "order.ready_for_pickup"
	EventPickedUp       = "order.picked_up"
	EventShipped        = "order.shipped"
)

// statusEvent is the event a move to a status writes.
var statusEvent = map[Status]string{
	PendingPayment: EventCreated,
	Placed:         EventPlaced,
	Preparing:      EventPreparing,
	ReadyForPickup: EventReadyForPickup,
	PickedUp:       EventPickedUp,
	Shipped:        EventShipped,
	Cancelled:      EventCancelled,
	Expired:        EventExpired,
}

// TaxRatePercent is the VAT rate as a decimal percentage: "20", "14.975".
func (l Line) TaxRatePercent() string {
	whole, frac := l.TaxRatePPM/10000, l.TaxRatePPM%10000
	if frac == 0 {
		return strconv.Itoa(whole)
	}
	return strconv.Itoa(whole) + "." + strings.TrimRight(fmt.Sprintf("%04d", frac), "0")
}
