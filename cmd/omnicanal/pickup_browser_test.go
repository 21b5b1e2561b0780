package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/omnicanal/omnicanal/commerce/demo"
)

// The pickup desk page in a real browser against the real server: the
// Paris demo associate signs in with their email and password and lands on
// their store's queue, live. An order placed through GraphQL (the phone,
// pay at pickup) appears without a reload; the shopper's curbside arrival
// shows; the associate starts preparing and marks it ready; the shopper
// reads the pickup code on their order; the associate types it, takes the
// cash, and hands the order over, which leaves the queue. The screenshot
// (ready, arrived) is left in the test's log (or in $PICKUP_SCREENSHOT_DIR).
func TestPickupDeskInBrowser(t *testing.T) {
	path := chromium(t)
	_, base := serveDemo(t)
	ph := phone{t: t, base: base}
	_, ids, _ := kioskVariants(t)

	b := newBrowser(t, path, 1100, 900)
	defer b.close()

	b.run("signing in",
		log.Enable(),
		chromedp.Navigate(base+"/pickup/"),
		chromedp.WaitVisible(`[data-testid="email-input"]`),
		chromedp.SendKeys(`[data-testid="email-input"]`, "associate.paris@maison-sentier.example"),
		chromedp.SendKeys(`[data-testid="password-input"]`, "demo-desk-2026"),
		chromedp.Click(`[data-testid="sign-in-button"]`),
		chromedp.WaitVisible(`[data-testid="queue-panel"]`),
		poll(`document.querySelector('[data-testid="store-name"]').textContent.includes('Paris')`),
		poll(`document.querySelector('[data-testid="live-status"]').dataset.state === 'live'`),
		chromedp.Evaluate(`window.deskTestMark = 7`, nil),
	)

	// The shopper orders on the phone, to collect and pay in Paris.
	created := ph.do(`mutation($lines: [CartLineInput!]) { cartCreate(input: { lines: $lines }) { cart { id } token userErrors { message } } }`,
		map[string]any{"lines": []any{map[string]any{"merchandiseId": ids[0], "quantity": 1}}})
	cartID, cartToken := field(created, "cartCreate", "cart", "id").(string), field(created, "cartCreate", "token").(string)
	checkout := ph.do(`mutation($input: CartCheckoutInput!) { cartCheckout(input: $input) { order { id number } orderToken userErrors { message } } }`,
		map[string]any{"input": map[string]any{"cartId": cartID, "token": cartToken, "email": "lea.moreau@example.com",
			"idempotencyKey": uuid.NewString(), "fulfillment": map[string]any{"pickup": map[string]any{"storeId": demo.LocationID(demo.CodeParis).String()}},
			"payment": map[string]any{"method": "AT_PICKUP"}}})
	orderID := field(checkout, "cartCheckout", "order", "id").(string)
	number := field(checkout, "cartCheckout", "order", "number").(string)
	orderToken := field(checkout, "cartCheckout", "orderToken").(string)
	entry := `[data-testid="queue-entry"][data-number="` + number + `"]`

	var mark int
	b.run("the order appears live",
		chromedp.WaitVisible(entry),
		poll(`document.querySelector('`+entry+`').dataset.status === 'PLACED'`),
		chromedp.Evaluate(`window.deskTestMark`, &mark),
	)
	if mark != 7 {
		t.Fatal("the desk page was reloaded to show the order")
	}
	ph.do(`mutation($id: ID!, $token: String) { orderPickupArrive(orderId: $id, token: $token, spot: "Bay 2") { order { id } userErrors { message } } }`,
		map[string]any{"id": orderID, "token": orderToken})
	b.run("preparing and ready",
		poll(`document.querySelector('`+entry+` [data-testid="arrived"]').textContent.includes('Bay 2')`),
		chromedp.Click(entry+` [data-testid="prepare-button"]`),
		poll(`document.querySelector('`+entry+`').dataset.status === 'PREPARING'`),
		chromedp.Click(entry+` [data-testid="ready-button"]`),
		poll(`document.querySelector('`+entry+`').dataset.status === 'READY_FOR_PICKUP'`),
		chromedp.WaitVisible(entry+` [data-testid="code-input"]`),
		chromedp.WaitVisible(entry+` [data-testid="tender-select"]`),
	)

	b.screenshot("pickup-desk.png", "PICKUP_SCREENSHOT_DIR")

	// The shopper's phone shows the code; a wrong one is refused at the desk.
	seen := ph.do(`query($id: ID!, $token: String) { order(id: $id, token: $token) { status pickupCode pickupQrCodeUrl } }`,
		map[string]any{"id": orderID, "token": orderToken})
	code, _ := field(seen, "order", "pickupCode").(string)
	qrURL, _ := field(seen, "order", "pickupQrCodeUrl").(string)
	if len(code) != 6 || qrURL == "" {
		t.Fatalf("the shopper's code: %v", seen)
	}
	res, err := http.Get(base + qrURL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "image/svg+xml" {
		t.Errorf("the code's QR image: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	wrong := "222222"
	if code == wrong {
		wrong = "333333"
	}
	b.run("a wrong code",
		chromedp.SendKeys(entry+` [data-testid="code-input"]`, wrong),
		chromedp.Click(entry+` [data-testid="handover-button"]`),
		poll(`!document.querySelector('`+entry+` [data-testid="entry-error"]').hidden`),
	)
	b.run("handing over",
		chromedp.Evaluate(`document.querySelector('`+entry+` [data-testid="code-input"]').value = ''`, nil),
		chromedp.SendKeys(entry+` [data-testid="code-input"]`, strings.ToLower(code[:3])+"-"+strings.ToLower(code[3:])),
		chromedp.Click(entry+` [data-testid="handover-button"]`),
		poll(`document.querySelector('`+entry+`') === null`),
	)
	after := ph.do(`query($id: ID!, $token: String) { order(id: $id, token: $token) { status paymentStatus payments { provider tender } } }`,
		map[string]any{"id": orderID, "token": orderToken})
	if field(after, "order", "status") != "PICKED_UP" || field(after, "order", "paymentStatus") != "PAID" {
		t.Errorf("after the hand-over: %v", after)
	}
	b.checkProblems()
}
