package stripepay_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/payment"
	stripepay "github.com/omnicanal/omnicanal/payments/stripe"
)

const whsec = "whsec_test_secret"

// events records what the webhook hands to orders.
type events struct {
	mu  sync.Mutex
	got []payment.Event
	err error
}

func (e *events) HandlePaymentEvent(_ context.Context, ev payment.Event) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.got = append(e.got, ev)
	return e.err
}

func (e *events) all() []payment.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]payment.Event(nil), e.got...)
}

// eventJSON is a Stripe event of type typ around object, in an API
// version other than stripe-go's (the handler must accept it).
func eventJSON(t *testing.T, id, typ string, object map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"id": id, "object": "event", "type": typ, "api_version": "2020-08-27",
		"created": 1700000000, "livemode": false, "pending_webhooks": 1,
		"data": map[string]any{"object": object},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func intentObject(orderID string, status string, amount, received int64) map[string]any {
	return map[string]any{
		"id": "pi_abc", "object": "payment_intent", "amount": amount, "amount_received": received,
		"currency": "eur", "status": status, "client_secret": "pi_abc_secret_xyz",
		"metadata": map[string]string{"order_id": orderID},
	}
}

func post(t *testing.T, h http.Handler, body []byte, sig string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, stripepay.WebhookPath, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set("Stripe-Signature", sig)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestWebhookDeliversVerifiedIntentEvents(t *testing.T) {
	orderID := commerce.NewID()
	for _, tc := range []struct {
		typ      string
		status   string
		received int64
	}{
		{"payment_intent.succeeded", "succeeded", 4250},
		{"payment_intent.payment_failed", "requires_payment_method", 0},
		{"payment_intent.canceled", "canceled", 0},
		{"payment_intent.processing", "processing", 0},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			ev := &events{}
			h := stripepay.NewWebhookHandler(whsec, ev, nil)
			body := eventJSON(t, "evt_1", tc.typ, intentObject(orderID.String(), tc.status, 4250, tc.received))
			rec := post(t, h, body, stripepay.SignPayload(whsec, body, time.Now()))
			if rec.Code != http.StatusOK {
				t.Fatalf("status = %d %s", rec.Code, rec.Body)
			}
			got := ev.all()
			if len(got) != 1 {
				t.Fatalf("handler called %d times, want once", len(got))
			}
			want := payment.Event{
				ID: "evt_1", Type: payment.EventType(tc.typ), Created: time.Unix(1700000000, 0).UTC(),
				IntentID: "pi_abc", OrderID: &orderID, Amount: eur(4250), Received: eur(tc.received),
			}
			g := got[0]
			if g.ID != want.ID || g.Type != want.Type || !g.Created.Equal(want.Created) || g.IntentID != want.IntentID ||
				g.OrderID == nil || *g.OrderID != orderID || g.Amount != want.Amount || g.Received != want.Received {
				t.Errorf("event = %+v, want %+v", g, want)
			}
		})
	}
}

func TestWebhookChargeRefunded(t *testing.T) {
	orderID := commerce.NewID()
	ev := &events{}
	h := stripepay.NewWebhookHandler(whsec, ev, nil)
	body := eventJSON(t, "evt_r", "charge.refunded", map[string]any{
		"id": "ch_1", "object": "charge", "amount": 4250, "amount_refunded": 1000, "currency": "eur",
		"payment_intent": "pi_abc", "refunded": false, "metadata": map[string]string{"order_id": orderID.String()},
	})
	rec := post(t, h, body, stripepay.SignPayload(whsec, body, time.Now()))
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d %s", rec.Code, rec.Body)
	}
	got := ev.all()
	if len(got) != 1 {
		t.Fatalf("handler called %d times", len(got))
	}
	g := got[0]
	if g.Type != payment.ChargeRefunded || g.IntentID != "pi_abc" || g.OrderID == nil || *g.OrderID != orderID ||
		g.Amount != eur(4250) || g.Received != eur(1000) {
		t.Errorf("event = %+v", g)
	}
}

func TestWebhookOrderIDOnlyWhenValid(t *testing.T) {
	for _, md := range []string{"", "42", "not-a-uuid", "00000000-0000-0000-0000-000000000000"} {
		ev := &events{}
		h := stripepay.NewWebhookHandler(whsec, ev, nil)
		body := eventJSON(t, "evt_m", "payment_intent.succeeded", intentObject(md, "succeeded", 100, 100))
		if rec := post(t, h, body, stripepay.SignPayload(whsec, body, time.Now())); rec.Code != http.StatusOK {
			t.Fatalf("order_id %q: status %d", md, rec.Code)
		}
		if got := ev.all(); len(got) != 1 || got[0].OrderID != nil || got[0].IntentID != "pi_abc" {
			t.Errorf("order_id %q: events %+v, want one with no OrderID", md, got)
		}
	}
}

func TestWebhookRefusesUnverified(t *testing.T) {
	body := eventJSON(t, "evt_1", "payment_intent.succeeded", intentObject(commerce.NewID().String(), "succeeded", 100, 100))
	big := append(bytes.Repeat([]byte(" "), stripepay.MaxWebhookBytes), body...)
	for _, tc := range []struct {
		name   string
		body   []byte
		sig    string
		status int
	}{
		{"wrong secret", body, stripepay.SignPayload("whsec_other", body, time.Now()), http.StatusBadRequest},
		{"stale", body, stripepay.SignPayload(whsec, body, time.Now().Add(-6*time.Minute)), http.StatusBadRequest},
		{"missing header", body, "", http.StatusBadRequest},
		{"malformed header", body, "garbage", http.StatusBadRequest},
		{"tampered body", bytes.Replace(body, []byte(`"amount":100`), []byte(`"amount":1`), 1), stripepay.SignPayload(whsec, body, time.Now()), http.StatusBadRequest},
		{"too large", big, stripepay.SignPayload(whsec, big, time.Now()), http.StatusRequestEntityTooLarge},
		{"signed garbage", []byte("not json"), stripepay.SignPayload(whsec, []byte("not json"), time.Now()), http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := &events{}
			h := stripepay.NewWebhookHandler(whsec, ev, nil)
			rec := post(t, h, tc.body, tc.sig)
			if rec.Code != tc.status {
				t.Errorf("status = %d, want %d (%s)", rec.Code, tc.status, rec.Body)
			}
			var out map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out["error"] == "" {
				t.Errorf("body = %q, want a JSON error", rec.Body)
			}
			if n := len(ev.all()); n != 0 {
				t.Errorf("handler called %d times", n)
			}
		})
	}
}

func TestWebhookIgnoresOtherTypes(t *testing.T) {
	ev := &events{}
	h := stripepay.NewWebhookHandler(whsec, ev, nil)
	body := eventJSON(t, "evt_c", "customer.created", map[string]any{"id": "cus_1", "object": "customer"})
	rec := post(t, h, body, stripepay.SignPayload(whsec, body, time.Now()))
	if rec.Code != http.StatusOK {
		t.Errorf("status = %d", rec.Code)
	}
	if n := len(ev.all()); n != 0 {
		t.Errorf("handler called %d times for an unknown type", n)
	}
}

func TestWebhookHandlerErrorAsksForRetry(t *testing.T) {
	ev := &events{err: errors.New("database down")}
	h := stripepay.NewWebhookHandler(whsec, ev, nil)
	body := eventJSON(t, "evt_1", "payment_intent.succeeded", intentObject(commerce.NewID().String(), "succeeded", 100, 100))
	rec := post(t, h, body, stripepay.SignPayload(whsec, body, time.Now()))
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500", rec.Code)
	}
	if strings.Contains(rec.Body.String(), "database") {
		t.Errorf("body leaks the cause: %s", rec.Body)
	}
	if n := len(ev.all()); n != 1 {
		t.Errorf("handler called %d times", n)
	}
}

func TestWebhookUnwiredAndMethod(t *testing.T) {
	body := eventJSON(t, "evt_1", "payment_intent.succeeded", intentObject("", "succeeded", 1, 1))
	if rec := post(t, stripepay.NewWebhookHandler(whsec, nil, nil), body, stripepay.SignPayload(whsec, body, time.Now())); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("nil handler: status = %d, want 503", rec.Code)
	}
	rec := httptest.NewRecorder()
	stripepay.NewWebhookHandler(whsec, &events{}, nil).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, stripepay.WebhookPath, nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: status = %d, want 405", rec.Code)
	}
}
