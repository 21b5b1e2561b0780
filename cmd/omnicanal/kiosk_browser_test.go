package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/demo"
	"github.com/omnicanal/omnicanal/commerce/staff"
)

// phone is a second client of the API: the shopper's phone, through the
// mobile channel, as plain HTTP.
type phone struct {
	t      *testing.T
	base   string
	bearer string // a staff token, for the merchandiser's call
}

func (p phone) do(query string, vars map[string]any) map[string]any {
	p.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, p.base+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Channel-Key", demo.KeyMobileEU)
	if p.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+p.bearer)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var r struct {
		Data   map[string]any `json:"data"`
		Errors []any          `json:"errors"`
	}
	if err := json.Unmarshal(raw, &r); err != nil || len(r.Errors) > 0 {
		p.t.Fatalf("%s: %v %s", query, err, raw)
	}
	for _, v := range r.Data {
		if m, ok := v.(map[string]any); ok {
			if errs, _ := m["userErrors"].([]any); len(errs) > 0 {
				p.t.Fatalf("%s: %s", query, raw)
			}
		}
	}
	return r.Data
}

func field(v any, path ...string) any {
	for _, k := range path {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}

// kioskVariants picks three variants of a product sold on every channel,
// in stock at the Paris store, priced in EUR.
func kioskVariants(t *testing.T) (product string, ids []string, skus []string) {
	t.Helper()
	d := demo.Generate()
	paris := map[string]int{}
	for _, s := range d.Stock {
		if s.LocationCode == demo.CodeParis {
			paris[s.VariantID.String()] = s.OnHand
		}
	}
	for _, p := range d.Products {
		if p.Status != "active" || len(p.Channels) != len(d.Channels) {
			continue
		}
		for _, v := range p.Variants {
			if paris[v.ID.String()] >= 3 && len(ids) < 3 {
				ids, skus = append(ids, v.ID.String()), append(skus, v.SKU)
			}
		}
		if len(ids) == 3 {
			return p.ID.String(), ids, skus
		}
		ids, skus = nil, nil
	}
	t.Fatal("the demo data has no product with three variants in stock in Paris")
	return "", nil, nil
}

// The kiosk page in a real browser against the real server: a cart made
// on the phone is resumed at the kiosk by typing its handoff code; a line
// the phone adds then appears on the kiosk without a reload (the page's
// own graphql-transport-ws subscription); the kiosk looks a product up by
// SKU, sees it is in stock here, and adds it, which the phone sees. A
// second code opened as the QR's URL resumes at once. The screenshot is
// left in the test's log (or in $KIOSK_SCREENSHOT_DIR).
func TestKioskInBrowser(t *testing.T) {
	path := chromium(t)
	cfg, base := serveDemo(t)
	ph := phone{t: t, base: base}
	product, ids, skus := kioskVariants(t)

	// A merchandiser runs an offer on the product: every line shows why
	// it costs less.
	pool, err := pgxpool.New(t.Context(), cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	staffSvc := staff.NewService(pool)
	anna, err := staffSvc.CreateStaff(t.Context(), staff.Input{Email: "anna@maison-sentier.example", Name: "Anna", Role: commerce.RoleMerchandiser})
	if err != nil {
		t.Fatal(err)
	}
	staffToken, err := staffSvc.IssueToken(t.Context(), anna.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	const offerTitle = "10 % sur la sélection running"
	phone{t: t, base: base, bearer: staffToken}.do(`mutation($input: OfferCreateInput!) { offerCreate(input: $input) { offer { id } userErrors { message } } }`,
		map[string]any{"input": map[string]any{"title": offerTitle, "kind": "PERCENTAGE_OFF", "target": "LINES", "percentOff": "10",
			"appliesTo": map[string]any{"productIds": []any{product}}}})

	// The phone starts a cart and makes a handoff code.
	created := ph.do(`mutation($lines: [CartLineInput!]) { cartCreate(input: { lines: $lines }) { cart { id } token userErrors { message } } }`,
		map[string]any{"lines": []any{map[string]any{"merchandiseId": ids[0], "quantity": 2}}})
	cartID, token := field(created, "cartCreate", "cart", "id").(string), field(created, "cartCreate", "token").(string)
	handoff := func() map[string]any {
		h := ph.do(`mutation($id: ID!, $token: String) { cartHandoffCreate(cartId: $id, token: $token) {
			handoff { code qrCodeUrl resumeUrl } userErrors { message } } }`, map[string]any{"id": cartID, "token": token})
		return field(h, "cartHandoffCreate", "handoff").(map[string]any)
	}
	h := handoff()
	res, err := http.Get(base + h["qrCodeUrl"].(string))
	if err != nil {
		t.Fatal(err)
	}
	svg, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "image/svg+xml" || !bytes.HasPrefix(svg, []byte("<svg")) {
		t.Fatalf("the QR image: %d %s", res.StatusCode, svg)
	}

	b := newBrowser(t, path, 1100, 1300)
	defer b.close()
	count := func(n int) chromedp.QueryAction {
		return poll(fmt.Sprintf(`document.querySelectorAll('[data-testid="cart-line"]').length === %d`, n))
	}
	b.run("resuming at the kiosk",
		log.Enable(),
		chromedp.Navigate(base+"/kiosk/"),
		chromedp.WaitVisible(`[data-testid="code-input"]`),
		chromedp.Poll(`document.querySelector('[data-testid="store-name"]').textContent.includes('Paris')`, nil),
		chromedp.SendKeys(`[data-testid="code-input"]`, strings.ToLower(h["code"].(string)[:4]+"-"+h["code"].(string)[4:])),
		chromedp.Click(`[data-testid="resume-button"]`),
		chromedp.WaitVisible(`[data-testid="cart"]`),
		count(1),
		chromedp.Poll(`document.querySelector('[data-testid="live-status"]').dataset.state === 'live'`, nil),
		// Marks this page load: a reload would lose it.
		chromedp.Evaluate(`window.kioskTestMark = 42`, nil),
	)
	// Read in one script rather than with chromedp.Text, which finds the
	// node first: the subscription's first push may re-render the lines in
	// between ("No node with given id found").
	var qty string
	if err := chromedp.Run(b.ctx, chromedp.Evaluate(`document.querySelector('[data-testid="cart-line"][data-sku="`+skus[0]+`"] [data-testid="line-quantity"]')?.textContent.trim() ?? ''`, &qty)); err != nil || qty != "2" {
		t.Fatalf("the resumed line: %q %v", qty, err)
	}

	// The phone adds a line: it appears at the kiosk, live.
	ph.do(`mutation($id: ID!, $token: String, $lines: [CartLineInput!]!) { cartLinesAdd(cartId: $id, token: $token, lines: $lines) {
		cart { version } userErrors { message } } }`, map[string]any{"id": cartID, "token": token,
		"lines": []any{map[string]any{"merchandiseId": ids[1], "quantity": 1}}})
	var mark int
	var total string
	b.run("the phone's line at the kiosk",
		count(2),
		chromedp.Evaluate(`window.kioskTestMark`, &mark),
		chromedp.Text(`[data-testid="cart-total"]`, &total),
	)
	if mark != 42 {
		t.Fatal("the kiosk page was reloaded to show the phone's line")
	}
	if total == "" || !strings.Contains(total, "€") {
		t.Errorf("cart total %q", total)
	}
	var explained string
	b.run("the offer's explanation", chromedp.Text(`[data-testid="cart-line"] [data-testid="line-adjustments"]`, &explained))
	if !strings.Contains(explained, offerTitle) {
		t.Errorf("the line's adjustments show %q, not the offer %q", explained, offerTitle)
	}

	// The kiosk looks a product up by SKU, sees the store's stock and adds it.
	var stock string
	b.run("adding from the kiosk",
		chromedp.SendKeys(`[data-testid="lookup-input"]`, skus[2]),
		chromedp.Click(`[data-testid="lookup-button"]`),
		chromedp.WaitVisible(`[data-testid="lookup-result"][data-sku="`+skus[2]+`"]`),
		chromedp.Text(`[data-testid="lookup-result"] [data-testid="result-stock"]`, &stock),
		chromedp.Click(`[data-testid="lookup-result"] [data-testid="add-button"]`),
		count(3),
	)
	if !strings.HasPrefix(stock, "In stock here: ") {
		t.Errorf("stock shown %q", stock)
	}
	seen := ph.do(`query($id: ID!, $token: String) { cart(id: $id, token: $token) { lines { merchandise { sku } addedByChannel { kind } } } }`,
		map[string]any{"id": cartID, "token": token})
	var kinds []string
	for _, l := range field(seen, "cart", "lines").([]any) {
		kinds = append(kinds, fmt.Sprint(field(l, "merchandise", "sku"), "@", field(l, "addedByChannel", "kind")))
	}
	if !slices.Contains(kinds, skus[2]+"@KIOSK") {
		t.Errorf("the phone sees %v, without the kiosk's line", kinds)
	}

	b.screenshot("kiosk.png", "KIOSK_SCREENSHOT_DIR")

	// A second code opened as its QR's URL resumes at once, and leaves the
	// used code out of the address bar.
	h = handoff()
	var location string
	b.run("opening the QR's URL",
		chromedp.Navigate(base+h["resumeUrl"].(string)),
		chromedp.WaitVisible(`[data-testid="cart"]`),
		count(3),
		chromedp.Location(&location),
	)
	if strings.Contains(location, "code=") {
		t.Errorf("the used code stays in the address bar: %s", location)
	}
	b.checkProblems()
}
