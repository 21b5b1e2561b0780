package staff_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/commercetest"
	"github.com/omnicanal/omnicanal/commerce/ratelimit"
	"github.com/omnicanal/omnicanal/commerce/staff"
)

const pw = "correct horse battery"

// cheap keeps argon2 fast in tests; production keeps the defaults.
var cheap = staff.WithPasswordParams(64, 1)

func newAssociate(t *testing.T, ctx context.Context, svc *staff.Service, email string, stores ...commerce.ID) *staff.Staff {
	t.Helper()
	st, err := svc.CreateStaff(ctx, staff.Input{Email: email, Name: "Léa", Role: commerce.RoleAssociate, LocationIDs: stores, Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestSignInIssuesASessionTokenOfTheStaffUser(t *testing.T) {
	pool := commercetest.NewDB(t)
	svc := staff.NewService(pool, cheap)
	ctx := ratelimit.WithClient(t.Context(), "203.0.113.7")
	paris, lyon := commerce.NewID(), commerce.NewID()
	st := newAssociate(t, ctx, svc, "lea@example.com", paris)

	token, got, err := svc.SignIn(ctx, "  LEA@Example.com ", pw)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != st.ID || got.Email != "lea@example.com" || got.Role != commerce.RoleAssociate {
		t.Errorf("signed-in staff: %+v", got)
	}
	if !staff.WellFormed(token) {
		t.Fatalf("token %q", token)
	}
	p, err := svc.Authenticate(ctx, token)
	if err != nil || p.StaffID != st.ID || p.Role != commerce.RoleAssociate || !p.InLocation(paris) || p.InLocation(lyon) {
		t.Fatalf("the session acts as %+v (%v), want the associate of Paris only", p, err)
	}
	// A session, living SessionTTL, not the operator tokens' 30 days.
	var kind string
	var life time.Duration
	if err := pool.QueryRow(ctx, `SELECT kind, expires_at - created_at FROM staff_tokens WHERE staff_id = $1`, st.ID).Scan(&kind, &life); err != nil {
		t.Fatal(err)
	}
	if kind != "session" || life != staff.SessionTTL {
		t.Errorf("token kind %q living %s, want a session of %s", kind, life, staff.SessionTTL)
	}
	// The hash only, never the password.
	var hash string
	if err := pool.QueryRow(ctx, `SELECT password_hash FROM staff_users WHERE id = $1`, st.ID).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$") || strings.Contains(hash, pw) {
		t.Errorf("stored password hash %q", hash)
	}

	me, err := svc.FindSignedInStaff(commerce.WithPrincipal(ctx, p))
	if err != nil || me.ID != st.ID || len(me.LocationIDs) != 1 || me.LocationIDs[0] != paris {
		t.Errorf("FindSignedInStaff: %+v %v", me, err)
	}
	if _, err := svc.FindSignedInStaff(ctx); commerce.ErrorCode(err) != commerce.ErrUnauthenticated {
		t.Errorf("FindSignedInStaff without a principal: %v", err)
	}

	// Sign-out revokes the token at once; twice is NOT_FOUND.
	if err := svc.SignOut(ctx, token); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, token); commerce.ErrorCode(err) != commerce.ErrUnauthenticated {
		t.Errorf("token after sign-out: %v", err)
	}
	if err := svc.SignOut(ctx, token); commerce.ErrorCode(err) != commerce.ErrNotFound {
		t.Errorf("signing out twice: %v", err)
	}
}

func TestWrongPasswordAndUnknownEmailLookTheSame(t *testing.T) {
	pool := commercetest.NewDB(t)
	svc := staff.NewService(pool, cheap)
	ctx := t.Context()
	newAssociate(t, ctx, svc, "lea@example.com", commerce.NewID())
	// A user without a password (tokens only) cannot sign in either.
	if _, err := svc.CreateStaff(ctx, staff.Input{Email: "feed@example.com", Name: "ERP feed", Role: commerce.RoleMerchandiser}); err != nil {
		t.Fatal(err)
	}

	var msgs []string
	for _, c := range []struct{ email, pw string }{
		{"lea@example.com", pw + "!"},
		{"nobody@example.com", pw},
		{"feed@example.com", pw},
		{"not an email", pw},
		{"lea@example.com", ""},
	} {
		token, st, err := svc.SignIn(ctx, c.email, c.pw)
		if commerce.ErrorCode(err) != commerce.ErrUnauthenticated || token != "" || st != nil {
			t.Fatalf("%s / %q: %q %+v %v, want UNAUTHENTICATED", c.email, c.pw, token, st, err)
		}
		msgs = append(msgs, err.Error())
	}
	for _, m := range msgs[1:] {
		if m != msgs[0] {
			t.Errorf("answers differ: %q vs %q", m, msgs[0])
		}
	}
}

func TestDisabledStaffCannotSignIn(t *testing.T) {
	pool := commercetest.NewDB(t)
	svc := staff.NewService(pool, cheap)
	ctx := t.Context()
	st := newAssociate(t, ctx, svc, "lea@example.com", commerce.NewID())
	token, _, err := svc.SignIn(ctx, "lea@example.com", pw)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.DisableStaff(ctx, st.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.SignIn(ctx, "lea@example.com", pw); commerce.ErrorCode(err) != commerce.ErrForbidden {
		t.Errorf("disabled user, right password: %v, want FORBIDDEN", err)
	}
	// A wrong password tells nothing of the account's state.
	if _, _, err := svc.SignIn(ctx, "lea@example.com", "wrong password"); commerce.ErrorCode(err) != commerce.ErrUnauthenticated {
		t.Errorf("disabled user, wrong password: %v, want UNAUTHENTICATED", err)
	}
	if _, err := svc.Authenticate(ctx, token); commerce.ErrorCode(err) != commerce.ErrUnauthenticated {
		t.Errorf("the session of a disabled user: %v", err)
	}
}

func TestSetPasswordRevokesSessionsNotAPITokens(t *testing.T) {
	pool := commercetest.NewDB(t)
	svc := staff.NewService(pool, cheap)
	ctx := t.Context()
	st := newAssociate(t, ctx, svc, "lea@example.com", commerce.NewID())
	session, _, err := svc.SignIn(ctx, "lea@example.com", pw)
	if err != nil {
		t.Fatal(err)
	}
	api, err := svc.IssueToken(ctx, st.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.SetPassword(ctx, st.ID, "short"); commerce.ErrorCode(err) != commerce.ErrInvalidInput {
		t.Errorf("a 5-character password: %v", err)
	}
	if err := svc.SetPassword(ctx, commerce.NewID(), "a new password"); commerce.ErrorCode(err) != commerce.ErrNotFound {
		t.Errorf("password of nobody: %v", err)
	}
	if err := svc.SetPassword(ctx, st.ID, "a new password"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, session); commerce.ErrorCode(err) != commerce.ErrUnauthenticated {
		t.Errorf("session after a password reset: %v", err)
	}
	if _, err := svc.Authenticate(ctx, api); err != nil {
		t.Errorf("API token after a password reset: %v", err)
	}
	if _, _, err := svc.SignIn(ctx, "lea@example.com", pw); commerce.ErrorCode(err) != commerce.ErrUnauthenticated {
		t.Errorf("the old password: %v", err)
	}
	if _, _, err := svc.SignIn(ctx, "lea@example.com", "a new password"); err != nil {
		t.Errorf("the new password: %v", err)
	}
	if _, err := svc.CreateStaff(ctx, staff.Input{Email: "max@example.com", Name: "Max", Role: commerce.RoleAdmin, Password: "short"}); commerce.ErrorCode(err) != commerce.ErrInvalidInput {
		t.Errorf("creating with a 5-character password: %v", err)
	}
}

func endWindows(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	if _, err := pool.Exec(t.Context(), `UPDATE rate_limits SET window_start = window_start - interval '1 hour',
		window_end = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
}

func TestFailedStaffSignInsAreRateLimited(t *testing.T) {
	pool := commercetest.NewDB(t)
	svc := staff.NewService(pool, cheap, staff.WithSignInLimits(
		ratelimit.Limit{Max: 3, Window: 15 * time.Minute}, ratelimit.Limit{Max: 7, Window: 15 * time.Minute}))
	desk := ratelimit.WithClient(t.Context(), "203.0.113.7")
	other := ratelimit.WithClient(t.Context(), "198.51.100.4")
	newAssociate(t, desk, svc, "lea@example.com", commerce.NewID())
	newAssociate(t, desk, svc, "max@example.com", commerce.NewID())

	// Successes do not count.
	for range 6 {
		if _, _, err := svc.SignIn(desk, "lea@example.com", pw); err != nil {
			t.Fatalf("repeated good sign-ins: %v", err)
		}
	}
	// Per email: three failures, then even the right password waits, from
	// any client; an unknown email behaves the same.
	for i := range 3 {
		if _, _, err := svc.SignIn(other, "lea@example.com", fmt.Sprint("guess", i)); commerce.ErrorCode(err) != commerce.ErrUnauthenticated {
			t.Fatalf("failure %d: %v", i+1, err)
		}
		_, _, _ = svc.SignIn(other, "nobody@example.com", fmt.Sprint("guess", i))
	}
	if _, _, err := svc.SignIn(desk, "lea@example.com", pw); commerce.ErrorCode(err) != commerce.ErrRateLimited ||
		!strings.Contains(err.Error(), "try again in 15 minutes") {
		t.Errorf("after 3 failures: %v, want RATE_LIMITED", err)
	}
	if _, _, err := svc.SignIn(desk, "nobody@example.com", pw); commerce.ErrorCode(err) != commerce.ErrRateLimited {
		t.Errorf("unknown email after 3 failures: %v, want RATE_LIMITED", err)
	}
	// Per client: "other" has failed 6 times, 7 allowed. One more failure
	// on Max's account, and Max is refused from there, not from the desk.
	if _, _, err := svc.SignIn(other, "max@example.com", "guess"); commerce.ErrorCode(err) != commerce.ErrUnauthenticated {
		t.Errorf("7th failure of a client: %v", err)
	}
	if _, _, err := svc.SignIn(other, "max@example.com", pw); commerce.ErrorCode(err) != commerce.ErrRateLimited {
		t.Errorf("a client past its limit: %v, want RATE_LIMITED", err)
	}
	if _, _, err := svc.SignIn(desk, "max@example.com", pw); err != nil {
		t.Errorf("another client: %v", err)
	}

	endWindows(t, pool)
	if _, _, err := svc.SignIn(other, "lea@example.com", pw); err != nil {
		t.Errorf("after the window: %v", err)
	}
}

func TestConcurrentStaffGuessesRespectTheLimit(t *testing.T) {
	pool := commercetest.NewDB(t)
	svc := staff.NewService(pool, cheap, staff.WithSignInLimits(
		ratelimit.Limit{Max: 4, Window: time.Hour}, ratelimit.Limit{Max: 1000, Window: time.Hour}))
	ctx := t.Context()
	newAssociate(t, ctx, svc, "lea@example.com", commerce.NewID())
	var (
		wg                      sync.WaitGroup
		mu                      sync.Mutex
		unauthenticated, denied int
	)
	for i := range 20 {
		wg.Go(func() {
			_, _, err := svc.SignIn(ctx, "lea@example.com", fmt.Sprint("guess", i))
			mu.Lock()
			defer mu.Unlock()
			switch commerce.ErrorCode(err) {
			case commerce.ErrUnauthenticated:
				unauthenticated++
			case commerce.ErrRateLimited:
				denied++
			default:
				t.Errorf("guess %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if unauthenticated != 4 || denied != 16 {
		t.Errorf("%d guesses checked and %d refused, want 4 and 16", unauthenticated, denied)
	}
}
