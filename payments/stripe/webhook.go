package stripepay

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/payment"
)

const (
	// WebhookPath is where Stripe is told to deliver events.
	WebhookPath = "/webhooks/stripe"
	// MaxWebhookBytes bounds a webhook body; Stripe's events are far smaller.
	MaxWebhookBytes = 64 << 10
	// WebhookTolerance is how old a signature may be: older deliveries are
	// refused as replays (Stripe's own default).
	WebhookTolerance = 5 * time.Minute
)

// WebhookHandler receives Stripe's webhook deliveries (POST WebhookPath):
// it verifies the Stripe-Signature header with the endpoint's signing
// secret, turns the events orders act on into payment.Event and hands them
// to Events.
//
// Answers: 400 for a missing, bad or stale signature or an unreadable
// event; 413 for a body over MaxWebhookBytes; 200 for an event applied,
// already applied or of a type orders ignore; 500 when Events fails, so
// that Stripe delivers it again later; 503 while Events is nil (not wired).
// Deliveries are at least once and in any order: Events must be idempotent
// by event id.
type WebhookHandler struct {
	secret string
	events payment.EventHandler
	log    *slog.Logger
}

// NewWebhookHandler returns the handler for the endpoint's signing secret
// (whsec_...). events may be nil until orders are wired: deliveries then
// get 503 and Stripe retries them. A nil log discards.
func NewWebhookHandler(secret string, events payment.EventHandler, log *slog.Logger) *WebhookHandler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &WebhookHandler{secret: secret, events: events, log: log}
}

func (h *WebhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		webhookError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	if h.events == nil || h.secret == "" {
		webhookError(w, http.StatusServiceUnavailable, "payments are not configured")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWebhookBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			webhookError(w, http.StatusRequestEntityTooLarge, "body too large")
			return
		}
		webhookError(w, http.StatusBadRequest, "unreadable body")
		return
	}
	sig := r.Header.Get("Stripe-Signature")
	if sig == "" {
		webhookError(w, http.StatusBadRequest, "missing Stripe-Signature")
		return
	}
	// The API version of an event is the account's (or the endpoint's),
	// not necessarily stripe-go's: the few fields read here are stable
	// across versions, so a mismatch is not a reason to refuse it.
	se, err := webhook.ConstructEventWithOptions(body, sig, h.secret, webhook.ConstructEventOptions{
		Tolerance:                WebhookTolerance,
		IgnoreAPIVersionMismatch: true,
	})
	if err != nil {
		// The body is never logged: an intent in it carries its client secret.
		h.log.WarnContext(r.Context(), "stripe webhook: refused", "reason", signatureReason(err))
		webhookError(w, http.StatusBadRequest, signatureReason(err))
		return
	}
	ev, ok, err := EventOf(se)
	if err != nil {
		h.log.WarnContext(r.Context(), "stripe webhook: unreadable event", "event_id", se.ID, "type", se.Type, "err", err)
		webhookError(w, http.StatusBadRequest, "unreadable event")
		return
	}
	if !ok {
		writeWebhookJSON(w, http.StatusOK, map[string]any{"received": true, "ignored": true})
		return
	}
	if err := h.events.HandlePaymentEvent(r.Context(), ev); err != nil {
		h.log.ErrorContext(r.Context(), "stripe webhook: event not applied; Stripe will retry",
			"event_id", ev.ID, "type", string(ev.Type), "intent_id", ev.IntentID, "err", err)
		webhookError(w, http.StatusInternalServerError, "event not applied")
		return
	}
	h.log.InfoContext(r.Context(), "stripe webhook: event applied", "event_id", ev.ID, "type", string(ev.Type), "intent_id", ev.IntentID)
	writeWebhookJSON(w, http.StatusOK, map[string]any{"received": true})
}

// signatureReason is a short, fixed description of a verification failure.
func signatureReason(err error) string {
	switch {
	case errors.Is(err, webhook.ErrNotSigned):
		return "missing Stripe-Signature"
	case errors.Is(err, webhook.ErrInvalidHeader):
		return "malformed Stripe-Signature"
	case errors.Is(err, webhook.ErrTooOld):
		return "stale signature"
	case errors.Is(err, webhook.ErrNoValidSignature):
		return "bad signature"
	default:
		return "unreadable event"
	}
}

// EventOf reduces a verified Stripe event to a payment.Event. ok is false
// for the types orders do not act on.
func EventOf(se stripe.Event) (ev payment.Event, ok bool, err error) {
	ev = payment.Event{ID: se.ID, Type: payment.EventType(se.Type), Created: time.Unix(se.Created, 0).UTC()}
	if se.Data == nil || len(se.Data.Raw) == 0 {
		if isKnown(ev.Type) {
			return ev, false, errors.New("event without data")
		}
		return ev, false, nil
	}
	switch ev.Type {
	case payment.IntentSucceeded, payment.IntentPaymentFailed, payment.IntentCanceled, payment.IntentProcessing:
		var pi stripe.PaymentIntent
		if err := json.Unmarshal(se.Data.Raw, &pi); err != nil {
			return ev, false, fmt.Errorf("payment intent: %w", err)
		}
		if pi.ID == "" {
			return ev, false, errors.New("payment intent without id")
		}
		ev.IntentID = pi.ID
		ev.OrderID = orderIDOf(pi.Metadata)
		ev.Amount = money(pi.Amount, pi.Currency)
		ev.Received = money(pi.AmountReceived, pi.Currency)
		return ev, true, nil
	case payment.ChargeRefunded:
		var ch stripe.Charge
		if err := json.Unmarshal(se.Data.Raw, &ch); err != nil {
			return ev, false, fmt.Errorf("charge: %w", err)
		}
		if ch.PaymentIntent == nil || ch.PaymentIntent.ID == "" {
			// A charge made without an intent is none of ours.
			return ev, false, nil
		}
		ev.IntentID = ch.PaymentIntent.ID
		ev.OrderID = orderIDOf(ch.Metadata)
		if ev.OrderID == nil {
			ev.OrderID = orderIDOf(ch.PaymentIntent.Metadata)
		}
		ev.Amount = money(ch.Amount, ch.Currency)
		ev.Received = money(ch.AmountRefunded, ch.Currency)
		return ev, true, nil
	}
	return ev, false, nil
}

func isKnown(t payment.EventType) bool {
	switch t {
	case payment.IntentSucceeded, payment.IntentPaymentFailed, payment.IntentCanceled, payment.IntentProcessing, payment.ChargeRefunded:
		return true
	}
	return false
}

// orderIDOf reads MetadataOrderID when it holds a valid id.
func orderIDOf(md map[string]string) *commerce.ID {
	s := strings.TrimSpace(md[MetadataOrderID])
	if s == "" {
		return nil
	}
	id, err := uuid.Parse(s)
	if err != nil || id == uuid.Nil {
		return nil
	}
	return &id
}

// SignPayload returns a Stripe-Signature header for payload signed with
// secret at time t, as Stripe computes it (stripe-go's
// webhook.GenerateTestSignedPayload): tests post signed events with it.
func SignPayload(secret string, payload []byte, t time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{
		Payload: payload, Secret: secret, Timestamp: t,
	}).Header
}

func webhookError(w http.ResponseWriter, status int, msg string) {
	writeWebhookJSON(w, status, map[string]string{"error": msg})
}

func writeWebhookJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
