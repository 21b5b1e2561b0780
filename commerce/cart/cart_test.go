package cart_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/cart"
	"github.com/omnicanal/omnicanal/commerce/channel"
	"github.com/omnicanal/omnicanal/commerce/commercetest"
	"github.com/omnicanal/omnicanal/commerce/customer"
	"github.com/omnicanal/omnicanal/commerce/demo"
	"github.com/omnicanal/omnicanal/commerce/pricing"
)

func TestMain(m *testing.M) { commercetest.Main(m) }

type env struct {
	pool *pgxpool.Pool
	svc  *cart.Service
}

func newEnv(t *testing.T, offers cart.Offers) *env {
	t.Helper()
	pool := commercetest.NewDB(t, commercetest.WithSeed("demo", func(ctx context.Context, pool *pgxpool.Pool) error {
		_, err := demo.Seed(ctx, pool)
		return err
	}))
	return &env{pool: pool, svc: cart.NewService(pool, offers)}
}

// on returns a context speaking through the demo channel with that key.
func (e *env) on(t *testing.T, key string) context.Context {
	t.Helper()
	ch, err := channel.NewService(e.pool).FindChannelByKey(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	return channel.NewContext(t.Context(), ch)
}

// stocked returns n variants of active products sold on every channel,
// priced in EUR, with at least min units online and in no particular
// order of product.
func stocked(t *testing.T, n, min int) []commerce.ID {
	t.Helper()
	out := demo.StockedVariants(n, min)
	if len(out) < n {
		t.Fatalf("the demo data has only %d variants with %d units online", len(out), min)
	}
	return out
}

// customer signs up a new customer and returns their id.
func (e *env) customer(t *testing.T) commerce.ID {
	t.Helper()
	svc := customer.NewService(e.pool, customer.WithPasswordParams(customer.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}))
	c, _, err := svc.SignUp(t.Context(), uuid.NewString()+"@example.com", "correct horse battery", "Anna")
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

func code(err error) string { return commerce.ErrorCode(err) }

func TestCreateAddAndRead(t *testing.T) {
	e := newEnv(t, nil)
	web := e.on(t, demo.KeyWebEU)
	vs := stocked(t, 2, 5)
	c, token, err := e.svc.CreateCart(web, cart.CreateInput{Lines: []cart.LineInput{{VariantID: vs[0], Quantity: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(token) < 40 || token[:3] != cart.TokenPrefix {
		t.Fatalf("token %q", token)
	}
	if c.Version != 1 || c.Status != cart.Active || c.Currency != "EUR" || len(c.Lines) != 1 || c.Lines[0].Quantity != 2 {
		t.Fatalf("created %+v", c)
	}
	l := c.Lines[0]
	if l.AddedBy.Kind != channel.Web || l.Cost == nil || l.Cost.Subtotal.Amount != 2*l.Price.Price.Amount || c.Cost.Total != l.Cost.Total {
		t.Fatalf("line %+v cost %+v", l, c.Cost)
	}

	// Another device (the kiosk) adds the same variant and another one.
	kiosk := e.on(t, demo.KeyKioskParis)
	c, err = e.svc.AddLines(kiosk, c.ID, token, []cart.LineInput{{VariantID: vs[0], Quantity: 1}, {VariantID: vs[1], Quantity: 1}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != 2 || len(c.Lines) != 2 || c.Lines[0].Quantity != 3 || c.Lines[0].AddedBy.Kind != channel.Web || c.Lines[1].AddedBy.Kind != channel.Kiosk {
		t.Fatalf("after add: %+v", c)
	}

	// Set, remove, codes.
	c, err = e.svc.UpdateLines(web, c.ID, token, []cart.LineUpdate{{ID: c.Lines[0].ID, Quantity: 1}}, nil)
	if err != nil || c.Lines[0].Quantity != 1 || c.Version != 3 {
		t.Fatalf("update: %v %+v", err, c)
	}
	c, err = e.svc.UpdateLines(web, c.ID, token, []cart.LineUpdate{{ID: c.Lines[1].ID, Quantity: 0}}, nil)
	if err != nil || len(c.Lines) != 1 {
		t.Fatalf("update to 0: %v %+v", err, c)
	}
	gone := c.Lines[0].ID
	c, err = e.svc.RemoveLines(web, c.ID, token, []commerce.ID{gone}, nil)
	if err != nil || len(c.Lines) != 0 || c.Cost.Total.Amount != 0 {
		t.Fatalf("remove: %v %+v", err, c)
	}
	c, err = e.svc.RemoveLines(web, c.ID, token, []commerce.ID{gone}, nil)
	if code(err) != commerce.ErrNotFound || c == nil || c.Version != 5 {
		t.Fatalf("removing a removed line: %v %+v", err, c)
	}
	c, err = e.svc.SetDiscountCodes(web, c.ID, token, []string{" bienvenue ", "BIENVENUE", "ete"}, nil)
	if err != nil || len(c.DiscountCodes) != 2 || c.DiscountCodes[0].Code != "bienvenue" || c.DiscountCodes[0].Applicable ||
		*c.DiscountCodes[0].Reason != string(pricing.ReasonNotFound) {
		t.Fatalf("codes: %v %+v", err, c.DiscountCodes)
	}
}

func TestIfVersion(t *testing.T) {
	e := newEnv(t, nil)
	web := e.on(t, demo.KeyWebEU)
	vs := stocked(t, 1, 5)
	c, token, err := e.svc.CreateCart(web, cart.CreateInput{})
	if err != nil {
		t.Fatal(err)
	}
	v := c.Version
	if c, err = e.svc.AddLines(web, c.ID, token, []cart.LineInput{{VariantID: vs[0], Quantity: 1}}, &v); err != nil || c.Version != v+1 {
		t.Fatalf("add at the right version: %v %+v", err, c)
	}
	c, err = e.svc.AddLines(web, c.ID, token, []cart.LineInput{{VariantID: vs[0], Quantity: 1}}, &v)
	var ce *commerce.Error
	if !errors.As(err, &ce) || ce.Code != commerce.ErrConflict || ce.Field != "ifVersion" {
		t.Fatalf("stale version: %v", err)
	}
	if c == nil || c.Version != v+1 || c.Lines[0].Quantity != 1 {
		t.Fatalf("a conflict returns the current cart, unchanged: %+v", c)
	}
}

func TestIdempotentCreate(t *testing.T) {
	e := newEnv(t, nil)
	web := e.on(t, demo.KeyWebEU)
	vs := stocked(t, 1, 5)
	in := cart.CreateInput{IdempotencyKey: uuid.NewString(), Lines: []cart.LineInput{{VariantID: vs[0], Quantity: 1}}}
	var (
		wg     sync.WaitGroup
		ids    = make([]commerce.ID, 8)
		tokens = make([]string, 8)
	)
	for i := range ids {
		wg.Go(func() {
			c, token, err := e.svc.CreateCart(web, in)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i], tokens[i] = c.ID, token
		})
	}
	wg.Wait()
	for i := range ids {
		if ids[i] != ids[0] {
			t.Fatalf("one key made several carts: %v", ids)
		}
		c, err := e.svc.FindCart(web, ids[i], tokens[i])
		if err != nil || c.Lines[0].Quantity != 1 {
			t.Fatalf("token %d of a replay: %v %+v", i, err, c)
		}
	}
	in.Lines[0].Quantity = 2
	if _, _, err := e.svc.CreateCart(web, in); code(err) != commerce.ErrConflict {
		t.Fatalf("a key reused for another request: %v", err)
	}
}

func TestCustomerHasOneActiveCart(t *testing.T) {
	e := newEnv(t, nil)
	vs := stocked(t, 2, 5)
	alice := e.customer(t)
	web := commerce.WithCustomer(e.on(t, demo.KeyWebEU), alice)
	mobile := commerce.WithCustomer(e.on(t, demo.KeyMobileEU), alice)
	c1, token, err := e.svc.CreateCart(web, cart.CreateInput{Lines: []cart.LineInput{{VariantID: vs[0], Quantity: 1}}})
	if err != nil || token != "" {
		t.Fatalf("%v %q", err, token)
	}
	c2, _, err := e.svc.CreateCart(mobile, cart.CreateInput{Lines: []cart.LineInput{{VariantID: vs[1], Quantity: 1}}})
	if err != nil || c2.ID != c1.ID || len(c2.Lines) != 2 {
		t.Fatalf("the second device got %v %+v", err, c2)
	}

	// A guest cart attached to a customer who has a cart is merged into it
	// (merge_test.go has the rule); attached to a customer without one, it
	// is theirs and its token stops working.
	guest := e.on(t, demo.KeyWebEU)
	other, ot, err := e.svc.CreateCart(guest, cart.CreateInput{Lines: []cart.LineInput{{VariantID: vs[0], Quantity: 3}}})
	if err != nil {
		t.Fatal(err)
	}
	merged, err := e.svc.SetBuyerIdentity(commerce.WithCustomer(guest, alice), other.ID, ot, nil)
	if err != nil || merged.ID != c1.ID || len(merged.Lines) != 2 || merged.Lines[0].Quantity != 4 {
		t.Fatalf("attach to a customer with a cart: %v %+v", err, merged)
	}
	g, gt, err := e.svc.CreateCart(guest, cart.CreateInput{Lines: []cart.LineInput{{VariantID: vs[0], Quantity: 3}}})
	if err != nil {
		t.Fatal(err)
	}
	bob := e.customer(t)
	asBob := commerce.WithCustomer(guest, bob)
	g, err = e.svc.SetBuyerIdentity(asBob, g.ID, gt, nil)
	if err != nil || g.CustomerID == nil || *g.CustomerID != bob || g.Lines[0].Quantity != 3 {
		t.Fatalf("attach: %v %+v", err, g)
	}
	if _, err := e.svc.FindCart(guest, g.ID, gt); code(err) != commerce.ErrNotFound {
		t.Fatalf("the token of an attached cart: %v", err)
	}
	if g, err = e.svc.SetBuyerIdentity(asBob, g.ID, "", nil); err != nil || *g.CustomerID != bob {
		t.Fatalf("attaching again: %v", err)
	}
	if c, _, err := e.svc.CreateCart(asBob, cart.CreateInput{}); err != nil || c.ID != g.ID {
		t.Fatalf("bob's cart: %v", err)
	}
}

// A cart is reached with its token, by its owner or by staff of the store
// the kiosk or till stands in; anything else is NOT_FOUND, for every
// method.
func TestForeignCartsAreNotFound(t *testing.T) {
	e := newEnv(t, nil)
	vs := stocked(t, 1, 5)
	web := e.on(t, demo.KeyWebEU)
	alice, mallory := e.customer(t), e.customer(t)
	guestCart, token, err := e.svc.CreateCart(web, cart.CreateInput{Lines: []cart.LineInput{{VariantID: vs[0], Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	aliceCart, _, err := e.svc.CreateCart(commerce.WithCustomer(web, alice), cart.CreateInput{Lines: []cart.LineInput{{VariantID: vs[0], Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	_, otherToken, err := e.svc.CreateCart(web, cart.CreateInput{})
	if err != nil {
		t.Fatal(err)
	}
	paris := demo.LocationID(demo.CodeParis)
	associate := commerce.Principal{StaffID: commerce.NewID(), Role: commerce.RoleAssociate, LocationIDs: []commerce.ID{paris}}

	type who struct {
		name  string
		ctx   context.Context
		token string
	}
	outsiders := []who{
		{"no token", web, ""},
		{"another cart's token", web, otherToken},
		{"a malformed token", web, "gt_nope"},
		{"another customer", commerce.WithCustomer(web, mallory), ""},
		{"another customer with another token", commerce.WithCustomer(web, mallory), otherToken},
		{"staff on the web", commerce.WithPrincipal(web, associate), ""},
		{"staff of Paris at the Lyon till", commerce.WithPrincipal(e.on(t, demo.KeyPOSLyon), associate), ""},
	}
	for _, c := range []*cart.Cart{guestCart, aliceCart} {
		for _, w := range outsiders {
			calls := map[string]func() (*cart.Cart, error){
				"FindCart": func() (*cart.Cart, error) { return e.svc.FindCart(w.ctx, c.ID, w.token) },
				"AddLines": func() (*cart.Cart, error) {
					return e.svc.AddLines(w.ctx, c.ID, w.token, []cart.LineInput{{VariantID: vs[0], Quantity: 1}}, nil)
				},
				"UpdateLines": func() (*cart.Cart, error) {
					return e.svc.UpdateLines(w.ctx, c.ID, w.token, []cart.LineUpdate{{ID: c.Lines[0].ID, Quantity: 0}}, nil)
				},
				"RemoveLines": func() (*cart.Cart, error) {
					return e.svc.RemoveLines(w.ctx, c.ID, w.token, []commerce.ID{c.Lines[0].ID}, nil)
				},
				"SetDiscountCodes": func() (*cart.Cart, error) {
					return e.svc.SetDiscountCodes(w.ctx, c.ID, w.token, []string{"X"}, nil)
				},
				"SetBuyerIdentity": func() (*cart.Cart, error) {
					return e.svc.SetBuyerIdentity(commerce.WithCustomer(w.ctx, mallory), c.ID, w.token, nil)
				},
				"SetPickupStore": func() (*cart.Cart, error) {
					return e.svc.SetPickupStore(w.ctx, c.ID, w.token, &paris, nil)
				},
			}
			for name, call := range calls {
				got, err := call()
				if code(err) != commerce.ErrNotFound || got != nil {
					t.Errorf("%s on %s's cart by %s: %v (cart %v)", name, ownerName(c), w.name, err, got != nil)
				}
			}
		}
	}
	// Nothing changed.
	for _, c := range []struct {
		ctx   context.Context
		cart  *cart.Cart
		token string
	}{{web, guestCart, token}, {commerce.WithCustomer(web, alice), aliceCart, ""}} {
		now, err := e.svc.FindCart(c.ctx, c.cart.ID, c.token)
		if err != nil || now.Version != c.cart.Version || now.Lines[0].Quantity != 1 || now.CustomerID != nil && c.cart.CustomerID == nil {
			t.Fatalf("the cart changed: %v %+v", err, now)
		}
	}
	// The owner, the token and the staff of the right store do reach them.
	posParis := commerce.WithPrincipal(e.on(t, demo.KeyPOSParis), associate)
	for _, ok := range []who{{"the token", web, token}, {"staff of Paris at the Paris till", posParis, ""}} {
		if _, err := e.svc.FindCart(ok.ctx, guestCart.ID, ok.token); err != nil {
			t.Errorf("%s: %v", ok.name, err)
		}
	}
	if _, err := e.svc.FindCart(posParis, aliceCart.ID, ""); err != nil {
		t.Errorf("staff on a customer's cart: %v", err)
	}
}

func ownerName(c *cart.Cart) string {
	if c.CustomerID != nil {
		return "a customer"
	}
	return "a guest"
}

// Adding what the pickup store lacks is OUT_OF_STOCK and names the nearest
// stores that have it; lowering a line is always allowed.
func TestOutOfStockNamesNearestStores(t *testing.T) {
	e := newEnv(t, nil)
	web := e.on(t, demo.KeyWebEU)
	paris := demo.LocationID(demo.CodeParis)
	c, token, err := e.svc.CreateCart(web, cart.CreateInput{})
	if err != nil {
		t.Fatal(err)
	}
	if c, err = e.svc.SetPickupStore(web, c.ID, token, &paris, nil); err != nil || *c.PickupLocationID != paris {
		t.Fatalf("pickup: %v", err)
	}
	shoe := demo.VariantID(demo.SKUInLyonNotParis)
	c, err = e.svc.AddLines(web, c.ID, token, []cart.LineInput{{VariantID: shoe, Quantity: 1}}, nil)
	var se *cart.StockError
	if !errors.As(err, &se) || code(err) != commerce.ErrOutOfStock {
		t.Fatalf("want OUT_OF_STOCK, got %v", err)
	}
	if c == nil || len(c.Lines) != 0 || se.Field != "lines[0].quantity" || se.Available != 0 || se.Store == nil || se.Store.ID != paris {
		t.Fatalf("error %+v, cart %+v", se, c)
	}
	var names []string
	for _, s := range se.Stores {
		names = append(names, s.Store.Code)
	}
	// Lyon (4 units, ~390 km from Paris) before Bordeaux (2, ~500 km).
	if !slices.Equal(names, []string{demo.CodeLyon, demo.CodeBordeaux}) || *se.Stores[0].Store.DistanceKm > *se.Stores[1].Store.DistanceKm {
		t.Fatalf("stores %v", names)
	}
	// Three units: only Lyon has them.
	_, err = e.svc.AddLines(web, c.ID, token, []cart.LineInput{{VariantID: shoe, Quantity: 3}}, nil)
	if !errors.As(err, &se) || len(se.Stores) != 1 || se.Stores[0].Store.Code != demo.CodeLyon {
		t.Fatalf("three units: %v", err)
	}

	// Without a pickup store, the rule is online stock (every location).
	if c, err = e.svc.SetPickupStore(web, c.ID, token, nil, nil); err != nil {
		t.Fatal(err)
	}
	if c, err = e.svc.AddLines(web, c.ID, token, []cart.LineInput{{VariantID: shoe, Quantity: 40}}, nil); err != nil {
		t.Fatalf("40 of 56 online: %v", err)
	}
	if _, err = e.svc.AddLines(web, c.ID, token, []cart.LineInput{{VariantID: shoe, Quantity: 17}}, nil); !errors.As(err, &se) || se.Requested != 57 || se.Available != 56 {
		t.Fatalf("57 of 56 online: %v", err)
	}
	// Choosing Paris now is refused line by line; lowering is allowed.
	if _, err = e.svc.SetPickupStore(web, c.ID, token, &paris, nil); !errors.As(err, &se) || se.Field != "storeId" {
		t.Fatalf("Paris for a cart Paris cannot serve: %v", err)
	}
	if c, err = e.svc.UpdateLines(web, c.ID, token, []cart.LineUpdate{{ID: c.Lines[0].ID, Quantity: 4}}, nil); err != nil {
		t.Fatal(err)
	}
	lyon := demo.LocationID(demo.CodeLyon)
	if c, err = e.svc.SetPickupStore(web, c.ID, token, &lyon, nil); err != nil {
		t.Fatalf("Lyon has 4: %v", err)
	}
	if _, err = e.svc.UpdateLines(web, c.ID, token, []cart.LineUpdate{{ID: c.Lines[0].ID, Quantity: 5}}, nil); !errors.As(err, &se) {
		t.Fatalf("raising past Lyon's stock: %v", err)
	}
	if _, err = e.svc.UpdateLines(web, c.ID, token, []cart.LineUpdate{{ID: c.Lines[0].ID, Quantity: 2}}, nil); err != nil {
		t.Fatalf("lowering: %v", err)
	}
	warehouse := demo.LocationID(demo.CodeWarehouseFR)
	if _, err = e.svc.SetPickupStore(web, c.ID, token, &warehouse, nil); code(err) != commerce.ErrInvalidInput {
		t.Fatalf("a warehouse as pickup store: %v", err)
	}
}

// Lines can only be added through a channel that sells the variant.
func TestAddChecksPublication(t *testing.T) {
	e := newEnv(t, nil)
	web, kiosk := e.on(t, demo.KeyWebEU), e.on(t, demo.KeyKioskParis)
	exclusive := stockedOf(t, demo.HandleWebExclusive)
	c, token, err := e.svc.CreateCart(web, cart.CreateInput{Lines: []cart.LineInput{{VariantID: exclusive, Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AddLines(kiosk, c.ID, token, []cart.LineInput{{VariantID: exclusive, Quantity: 1}}, nil); code(err) != commerce.ErrNotFound {
		t.Fatalf("a web exclusive added at a kiosk: %v", err)
	}
	// The kiosk still shows and prices the line the web added.
	got, err := e.svc.FindCart(kiosk, c.ID, token)
	if err != nil || len(got.Lines) != 1 || got.Lines[0].Cost == nil || got.Cost.Total != c.Cost.Total {
		t.Fatalf("the kiosk's view: %v %+v", err, got)
	}
	if _, err := e.svc.AddLines(web, c.ID, token, []cart.LineInput{{VariantID: commerce.NewID(), Quantity: 1}}, nil); code(err) != commerce.ErrNotFound {
		t.Fatalf("an unknown variant: %v", err)
	}
}

// stockedOf returns a variant of the product with stock online.
func stockedOf(t *testing.T, handle string) commerce.ID {
	t.Helper()
	d := demo.Generate()
	online := map[commerce.ID]int{}
	for _, s := range d.Stock {
		online[s.VariantID] += s.OnHand
	}
	for _, v := range d.Product(handle).Variants {
		if online[v.ID] > 2 {
			return v.ID
		}
	}
	t.Fatalf("no variant of %s in stock", handle)
	return commerce.ID{}
}

type fakeOffers []pricing.Offer

func (f fakeOffers) ActiveOffers(context.Context, commerce.Currency, time.Time) ([]pricing.Offer, error) {
	return f, nil
}

func TestPricedOnReadWithOffers(t *testing.T) {
	tenPercent := pricing.Offer{ID: commerce.NewID(), Version: 3, Title: "10% off everything", Kind: pricing.PercentageOff,
		Target: pricing.TargetLines, PercentOff: 1000, Stackable: true}
	coupon := pricing.Offer{ID: commerce.NewID(), Version: 1, Title: "5 EUR off with BIENVENUE", Kind: pricing.AmountOff,
		Target: pricing.TargetOrder, Amount: commerce.Money{Amount: 500, Currency: "EUR"}, Stackable: true,
		Conditions: pricing.Conditions{Code: "BIENVENUE"}}
	e := newEnv(t, fakeOffers{tenPercent, coupon})
	web := e.on(t, demo.KeyWebEU)
	vs := stocked(t, 2, 5)
	c, token, err := e.svc.CreateCart(web, cart.CreateInput{Lines: []cart.LineInput{{VariantID: vs[0], Quantity: 1}, {VariantID: vs[1], Quantity: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	if c, err = e.svc.SetDiscountCodes(web, c.ID, token, []string{"bienvenue"}, nil); err != nil {
		t.Fatal(err)
	}
	if !c.DiscountCodes[0].Applicable || c.DiscountCodes[0].Reason != nil {
		t.Fatalf("coupon %+v", c.DiscountCodes[0])
	}
	var sum int64
	for _, l := range c.Lines {
		var adj int64
		for _, a := range l.Adjustments {
			adj += a.Amount.Amount
			if a.Description == "" || a.OfferVersion == 0 {
				t.Errorf("an adjustment without its explanation: %+v", a)
			}
		}
		if l.Cost.Subtotal.Amount-adj != l.Cost.Total.Amount || len(l.Adjustments) != 2 {
			t.Errorf("line %s: subtotal %d - adjustments %d != total %d", l.Variant.SKU, l.Cost.Subtotal.Amount, adj, l.Cost.Total.Amount)
		}
		sum += l.Cost.Total.Amount
	}
	if sum != c.Cost.Total.Amount || c.Cost.DiscountTotal.Amount <= 500 || len(c.Cost.Adjustments) != 1 {
		t.Fatalf("lines add up to %d, cart total %+v", sum, c.Cost)
	}
}

// IssueToken gives another device a token of the cart, which may expire.
func TestIssueToken(t *testing.T) {
	e := newEnv(t, nil)
	web := e.on(t, demo.KeyWebEU)
	c, _, err := e.svc.CreateCart(web, cart.CreateInput{})
	if err != nil {
		t.Fatal(err)
	}
	lasting, err := cart.IssueToken(web, e.pool, c.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	brief, err := cart.IssueToken(web, e.pool, c.ID, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if _, err := e.svc.FindCart(web, c.ID, lasting); err != nil {
		t.Errorf("a token without expiry: %v", err)
	}
	if _, err := e.svc.FindCart(web, c.ID, brief); code(err) != commerce.ErrNotFound {
		t.Errorf("an expired token: %v", err)
	}
}

// A cart holds at most MaxLines lines: an add that would make one more is
// refused and changes nothing, while raising a line of a full cart works.
func TestAddBeyondMaxLines(t *testing.T) {
	e := newEnv(t, nil)
	web := e.on(t, demo.KeyWebEU)
	vs := stocked(t, 2, 5)
	c, token, err := e.svc.CreateCart(web, cart.CreateInput{Lines: []cart.LineInput{{VariantID: vs[0], Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	// Fill the cart up with other variants, whatever they are.
	tag, err := e.pool.Exec(t.Context(), `INSERT INTO cart_lines (cart_id, id, variant_id, quantity, channel_id, updated_channel_id)
		SELECT $1, gen_random_uuid(), v.id, 1, c.created_channel_id, c.created_channel_id
		FROM variants v CROSS JOIN carts c WHERE c.id = $1 AND v.id <> ALL($2) ORDER BY v.id LIMIT $3`,
		c.ID, []commerce.ID{vs[0], vs[1]}, cart.MaxLines-1)
	if err != nil || tag.RowsAffected() != cart.MaxLines-1 {
		t.Fatalf("filling the cart: %v, %d lines", err, tag.RowsAffected())
	}
	full, err := e.svc.FindCart(web, c.ID, token)
	if err != nil || len(full.Lines) != cart.MaxLines {
		t.Fatalf("full cart: %v, %d lines", err, len(full.Lines))
	}

	got, err := e.svc.AddLines(web, c.ID, token, []cart.LineInput{{VariantID: vs[1], Quantity: 1}}, nil)
	if code(err) != commerce.ErrInvalidInput || got == nil || got.Version != full.Version || len(got.Lines) != cart.MaxLines {
		t.Fatalf("adding a line to a full cart: %v; want INVALID_INPUT and the cart unchanged at version %d", err, full.Version)
	}
	got, err = e.svc.AddLines(web, c.ID, token, []cart.LineInput{{VariantID: vs[0], Quantity: 1}}, nil)
	if err != nil || got.Version != full.Version+1 || len(got.Lines) != cart.MaxLines {
		t.Fatalf("raising a line of a full cart: %v", err)
	}
	for _, l := range got.Lines {
		if l.Variant.ID == vs[0] && l.Quantity != 2 {
			t.Fatalf("the raised line holds %d units, want 2", l.Quantity)
		}
	}
}

// The catalog side of lines (titles, categories, collections…) is kept in
// memory until PurgeCatalog, which cmd/omnicanal calls at every catalog
// change, or until its TTL; prices are read with every cart.
func TestCatalogDataOfLines(t *testing.T) {
	e := newEnv(t, nil)
	web := e.on(t, demo.KeyWebEU)
	v := stocked(t, 1, 5)[0]
	c, token, err := e.svc.CreateCart(web, cart.CreateInput{Lines: []cart.LineInput{{VariantID: v, Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	before := c.Lines[0]
	if before.Product.Title == "" || before.Variant.SKU == "" || before.Price == nil {
		t.Fatalf("line without its catalog data: %+v", before)
	}
	if _, err := e.pool.Exec(t.Context(), `UPDATE products SET title = 'Renamed' WHERE id = $1`, before.Product.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(t.Context(), `UPDATE variant_prices SET amount = amount + 100 WHERE variant_id = $1 AND currency_code = 'EUR'`, v); err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.FindCart(web, c.ID, token)
	if err != nil {
		t.Fatal(err)
	}
	if l := got.Lines[0]; l.Product.Title != before.Product.Title || l.Price.Price.Amount != before.Price.Price.Amount+100 {
		t.Fatalf("before a purge: title %q, price %d; want the kept title %q and the current price %d",
			l.Product.Title, l.Price.Price.Amount, before.Product.Title, before.Price.Price.Amount+100)
	}
	e.svc.PurgeCatalog()
	if got, err = e.svc.FindCart(web, c.ID, token); err != nil || got.Lines[0].Product.Title != "Renamed" {
		t.Fatalf("after a purge: %v, title %q", err, got.Lines[0].Product.Title)
	}

	// Without a TTL nothing is kept.
	svc := cart.NewService(e.pool, nil, cart.WithCatalogTTL(0))
	if _, err := e.pool.Exec(t.Context(), `UPDATE products SET title = 'Renamed again' WHERE id = $1`, before.Product.ID); err != nil {
		t.Fatal(err)
	}
	if got, err = svc.FindCart(web, c.ID, token); err != nil || got.Lines[0].Product.Title != "Renamed again" {
		t.Fatalf("without a TTL: %v, title %q", err, got.Lines[0].Product.Title)
	}
	if _, err := e.pool.Exec(t.Context(), `UPDATE products SET title = 'Renamed a third time' WHERE id = $1`, before.Product.ID); err != nil {
		t.Fatal(err)
	}
	if got, err = svc.FindCart(web, c.ID, token); err != nil || got.Lines[0].Product.Title != "Renamed a third time" {
		t.Fatalf("without a TTL, read again: %v, title %q", err, got.Lines[0].Product.Title)
	}
}

// The stores an OUT_OF_STOCK error names are of the cart's currency: a
// EUR cart is never sent to Montréal, however many units it holds.
func TestOutOfStockNamesStoresOfTheCartsCurrency(t *testing.T) {
	e := newEnv(t, nil)
	web := e.on(t, demo.KeyWebEU)
	paris := demo.LocationID(demo.CodeParis)
	shoe := demo.VariantID(demo.SKUInLyonNotParis)
	if _, err := e.pool.Exec(t.Context(), `INSERT INTO stock_levels (variant_id, location_id, on_hand) VALUES ($1, $2, 50)
		ON CONFLICT (variant_id, location_id) DO UPDATE SET on_hand = 50`, shoe, demo.LocationID(demo.CodeMontreal)); err != nil {
		t.Fatal(err)
	}
	c, token, err := e.svc.CreateCart(web, cart.CreateInput{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err = e.svc.SetPickupStore(web, c.ID, token, &paris, nil); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.AddLines(web, c.ID, token, []cart.LineInput{{VariantID: shoe, Quantity: 1}}, nil)
	var se *cart.StockError
	if !errors.As(err, &se) {
		t.Fatalf("want OUT_OF_STOCK, got %v", err)
	}
	var names []string
	for _, s := range se.Stores {
		names = append(names, s.Store.Code)
	}
	if !slices.Equal(names, []string{demo.CodeLyon, demo.CodeBordeaux}) {
		t.Fatalf("stores %v, want Lyon and Bordeaux only", names)
	}
}
