package stripepay_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stripe/stripe-go/v76"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/payment"
	"github.com/omnicanal/omnicanal/internal/stripemock"
	stripepay "github.com/omnicanal/omnicanal/payments/stripe"
)

func eur(n int64) commerce.Money { return commerce.Money{Amount: n, Currency: "EUR"} }

func noRetries() *int64 { return stripe.Int64(0) }

// TestGatewayAgainstStripeMock runs every Gateway call against stripe-mock,
// which validates each request against Stripe's OpenAPI spec (a wrong
// parameter name or type is a 400 there) and echoes some parameters.
func TestGatewayAgainstStripeMock(t *testing.T) {
	base := stripemock.Start(t)
	tap := &tap{}
	g, err := stripepay.New(stripemock.TestKey, stripepay.Options{
		APIBase: base, MaxNetworkRetries: noRetries(), HTTPClient: &http.Client{Transport: tap},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	orderID := commerce.NewID()

	in, err := g.CreateIntent(ctx, payment.IntentRequest{
		OrderID: orderID, Amount: eur(4250), IdempotencyKey: "order:" + orderID.String(), Description: "Order 42",
	})
	if err != nil {
		t.Fatalf("CreateIntent: %v", err)
	}
	if !strings.HasPrefix(in.ID, "pi_") {
		t.Errorf("intent id = %q, want pi_…", in.ID)
	}
	if in.ClientSecret == "" || !strings.Contains(in.ClientSecret, "_secret_") {
		t.Errorf("client secret = %q, want pi_…_secret_…", in.ClientSecret)
	}
	// stripe-mock echoes amount and currency from the request.
	if in.Amount != eur(4250) {
		t.Errorf("amount = %v, want 42.50 EUR", in.Amount)
	}
	if in.Status == "" {
		t.Error("empty status")
	}
	// What stripe-mock received and echoed: the key in its response
	// header, the parameters in the intent it answered.
	x := tap.last(t)
	if x.path != "/v1/payment_intents" || x.status != http.StatusOK {
		t.Errorf("create: %s → %d", x.path, x.status)
	}
	if got := x.respHeader.Get("Idempotency-Key"); got != "order:"+orderID.String() {
		t.Errorf("stripe-mock saw Idempotency-Key %q", got)
	}
	var echoed struct {
		Amount                  int64  `json:"amount"`
		Currency                string `json:"currency"`
		AutomaticPaymentMethods struct {
			Enabled bool `json:"enabled"`
		} `json:"automatic_payment_methods"`
	}
	if err := json.Unmarshal(x.respBody, &echoed); err != nil {
		t.Fatal(err)
	}
	if echoed.Amount != 4250 || echoed.Currency != "eur" || !echoed.AutomaticPaymentMethods.Enabled {
		t.Errorf("stripe-mock echoed %+v", echoed)
	}
	// stripe-mock does not echo metadata: the request must carry it.
	if got := x.form.Get("metadata[order_id]"); got != orderID.String() {
		t.Errorf("metadata[order_id] = %q", got)
	}

	got, err := g.GetIntent(ctx, "pi_123")
	if err != nil {
		t.Fatalf("GetIntent: %v", err)
	}
	if got.ID != "pi_123" {
		t.Errorf("GetIntent id = %q, want pi_123 (stripe-mock echoes the path id)", got.ID)
	}

	canceled, err := g.CancelIntent(ctx, "pi_123", "cancel:"+orderID.String())
	if err != nil {
		t.Fatalf("CancelIntent: %v", err)
	}
	if canceled.ID != "pi_123" {
		t.Errorf("CancelIntent id = %q", canceled.ID)
	}
	if x := tap.last(t); x.path != "/v1/payment_intents/pi_123/cancel" || x.respHeader.Get("Idempotency-Key") != "cancel:"+orderID.String() {
		t.Errorf("cancel: %s, key %q", x.path, x.respHeader.Get("Idempotency-Key"))
	}

	r, err := g.Refund(ctx, payment.RefundRequest{
		IntentID: "pi_123", Amount: eur(500), IdempotencyKey: "refund:1", Reason: "returned in store",
	})
	if err != nil {
		t.Fatalf("Refund: %v", err)
	}
	// stripe-mock echoes the amount; its refund fixture is in USD.
	if !strings.HasPrefix(r.ID, "re_") || r.Amount.Amount != 500 || r.Status == "" {
		t.Errorf("refund = %+v, want re_… of 500 minor units with a status", r)
	}
	if x := tap.last(t); x.path != "/v1/refunds" || x.respHeader.Get("Idempotency-Key") != "refund:1" || !bytes.Contains(x.respBody, []byte(`"payment_intent":"pi_123"`)) {
		t.Errorf("refund: %s, key %q, body %s", x.path, x.respHeader.Get("Idempotency-Key"), x.respBody)
	}
	r, err = g.Refund(ctx, payment.RefundRequest{
		IntentID: "pi_123", Amount: eur(100), IdempotencyKey: "refund:2", Reason: "requested_by_customer",
	})
	if err != nil || r.Amount.Amount != 100 {
		t.Fatalf("Refund with a Stripe reason: %+v, %v", r, err)
	}
}

// TestGatewayErrorsFromStripeMock: a key stripe-mock does not accept is a
// configuration problem (INTERNAL), and its message never shows the key.
func TestGatewayErrorsFromStripeMock(t *testing.T) {
	base := stripemock.Start(t)
	const badKey = "not-a-stripe-key-s3cr3t"
	g, err := stripepay.New(badKey, stripepay.Options{APIBase: base, MaxNetworkRetries: noRetries()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = g.GetIntent(context.Background(), "pi_123")
	if err == nil {
		t.Fatal("GetIntent with a bad key succeeded")
	}
	if code := commerce.ErrorCode(err); code != commerce.ErrInternal {
		t.Errorf("code = %s, want INTERNAL: %v", code, err)
	}
	if strings.Contains(err.Error(), badKey) {
		t.Errorf("error shows the key: %v", err)
	}
}

// exchange is one request and answer seen by tap.
type exchange struct {
	path       string
	form       url.Values
	status     int
	respHeader http.Header
	respBody   []byte
}

// tap is an http.RoundTripper that keeps a copy of each exchange.
type tap struct {
	mu sync.Mutex
	xs []exchange
}

func (tp *tap) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		reqBody, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	form, _ := url.ParseQuery(string(reqBody))
	tp.mu.Lock()
	tp.xs = append(tp.xs, exchange{path: req.URL.Path, form: form, status: res.StatusCode, respHeader: res.Header.Clone(), respBody: body})
	tp.mu.Unlock()
	return res, nil
}

func (tp *tap) last(t *testing.T) exchange {
	t.Helper()
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if len(tp.xs) == 0 {
		t.Fatal("no request made")
	}
	return tp.xs[len(tp.xs)-1]
}

// recorded is one request the recording server saw.
type recorded struct {
	method, path string
	header       http.Header
	form         url.Values
}

// recorder answers like Stripe with a fixed body and keeps each request.
type recorder struct {
	mu     sync.Mutex
	reqs   []recorded
	status int
	body   string
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(b))
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, recorded{method: r.Method, path: r.URL.Path, header: r.Header.Clone(), form: form})
	status, body := rc.status, rc.body
	rc.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Request-Id", "req_test")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func (rc *recorder) last(t *testing.T) recorded {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.reqs) == 0 {
		t.Fatal("no request reached the server")
	}
	return rc.reqs[len(rc.reqs)-1]
}

func newRecorded(t *testing.T, status int, body string) (*recorder, *stripepay.Gateway) {
	t.Helper()
	rc := &recorder{status: status, body: body}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	g, err := stripepay.New("sk_test_recording", stripepay.Options{APIBase: srv.URL, MaxNetworkRetries: noRetries()})
	if err != nil {
		t.Fatal(err)
	}
	return rc, g
}

const intentJSON = `{"id":"pi_rec","object":"payment_intent","amount":4250,"amount_received":0,"currency":"eur",
"client_secret":"pi_rec_secret_abc","status":"requires_payment_method","metadata":{"order_id":"x"}}`

// TestCreateIntentRequestShape checks the exact request CreateIntent sends.
func TestCreateIntentRequestShape(t *testing.T) {
	rc, g := newRecorded(t, 200, intentJSON)
	orderID := commerce.NewID()
	in, err := g.CreateIntent(context.Background(), payment.IntentRequest{
		OrderID: orderID, Amount: eur(4250), IdempotencyKey: "order:" + orderID.String(), Description: "Order 42",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := payment.Intent{ID: "pi_rec", ClientSecret: "pi_rec_secret_abc", Status: payment.RequiresPaymentMethod, Amount: eur(4250), Received: eur(0)}
	if in != want {
		t.Errorf("intent = %+v, want %+v", in, want)
	}
	r := rc.last(t)
	if r.method != http.MethodPost || r.path != "/v1/payment_intents" {
		t.Errorf("request = %s %s", r.method, r.path)
	}
	if got := r.header.Get("Idempotency-Key"); got != "order:"+orderID.String() {
		t.Errorf("Idempotency-Key = %q", got)
	}
	if got := r.header.Get("Authorization"); got != "Bearer sk_test_recording" {
		t.Errorf("Authorization = %q", got)
	}
	for k, v := range map[string]string{
		"amount":                             "4250",
		"currency":                           "eur",
		"automatic_payment_methods[enabled]": "true",
		"metadata[order_id]":                 orderID.String(),
		"description":                        "Order 42",
	} {
		if got := r.form.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if len(r.form) != 5 {
		t.Errorf("form = %v, want exactly 5 parameters", r.form)
	}
}

func TestCancelAndRefundRequestShape(t *testing.T) {
	rc, g := newRecorded(t, 200, `{"id":"pi_rec","object":"payment_intent","status":"canceled","amount":100,"currency":"eur"}`)
	in, err := g.CancelIntent(context.Background(), "pi_rec", "cancel:1")
	if err != nil {
		t.Fatal(err)
	}
	if in.Status != payment.Canceled {
		t.Errorf("status = %s", in.Status)
	}
	r := rc.last(t)
	if r.method != http.MethodPost || r.path != "/v1/payment_intents/pi_rec/cancel" || r.header.Get("Idempotency-Key") != "cancel:1" {
		t.Errorf("cancel request = %s %s key %q", r.method, r.path, r.header.Get("Idempotency-Key"))
	}

	rc, g = newRecorded(t, 200, `{"id":"re_1","object":"refund","status":"pending","amount":700,"currency":"eur"}`)
	ref, err := g.Refund(context.Background(), payment.RefundRequest{IntentID: "pi_rec", Amount: eur(700), IdempotencyKey: "refund:9", Reason: "fraudulent"})
	if err != nil {
		t.Fatal(err)
	}
	if ref != (payment.Refund{ID: "re_1", Status: "pending", Amount: eur(700)}) {
		t.Errorf("refund = %+v", ref)
	}
	r = rc.last(t)
	if r.path != "/v1/refunds" || r.header.Get("Idempotency-Key") != "refund:9" ||
		r.form.Get("payment_intent") != "pi_rec" || r.form.Get("amount") != "700" || r.form.Get("reason") != "fraudulent" {
		t.Errorf("refund request = %s %v key %q", r.path, r.form, r.header.Get("Idempotency-Key"))
	}

	// A free-text reason is not one Stripe takes: it travels as metadata.
	_, err = g.Refund(context.Background(), payment.RefundRequest{IntentID: "pi_rec", Amount: eur(700), IdempotencyKey: "refund:10", Reason: "damaged box"})
	if err != nil {
		t.Fatal(err)
	}
	r = rc.last(t)
	if r.form.Has("reason") || r.form.Get("metadata[reason]") != "damaged box" {
		t.Errorf("refund form = %v", r.form)
	}
}

// TestErrorMapping: what a client may see of each kind of Stripe failure.
func TestErrorMapping(t *testing.T) {
	const secretInBody = "pi_x_secret_LEAK"
	cases := []struct {
		name     string
		status   int
		body     string
		code     string // commerce code; INTERNAL = a plain wrapped error
		clientOK bool   // a *commerce.Error (message meant for clients)
	}{
		{"card declined", 402, `{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds.","payment_intent":{"id":"pi_x","client_secret":"` + secretInBody + `"}}}`, commerce.ErrPaymentFailed, true},
		{"invalid request", 400, `{"error":{"type":"invalid_request_error","param":"amount","message":"Amount must be at least €0.50 eur"}}`, commerce.ErrPaymentFailed, true},
		{"missing intent", 404, `{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such payment_intent: 'pi_nope'"}}`, commerce.ErrNotFound, true},
		{"idempotency", 400, `{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters"}}`, commerce.ErrConflict, true},
		{"bad key", 401, `{"error":{"type":"invalid_request_error","message":"Invalid API Key provided: sk_test_abcdefghijkl"}}`, commerce.ErrInternal, false},
		{"rate limited", 429, `{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Too many requests"}}`, commerce.ErrInternal, false},
		{"stripe down", 500, `{"error":{"type":"api_error","message":"Something went wrong on Stripe's end."}}`, commerce.ErrInternal, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, g := newRecorded(t, tc.status, tc.body)
			_, err := g.CreateIntent(context.Background(), payment.IntentRequest{OrderID: commerce.NewID(), Amount: eur(10), IdempotencyKey: "k"})
			if err == nil {
				t.Fatal("no error")
			}
			if code := commerce.ErrorCode(err); code != tc.code {
				t.Errorf("code = %s, want %s (%v)", code, tc.code, err)
			}
			ce, isClient := errors.AsType[*commerce.Error](err)
			if isClient != tc.clientOK {
				t.Errorf("commerce.Error = %v, want %v", isClient, tc.clientOK)
			}
			if isClient && (strings.Contains(ce.Message, "card") && strings.Contains(ce.Message, "insufficient") || strings.Contains(ce.Message, "Stripe") || strings.Contains(ce.Message, "pi_")) {
				t.Errorf("client message leaks provider text: %q", ce.Message)
			}
			// The full error is for logs: never the client secret nor a key.
			for _, leak := range []string{secretInBody, "sk_test_abcdefghijkl", "sk_test_recording"} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("error text holds %q: %v", leak, err)
				}
			}
			se, ok := errors.AsType[*stripe.Error](err)
			if !ok {
				t.Fatalf("the *stripe.Error is not reachable with errors.As: %v", err)
			}
			for _, leak := range []string{secretInBody, "sk_test_abcdefghijkl"} {
				if strings.Contains(se.Error(), leak) {
					t.Errorf("the wrapped *stripe.Error still holds %q: %s", leak, se.Error())
				}
			}
		})
	}
}

func TestNetworkErrorIsInternal(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // nothing listens there any more
	g, err := stripepay.New("sk_test_net", stripepay.Options{APIBase: base, MaxNetworkRetries: noRetries(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = g.GetIntent(context.Background(), "pi_1")
	if err == nil {
		t.Fatal("no error")
	}
	if _, ok := errors.AsType[*commerce.Error](err); ok || commerce.ErrorCode(err) != commerce.ErrInternal {
		t.Errorf("network failure = %v (code %s), want a plain wrapped error", err, commerce.ErrorCode(err))
	}
	if strings.Contains(err.Error(), "sk_test_net") {
		t.Errorf("error shows the key: %v", err)
	}
}

func TestInputChecks(t *testing.T) {
	rc, g := newRecorded(t, 200, intentJSON)
	ctx := context.Background()
	if _, err := g.CreateIntent(ctx, payment.IntentRequest{OrderID: commerce.NewID(), Amount: eur(0), IdempotencyKey: "k"}); commerce.ErrorCode(err) != commerce.ErrInvalidInput {
		t.Errorf("zero amount: %v", err)
	}
	if _, err := g.CreateIntent(ctx, payment.IntentRequest{OrderID: commerce.NewID(), Amount: eur(10)}); err == nil {
		t.Error("no idempotency key accepted")
	}
	if _, err := g.GetIntent(ctx, " "); commerce.ErrorCode(err) != commerce.ErrInvalidInput {
		t.Errorf("empty intent id: %v", err)
	}
	if _, err := g.Refund(ctx, payment.RefundRequest{IntentID: "pi_1", Amount: eur(-5), IdempotencyKey: "k"}); commerce.ErrorCode(err) != commerce.ErrInvalidInput {
		t.Errorf("negative refund: %v", err)
	}
	if len(rc.reqs) != 0 {
		t.Errorf("%d invalid request(s) reached Stripe", len(rc.reqs))
	}
	if _, err := stripepay.New("", stripepay.Options{}); err == nil {
		t.Error("New accepted an empty key")
	}
}
