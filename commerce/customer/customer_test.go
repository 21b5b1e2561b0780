package customer_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/channel"
	"github.com/omnicanal/omnicanal/commerce/commercetest"
	"github.com/omnicanal/omnicanal/commerce/customer"
	"github.com/omnicanal/omnicanal/commerce/ratelimit"
)

func TestMain(m *testing.M) { commercetest.Main(m) }

const password = "correct horse battery"

func signUp(t *testing.T, ctx context.Context, svc *customer.Service, email string) (*customer.Customer, *customer.AccessToken) {
	t.Helper()
	c, tok, err := svc.SignUp(ctx, email, password, "Anna Martin")
	if err != nil {
		t.Fatal(err)
	}
	return c, tok
}

func code(err error) string { return commerce.ErrorCode(err) }

func TestSignUpSignsInAndAuthenticates(t *testing.T) {
	pool := commercetest.NewDB(t)
	svc := customer.NewService(pool)
	ctx := t.Context()
	c, tok := signUp(t, ctx, svc, "  Anna.Martin@Example.COM ")
	if c.Email != "anna.martin@example.com" || c.Name != "Anna Martin" || c.CreatedAt.IsZero() {
		t.Errorf("customer %+v", c)
	}
	if !strings.HasPrefix(tok.Token, customer.TokenPrefix) || !customer.WellFormed(tok.Token) {
		t.Fatalf("token %q", tok.Token)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(tok.Token, customer.TokenPrefix))
	if len(raw) < 16 {
		t.Errorf("token carries %d random bytes, want at least 16 (128 bits)", len(raw))
	}
	if d := time.Until(tok.ExpiresAt); d < customer.DefaultSessionTTL-time.Minute || d > customer.DefaultSessionTTL {
		t.Errorf("token expires in %s, want %s", d, customer.DefaultSessionTTL)
	}
	id, err := svc.Authenticate(ctx, tok.Token)
	if err != nil || id != c.ID {
		t.Fatalf("Authenticate: %v %v", id, err)
	}
	found, err := svc.FindCustomerByID(ctx, c.ID)
	if err != nil || *found != *c {
		t.Errorf("FindCustomerByID: %+v %v", found, err)
	}
	if _, err := svc.FindCustomerByID(ctx, commerce.NewID()); code(err) != commerce.ErrNotFound {
		t.Errorf("unknown id: %v", err)
	}
	var used *time.Time
	if err := pool.QueryRow(ctx, `SELECT last_used_at FROM customer_sessions WHERE id = $1`, tok.ID).Scan(&used); err != nil || used == nil {
		t.Errorf("last_used_at not recorded: %v", err)
	}
}

func TestSecretsAreStoredHashedOnly(t *testing.T) {
	pool := commercetest.NewDB(t)
	svc := customer.NewService(pool)
	ctx := t.Context()
	c, tok := signUp(t, ctx, svc, "anna@example.com")
	_, tok2, err := svc.SignIn(ctx, "anna@example.com", password)
	if err != nil {
		t.Fatal(err)
	}
	// Every session stores the SHA-256 of its token and nothing else of it.
	for _, tk := range []*customer.AccessToken{tok, tok2} {
		var stored []byte
		if err := pool.QueryRow(ctx, `SELECT token_hash FROM customer_sessions WHERE id = $1`, tk.ID).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256([]byte(tk.Token)); !bytes.Equal(stored, sum[:]) {
			t.Error("the stored hash is not the token's SHA-256")
		}
	}
	// Neither the password nor a token appears anywhere in the database.
	var dump string
	if err := pool.QueryRow(ctx, `SELECT concat((SELECT string_agg(c::text, ',') FROM customers c),
		(SELECT string_agg(s::text, ',') FROM customer_sessions s),
		(SELECT string_agg(r::text, ',') FROM rate_limits r))`).Scan(&dump); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{password, tok.Token, tok2.Token, tok.Token[len(customer.TokenPrefix):]} {
		if strings.Contains(dump, secret) {
			t.Errorf("a secret is stored in clear: %q", secret)
		}
	}

	// The password hash is argon2id with the documented parameters.
	var hash string
	if err := pool.QueryRow(ctx, `SELECT password_hash FROM customers WHERE id = $1`, c.ID).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$`).FindStringSubmatch(hash)
	if m == nil {
		t.Fatalf("hash %q is not argon2id with m=19456,t=2,p=1 in PHC format", hash)
	}
	salt, _ := base64.RawStdEncoding.DecodeString(m[1])
	key, _ := base64.RawStdEncoding.DecodeString(m[2])
	if len(salt) != 16 || len(key) != 32 {
		t.Errorf("salt %d bytes, key %d bytes; want 16 and 32", len(salt), len(key))
	}
	if p, err := customer.ParseParams(hash); err != nil || p != customer.DefaultParams {
		t.Errorf("ParseParams: %+v %v, want %+v", p, err, customer.DefaultParams)
	}
	if ok, err := customer.VerifyPassword(password, hash); !ok || err != nil {
		t.Errorf("the right password does not verify: %v", err)
	}
	if ok, err := customer.VerifyPassword(password+"!", hash); ok || err != nil {
		t.Errorf("a wrong password verifies: %v", err)
	}
	// A fresh salt each time: the same password never hashes the same.
	again, err := customer.HashPassword(password, customer.DefaultParams)
	if err != nil || again == hash {
		t.Errorf("two hashes of one password are equal: %v", err)
	}

	// Printing or logging a token never shows its secret.
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("signed in", "token", tok)
	for _, s := range []string{fmt.Sprint(tok), fmt.Sprintf("%v %+v", *tok, *tok), logs.String()} {
		if strings.Contains(s, tok.Token[len(customer.TokenPrefix):]) {
			t.Errorf("the token leaks through printing: %s", s)
		}
	}
}

func TestMalformedHashesAreRefused(t *testing.T) {
	good, err := customer.HashPassword(password, customer.DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$")
	bad := []string{
		"", "plain", strings.Replace(good, "argon2id", "argon2i", 1), strings.Replace(good, "v=19", "v=16", 1),
		strings.Replace(good, "m=19456", "m=99999999", 1), strings.Replace(good, "t=2", "t=0", 1),
		strings.Replace(good, "p=1", "p=0", 1), strings.Replace(good, "t=2", "t=02", 1),
		strings.Join(append(parts[:4:4], "!!", parts[5]), "$"), strings.Join(append(parts[:5:5], "AAAA"), "$"),
		good + "$extra",
	}
	for _, h := range bad {
		if ok, err := customer.VerifyPassword(password, h); ok || err == nil {
			t.Errorf("hash %q: ok=%v err=%v, want an error", h, ok, err)
		}
	}
}

// A password typed as "é" on one device and as "e" + combining accent on
// another is the same password.
func TestPasswordsAreNormalized(t *testing.T) {
	pool := commercetest.NewDB(t)
	svc := customer.NewService(pool)
	ctx := t.Context()
	if _, _, err := svc.SignUp(ctx, "chloe@example.com", "mot de passe d\u00e9j\u00e0", "Chloé"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.SignIn(ctx, "chloe@example.com", "mot de passe de\u0301ja\u0300"); err != nil {
		t.Errorf("the decomposed form of the password is refused: %v", err)
	}
}

func TestSignInRightAndWrong(t *testing.T) {
	pool := commercetest.NewDB(t)
	svc := customer.NewService(pool)
	ctx := t.Context()
	c, _ := signUp(t, ctx, svc, "anna@example.com")

	got, tok, err := svc.SignIn(ctx, " ANNA@example.com", password)
	if err != nil || got.ID != c.ID {
		t.Fatalf("right password: %+v %v", got, err)
	}
	if id, err := svc.Authenticate(ctx, tok.Token); err != nil || id != c.ID {
		t.Errorf("the sign-in token does not authenticate: %v", err)
	}

	_, _, wrongPassword := svc.SignIn(ctx, "anna@example.com", "incorrect horse")
	_, _, unknownEmail := svc.SignIn(ctx, "nobody@example.com", password)
	_, _, malformed := svc.SignIn(ctx, "not an email", password)
	for name, err := range map[string]error{"wrong password": wrongPassword, "unknown email": unknownEmail, "malformed email": malformed} {
		var ce *commerce.Error
		if !errors.As(err, &ce) || ce.Code != commerce.ErrUnauthenticated || ce.Field != "" {
			t.Errorf("%s: %v, want UNAUTHENTICATED on no field", name, err)
			continue
		}
		if ce.Error() != wrongPassword.Error() {
			t.Errorf("%s says %q, a wrong password %q: they must not be told apart", name, ce, wrongPassword)
		}
	}
}

func TestSessionsExpireAndSignOutRevokes(t *testing.T) {
	pool := commercetest.NewDB(t)
	svc := customer.NewService(pool, customer.WithSessionTTL(time.Hour))
	ctx := t.Context()
	_, tok := signUp(t, ctx, svc, "anna@example.com")
	if d := time.Until(tok.ExpiresAt); d < 59*time.Minute || d > time.Hour {
		t.Errorf("token expires in %s, want an hour", d)
	}
	_, other, err := svc.SignIn(ctx, "anna@example.com", password)
	if err != nil {
		t.Fatal(err)
	}

	bad := []string{"", "ct_", tok.Token[:len(tok.Token)-1], tok.Token + "A", "st" + tok.Token[2:],
		customer.TokenPrefix + strings.Repeat("A", 43)}
	for _, b := range bad {
		if _, err := svc.Authenticate(ctx, b); code(err) != commerce.ErrUnauthenticated {
			t.Errorf("token %q: %v, want UNAUTHENTICATED", b, err)
		}
	}

	// Expired.
	if _, err := pool.Exec(ctx, `UPDATE customer_sessions SET created_at = now() - interval '2 hours',
		expires_at = now() - interval '1 second' WHERE id = $1`, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, tok.Token); code(err) != commerce.ErrUnauthenticated {
		t.Errorf("expired token: %v", err)
	}
	// Revoked: only that session ends.
	if _, err := svc.Authenticate(ctx, other.Token); err != nil {
		t.Fatalf("the other session: %v", err)
	}
	id, err := svc.SignOut(ctx, other.Token)
	if err != nil || id != other.ID {
		t.Fatalf("SignOut: %v %v", id, err)
	}
	if _, err := svc.Authenticate(ctx, other.Token); code(err) != commerce.ErrUnauthenticated {
		t.Errorf("revoked token: %v", err)
	}
	if _, err := svc.SignOut(ctx, other.Token); code(err) != commerce.ErrNotFound {
		t.Errorf("signing out twice: %v, want NOT_FOUND", err)
	}
	if _, err := svc.SignOut(ctx, "ct_garbage"); code(err) != commerce.ErrNotFound {
		t.Errorf("signing out a malformed token: %v, want NOT_FOUND", err)
	}
	_, third, err := svc.SignIn(ctx, "anna@example.com", password)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, third.Token); err != nil {
		t.Errorf("signing in again after sign-out: %v", err)
	}
}

func TestSignUpInput(t *testing.T) {
	pool := commercetest.NewDB(t)
	svc := customer.NewService(pool)
	ctx := t.Context()
	signUp(t, ctx, svc, "anna@example.com")
	cases := []struct {
		email, password, name string
		code, field           string
	}{
		{"ANNA@Example.com", password, "Anna", commerce.ErrConflict, "email"},
		{"anna", password, "Anna", commerce.ErrInvalidInput, "email"},
		{"Anna <anna@example.com>", password, "Anna", commerce.ErrInvalidInput, "email"},
		{"", password, "Anna", commerce.ErrInvalidInput, "email"},
		{"bruno@example.com", "short", "Bruno", commerce.ErrInvalidInput, "password"},
		{"bruno@example.com", "1234567", "Bruno", commerce.ErrInvalidInput, "password"},
		{"bruno@example.com", strings.Repeat("x", customer.MaxPasswordLen+1), "Bruno", commerce.ErrInvalidInput, "password"},
		{"bruno@example.com", password, "  ", commerce.ErrInvalidInput, "name"},
		{"bruno@example.com", password, strings.Repeat("n", 201), commerce.ErrInvalidInput, "name"},
	}
	for _, c := range cases {
		_, _, err := svc.SignUp(ctx, c.email, c.password, c.name)
		var ce *commerce.Error
		if !errors.As(err, &ce) || ce.Code != c.code || ce.Field != c.field {
			t.Errorf("SignUp(%q, %d-char password, %q): %v, want %s on %s", c.email, len(c.password), c.name, err, c.code, c.field)
		}
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM customers`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d customers after refused sign-ups, want 1 (%v)", n, err)
	}
	// Eight characters is enough.
	if _, _, err := svc.SignUp(ctx, "bruno@example.com", "12345678", "Bruno"); err != nil {
		t.Errorf("an 8-character password: %v", err)
	}
}

// endWindows ends every rate-limit window, as if the time had passed.
func endWindows(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	if _, err := pool.Exec(t.Context(), `UPDATE rate_limits SET window_start = window_start - interval '1 hour',
		window_end = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
}

func TestFailedSignInsAreRateLimitedPerEmail(t *testing.T) {
	pool := commercetest.NewDB(t)
	svc := customer.NewService(pool, customer.WithSignInLimits(
		ratelimit.Limit{Max: 3, Window: 15 * time.Minute}, ratelimit.Limit{Max: 100, Window: 15 * time.Minute}))
	ctx := ratelimit.WithClient(t.Context(), "203.0.113.7")
	signUp(t, ctx, svc, "anna@example.com")

	// Successes do not count.
	for range 5 {
		if _, _, err := svc.SignIn(ctx, "anna@example.com", password); err != nil {
			t.Fatalf("repeated good sign-ins: %v", err)
		}
	}
	for i := range 3 {
		if _, _, err := svc.SignIn(ctx, "anna@example.com", "guess"+fmt.Sprint(i)); code(err) != commerce.ErrUnauthenticated {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	// The limit is reached: even the right password waits, and an unknown
	// email behaves exactly the same (the limit tells nothing about accounts).
	_, _, err := svc.SignIn(ctx, "anna@example.com", password)
	if code(err) != commerce.ErrRateLimited || !strings.Contains(err.Error(), "try again in 15 minutes") {
		t.Errorf("after 3 failures: %v, want RATE_LIMITED", err)
	}
	for i := range 3 {
		_, _, _ = svc.SignIn(ctx, "nobody@example.com", "guess"+fmt.Sprint(i))
	}
	if _, _, err := svc.SignIn(ctx, "nobody@example.com", password); code(err) != commerce.ErrRateLimited {
		t.Errorf("unknown email after 3 failures: %v, want RATE_LIMITED", err)
	}
	// Other emails are not affected.
	signUp(t, ctx, svc, "bruno@example.com")
	if _, _, err := svc.SignIn(ctx, "BRUNO@example.com", password); err != nil {
		t.Errorf("another email: %v", err)
	}

	endWindows(t, pool)
	if _, _, err := svc.SignIn(ctx, "anna@example.com", password); err != nil {
		t.Errorf("after the window: %v", err)
	}
}

func TestFailedSignInsAreRateLimitedPerClient(t *testing.T) {
	pool := commercetest.NewDB(t)
	svc := customer.NewService(pool, customer.WithSignInLimits(
		ratelimit.Limit{Max: 100, Window: time.Hour}, ratelimit.Limit{Max: 4, Window: time.Hour}))
	guesser := ratelimit.WithClient(t.Context(), "203.0.113.7")
	shopper := ratelimit.WithClient(t.Context(), "198.51.100.4")
	signUp(t, t.Context(), svc, "anna@example.com")

	// One guess per email, many emails: the per-client limit catches it.
	for i := range 4 {
		if _, _, err := svc.SignIn(guesser, fmt.Sprintf("victim%d@example.com", i), password); code(err) != commerce.ErrUnauthenticated {
			t.Fatalf("guess %d: %v", i+1, err)
		}
	}
	if _, _, err := svc.SignIn(guesser, "anna@example.com", password); code(err) != commerce.ErrRateLimited {
		t.Errorf("fifth guess from the client: %v, want RATE_LIMITED", err)
	}
	// The refused attempts did not count against anna's email: her own
	// sign-in from elsewhere works, and so do any number of failures up to
	// the email's limit.
	if _, _, err := svc.SignIn(shopper, "anna@example.com", password); err != nil {
		t.Errorf("the shopper from another client: %v", err)
	}
	var count int
	if err := pool.QueryRow(t.Context(), `SELECT count FROM rate_limits WHERE scope = 'customer.sign_in.email'
		AND key_hash = sha256('anna@example.com')`).Scan(&count); err != nil || count != 0 {
		t.Errorf("anna's email count %d, want 0 (%v)", count, err)
	}
	endWindows(t, pool)
	if _, _, err := svc.SignIn(guesser, "anna@example.com", password); err != nil {
		t.Errorf("after the window: %v", err)
	}
}

// Concurrent guesses cannot slip past the limit: the unit is taken before
// the password is checked.
func TestConcurrentGuessesRespectTheLimit(t *testing.T) {
	pool := commercetest.NewDB(t)
	svc := customer.NewService(pool, customer.WithSignInLimits(
		ratelimit.Limit{Max: 3, Window: time.Hour}, ratelimit.Limit{Max: 100, Window: time.Hour}))
	ctx := t.Context()
	signUp(t, ctx, svc, "anna@example.com")
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		codes = map[string]int{}
	)
	for i := range 20 {
		wg.Go(func() {
			_, _, err := svc.SignIn(ctx, "anna@example.com", fmt.Sprintf("guess %d", i))
			mu.Lock()
			codes[code(err)]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if codes[commerce.ErrUnauthenticated] != 3 || codes[commerce.ErrRateLimited] != 17 {
		t.Errorf("outcomes %v, want 3 UNAUTHENTICATED and 17 RATE_LIMITED", codes)
	}
}

func TestSignUpsRefusedForATakenEmailAreRateLimited(t *testing.T) {
	pool := commercetest.NewDB(t)
	svc := customer.NewService(pool, customer.WithSignUpLimit(ratelimit.Limit{Max: 2, Window: time.Hour}))
	ctx := ratelimit.WithClient(t.Context(), "203.0.113.7")
	// Successful sign-ups do not count.
	for i := range 4 {
		signUp(t, ctx, svc, fmt.Sprintf("shopper%d@example.com", i))
	}
	for i := range 2 {
		if _, _, err := svc.SignUp(ctx, fmt.Sprintf("shopper%d@example.com", i), password, "Probe"); code(err) != commerce.ErrConflict {
			t.Fatalf("probe %d: %v", i, err)
		}
	}
	if _, _, err := svc.SignUp(ctx, "shopper3@example.com", password, "Probe"); code(err) != commerce.ErrRateLimited {
		t.Errorf("third probe: %v, want RATE_LIMITED", err)
	}
	// Without a client (a command, a job) there is no per-client limit.
	if _, _, err := svc.SignUp(t.Context(), "shopper3@example.com", password, "Probe"); code(err) != commerce.ErrConflict {
		t.Errorf("no client: %v, want CONFLICT", err)
	}
}

func TestSessionsRecordTheirChannel(t *testing.T) {
	pool := commercetest.NewDB(t)
	svc := customer.NewService(pool)
	ch := &channel.Channel{ID: commerce.NewID(), Kind: channel.Web}
	if _, err := pool.Exec(t.Context(), `INSERT INTO channels (id, kind, name, currency_code, publishable_key)
		VALUES ($1, 'web', 'Web', 'EUR', 'pk_test_customer')`, ch.ID); err != nil {
		t.Fatal(err)
	}
	_, tok := signUp(t, channel.NewContext(t.Context(), ch), svc, "anna@example.com")
	_, tok2, err := svc.SignIn(t.Context(), "anna@example.com", password)
	if err != nil {
		t.Fatal(err)
	}
	for tk, want := range map[*customer.AccessToken]*commerce.ID{tok: &ch.ID, tok2: nil} {
		var got *commerce.ID
		if err := pool.QueryRow(t.Context(), `SELECT channel_id FROM customer_sessions WHERE id = $1`, tk.ID).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if (got == nil) != (want == nil) || (got != nil && *got != *want) {
			t.Errorf("session channel %v, want %v", got, want)
		}
	}
}

// Hashes made with older parameters still verify, and are upgraded to the
// current ones at the next sign-in.
func TestOldHashesAreUpgradedAtSignIn(t *testing.T) {
	pool := commercetest.NewDB(t)
	ctx := t.Context()
	cheap := customer.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	c, _, err := customer.NewService(pool, customer.WithPasswordParams(cheap)).SignUp(ctx, "anna@example.com", password, "Anna")
	if err != nil {
		t.Fatal(err)
	}
	hashOf := func() string {
		var h string
		if err := pool.QueryRow(ctx, `SELECT password_hash FROM customers WHERE id = $1`, c.ID).Scan(&h); err != nil {
			t.Fatal(err)
		}
		return h
	}
	if p, _ := customer.ParseParams(hashOf()); p != cheap {
		t.Fatalf("params %+v", p)
	}
	if _, _, err := customer.NewService(pool).SignIn(ctx, "anna@example.com", password); err != nil {
		t.Fatal(err)
	}
	if p, _ := customer.ParseParams(hashOf()); p != customer.DefaultParams {
		t.Errorf("after sign-in: %+v, want %+v", p, customer.DefaultParams)
	}
}
