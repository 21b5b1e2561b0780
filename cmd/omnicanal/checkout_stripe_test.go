package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/commercetest"
	"github.com/omnicanal/omnicanal/commerce/demo"
	"github.com/omnicanal/omnicanal/internal/stripemock"
	stripepay "github.com/omnicanal/omnicanal/payments/stripe"
)

// An online checkout through the whole server as deployed: the order
// service calls Stripe's own stripe-mock through the real adapter, the
// client gets the intent's client secret, and a signed
// payment_intent.succeeded delivered to /webhooks/stripe (twice, as Stripe
// may) pays the order once and places it.
func TestOnlineCheckoutWithStripeMockAndWebhook(t *testing.T) {
	mock := stripemock.Start(t)
	const webhookSecret = "whsec_e2e_checkout"
	cfg := testConfig(t, false)
	cfg.DatabaseURL = commercetest.URL(t, commercetest.WithSeed("demo", func(ctx context.Context, pool *pgxpool.Pool) error {
		_, err := demo.Seed(ctx, pool)
		return err
	}))
	cfg.StripeSecretKey, cfg.StripeAPIBase, cfg.StripeWebhookSecret = stripemock.TestKey, mock, webhookSecret
	base, stop := serve(t, cfg)
	defer func() {
		if err := stop(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	}()
	ph := phone{t: t, base: base}
	_, ids, _ := kioskVariants(t) // in stock in Paris, sold on every channel

	created := ph.do(`mutation($lines: [CartLineInput!]) { cartCreate(input: { lines: $lines }) { cart { id } token userErrors { message } } }`,
		map[string]any{"lines": []any{map[string]any{"merchandiseId": ids[0], "quantity": 1}}})
	cartID, token := field(created, "cartCreate", "cart", "id").(string), field(created, "cartCreate", "token").(string)

	const checkout = `mutation($input: CartCheckoutInput!) { cartCheckout(input: $input) {
		order { id status paymentStatus cost { total { amount currencyCode } } }
		orderToken payment { intentId clientSecret status } userErrors { field message code } } }`
	vars := map[string]any{"input": map[string]any{"cartId": cartID, "token": token, "idempotencyKey": uuid.NewString(),
		"fulfillment": map[string]any{"pickup": map[string]any{"storeId": demo.LocationID(demo.CodeParis).String()}},
		"payment":     map[string]any{"method": "ONLINE"}}}
	out := ph.do(checkout, vars)
	orderID, _ := field(out, "cartCheckout", "order", "id").(string)
	orderToken, _ := field(out, "cartCheckout", "orderToken").(string)
	intentID, _ := field(out, "cartCheckout", "payment", "intentId").(string)
	secret, _ := field(out, "cartCheckout", "payment", "clientSecret").(string)
	if orderID == "" || orderToken == "" || intentID == "" || secret == "" {
		t.Fatalf("checkout: %v", out)
	}
	if s := field(out, "cartCheckout", "order", "status"); s != "PENDING_PAYMENT" {
		t.Fatalf("status after an online checkout = %v, want PENDING_PAYMENT", s)
	}
	total, err := commerce.ParseMoney(field(out, "cartCheckout", "order", "cost", "total", "amount").(string), "EUR")
	if err != nil {
		t.Fatal(err)
	}
	// A retry with the same key is the same order and the same intent.
	again := ph.do(checkout, vars)
	if field(again, "cartCheckout", "order", "id") != orderID || field(again, "cartCheckout", "payment", "intentId") != intentID {
		t.Fatalf("retry: %v", again)
	}

	// Stripe tells the server the payment succeeded — twice.
	payload := []byte(fmt.Sprintf(`{"id":"evt_e2e_1","object":"event","type":"payment_intent.succeeded","created":%d,"api_version":"2023-10-16",
"data":{"object":{"id":%q,"object":"payment_intent","amount":%d,"amount_received":%d,"currency":"eur","status":"succeeded","metadata":{"order_id":%q}}}}`,
		time.Now().Unix(), intentID, total.Amount, total.Amount, orderID))
	for range 2 {
		req, _ := http.NewRequest(http.MethodPost, base+stripepay.WebhookPath, bytes.NewReader(payload))
		req.Header.Set("Stripe-Signature", stripepay.SignPayload(webhookSecret, payload, time.Now()))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("webhook: %d", res.StatusCode)
		}
	}
	got := ph.do(`query($id: ID!, $token: String) { order(id: $id, token: $token) { status paymentStatus
		transitions { field to } } }`, map[string]any{"id": orderID, "token": orderToken})
	if s, p := field(got, "order", "status"), field(got, "order", "paymentStatus"); s != "PLACED" || p != "PAID" {
		t.Fatalf("after the webhook: status %v, payment %v", s, p)
	}
	paid := 0
	for _, tr := range field(got, "order", "transitions").([]any) {
		if m := tr.(map[string]any); m["field"] == "payment_status" && m["to"] == "paid" {
			paid++
		}
	}
	if paid != 1 {
		t.Fatalf("%d transitions to paid, want 1: %v", paid, field(got, "order", "transitions"))
	}
}
