package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/cart"
	"github.com/omnicanal/omnicanal/commerce/channel"
	"github.com/omnicanal/omnicanal/commerce/customer"
	"github.com/omnicanal/omnicanal/commerce/demo"
	"github.com/omnicanal/omnicanal/commerce/pricing"
	"github.com/omnicanal/omnicanal/commerce/staff"
	"github.com/omnicanal/omnicanal/graph"
)

// cartServer is the real handler with carts, customer accounts and staff
// tokens, over the demo data.
type cartServer struct {
	*server
	pool      *pgxpool.Pool
	customers *customer.Service
	// associate works in the Paris store.
	associate string
}

func newCartServer(t *testing.T, pool *pgxpool.Pool, offers cart.Offers, opts ...cart.Option) *cartServer {
	t.Helper()
	if pool == nil {
		pool = demoDB(t)
	}
	svc := services(pool)
	// Cheap password hashing: these tests are about carts.
	svc.Customers = customer.NewService(pool, customer.WithPasswordParams(customer.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}))
	svc.Carts = cart.NewService(pool, offers, opts...)
	staffSvc := staff.NewService(pool)
	s := &cartServer{server: newServer(t, svc, func(o *graph.Options) { o.Staff = staffSvc }), pool: pool, customers: svc.Customers}
	st, err := staffSvc.CreateStaff(t.Context(), staff.Input{Email: uuid.NewString() + "@maison-sentier.example", Name: "Associate",
		Role: commerce.RoleAssociate, LocationIDs: []commerce.ID{demo.LocationID(demo.CodeParis)}})
	if err != nil {
		t.Fatal(err)
	}
	if s.associate, err = staffSvc.IssueToken(t.Context(), st.ID, time.Hour); err != nil {
		t.Fatal(err)
	}
	return s
}

// signUp makes a customer and returns their id and bearer token.
func (s *cartServer) signUp(t *testing.T) (commerce.ID, string) {
	t.Helper()
	c, tok, err := s.customers.SignUp(t.Context(), uuid.NewString()+"@example.com", "correct horse battery", "Anna")
	if err != nil {
		t.Fatal(err)
	}
	return c.ID, tok.Token
}

// send posts an operation through the channel with that key, with a bearer
// token (staff or customer) when one is given.
func (s *cartServer) send(t *testing.T, key, bearer, query string, vars map[string]any) *response {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, s.URL, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/graphql-response+json")
	req.Header.Set(graph.ChannelKeyHeader, key)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return do(t, req)
}

// cartFields is what a storefront shows of a cart.
const cartFields = `fragment C on Cart {
  id version status currencyCode
  lines {
    id quantity
    merchandise { id sku title price { amount } product { handle title } }
    addedByChannel { kind name }
    cost { unitPrice { amount currencyCode } subtotal { amount } discountTotal { amount } total { amount } }
    adjustments { offerId offerVersion description code amount { amount currencyCode } }
  }
  cost { subtotal { amount currencyCode } discountTotal { amount } total { amount currencyCode } }
  adjustments { offerId offerVersion description code amount { amount } }
  discountCodes { code applicable reason message }
  pickupStore { code name }
  buyerIdentity { customerId }
}`

const (
	cartCreateOp = `mutation($input: CartInput, $key: String) {
  cartCreate(input: $input, idempotencyKey: $key) { cart { ...C } token userErrors { field message code } } }` + cartFields
	cartQuery = `query($id: ID!, $token: String) { cart(id: $id, token: $token) { ...C } }` + cartFields
	linesAdd  = `mutation($id: ID!, $token: String, $lines: [CartLineInput!]!, $v: Int) {
  cartLinesAdd(cartId: $id, token: $token, lines: $lines, ifVersion: $v) {
    cart { ...C } userErrors { field message code stores { store { code name distanceKm } quantityAvailable } } } }` + cartFields
	linesUpdate = `mutation($id: ID!, $token: String, $lines: [CartLineUpdateInput!]!) {
  cartLinesUpdate(cartId: $id, token: $token, lines: $lines) { cart { ...C } userErrors { field message code } } }` + cartFields
	linesRemove = `mutation($id: ID!, $token: String, $lineIds: [ID!]!) {
  cartLinesRemove(cartId: $id, token: $token, lineIds: $lineIds) { cart { ...C } userErrors { field message code } } }` + cartFields
	codesUpdate = `mutation($id: ID!, $token: String, $codes: [String!]!) {
  cartDiscountCodesUpdate(cartId: $id, token: $token, discountCodes: $codes) { cart { ...C } userErrors { field message code } } }` + cartFields
	buyerUpdate = `mutation($id: ID!, $token: String) {
  cartBuyerIdentityUpdate(cartId: $id, token: $token) { cart { ...C } userErrors { field message code } } }` + cartFields
	pickupUpdate = `mutation($id: ID!, $token: String, $store: ID) {
  cartPickupStoreUpdate(cartId: $id, token: $token, storeId: $store) {
    cart { ...C } userErrors { field message code stores { store { code distanceKm } quantityAvailable } } } }` + cartFields
)

// line is one cartLinesAdd line.
func line(variant commerce.ID, quantity int) map[string]any {
	return map[string]any{"merchandiseId": variant.String(), "quantity": quantity}
}

// createCart makes a guest cart through the API and returns its id and token.
func (s *cartServer) createCart(t *testing.T, key string, lines ...map[string]any) (string, string) {
	t.Helper()
	r := s.send(t, key, "", cartCreateOp, map[string]any{"input": map[string]any{"lines": lines}}).ok(t)
	noUserErrors(t, r, "cartCreate")
	id, _ := at(r.Data, "cartCreate", "cart", "id").(string)
	token, _ := at(r.Data, "cartCreate", "token").(string)
	if id == "" || token == "" {
		t.Fatalf("no cart or token: %s", r.Raw)
	}
	return id, token
}

func noUserErrors(t *testing.T, r *response, field string) {
	t.Helper()
	if errs, _ := at(r.Data, field, "userErrors").([]any); len(errs) > 0 {
		t.Fatalf("%s: userErrors %v", field, errs)
	}
}

// userError returns the first userError of a payload, or nil.
func userError(r *response, field string) map[string]any {
	e, _ := at(r.Data, field, "userErrors", 0).(map[string]any)
	return e
}

// cartVariants returns n variants of active products sold on every demo
// channel, priced in EUR, each with at least min units online.
func cartVariants(t testing.TB, n, min int) []commerce.ID {
	t.Helper()
	out := demo.StockedVariants(n, min)
	if len(out) < n {
		t.Fatalf("the demo data has only %d variants with %d units online", len(out), min)
	}
	return out
}

// devices are four clients of one shopper: phone, laptop, kiosk and till.
var devices = []string{demo.KeyWebEU, demo.KeyMobileEU, demo.KeyKioskParis, demo.KeyPOSParis}

// 4 devices × 25 concurrent cartLinesAdd: exactly 100 units, no lost line,
// whether they add the same variant (one line, merged by the database) or
// each a different one (100 lines).
func TestCartConcurrentAdds(t *testing.T) {
	s := newCartServer(t, nil, nil)
	for _, tc := range []struct {
		name  string
		pick  func(device, i int) commerce.ID
		lines int
	}{
		{"same variant", func() func(int, int) commerce.ID {
			v := cartVariants(t, 1, 100)[0]
			return func(int, int) commerce.ID { return v }
		}(), 1},
		{"different variants", func() func(int, int) commerce.ID {
			vs := cartVariants(t, 100, 2)
			return func(d, i int) commerce.ID { return vs[d*25+i] }
		}(), 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, token := s.createCart(t, demo.KeyWebEU)
			var wg sync.WaitGroup
			for d, key := range devices {
				for i := range 25 {
					v := tc.pick(d, i)
					wg.Go(func() {
						r := s.send(t, key, "", linesAdd, map[string]any{"id": id, "token": token, "lines": []any{line(v, 1)}})
						if r.Status != http.StatusOK || len(r.Errors) > 0 || userError(r, "cartLinesAdd") != nil {
							t.Errorf("add from %s: %s", key, r.Raw)
						}
					})
				}
			}
			wg.Wait()
			r := s.send(t, demo.KeyWebEU, "", cartQuery, map[string]any{"id": id, "token": token}).ok(t)
			lines, _ := at(r.Data, "cart", "lines").([]any)
			units, byChannel := 0, map[string]int{}
			for _, l := range lines {
				units += int(at(l, "quantity").(float64))
				byChannel[at(l, "addedByChannel", "kind").(string)]++
			}
			if units != 100 || len(lines) != tc.lines {
				t.Fatalf("%d units on %d lines, want 100 on %d", units, len(lines), tc.lines)
			}
			if v := at(r.Data, "cart", "version").(float64); v != 101 {
				t.Errorf("version %v after 100 changes of version 1", v)
			}
			if tc.lines == 100 && (byChannel["WEB"] != 25 || byChannel["MOBILE"] != 25 || byChannel["KIOSK"] != 25 || byChannel["POS"] != 25) {
				t.Errorf("lines by channel %v", byChannel)
			}
		})
	}
}

// ifVersion: a device that changes a cart another device changed since it
// last looked gets a CONFLICT and the current cart, and nothing changes.
func TestCartIfVersionConflict(t *testing.T) {
	s := newCartServer(t, nil, nil)
	v := cartVariants(t, 1, 5)[0]
	id, token := s.createCart(t, demo.KeyWebEU)
	r := s.send(t, demo.KeyWebEU, "", linesAdd, map[string]any{"id": id, "token": token, "lines": []any{line(v, 1)}, "v": 1}).ok(t)
	noUserErrors(t, r, "cartLinesAdd")
	if at(r.Data, "cartLinesAdd", "cart", "version") != 2.0 {
		t.Fatalf("version: %s", r.Raw)
	}
	r = s.send(t, demo.KeyMobileEU, "", linesAdd, map[string]any{"id": id, "token": token, "lines": []any{line(v, 1)}, "v": 1}).ok(t)
	e := userError(r, "cartLinesAdd")
	if e == nil || e["code"] != commerce.ErrConflict || fmt.Sprint(e["field"]) != "[ifVersion]" {
		t.Fatalf("stale ifVersion: %s", r.Raw)
	}
	if at(r.Data, "cartLinesAdd", "cart", "version") != 2.0 || at(r.Data, "cartLinesAdd", "cart", "lines", 0, "quantity") != 1.0 {
		t.Fatalf("a conflict must return the current cart unchanged: %s", r.Raw)
	}
}

// The same idempotency key gives the same cart, and a token that works.
func TestCartCreateIsIdempotent(t *testing.T) {
	s := newCartServer(t, nil, nil)
	v := cartVariants(t, 1, 5)[0]
	vars := map[string]any{"input": map[string]any{"lines": []any{line(v, 2)}}, "key": uuid.NewString()}
	first := s.send(t, demo.KeyWebEU, "", cartCreateOp, vars).ok(t)
	retry := s.send(t, demo.KeyWebEU, "", cartCreateOp, vars).ok(t)
	noUserErrors(t, first, "cartCreate")
	noUserErrors(t, retry, "cartCreate")
	id := at(first.Data, "cartCreate", "cart", "id")
	if at(retry.Data, "cartCreate", "cart", "id") != id || at(retry.Data, "cartCreate", "cart", "lines", 0, "quantity") != 2.0 {
		t.Fatalf("the retry made another cart or added again: %s", retry.Raw)
	}
	for _, r := range []*response{first, retry} {
		got := s.send(t, demo.KeyWebEU, "", cartQuery, map[string]any{"id": id, "token": at(r.Data, "cartCreate", "token")}).ok(t)
		if at(got.Data, "cart", "id") != id {
			t.Fatalf("token of %s: %s", r.Raw, got.Raw)
		}
	}
	vars["input"] = map[string]any{"lines": []any{line(v, 3)}}
	r := s.send(t, demo.KeyWebEU, "", cartCreateOp, vars).ok(t)
	if e := userError(r, "cartCreate"); e == nil || e["code"] != commerce.ErrConflict || at(r.Data, "cartCreate", "cart") != nil {
		t.Fatalf("a key reused for another request: %s", r.Raw)
	}
}

// A cart is only reached with its token, by its owner, or by staff of the
// store whose kiosk or till the request comes through. Every query and
// mutation on a foreign cart is NOT_FOUND, and changes nothing.
func TestCartForeignCartsAreNotFound(t *testing.T) {
	s := newCartServer(t, nil, nil)
	v := cartVariants(t, 1, 5)[0]
	guestID, guestToken := s.createCart(t, demo.KeyWebEU, line(v, 1))
	_, otherToken := s.createCart(t, demo.KeyWebEU)
	_, alice := s.signUp(t)
	_, mallory := s.signUp(t)
	r := s.send(t, demo.KeyWebEU, alice, cartCreateOp, map[string]any{"input": map[string]any{"lines": []any{line(v, 1)}}}).ok(t)
	aliceID := at(r.Data, "cartCreate", "cart", "id").(string)
	if at(r.Data, "cartCreate", "token") != nil {
		t.Fatalf("a customer's cart needs no token: %s", r.Raw)
	}
	lineOf := func(key, bearer, id, token string) string {
		r := s.send(t, key, bearer, cartQuery, map[string]any{"id": id, "token": token}).ok(t)
		return at(r.Data, "cart", "lines", 0, "id").(string)
	}
	carts := []struct{ name, id, line string }{
		{"a guest", guestID, lineOf(demo.KeyWebEU, "", guestID, guestToken)},
		{"alice", aliceID, lineOf(demo.KeyWebEU, alice, aliceID, "")},
	}
	outsiders := []struct{ name, key, bearer, token string }{
		{"no token", demo.KeyWebEU, "", ""},
		{"another cart's token", demo.KeyWebEU, "", otherToken},
		{"a made-up token", demo.KeyWebEU, "", cart.TokenPrefix + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
		{"another customer", demo.KeyWebEU, mallory, ""},
		{"another customer with another cart's token", demo.KeyMobileEU, mallory, otherToken},
		{"staff of Paris at the Lyon kiosk", demo.KeyKioskLyon, s.associate, ""},
		{"staff of Paris on the web", demo.KeyWebEU, s.associate, ""},
	}
	paris := demo.LocationID(demo.CodeParis).String()
	for _, c := range carts {
		for _, o := range outsiders {
			base := map[string]any{"id": c.id, "token": o.token}
			with := func(k string, v any) map[string]any {
				m := map[string]any{k: v}
				for k, v := range base {
					m[k] = v
				}
				return m
			}
			r := s.send(t, o.key, o.bearer, cartQuery, base)
			if r.code() != commerce.ErrNotFound || at(r.Data, "cart") != nil {
				t.Errorf("cart of %s read by %s: %s", c.name, o.name, r.Raw)
			}
			mutations := map[string]struct {
				op   string
				vars map[string]any
			}{
				"cartLinesAdd":            {linesAdd, with("lines", []any{line(v, 1)})},
				"cartLinesUpdate":         {linesUpdate, with("lines", []any{map[string]any{"id": c.line, "quantity": 5}})},
				"cartLinesRemove":         {linesRemove, with("lineIds", []any{c.line})},
				"cartDiscountCodesUpdate": {codesUpdate, with("codes", []any{"BIENVENUE"})},
				"cartPickupStoreUpdate":   {pickupUpdate, with("store", paris)},
			}
			if o.bearer == mallory {
				// Attaching needs a signed-in customer, whatever the cart.
				mutations["cartBuyerIdentityUpdate"] = struct {
					op   string
					vars map[string]any
				}{buyerUpdate, base}
			}
			for name, m := range mutations {
				r := s.send(t, o.key, o.bearer, m.op, m.vars).ok(t)
				e := userError(r, name)
				if e == nil || e["code"] != commerce.ErrNotFound || at(r.Data, name, "cart") != nil {
					t.Errorf("%s on the cart of %s by %s: %s", name, c.name, o.name, r.Raw)
				}
			}
		}
	}
	// Tokens never reach the logs, whatever was refused.
	for _, secret := range []string{guestToken, otherToken, alice, mallory} {
		if strings.Contains(s.logs.String(), secret[3:]) {
			t.Errorf("a token is in the logs: %s", s.logs)
		}
	}
	// Nothing changed; the token, the owner and Paris staff at the Paris
	// till do reach the carts.
	for _, who := range []struct{ name, key, bearer, id, token string }{
		{"the token", demo.KeyMobileEU, "", guestID, guestToken},
		{"Paris staff at the Paris till", demo.KeyPOSParis, s.associate, guestID, ""},
		{"alice", demo.KeyMobileEU, alice, aliceID, ""},
		{"Paris staff at the Paris kiosk", demo.KeyKioskParis, s.associate, aliceID, ""},
	} {
		r := s.send(t, who.key, who.bearer, cartQuery, map[string]any{"id": who.id, "token": who.token}).ok(t)
		if at(r.Data, "cart", "version") != 1.0 || at(r.Data, "cart", "lines", 0, "quantity") != 1.0 ||
			at(r.Data, "cart", "discountCodes", 0) != nil || at(r.Data, "cart", "pickupStore") != nil {
			t.Errorf("%s: %s", who.name, r.Raw)
		}
	}
}

// A signed-in customer has one cart on every device; a guest cart attached
// to them becomes theirs.
func TestCartOfACustomerOnEveryDevice(t *testing.T) {
	s := newCartServer(t, nil, nil)
	vs := cartVariants(t, 2, 5)
	aliceID, alice := s.signUp(t)
	phone := s.send(t, demo.KeyMobileEU, alice, cartCreateOp, map[string]any{"input": map[string]any{"lines": []any{line(vs[0], 1)}}}).ok(t)
	laptop := s.send(t, demo.KeyWebEU, alice, cartCreateOp, map[string]any{"input": map[string]any{"lines": []any{line(vs[1], 1)}}}).ok(t)
	id := at(phone.Data, "cartCreate", "cart", "id")
	if at(laptop.Data, "cartCreate", "cart", "id") != id || len(at(laptop.Data, "cartCreate", "cart", "lines").([]any)) != 2 ||
		at(laptop.Data, "cartCreate", "cart", "buyerIdentity", "customerId") != aliceID.String() {
		t.Fatalf("the laptop got another cart: %s", laptop.Raw)
	}

	bobID, bob := s.signUp(t)
	guestID, guestToken := s.createCart(t, demo.KeyKioskParis, line(vs[0], 2))
	r := s.send(t, demo.KeyKioskParis, bob, buyerUpdate, map[string]any{"id": guestID, "token": guestToken}).ok(t)
	noUserErrors(t, r, "cartBuyerIdentityUpdate")
	if at(r.Data, "cartBuyerIdentityUpdate", "cart", "buyerIdentity", "customerId") != bobID.String() {
		t.Fatalf("attach: %s", r.Raw)
	}
	// The kiosk's token no longer opens what is now Bob's cart; Bob does.
	if r := s.send(t, demo.KeyKioskParis, "", cartQuery, map[string]any{"id": guestID, "token": guestToken}); r.code() != commerce.ErrNotFound {
		t.Fatalf("the token of an attached cart: %s", r.Raw)
	}
	s.send(t, demo.KeyWebEU, bob, cartQuery, map[string]any{"id": guestID}).ok(t)
	// Alice already has a cart: another one attached is merged into hers
	// (cart_live_test.go and commerce/cart test the rule).
	otherID, otherToken := s.createCart(t, demo.KeyWebEU, line(vs[1], 1))
	r = s.send(t, demo.KeyWebEU, alice, buyerUpdate, map[string]any{"id": otherID, "token": otherToken}).ok(t)
	noUserErrors(t, r, "cartBuyerIdentityUpdate")
	if at(r.Data, "cartBuyerIdentityUpdate", "cart", "id") != id || at(r.Data, "cartBuyerIdentityUpdate", "cart", "lines", 1, "quantity") != 2.0 {
		t.Fatalf("attach to a customer with a cart: %s", r.Raw)
	}
	// Without signing in there is nobody to attach to.
	if r := s.send(t, demo.KeyWebEU, "", buyerUpdate, map[string]any{"id": otherID, "token": otherToken}); r.code() != commerce.ErrUnauthenticated {
		t.Fatalf("attach without signing in: %s", r.Raw)
	}
}

// Adding what the pickup store lacks is OUT_OF_STOCK with the nearest
// stores that have it: "not in this size in Paris, but in Lyon".
func TestCartOutOfStockListsNearestStores(t *testing.T) {
	s := newCartServer(t, nil, nil)
	id, token := s.createCart(t, demo.KeyKioskParis)
	r := s.send(t, demo.KeyKioskParis, "", pickupUpdate, map[string]any{"id": id, "token": token, "store": demo.LocationID(demo.CodeParis).String()}).ok(t)
	noUserErrors(t, r, "cartPickupStoreUpdate")
	if at(r.Data, "cartPickupStoreUpdate", "cart", "pickupStore", "code") != demo.CodeParis {
		t.Fatalf("pickup store: %s", r.Raw)
	}
	shoe := demo.VariantID(demo.SKUInLyonNotParis)
	r = s.send(t, demo.KeyKioskParis, "", linesAdd, map[string]any{"id": id, "token": token, "lines": []any{line(shoe, 2)}}).ok(t)
	e := userError(r, "cartLinesAdd")
	if e == nil || e["code"] != commerce.ErrOutOfStock || fmt.Sprint(e["field"]) != "[lines 0 quantity]" {
		t.Fatalf("want OUT_OF_STOCK: %s", r.Raw)
	}
	stores, _ := e["stores"].([]any)
	if len(stores) != 2 || at(stores[0], "store", "code") != demo.CodeLyon || at(stores[0], "quantityAvailable") != 4.0 ||
		at(stores[1], "store", "code") != demo.CodeBordeaux ||
		at(stores[0], "store", "distanceKm").(float64) >= at(stores[1], "store", "distanceKm").(float64) {
		t.Fatalf("nearest stores with 2 units, Lyon then Bordeaux: %v", stores)
	}
	if lines := at(r.Data, "cartLinesAdd", "cart", "lines").([]any); len(lines) != 0 {
		t.Fatalf("the refused line was added: %s", r.Raw)
	}
}

// offersFake stands in for the offers store.
type offersFake []pricing.Offer

func (f offersFake) ActiveOffers(context.Context, commerce.Currency, time.Time) ([]pricing.Offer, error) {
	return f, nil
}

// The consistency proof: the same cart priced through the web, mobile,
// kiosk and POS keys gives byte-identical costs and explanations; an offer
// restricted to one channel is the only way to differ, and its explanation
// shows the difference.
func TestCartPricedTheSameOnEveryChannel(t *testing.T) {
	d := demo.Generate()
	shoes := d.Product(demo.HandleRunningShoe)
	eur := func(a int64) commerce.Money { return commerce.Money{Amount: a, Currency: "EUR"} }
	running := pricing.Offer{ID: uuid.MustParse("0196a000-0000-7000-8000-0000000000f1"), Version: 4,
		Title: "20% off the Élan running shoe", Kind: pricing.PercentageOff, Target: pricing.TargetLines, PercentOff: 2000,
		Stackable: true, AppliesTo: pricing.Selector{ProductIDs: []commerce.ID{shoes.ID}}}
	welcome := pricing.Offer{ID: uuid.MustParse("0196a000-0000-7000-8000-0000000000f2"), Version: 2,
		Title: "10 EUR off with BIENVENUE", Kind: pricing.AmountOff, Target: pricing.TargetOrder, Amount: eur(1000),
		Stackable: true, Conditions: pricing.Conditions{Code: "BIENVENUE"}}
	kioskOnly := pricing.Offer{ID: uuid.MustParse("0196a000-0000-7000-8000-0000000000f3"), Version: 1,
		Title: "5% off at the kiosk", Kind: pricing.PercentageOff, Target: pricing.TargetLines, PercentOff: 500, Priority: 10,
		Stackable: true, Conditions: pricing.Conditions{Channels: []channel.Kind{channel.Kiosk}}}

	pool := demoDB(t)
	plain := newCartServer(t, pool, offersFake{running, welcome})
	restricted := newCartServer(t, pool, offersFake{running, welcome, kioskOnly})

	vs := cartVariants(t, 2, 5)
	id, token := plain.createCart(t, demo.KeyWebEU, line(demo.VariantID("MS-000001-NOI-41"), 1), line(vs[0], 2), line(vs[1], 1))
	r := plain.send(t, demo.KeyMobileEU, "", codesUpdate, map[string]any{"id": id, "token": token, "codes": []any{"bienvenue", "NOPE"}}).ok(t)
	noUserErrors(t, r, "cartDiscountCodesUpdate")

	// priced is what a channel shows of the cart's money: costs,
	// explanations and codes, as the server serialized them.
	type priced struct {
		Cost          json.RawMessage `json:"cost"`
		Adjustments   json.RawMessage `json:"adjustments"`
		DiscountCodes json.RawMessage `json:"discountCodes"`
		Lines         []struct {
			Cost        json.RawMessage `json:"cost"`
			Adjustments json.RawMessage `json:"adjustments"`
		} `json:"lines"`
	}
	read := func(s *cartServer, key string) (priced, []byte) {
		r := s.send(t, key, "", cartQuery, map[string]any{"id": id, "token": token}).ok(t)
		var body struct {
			Data struct {
				Cart json.RawMessage `json:"cart"`
			} `json:"data"`
		}
		if err := json.Unmarshal(r.Raw, &body); err != nil {
			t.Fatal(err)
		}
		var p priced
		if err := json.Unmarshal(body.Data.Cart, &p); err != nil {
			t.Fatal(err)
		}
		money, _ := json.Marshal(p)
		return p, money
	}

	_, web := read(plain, demo.KeyWebEU)
	for _, key := range devices[1:] {
		if _, got := read(plain, key); !bytes.Equal(got, web) {
			t.Errorf("%s prices the cart differently from the web:\n%s\n%s", key, got, web)
		}
	}
	var w priced
	_ = json.Unmarshal(web, &w)
	if !bytes.Contains(web, []byte(`"20% off the Élan running shoe"`)) || !bytes.Contains(web, []byte(`"10 EUR off with BIENVENUE"`)) ||
		!bytes.Contains(web, []byte(`"not_found"`)) {
		t.Fatalf("the offers did not apply as expected: %s", web)
	}

	// With a kiosk-only offer, the other channels are unchanged and the
	// kiosk shows the offer in its explanations.
	for _, key := range []string{demo.KeyWebEU, demo.KeyMobileEU, demo.KeyPOSParis} {
		if _, got := read(restricted, key); !bytes.Equal(got, web) {
			t.Errorf("%s changed with a kiosk-only offer:\n%s\n%s", key, got, web)
		}
	}
	kiosk, kioskJSON := read(restricted, demo.KeyKioskParis)
	if bytes.Equal(kioskJSON, web) || !bytes.Contains(kioskJSON, []byte(`"5% off at the kiosk"`)) {
		t.Fatalf("the kiosk does not show its offer: %s", kioskJSON)
	}
	type adj struct {
		OfferID string `json:"offerId"`
		Amount  struct {
			Amount string `json:"amount"`
		} `json:"amount"`
	}
	cents := func(s string) int64 { return commerce.MustMoney(s, "EUR").Amount }
	var kioskOff int64
	for _, l := range kiosk.Lines {
		var as []adj
		_ = json.Unmarshal(l.Adjustments, &as)
		for _, a := range as {
			if a.OfferID == kioskOnly.ID.String() {
				kioskOff += cents(a.Amount.Amount)
			}
		}
	}
	var wc, kc struct {
		Total struct {
			Amount string `json:"amount"`
		} `json:"total"`
	}
	_ = json.Unmarshal(w.Cost, &wc)
	_ = json.Unmarshal(kiosk.Cost, &kc)
	if kioskOff == 0 || cents(kc.Total.Amount)+kioskOff != cents(wc.Total.Amount) {
		t.Fatalf("the kiosk's total %s is not the web's %s less the kiosk offer's %d", kc.Total.Amount, wc.Total.Amount, kioskOff)
	}
	if !bytes.Equal(kiosk.Adjustments, w.Adjustments) || !bytes.Equal(kiosk.DiscountCodes, w.DiscountCodes) {
		t.Errorf("order-level explanations differ beyond the kiosk offer:\n%s\n%s", kiosk.Adjustments, w.Adjustments)
	}
}

// Staff at a store's till or kiosk reach a shopper's cart and add to it.
func TestCartStaffAssistsAtTheTill(t *testing.T) {
	s := newCartServer(t, nil, nil)
	v := cartVariants(t, 1, 5)[0]
	id, _ := s.createCart(t, demo.KeyWebEU)
	r := s.send(t, demo.KeyPOSParis, s.associate, linesAdd, map[string]any{"id": id, "lines": []any{line(v, 1)}}).ok(t)
	noUserErrors(t, r, "cartLinesAdd")
	if at(r.Data, "cartLinesAdd", "cart", "lines", 0, "addedByChannel", "kind") != "POS" {
		t.Fatalf("the till's line: %s", r.Raw)
	}
}

// Lines, codes and removal through the API, and the userErrors of bad input.
func TestCartLinesUpdateRemoveAndErrors(t *testing.T) {
	s := newCartServer(t, nil, nil)
	vs := cartVariants(t, 2, 5)
	id, token := s.createCart(t, demo.KeyWebEU, line(vs[0], 1), line(vs[1], 1))
	r := s.send(t, demo.KeyWebEU, "", cartQuery, map[string]any{"id": id, "token": token}).ok(t)
	first, second := at(r.Data, "cart", "lines", 0, "id"), at(r.Data, "cart", "lines", 1, "id")

	r = s.send(t, demo.KeyWebEU, "", linesUpdate, map[string]any{"id": id, "token": token,
		"lines": []any{map[string]any{"id": first, "quantity": 3}, map[string]any{"id": second, "quantity": 0}}}).ok(t)
	noUserErrors(t, r, "cartLinesUpdate")
	if lines := at(r.Data, "cartLinesUpdate", "cart", "lines").([]any); len(lines) != 1 || at(lines[0], "quantity") != 3.0 {
		t.Fatalf("update: %s", r.Raw)
	}
	r = s.send(t, demo.KeyWebEU, "", linesRemove, map[string]any{"id": id, "token": token, "lineIds": []any{second}}).ok(t)
	if e := userError(r, "cartLinesRemove"); e == nil || e["code"] != commerce.ErrNotFound || fmt.Sprint(e["field"]) != "[lineIds 0]" {
		t.Fatalf("removing a removed line: %s", r.Raw)
	}
	r = s.send(t, demo.KeyWebEU, "", linesAdd, map[string]any{"id": id, "token": token, "lines": []any{line(vs[0], 0)}}).ok(t)
	if e := userError(r, "cartLinesAdd"); e == nil || e["code"] != commerce.ErrInvalidInput || fmt.Sprint(e["field"]) != "[lines 0 quantity]" {
		t.Fatalf("a zero quantity: %s", r.Raw)
	}
	r = s.send(t, demo.KeyWebEU, "", cartCreateOp, map[string]any{"input": map[string]any{"lines": []any{line(commerce.NewID(), 1)}}}).ok(t)
	if e := userError(r, "cartCreate"); e == nil || e["code"] != commerce.ErrNotFound || fmt.Sprint(e["field"]) != "[input lines 0 merchandiseId]" {
		t.Fatalf("an unknown variant: %s", r.Raw)
	}
	r = s.send(t, demo.KeyWebEU, "", cartCreateOp, map[string]any{"key": "short"}).ok(t)
	if e := userError(r, "cartCreate"); e == nil || fmt.Sprint(e["field"]) != "[idempotencyKey]" {
		t.Fatalf("a short key: %s", r.Raw)
	}
	r = s.send(t, demo.KeyWebEU, "", codesUpdate, map[string]any{"id": id, "token": token, "codes": []any{" ete ", "ETE"}}).ok(t)
	if codes := at(r.Data, "cartDiscountCodesUpdate", "cart", "discountCodes").([]any); len(codes) != 1 ||
		at(codes[0], "code") != "ete" || at(codes[0], "applicable") != false || at(codes[0], "reason") != "not_found" {
		t.Fatalf("codes: %s", r.Raw)
	}
}

// batchCountingTracer counts the SQL statements a pool runs, those sent in
// a batch (pipelined in one round trip) included, less the channel lookup
// by key, cached for 30 s per key (see countingTracer): on a loaded machine
// the cache can lapse during the test, which says nothing of the add.
type batchCountingTracer struct{ n atomic.Int64 }

func (c *batchCountingTracer) count(sql string) {
	if !strings.Contains(sql, "FROM channels WHERE publishable_key") {
		c.n.Add(1)
	}
}
func (c *batchCountingTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.count(d.SQL)
	return ctx
}
func (c *batchCountingTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *batchCountingTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}
func (c *batchCountingTracer) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	c.count(d.SQL)
}
func (c *batchCountingTracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// cartLinesAdd runs a handful of SQL statements, however big the cart:
// the plan settings, the change and the read of the changed cart (in one
// round trip, as one implicit transaction), and here one more: each add
// brings a variant the cart service has not seen yet, whose catalog data
// it reads (with the adding channel's) in one statement, then keeps (see
// commerce/cart/catalog.go). With everything kept, an add is 3 statements,
// and 2 on an add pool (cart.NewAddPool, as cmd/omnicanal runs it), whose
// sessions have the settings.
func TestCartLinesAddStatementCount(t *testing.T) {
	for _, tc := range []struct {
		name    string
		addPool bool
		kept    int64
	}{{"service pool", false, 3}, {"add pool", true, 2}} {
		t.Run(tc.name, func(t *testing.T) {
			tracer := &batchCountingTracer{}
			pool, cfg := tracedDemoDB(t, tracer)
			var opts []cart.Option
			if tc.addPool {
				addPool, err := cart.NewAddPool(t.Context(), cfg) // counted by the same tracer
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(addPool.Close)
				opts = append(opts, cart.WithAddPool(addPool))
			}
			s := newCartServer(t, pool, nil, opts...)
			vs := cartVariants(t, 21, 5)
			id, token := s.createCart(t, demo.KeyWebEU) // the channel is cached from here on

			counts := map[int]int64{}
			for n := range 21 {
				tracer.n.Store(0)
				r := s.send(t, demo.KeyWebEU, "", linesAdd, map[string]any{"id": id, "token": token, "lines": []any{line(vs[n], 1)}}).ok(t)
				noUserErrors(t, r, "cartLinesAdd")
				counts[n+1] = tracer.n.Load()
			}
			t.Logf("SQL statements per cartLinesAdd, by lines in the cart: %v", counts)
			if counts[1] > 6 || counts[1] != counts[21] {
				t.Errorf("cartLinesAdd costs %v statements, want at most 6 whatever the cart's size", counts)
			}
			// Adding to a line whose catalog data the cart service keeps (the
			// first add reads it again if it expired while the loop ran).
			for range 2 {
				tracer.n.Store(0)
				r := s.send(t, demo.KeyWebEU, "", linesAdd, map[string]any{"id": id, "token": token, "lines": []any{line(vs[20], 1)}}).ok(t)
				noUserErrors(t, r, "cartLinesAdd")
			}
			if n := tracer.n.Load(); n != tc.kept {
				t.Errorf("adding to a kept line costs %d statements, want %d", n, tc.kept)
			}
		})
	}
}
