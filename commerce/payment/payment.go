// Package payment is the vocabulary orders and the payment provider adapter
// share: the small Gateway interface the domain calls out through, and the
// verified provider events it receives back. The Stripe adapter lives in
// payments/; commerce never imports it.
package payment

import (
	"context"
	"time"

	"github.com/omnicanal/omnicanal/commerce"
)

// IntentStatus is a payment intent's state as the provider reports it
// (Stripe's names).
type IntentStatus string

const (
	RequiresPaymentMethod IntentStatus = "requires_payment_method"
	RequiresConfirmation  IntentStatus = "requires_confirmation"
	RequiresAction        IntentStatus = "requires_action"
	Processing            IntentStatus = "processing"
	RequiresCapture       IntentStatus = "requires_capture"
	Canceled              IntentStatus = "canceled"
	Succeeded             IntentStatus = "succeeded"
)

// Intent is a provider payment intent. ClientSecret goes to the paying
// client only; it is never logged nor stored.
type Intent struct {
	ID           string
	ClientSecret string
	Status       IntentStatus
	Amount       commerce.Money
	// Received is what the provider says was captured so far.
	Received commerce.Money
}

// IntentRequest asks for an intent of Amount for one order. IdempotencyKey
// must be the same for every attempt for that order (e.g. "order:<id>"), so
// that a retry after a lost response does not create a second intent.
type IntentRequest struct {
	OrderID        commerce.ID
	Amount         commerce.Money
	IdempotencyKey string
	Description    string
}

// RefundRequest gives back Amount of a captured intent.
type RefundRequest struct {
	IntentID       string
	Amount         commerce.Money
	IdempotencyKey string
	Reason         string
}

// Refund is a provider refund.
type Refund struct {
	ID     string
	Status string
	Amount commerce.Money
}

// Gateway is what the domain needs from a card payment provider. Callers
// never hold a database transaction open across a Gateway call: they record
// the intent, commit, call out with an idempotency key, then record the
// result.
type Gateway interface {
	CreateIntent(ctx context.Context, req IntentRequest) (Intent, error)
	GetIntent(ctx context.Context, intentID string) (Intent, error)
	// CancelIntent voids an intent that has not been captured.
	CancelIntent(ctx context.Context, intentID, idempotencyKey string) (Intent, error)
	Refund(ctx context.Context, req RefundRequest) (Refund, error)
}

// EventType is a provider event reduced to what orders act on.
type EventType string

const (
	IntentSucceeded     EventType = "payment_intent.succeeded"
	IntentPaymentFailed EventType = "payment_intent.payment_failed"
	IntentCanceled      EventType = "payment_intent.canceled"
	IntentProcessing    EventType = "payment_intent.processing"
	ChargeRefunded      EventType = "charge.refunded"
)

// Event is a provider event whose signature has been verified. Handlers
// must be idempotent by ID (a provider delivers at least once, in any
// order).
type Event struct {
	// ID is the provider's event id, unique per event.
	ID   string
	Type EventType
	// Created is when the provider created the event; events arrive in
	// any order, so handlers compare states, not arrival times.
	Created  time.Time
	IntentID string
	// OrderID comes from the intent's metadata when present.
	OrderID *commerce.ID
	// Amount is the intent's amount; Received the amount captured, or for
	// a refund event the amount refunded so far.
	Amount   commerce.Money
	Received commerce.Money
}

// EventHandler applies verified events; the order service implements it.
// A nil error means the event was applied or was already applied (or is
// of no interest): the webhook answers 2xx. An error makes the provider
// deliver it again later.
type EventHandler interface {
	HandlePaymentEvent(ctx context.Context, ev Event) error
}
