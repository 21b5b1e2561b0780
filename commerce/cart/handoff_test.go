package cart_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/cart"
	"github.com/omnicanal/omnicanal/commerce/demo"
	"github.com/omnicanal/omnicanal/commerce/ratelimit"
)

// The alphabet and length the package doc's odds are computed from.
func TestHandoffCodeSpace(t *testing.T) {
	seen := map[rune]bool{}
	for _, r := range cart.HandoffAlphabet {
		if seen[r] || strings.ContainsRune("0O1IL", r) {
			t.Fatalf("alphabet %q repeats or holds an ambiguous %q", cart.HandoffAlphabet, r)
		}
		seen[r] = true
	}
	space := math.Pow(float64(len(seen)), cart.HandoffCodeLen)
	if len(seen) != 31 || cart.HandoffCodeLen != 8 || space != 852_891_037_441 {
		t.Fatalf("%d symbols, length %d: %.0f codes; the odds in handoff.go assume 31^8", len(seen), cart.HandoffCodeLen, space)
	}
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"ABCD2345", "ABCD2345", true},
		{" abcd-2345 ", "ABCD2345", true},
		{"AB CD 23 45", "ABCD2345", true},
		{"ABCD234", "", false},
		{"ABCD23456", "", false},
		{"ABCD2340", "", false}, // 0 is not in the alphabet
		{"ABCDI345", "", false},
		{"ABCDÉ345", "", false},
	} {
		if got, ok := cart.NormalizeHandoffCode(c.in); got != c.want || ok != c.ok {
			t.Errorf("NormalizeHandoffCode(%q) = %q %v, want %q %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

// wrongCode returns a well-formed code that is not code.
func wrongCode(code string, i int) string {
	alt := []byte(code)
	for k := range 3 {
		alt[k] = cart.HandoffAlphabet[(strings.IndexByte(cart.HandoffAlphabet, code[k])+1+(i>>(5*k))%30)%31]
	}
	return string(alt)
}

// A code opens the cart once, on another channel, with a token of its own;
// a second use, an expired code and an unknown one are NOT_FOUND.
func TestHandoffWorksOnceAndExpires(t *testing.T) {
	e := newEnv(t, nil)
	vs := stocked(t, 1, 5)
	phone := e.on(t, demo.KeyMobileEU)
	kiosk := e.on(t, demo.KeyKioskParis)
	c, token, err := e.svc.CreateCart(phone, cart.CreateInput{Lines: []cart.LineInput{{VariantID: vs[0], Quantity: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateHandoff(phone, c.ID, ""); code(err) != commerce.ErrNotFound {
		t.Fatalf("a handoff without the token: %v", err)
	}
	h, err := e.svc.CreateHandoff(phone, c.ID, token)
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := cart.NormalizeHandoffCode(h.Code); !ok || n != h.Code {
		t.Fatalf("code %q is not canonical", h.Code)
	}
	if ttl := time.Until(h.ExpiresAt); ttl < 14*time.Minute || ttl > 16*time.Minute {
		t.Fatalf("expires in %s, want about 15 minutes", ttl)
	}
	// Typed as a shopper would, in lower case with a dash.
	typed := strings.ToLower(h.Code[:4] + "-" + h.Code[4:])
	got, kioskToken, err := e.svc.Resume(kiosk, typed)
	if err != nil || got.ID != c.ID || len(got.Lines) != 1 || got.Lines[0].Quantity != 2 || kioskToken == token ||
		!strings.HasPrefix(kioskToken, cart.TokenPrefix) {
		t.Fatalf("resume: %v %+v", err, got)
	}
	// The kiosk's token reaches the cart and changes it; the phone's still works.
	if _, err := e.svc.AddLines(kiosk, c.ID, kioskToken, []cart.LineInput{{VariantID: vs[0], Quantity: 1}}, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := e.svc.FindCart(phone, c.ID, token); err != nil || got.Lines[0].Quantity != 3 {
		t.Fatalf("the phone after the kiosk's add: %v %+v", err, got)
	}
	if _, _, err := e.svc.Resume(kiosk, h.Code); code(err) != commerce.ErrNotFound {
		t.Fatalf("a used code: %v", err)
	}
	// A guest cart's resumed token lasts like a cart token.
	var expires time.Time
	if err := e.pool.QueryRow(t.Context(), `SELECT expires_at FROM cart_tokens WHERE cart_id = $1 AND expires_at IS NOT NULL`, c.ID).Scan(&expires); err != nil {
		t.Fatal(err)
	}
	if d := time.Until(expires); d < cart.ResumeTokenTTLGuest-time.Hour || d > cart.ResumeTokenTTLGuest {
		t.Errorf("the resumed token expires in %s", d)
	}

	// A new code replaces the previous one; an expired one is refused.
	h1, err := e.svc.CreateHandoff(phone, c.ID, token)
	if err != nil {
		t.Fatal(err)
	}
	h2, err := e.svc.CreateHandoff(phone, c.ID, token)
	if err != nil || h2.Code == h1.Code {
		t.Fatalf("second code: %v", err)
	}
	if _, _, err := e.svc.Resume(kiosk, h1.Code); code(err) != commerce.ErrNotFound {
		t.Fatalf("a replaced code: %v", err)
	}
	if _, err := e.pool.Exec(t.Context(), `UPDATE cart_handoffs SET created_at = now() - interval '20 minutes',
		expires_at = now() - interval '1 second' WHERE cart_id = $1 AND used_at IS NULL`, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.Resume(kiosk, h2.Code); code(err) != commerce.ErrNotFound {
		t.Fatalf("an expired code: %v", err)
	}
	if _, _, err := e.svc.Resume(kiosk, "ABCD-2340"); code(err) != commerce.ErrInvalidInput {
		t.Fatalf("a malformed code: %v", err)
	}
	// Only hashes are stored.
	var clear int
	if err := e.pool.QueryRow(t.Context(), `SELECT count(*) FROM cart_handoffs WHERE position($1::bytea IN code_hash) > 0`,
		[]byte(h2.Code)).Scan(&clear); err != nil || clear != 0 {
		t.Fatalf("a code stored in clear: %v %d", err, clear)
	}
}

// Two devices typing the same code at once: one gets the cart.
func TestHandoffConcurrentResumesWinOnce(t *testing.T) {
	e := newEnv(t, nil)
	web := e.on(t, demo.KeyWebEU)
	c, token, err := e.svc.CreateCart(web, cart.CreateInput{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := e.svc.CreateHandoff(web, c.ID, token)
	if err != nil {
		t.Fatal(err)
	}
	var wins, losses atomic.Int32
	var wg sync.WaitGroup
	for i := range 10 {
		ctx := ratelimit.WithClient(e.on(t, demo.KeyKioskLyon), fmt.Sprintf("192.0.2.%d", i))
		wg.Go(func() {
			switch _, _, err := e.svc.Resume(ctx, h.Code); code(err) {
			case "":
				wins.Add(1)
			case commerce.ErrNotFound:
				losses.Add(1)
			default:
				t.Errorf("resume: %v", err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 || losses.Load() != 9 {
		t.Fatalf("%d wins, %d losses", wins.Load(), losses.Load())
	}
}

// Guessing: ten wrong codes from one client, then RATE_LIMITED for it —
// even with the right code — while another client still resumes. Good
// codes are not counted.
func TestHandoffBruteForceIsRateLimitedPerClient(t *testing.T) {
	e := newEnv(t, nil)
	web := e.on(t, demo.KeyWebEU)
	c, token, err := e.svc.CreateCart(web, cart.CreateInput{})
	if err != nil {
		t.Fatal(err)
	}
	guesser := ratelimit.WithClient(e.on(t, demo.KeyKioskParis), "203.0.113.9")
	// A shopper who resumes many carts from one kiosk is never limited.
	for range cart.DefaultResumePerClient.Max + 2 {
		h, err := e.svc.CreateHandoff(web, c.ID, token)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.svc.Resume(guesser, h.Code); err != nil {
			t.Fatalf("good codes are limited: %v", err)
		}
	}
	h, err := e.svc.CreateHandoff(web, c.ID, token)
	if err != nil {
		t.Fatal(err)
	}
	for i := range cart.DefaultResumePerClient.Max {
		if _, _, err := e.svc.Resume(guesser, wrongCode(h.Code, i)); code(err) != commerce.ErrNotFound {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	for _, guess := range []string{wrongCode(h.Code, 99), h.Code} {
		_, _, err := e.svc.Resume(guesser, guess)
		if code(err) != commerce.ErrRateLimited || !strings.Contains(err.Error(), "try again in") {
			t.Fatalf("guess past the limit: %v", err)
		}
	}
	other := ratelimit.WithClient(e.on(t, demo.KeyKioskParis), "198.51.100.1")
	if got, _, err := e.svc.Resume(other, h.Code); err != nil || got.ID != c.ID {
		t.Fatalf("another client with the right code: %v", err)
	}
}

// Guesses spread over many clients meet the global limit on the code space.
func TestHandoffBruteForceIsRateLimitedGlobally(t *testing.T) {
	e := newEnv(t, nil)
	svc := cart.NewService(e.pool, nil, cart.WithResumeLimits(
		ratelimit.Limit{Max: 100, Window: time.Minute}, ratelimit.Limit{Max: 20, Window: time.Minute}))
	web := e.on(t, demo.KeyWebEU)
	c, token, err := svc.CreateCart(web, cart.CreateInput{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := svc.CreateHandoff(web, c.ID, token)
	if err != nil {
		t.Fatal(err)
	}
	client := func(i int) context.Context {
		return ratelimit.WithClient(e.on(t, demo.KeyKioskLyon), fmt.Sprintf("2001:db8:%x::1", i))
	}
	// 40 clients guessing at once: exactly the 20 the limit allows are
	// looked up, the rest refused.
	var notFound, limited atomic.Int32
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			switch _, _, err := svc.Resume(client(i), wrongCode(h.Code, i)); code(err) {
			case commerce.ErrNotFound:
				notFound.Add(1)
			case commerce.ErrRateLimited:
				limited.Add(1)
			default:
				t.Errorf("guess: %v", err)
			}
		})
	}
	wg.Wait()
	if notFound.Load() != 20 || limited.Load() != 20 {
		t.Fatalf("%d guesses looked up, %d limited; want 20 and 20", notFound.Load(), limited.Load())
	}
	if _, _, err := svc.Resume(client(1000), h.Code); code(err) != commerce.ErrRateLimited {
		t.Fatalf("the right code during the attack: %v", err)
	}
}

// A customer's cart can be handed off to a kiosk: the kiosk's token is
// short-lived. Attaching or merging a guest cart burns its codes.
func TestHandoffOfCustomerCartsAndBurntCodes(t *testing.T) {
	e := newEnv(t, nil)
	vs := stocked(t, 1, 5)
	alice := e.customer(t)
	phone := commerce.WithCustomer(e.on(t, demo.KeyMobileEU), alice)
	kiosk := e.on(t, demo.KeyKioskParis)
	c, _, err := e.svc.CreateCart(phone, cart.CreateInput{Lines: []cart.LineInput{{VariantID: vs[0], Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := e.svc.CreateHandoff(phone, c.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	got, kt, err := e.svc.Resume(kiosk, h.Code)
	if err != nil || got.ID != c.ID {
		t.Fatalf("resume a customer's cart: %v", err)
	}
	var expires time.Time
	if err := e.pool.QueryRow(t.Context(), `SELECT expires_at FROM cart_tokens WHERE cart_id = $1`, c.ID).Scan(&expires); err != nil {
		t.Fatal(err)
	}
	if d := time.Until(expires); d > cart.ResumeTokenTTLCustomer || d < cart.ResumeTokenTTLCustomer-time.Minute {
		t.Errorf("the kiosk's token of a customer's cart expires in %s", d)
	}
	if _, err := e.svc.FindCart(kiosk, c.ID, kt); err != nil {
		t.Fatal(err)
	}

	// A guest cart's code, then the guest signs in (alice has a cart: a merge).
	g, gt, err := e.svc.CreateCart(kiosk, cart.CreateInput{})
	if err != nil {
		t.Fatal(err)
	}
	gh, err := e.svc.CreateHandoff(kiosk, g.ID, gt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetBuyerIdentity(commerce.WithCustomer(kiosk, alice), g.ID, gt, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.Resume(kiosk, gh.Code); code(err) != commerce.ErrNotFound {
		t.Fatalf("the code of a merged cart: %v", err)
	}
	if _, err := e.svc.CreateHandoff(kiosk, g.ID, gt); code(err) != commerce.ErrNotFound {
		t.Fatalf("a code for a merged cart with its revoked token: %v", err)
	}
	if _, err := e.svc.CreateHandoff(commerce.WithCustomer(kiosk, alice), g.ID, ""); code(err) != commerce.ErrConflict {
		t.Fatalf("a code for a merged cart: %v", err)
	}
}
