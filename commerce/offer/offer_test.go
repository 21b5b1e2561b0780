package offer_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/catalog"
	"github.com/omnicanal/omnicanal/commerce/channel"
	"github.com/omnicanal/omnicanal/commerce/commercetest"
	"github.com/omnicanal/omnicanal/commerce/offer"
	"github.com/omnicanal/omnicanal/commerce/pricing"
	"github.com/omnicanal/omnicanal/commerce/staff"
)

func TestMain(m *testing.M) { commercetest.Main(m) }

// as returns a context acting for a new staff user with that role.
func as(t *testing.T, pool *pgxpool.Pool, role commerce.Role) context.Context {
	t.Helper()
	in := staff.Input{Email: fmt.Sprintf("%s-%s@example.com", role, commerce.NewID()), Name: string(role), Role: role}
	if role == commerce.RoleAssociate {
		in.LocationIDs = []commerce.ID{commerce.NewID()}
	}
	st, err := staff.NewService(pool).CreateStaff(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	return commerce.WithPrincipal(t.Context(), commerce.Principal{StaffID: st.ID, Role: st.Role, LocationIDs: st.LocationIDs})
}

func ptr[T any](v T) *T { return &v }

func eur(amount string) *offer.MoneyInput {
	return &offer.MoneyInput{Amount: amount, CurrencyCode: "EUR"}
}

// percentOff is a valid input: 20 % off every line.
func percentOff(title string) offer.Input {
	return offer.Input{Title: ptr(title), Kind: ptr(pricing.PercentageOff), Target: ptr(pricing.TargetLines), PercentOff: ptr("20")}
}

func withCode(in offer.Input, code string) offer.Input {
	if in.Conditions == nil {
		in.Conditions = &offer.ConditionsInput{}
	}
	in.Conditions.Code = ptr(code)
	return in
}

func create(t *testing.T, svc *offer.Service, ctx context.Context, in offer.Input) *offer.Offer {
	t.Helper()
	o, err := svc.CreateOffer(ctx, in, "")
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// wantInputError checks that err holds an input error with that code on
// that field.
func wantInputError(t *testing.T, err error, code, field string) {
	t.Helper()
	errs := catalog.InputErrors(err)
	if errs == nil {
		t.Fatalf("want %s on %s, got %v", code, field, err)
	}
	for _, e := range errs {
		if e.Code == code && e.Field == field {
			return
		}
	}
	t.Errorf("want %s on %q, got %v", code, field, err)
}

func TestWritesNeedAMerchandiserOrAnAdmin(t *testing.T) {
	pool := commercetest.NewDB(t)
	svc := offer.NewService(pool)
	merch := as(t, pool, commerce.RoleMerchandiser)
	o := create(t, svc, merch, percentOff("Soldes"))
	for name, ctx := range map[string]context.Context{
		"no principal": t.Context(),
		"associate":    as(t, pool, commerce.RoleAssociate),
	} {
		want := commerce.ErrForbidden
		if name == "no principal" {
			want = commerce.ErrUnauthenticated
		}
		_, err1 := svc.CreateOffer(ctx, percentOff("x"), "")
		_, err2 := svc.UpdateOffer(ctx, o.ID, offer.Input{Title: ptr("x")})
		_, err3 := svc.DisableOffer(ctx, o.ID)
		_, err4 := svc.FindOffer(ctx, o.ID)
		_, err5 := svc.FindOffers(ctx, offer.Filter{First: 10})
		for i, err := range []error{err1, err2, err3, err4, err5} {
			if commerce.ErrorCode(err) != want {
				t.Errorf("%s, call %d: want %s, got %v", name, i+1, want, err)
			}
		}
	}
	admin := as(t, pool, commerce.RoleAdmin)
	if _, err := svc.UpdateOffer(admin, o.ID, offer.Input{Title: ptr("Soldes d'été")}); err != nil {
		t.Errorf("admin: %v", err)
	}
	var n int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM offers`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d offers (%v), want only the merchandiser's", n, err)
	}
}

func TestUpdateBumpsTheVersionAndKeepsHistory(t *testing.T) {
	pool := commercetest.NewDB(t)
	svc := offer.NewService(pool)
	ctx := as(t, pool, commerce.RoleMerchandiser)
	o := create(t, svc, ctx, percentOff("20 % sur tout"))
	if o.Version != 1 || o.Target != pricing.TargetLines || o.PercentOff != 2000 || o.DisabledAt != nil {
		t.Fatalf("created %+v", o)
	}

	// Changing the kind replaces its parameters: the percentage goes.
	o2, err := svc.UpdateOffer(ctx, o.ID, offer.Input{Kind: ptr(pricing.AmountOff), Target: ptr(pricing.TargetOrder), Amount: eur("10"),
		Conditions: &offer.ConditionsInput{MinSubtotal: eur("50.00"), Channels: []channel.Kind{channel.POS, channel.Kiosk, channel.POS}}})
	if err != nil {
		t.Fatal(err)
	}
	if o2.Version != 2 || o2.Kind != pricing.AmountOff || o2.PercentOff != 0 || o2.Amount != (commerce.Money{Amount: 1000, Currency: "EUR"}) ||
		o2.Title != "20 % sur tout" || !slices.Equal(o2.Conditions.Channels, []channel.Kind{channel.Kiosk, channel.POS}) || !o2.VariesByChannel() {
		t.Errorf("updated %+v", o2)
	}
	// The same values again change nothing, not even the version.
	o3, err := svc.UpdateOffer(ctx, o.ID, offer.Input{Amount: eur("10.00"), Conditions: &offer.ConditionsInput{Channels: []channel.Kind{channel.Kiosk, channel.POS}}})
	if err != nil || o3.Version != 2 || !o3.UpdatedAt.Equal(o2.UpdatedAt) {
		t.Errorf("no-op update: version %d, %v", o3.Version, err)
	}
	// Clearing: a zero value removes a condition.
	o4, err := svc.UpdateOffer(ctx, o.ID, offer.Input{Conditions: &offer.ConditionsInput{MinSubtotal: &offer.MoneyInput{}, Channels: []channel.Kind{}}})
	if err != nil || o4.Version != 3 || o4.Conditions.MinSubtotal != (commerce.Money{}) || o4.VariesByChannel() {
		t.Errorf("clearing update: %+v, %v", o4, err)
	}

	// Every version is kept as it was.
	v1, err := svc.FindOfferVersion(t.Context(), o.ID, 1)
	if err != nil || v1.Kind != pricing.PercentageOff || v1.PercentOff != 2000 || v1.Version != 1 {
		t.Errorf("version 1: %+v, %v", v1, err)
	}
	v2, err := svc.FindOfferVersion(t.Context(), o.ID, 2)
	if err != nil || v2.Kind != pricing.AmountOff || v2.Conditions.MinSubtotal.Amount != 5000 || len(v2.Conditions.Channels) != 2 {
		t.Errorf("version 2: %+v, %v", v2, err)
	}
	if _, err := svc.FindOfferVersion(t.Context(), o.ID, 4); commerce.ErrorCode(err) != commerce.ErrNotFound {
		t.Errorf("version 4: %v", err)
	}
	var versions int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM offer_versions WHERE offer_id = $1`, o.ID).Scan(&versions); err != nil || versions != 3 {
		t.Errorf("%d versions kept (%v), want 3", versions, err)
	}

	// Disabling keeps the offer and its history, and is final.
	d, err := svc.DisableOffer(ctx, o.ID)
	if err != nil || d.DisabledAt == nil || d.Version != 3 {
		t.Fatalf("disable: %+v, %v", d, err)
	}
	if again, err := svc.DisableOffer(ctx, o.ID); err != nil || !again.DisabledAt.Equal(*d.DisabledAt) {
		t.Errorf("disabling again: %v", err)
	}
	_, err = svc.UpdateOffer(ctx, o.ID, offer.Input{Title: ptr("Retour")})
	wantInputError(t, err, commerce.ErrConflict, "id")
	_, err = svc.UpdateOffer(ctx, commerce.NewID(), offer.Input{Title: ptr("Personne")})
	wantInputError(t, err, commerce.ErrNotFound, "id")
	if _, err := svc.DisableOffer(ctx, commerce.NewID()); commerce.ErrorCode(err) != commerce.ErrNotFound {
		t.Errorf("disable unknown: %v", err)
	}
}

func TestInvalidOffersAreRefusedWithTheirFields(t *testing.T) {
	pool := commercetest.NewDB(t)
	svc := offer.NewService(pool)
	ctx := as(t, pool, commerce.RoleMerchandiser)
	cases := []struct {
		name  string
		in    offer.Input
		field string
	}{
		{"no title", offer.Input{Kind: ptr(pricing.FreeShipping)}, "title"},
		{"no kind", offer.Input{Title: ptr("x")}, "kind"},
		{"blank title", offer.Input{Title: ptr("  "), Kind: ptr(pricing.FreeShipping)}, "title"},
		{"unknown kind", offer.Input{Title: ptr("x"), Kind: ptr(pricing.Kind("bogof"))}, "kind"},
		{"no target", offer.Input{Title: ptr("x"), Kind: ptr(pricing.PercentageOff), PercentOff: ptr("10")}, "target"},
		{"three decimals", func() offer.Input { in := percentOff("x"); in.PercentOff = ptr("12.345"); return in }(), "percentOff"},
		{"over 100 %", func() offer.Input { in := percentOff("x"); in.PercentOff = ptr("100.01"); return in }(), "percentOff"},
		{"bad amount", offer.Input{Title: ptr("x"), Kind: ptr(pricing.AmountOff), Target: ptr(pricing.TargetOrder), Amount: eur("dix")}, "amount.amount"},
		{"bad currency", offer.Input{Title: ptr("x"), Kind: ptr(pricing.AmountOff), Target: ptr(pricing.TargetOrder),
			Amount: &offer.MoneyInput{Amount: "10", CurrencyCode: "EURO"}}, "amount.currencyCode"},
		{"stray amount", func() offer.Input { in := percentOff("x"); in.Amount = eur("5"); return in }(), "amount"},
		{"two currencies", offer.Input{Title: ptr("x"), Kind: ptr(pricing.AmountOff), Target: ptr(pricing.TargetOrder), Amount: eur("10"),
			Conditions: &offer.ConditionsInput{MinSubtotal: &offer.MoneyInput{Amount: "50", CurrencyCode: "CAD"}}}, "conditions.minSubtotal"},
		{"tiers descending", offer.Input{Title: ptr("x"), Kind: ptr(pricing.Tiered), Tiers: []offer.TierInput{
			{MinSubtotal: *eur("100"), AmountOff: *eur("10")}, {MinSubtotal: *eur("50"), AmountOff: *eur("20")}}}, "tiers[1].minSubtotal"},
		{"bad tier amount", offer.Input{Title: ptr("x"), Kind: ptr(pricing.Tiered), Tiers: []offer.TierInput{
			{MinSubtotal: *eur("100"), AmountOff: *eur("1O")}}}, "tiers[0].amountOff.amount"},
		{"window backwards", func() offer.Input {
			in := percentOff("x")
			in.Conditions = &offer.ConditionsInput{StartsAt: ptr(time.Now()), EndsAt: ptr(time.Now().Add(-time.Hour))}
			return in
		}(), "conditions.endsAt"},
		{"code with a space", withCode(percentOff("x"), "ETE 25"), "conditions.code"},
		{"unknown channel", func() offer.Input {
			in := percentOff("x")
			in.Conditions = &offer.ConditionsInput{Channels: []channel.Kind{"POS"}}
			return in
		}(), "conditions.channels[0]"},
		{"negative limit", func() offer.Input { in := percentOff("x"); in.UsageLimit = ptr(-1); return in }(), "usageLimit"},
		{"per customer for guests", func() offer.Input { in := percentOff("x"); in.UsageLimitPerCustomer = ptr(1); return in }(), "conditions.requireSignedIn"},
		{"zero id", func() offer.Input {
			in := percentOff("x")
			in.AppliesTo = &pricing.Selector{CategoryIDs: []commerce.ID{{}}}
			return in
		}(), "appliesTo.categoryIds[0]"},
	}
	for _, c := range cases {
		_, err := svc.CreateOffer(ctx, c.in, "")
		if err == nil {
			t.Errorf("%s: created", c.name)
			continue
		}
		wantInputError(t, err, commerce.ErrInvalidInput, c.field)
	}
	// Problems found before the engine's checks come all at once.
	_, err := svc.CreateOffer(ctx, offer.Input{Title: ptr("x"), Kind: ptr(pricing.Tiered), Tiers: []offer.TierInput{
		{MinSubtotal: *eur("cent"), AmountOff: *eur("10")}, {MinSubtotal: *eur("200"), AmountOff: offer.MoneyInput{Amount: "20", CurrencyCode: "XYZ"}}}}, "")
	if errs := catalog.InputErrors(err); len(errs) != 2 {
		t.Errorf("want 2 errors, got %v", err)
	}
	var n int
	if err := pool.QueryRow(t.Context(), `SELECT (SELECT count(*) FROM offers) + (SELECT count(*) FROM offer_versions)`).Scan(&n); err != nil || n != 0 {
		t.Errorf("refused offers left %d rows (%v)", n, err)
	}
}

func TestCouponCodesAreUniqueWhateverTheCase(t *testing.T) {
	pool := commercetest.NewDB(t)
	svc := offer.NewService(pool)
	ctx := as(t, pool, commerce.RoleMerchandiser)
	summer := create(t, svc, ctx, withCode(percentOff("Été"), " Summer25 "))
	if summer.Conditions.Code != "Summer25" {
		t.Errorf("code %q, want it trimmed", summer.Conditions.Code)
	}
	for _, code := range []string{"SUMMER25", "summer25"} {
		_, err := svc.CreateOffer(ctx, withCode(percentOff("Copie"), code), "")
		wantInputError(t, err, commerce.ErrConflict, "conditions.code")
	}
	// Case folding is Unicode's, as the engine matches codes.
	create(t, svc, ctx, withCode(percentOff("Été"), "ÉTÉ"))
	_, err := svc.CreateOffer(ctx, withCode(percentOff("Copie"), "été"), "")
	wantInputError(t, err, commerce.ErrConflict, "conditions.code")
	// Taking a code by update is refused the same way.
	other := create(t, svc, ctx, percentOff("Automatique"))
	_, err = svc.UpdateOffer(ctx, other.ID, withCode(offer.Input{}, "sUmMeR25"))
	wantInputError(t, err, commerce.ErrConflict, "conditions.code")

	// A disabled offer lets go of its code.
	if _, err := svc.DisableOffer(ctx, summer.ID); err != nil {
		t.Fatal(err)
	}
	create(t, svc, ctx, withCode(percentOff("Été, l'an prochain"), "summer25"))

	// Concurrent creates of one code: exactly one wins.
	var wins, conflicts atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			_, err := svc.CreateOffer(ctx, withCode(percentOff("Course"), "RACE"), "")
			switch {
			case err == nil:
				wins.Add(1)
			case commerce.ErrorCode(err) == commerce.ErrConflict:
				conflicts.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 || conflicts.Load() != 7 {
		t.Errorf("%d wins and %d conflicts, want 1 and 7", wins.Load(), conflicts.Load())
	}
}

func TestCreateWithAnIdempotencyKey(t *testing.T) {
	pool := commercetest.NewDB(t)
	svc := offer.NewService(pool)
	ctx := as(t, pool, commerce.RoleMerchandiser)
	a, err := svc.CreateOffer(ctx, percentOff("Une fois"), "k1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := svc.CreateOffer(ctx, percentOff("Une fois"), "k1")
	if err != nil || b.ID != a.ID {
		t.Errorf("retry: %v, %v", b, err)
	}
	_, err = svc.CreateOffer(ctx, percentOff("Autre chose"), "k1")
	wantInputError(t, err, commerce.ErrConflict, "idempotencyKey")
}

// clock is a test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func ids(offers []pricing.Offer) []string {
	var out []string
	for _, o := range offers {
		out = append(out, o.Title)
	}
	slices.Sort(out)
	return out
}

func TestActiveOffersHonourStateWindowsCurrencyAndTheCache(t *testing.T) {
	pool := commercetest.NewDB(t)
	clk := &clock{now: time.Now()}
	svc := offer.NewService(pool, offer.WithClock(clk.Now), offer.WithCacheTTL(5*time.Second))
	// Another server instance on the same database.
	other := offer.NewService(pool, offer.WithClock(clk.Now))
	ctx := as(t, pool, commerce.RoleMerchandiser)
	now := time.Now()
	window := func(title string, from, to time.Duration) offer.Input {
		in := percentOff(title)
		in.Conditions = &offer.ConditionsInput{}
		if from != 0 {
			in.Conditions.StartsAt = ptr(now.Add(from))
		}
		if to != 0 {
			in.Conditions.EndsAt = ptr(now.Add(to))
		}
		return in
	}
	create(t, svc, ctx, percentOff("always"))
	create(t, svc, ctx, window("current", -time.Hour, time.Hour))
	create(t, svc, ctx, window("future", time.Hour, 0))
	create(t, svc, ctx, window("ended", -2*time.Hour, -time.Hour))
	create(t, svc, ctx, offer.Input{Title: ptr("eur"), Kind: ptr(pricing.AmountOff), Target: ptr(pricing.TargetOrder), Amount: eur("5")})
	create(t, svc, ctx, offer.Input{Title: ptr("cad"), Kind: ptr(pricing.AmountOff), Target: ptr(pricing.TargetOrder),
		Amount: &offer.MoneyInput{Amount: "5", CurrencyCode: "CAD"}})
	disabled := create(t, svc, ctx, percentOff("disabled"))
	if _, err := svc.DisableOffer(ctx, disabled.ID); err != nil {
		t.Fatal(err)
	}

	active := func(s *offer.Service, cur commerce.Currency, at time.Time) []string {
		t.Helper()
		offers, err := s.ActiveOffers(t.Context(), cur, at)
		if err != nil {
			t.Fatal(err)
		}
		return ids(offers)
	}
	if got, want := active(svc, "EUR", now), []string{"always", "current", "eur"}; !slices.Equal(got, want) {
		t.Errorf("EUR now: %v, want %v", got, want)
	}
	if got, want := active(svc, "CAD", now), []string{"always", "cad", "current"}; !slices.Equal(got, want) {
		t.Errorf("CAD now: %v, want %v", got, want)
	}
	// The date window is judged at the moment given: StartsAt inclusive,
	// EndsAt exclusive.
	if got, want := active(svc, "EUR", now.Add(time.Hour)), []string{"always", "eur", "future"}; !slices.Equal(got, want) {
		t.Errorf("EUR in an hour: %v, want %v", got, want)
	}
	if _, err := svc.ActiveOffers(t.Context(), "XYZ", now); commerce.ErrorCode(err) != commerce.ErrInvalidInput {
		t.Errorf("unknown currency: %v", err)
	}

	// A change through another instance shows here only once the cache
	// has expired...
	late := create(t, other, ctx, percentOff("late"))
	if got := active(svc, "EUR", now); slices.Contains(got, "late") {
		t.Errorf("a cached list already has another instance's offer: %v", got)
	}
	clk.Add(4 * time.Second)
	if got := active(svc, "EUR", now); slices.Contains(got, "late") {
		t.Errorf("the cache expired early: %v", got)
	}
	clk.Add(time.Second)
	if got := active(svc, "EUR", now); !slices.Contains(got, "late") {
		t.Errorf("the cache did not expire after its TTL: %v", got)
	}
	// ...but a change through this instance shows at once.
	if _, err := svc.DisableOffer(ctx, late.ID); err != nil {
		t.Fatal(err)
	}
	if got := active(svc, "EUR", now); slices.Contains(got, "late") {
		t.Errorf("this instance's own disable is not seen: %v", got)
	}
	u, err := svc.UpdateOffer(ctx, findTitle(t, svc, "always"), offer.Input{PercentOff: ptr("25")})
	if err != nil {
		t.Fatal(err)
	}
	offers, err := svc.ActiveOffers(t.Context(), "EUR", now)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range offers {
		if o.ID == u.ID && (o.PercentOff != 2500 || o.Version != 2) {
			t.Errorf("this instance's own update is not seen: %+v", o)
		}
	}
}

func findTitle(t *testing.T, svc *offer.Service, title string) commerce.ID {
	t.Helper()
	offers, err := svc.ActiveOffers(t.Context(), "EUR", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range offers {
		if o.Title == title {
			return o.ID
		}
	}
	t.Fatalf("no active offer %q", title)
	return commerce.ID{}
}

func TestFindOffersPages(t *testing.T) {
	pool := commercetest.NewDB(t)
	svc := offer.NewService(pool)
	ctx := as(t, pool, commerce.RoleMerchandiser)
	var made []commerce.ID
	for i := range 5 {
		made = append(made, create(t, svc, ctx, percentOff(fmt.Sprint("offre ", i))).ID)
	}
	if _, err := svc.DisableOffer(ctx, made[4]); err != nil {
		t.Fatal(err)
	}
	var seen []commerce.ID
	var after *commerce.ID
	for {
		page, err := svc.FindOffers(ctx, offer.Filter{First: 2, After: after})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Offers {
			seen = append(seen, o.ID)
		}
		if !page.HasNext {
			break
		}
		after = &page.Offers[len(page.Offers)-1].ID
	}
	slices.Reverse(made) // newest first
	if !slices.Equal(seen, made) {
		t.Errorf("pages gave %v, want %v", seen, made)
	}
	live, err := svc.FindOffers(ctx, offer.Filter{First: 10, Live: true})
	if err != nil || len(live.Offers) != 4 {
		t.Errorf("live offers: %d, %v", len(live.Offers), err)
	}
}

// redeemer runs Redeem in its own transaction, as a checkout would.
func redeem(ctx context.Context, pool *pgxpool.Pool, svc *offer.Service, uses []offer.Use, customer commerce.ID, ref string) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		return svc.Redeem(ctx, tx, uses, customer, ref)
	})
}

func reason(err error) pricing.Reason {
	if re, ok := errors.AsType[*offer.RedeemError](err); ok && commerce.ErrorCode(err) == commerce.ErrConflict {
		return re.Reason
	}
	return ""
}

func TestConcurrentRedemptionsNeverExceedTheTotalLimit(t *testing.T) {
	pool := commercetest.NewDB(t)
	svc := offer.NewService(pool)
	ctx := as(t, pool, commerce.RoleMerchandiser)
	in := withCode(percentOff("Les dix premiers"), "DIX")
	in.UsageLimit = ptr(10)
	o := create(t, svc, ctx, in)
	uses := []offer.Use{{OfferID: o.ID, Version: o.Version}}

	var ok, refused atomic.Int32
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			err := redeem(t.Context(), pool, svc, uses, commerce.NewID(), fmt.Sprint("order-", i))
			switch {
			case err == nil:
				ok.Add(1)
			case reason(err) == pricing.ReasonUsageLimitReached:
				refused.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 10 || refused.Load() != 40 {
		t.Errorf("%d redeemed and %d refused, want 10 and 40", ok.Load(), refused.Load())
	}
	var n int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM offer_redemptions WHERE offer_id = $1`, o.ID).Scan(&n); err != nil || n != 10 {
		t.Errorf("%d redemptions recorded (%v), want 10", n, err)
	}
	total, _, err := svc.Exhausted(t.Context(), []pricing.Offer{o.Offer}, commerce.ID{})
	if err != nil || !slices.Equal(total, []commerce.ID{o.ID}) {
		t.Errorf("Exhausted: %v, %v", total, err)
	}
	if got, err := svc.FindOffer(ctx, o.ID); err != nil || got.UsageCount != 10 {
		t.Errorf("usage count: %v, %v", got, err)
	}

	// A cancelled order gives its use back.
	if err := pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error { return svc.Release(t.Context(), tx, "order-missing") }); err != nil {
		t.Fatal(err)
	}
	var winner string
	if err := pool.QueryRow(t.Context(), `SELECT reference FROM offer_redemptions WHERE offer_id = $1 LIMIT 1`, o.ID).Scan(&winner); err != nil {
		t.Fatal(err)
	}
	if err := pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error { return svc.Release(t.Context(), tx, winner) }); err != nil {
		t.Fatal(err)
	}
	if total, _, _ := svc.Exhausted(t.Context(), []pricing.Offer{o.Offer}, commerce.ID{}); len(total) != 0 {
		t.Error("still exhausted after a release")
	}
	if err := redeem(t.Context(), pool, svc, uses, commerce.NewID(), "order-late"); err != nil {
		t.Errorf("the released use: %v", err)
	}
	if err := redeem(t.Context(), pool, svc, uses, commerce.NewID(), "order-later"); reason(err) != pricing.ReasonUsageLimitReached {
		t.Errorf("over the limit again: %v", err)
	}
}

func TestConcurrentRedemptionsNeverExceedThePerCustomerLimit(t *testing.T) {
	pool := commercetest.NewDB(t)
	svc := offer.NewService(pool)
	ctx := as(t, pool, commerce.RoleMerchandiser)
	in := percentOff("Deux par client, sept en tout")
	in.UsageLimit, in.UsageLimitPerCustomer = ptr(7), ptr(2)
	in.Conditions = &offer.ConditionsInput{RequireSignedIn: ptr(true)}
	o := create(t, svc, ctx, in)
	uses := []offer.Use{{OfferID: o.ID}}

	customers := []commerce.ID{commerce.NewID(), commerce.NewID(), commerce.NewID(), commerce.NewID()}
	var mu sync.Mutex
	won := map[commerce.ID]int{}
	var wg sync.WaitGroup
	for i := range 24 {
		c := customers[i%len(customers)]
		wg.Go(func() {
			err := redeem(t.Context(), pool, svc, uses, c, fmt.Sprint("order-", i))
			switch r := reason(err); {
			case err == nil:
				mu.Lock()
				won[c]++
				mu.Unlock()
			case r == pricing.ReasonUsageLimitReached || r == pricing.ReasonCustomerLimitReached:
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	sum := 0
	for c, n := range won {
		if n > 2 {
			t.Errorf("customer %s used the offer %d times, limit 2", c, n)
		}
		sum += n
	}
	// Four customers could use it 8 times; the total limit stops at 7.
	if sum != 7 {
		t.Errorf("%d uses in all, want 7 (%v)", sum, won)
	}
	for _, c := range customers {
		_, mine, err := svc.Exhausted(t.Context(), []pricing.Offer{o.Offer}, c)
		if err != nil || (won[c] == 2) != slices.Contains(mine, o.ID) {
			t.Errorf("customer with %d uses: exhausted for them %v (%v)", won[c], mine, err)
		}
	}
	// A guest cannot use an offer counted per customer.
	if err := redeem(t.Context(), pool, svc, uses, commerce.ID{}, "order-guest"); reason(err) != pricing.ReasonCustomer {
		t.Errorf("guest: %v", err)
	}
}

func TestRedeemRefusesStaleOffersAndLeavesTheTransactionUsable(t *testing.T) {
	pool := commercetest.NewDB(t)
	svc := offer.NewService(pool)
	ctx := as(t, pool, commerce.RoleMerchandiser)
	a := create(t, svc, ctx, percentOff("A"))
	b := create(t, svc, ctx, percentOff("B"))
	customer := commerce.NewID()

	// Redeeming again for the same order counts once.
	both := []offer.Use{{OfferID: a.ID, Version: 1}, {OfferID: b.ID, Version: 1}}
	for range 2 {
		if err := redeem(t.Context(), pool, svc, both, customer, "order-1"); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, pool, `SELECT count(*) FROM offer_redemptions WHERE reference = 'order-1'`); n != 2 {
		t.Errorf("%d redemptions for order-1, want 2", n)
	}

	if _, err := svc.UpdateOffer(ctx, b.ID, offer.Input{PercentOff: ptr("30")}); err != nil {
		t.Fatal(err)
	}
	// A checkout priced with version 1 of B is refused, and what Redeem
	// did before refusing (A) is undone, while the checkout's own writes
	// in the same transaction stay.
	err := pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(t.Context(), `CREATE TEMP TABLE checkout_marker (n int) ON COMMIT DROP`); err != nil {
			return err
		}
		err := svc.Redeem(t.Context(), tx, both, customer, "order-2")
		if reason(err) != offer.ReasonChanged {
			t.Errorf("stale version: %v", err)
		}
		// Priced again: the current version goes through.
		return svc.Redeem(t.Context(), tx, []offer.Use{{OfferID: a.ID, Version: 1}, {OfferID: b.ID, Version: 2}}, customer, "order-2")
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, pool, `SELECT count(*) FROM offer_redemptions WHERE reference = 'order-2'`); n != 2 {
		t.Errorf("%d redemptions for order-2, want 2", n)
	}
	var version int
	if err := pool.QueryRow(t.Context(), `SELECT offer_version FROM offer_redemptions WHERE reference = 'order-2' AND offer_id = $1`, b.ID).Scan(&version); err != nil || version != 2 {
		t.Errorf("recorded version %d (%v), want 2", version, err)
	}

	if _, err := svc.DisableOffer(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := redeem(t.Context(), pool, svc, []offer.Use{{OfferID: a.ID}}, customer, "order-3"); reason(err) != offer.ReasonDisabled {
		t.Errorf("disabled offer: %v", err)
	}
	if err := redeem(t.Context(), pool, svc, []offer.Use{{OfferID: commerce.NewID()}}, customer, "order-3"); commerce.ErrorCode(err) != commerce.ErrNotFound {
		t.Errorf("unknown offer: %v", err)
	}
}

func TestSettingALimitCountsPastUses(t *testing.T) {
	pool := commercetest.NewDB(t)
	svc := offer.NewService(pool)
	ctx := as(t, pool, commerce.RoleMerchandiser)
	in := percentOff("Illimitée d'abord")
	in.Conditions = &offer.ConditionsInput{RequireSignedIn: ptr(true)}
	o := create(t, svc, ctx, in)
	customer := commerce.NewID()
	for i := range 3 {
		if err := redeem(t.Context(), pool, svc, []offer.Use{{OfferID: o.ID}}, customer, fmt.Sprint("order-", i)); err != nil {
			t.Fatal(err)
		}
	}
	// Unlimited offers keep no counters: nothing for checkouts to queue on.
	if n := count(t, pool, `SELECT (SELECT count(*) FROM offer_usage) + (SELECT count(*) FROM offer_customer_usage)`); n != 0 {
		t.Errorf("%d counters for an unlimited offer", n)
	}
	u, err := svc.UpdateOffer(ctx, o.ID, offer.Input{UsageLimit: ptr(4), UsageLimitPerCustomer: ptr(3)})
	if err != nil {
		t.Fatal(err)
	}
	total, mine, err := svc.Exhausted(t.Context(), []pricing.Offer{u.Offer}, customer)
	if err != nil || len(total) != 0 || !slices.Equal(mine, []commerce.ID{o.ID}) {
		t.Errorf("exhausted %v and %v for the customer (%v), want only for the customer", total, mine, err)
	}
	if err := redeem(t.Context(), pool, svc, []offer.Use{{OfferID: o.ID}}, customer, "order-4"); reason(err) != pricing.ReasonCustomerLimitReached {
		t.Errorf("fourth use by the customer: %v", err)
	}
	if err := redeem(t.Context(), pool, svc, []offer.Use{{OfferID: o.ID}}, commerce.NewID(), "order-5"); err != nil {
		t.Errorf("another customer: %v", err)
	}
	if err := redeem(t.Context(), pool, svc, []offer.Use{{OfferID: o.ID}}, commerce.NewID(), "order-6"); reason(err) != pricing.ReasonUsageLimitReached {
		t.Errorf("fifth use: %v", err)
	}
	// Releasing one of the customer's orders (twice: the second does
	// nothing) gives back one use in all and one of theirs.
	for range 2 {
		if err := pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error { return svc.Release(t.Context(), tx, "order-0") }); err != nil {
			t.Fatal(err)
		}
	}
	all := count(t, pool, `SELECT uses FROM offer_usage`)
	theirs := count(t, pool, `SELECT uses FROM offer_customer_usage WHERE customer_id = '`+customer.String()+`'`)
	if all != 3 || theirs != 2 {
		t.Errorf("after a release: %d uses in all and %d for the customer, want 3 and 2", all, theirs)
	}
	if err := redeem(t.Context(), pool, svc, []offer.Use{{OfferID: o.ID}}, customer, "order-7"); err != nil {
		t.Errorf("the customer's released use: %v", err)
	}
}

func count(t *testing.T, pool *pgxpool.Pool, sql string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(t.Context(), sql).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPricingWithStoredOffers is the cart's path end to end: active offers,
// exhausted ones, Price, then the uses to redeem.
func TestPricingWithStoredOffers(t *testing.T) {
	pool := commercetest.NewDB(t)
	svc := offer.NewService(pool)
	ctx := as(t, pool, commerce.RoleMerchandiser)
	auto := create(t, svc, ctx, offer.Input{Title: ptr("10 € dès 50 €"), Kind: ptr(pricing.AmountOff), Target: ptr(pricing.TargetOrder),
		Amount: eur("10"), Stackable: ptr(true), Conditions: &offer.ConditionsInput{MinSubtotal: eur("50")}})
	coupon := withCode(percentOff("Code ÉTÉ"), "été")
	coupon.Stackable, coupon.UsageLimit = ptr(true), ptr(1)
	code := create(t, svc, ctx, coupon)
	if _, err := svc.UpdateOffer(ctx, code.ID, offer.Input{PercentOff: ptr("12.5")}); err != nil {
		t.Fatal(err)
	}

	now := time.Now()
	offers, err := svc.ActiveOffers(t.Context(), "EUR", now)
	if err != nil {
		t.Fatal(err)
	}
	input := pricing.Input{Currency: "EUR", Channel: channel.Web, Now: now, Codes: []string{"ÉTÉ"},
		Lines: []pricing.Line{{ID: commerce.NewID(), VariantID: commerce.NewID(), ProductID: commerce.NewID(), Quantity: 2,
			UnitPrice: commerce.Money{Amount: 4000, Currency: "EUR"}}}}
	input.ExhaustedOffers, input.ExhaustedForCustomer, err = svc.Exhausted(t.Context(), offers, commerce.ID{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := pricing.Price(input, offers)
	if err != nil {
		t.Fatal(err)
	}
	// 80.00 − 12.5 % (10.00) − 10.00 = 60.00
	if res.Total.Amount != 6000 {
		t.Errorf("total %s, want 60.00 EUR", res.Total)
	}
	uses := offer.UsesOf(res)
	slices.SortFunc(uses, func(a, b offer.Use) int { return a.Version - b.Version })
	if len(uses) != 2 || uses[0] != (offer.Use{OfferID: auto.ID, Version: 1}) || uses[1] != (offer.Use{OfferID: code.ID, Version: 2}) {
		t.Errorf("uses %v", uses)
	}
	if err := redeem(t.Context(), pool, svc, uses, commerce.ID{}, "order-1"); err != nil {
		t.Fatal(err)
	}
	// The coupon was limited to one use: the next cart is told so.
	input.ExhaustedOffers, _, _ = svc.Exhausted(t.Context(), offers, commerce.ID{})
	res, _ = pricing.Price(input, offers)
	if len(res.Coupons) != 1 || res.Coupons[0].Applied || res.Coupons[0].Reason != pricing.ReasonUsageLimitReached {
		t.Errorf("coupon after its last use: %+v", res.Coupons)
	}
}
