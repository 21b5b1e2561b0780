package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omnicanal/omnicanal/commerce/commercetest"
	"github.com/omnicanal/omnicanal/commerce/payment"
	stripepay "github.com/omnicanal/omnicanal/payments/stripe"
)

type seenEvents struct {
	mu  sync.Mutex
	ids []string
}

func (s *seenEvents) HandlePaymentEvent(_ context.Context, ev payment.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids = append(s.ids, ev.ID)
	return nil
}

// TestStripeWiring: the gateway exists only with a secret key, the webhook
// route only with a webhook secret, and it answers 503 until orders are
// wired as its event handler (newApp wires them).
func TestStripeWiring(t *testing.T) {
	pool := commercetest.NewDB(t)
	log := slog.New(slog.DiscardHandler)
	body := []byte(`{"id":"evt_w","object":"event","type":"payment_intent.succeeded","created":1700000000,"api_version":"2020-08-27",
"data":{"object":{"id":"pi_w","object":"payment_intent","amount":100,"amount_received":100,"currency":"eur","metadata":{}}}}`)
	postEvent := func(h http.Handler, secret string) int {
		req := httptest.NewRequest(http.MethodPost, "/webhooks/stripe", bytes.NewReader(body))
		req.Header.Set("Stripe-Signature", stripepay.SignPayload(secret, body, time.Now()))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}

	cfg := testConfig(t, false)
	a := newApp(cfg, pool, log)
	if a.Payments != nil {
		t.Error("a gateway without STRIPE_SECRET_KEY")
	}
	if code := postEvent(newHandler(cfg, a, pool, log), "whsec_x"); code == http.StatusOK || code == http.StatusServiceUnavailable {
		t.Errorf("webhook served without STRIPE_WEBHOOK_SECRET: %d", code)
	}

	cfg.StripeSecretKey, cfg.StripeWebhookSecret, cfg.StripeAPIBase = "sk_test_wiring", "whsec_wiring", "http://127.0.0.1:1"
	a = newApp(cfg, pool, log)
	if _, ok := a.Payments.(*stripepay.Gateway); !ok {
		t.Errorf("Payments = %T, want the Stripe gateway", a.Payments)
	}
	if a.PaymentEvents != payment.EventHandler(a.Orders) {
		t.Errorf("PaymentEvents = %T, want the order service", a.PaymentEvents)
	}
	a.PaymentEvents = nil
	if code := postEvent(newHandler(cfg, a, pool, log), "whsec_wiring"); code != http.StatusServiceUnavailable {
		t.Errorf("webhook without an event handler = %d, want 503", code)
	}
	seen := &seenEvents{}
	a.PaymentEvents = seen
	h := newHandler(cfg, a, pool, log)
	if code := postEvent(h, "whsec_other"); code != http.StatusBadRequest {
		t.Errorf("badly signed webhook = %d, want 400", code)
	}
	if code := postEvent(h, "whsec_wiring"); code != http.StatusOK || strings.Join(seen.ids, ",") != "evt_w" {
		t.Errorf("webhook = %d, events %v", code, seen.ids)
	}
}
