package staff_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/commercetest"
	"github.com/omnicanal/omnicanal/commerce/staff"
)

func TestMain(m *testing.M) { commercetest.Main(m) }

func TestTokensAuthenticateUntilExpiredRevokedOrDisabled(t *testing.T) {
	pool := commercetest.NewDB(t)
	svc := staff.NewService(pool)
	ctx := t.Context()
	st, err := svc.CreateStaff(ctx, staff.Input{Email: " Anna@Example.com ", Name: "Anna", Role: commerce.RoleMerchandiser})
	if err != nil {
		t.Fatal(err)
	}
	if st.Email != "anna@example.com" {
		t.Errorf("email not normalized: %q", st.Email)
	}
	token, err := svc.IssueToken(ctx, st.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(token, staff.TokenPrefix) || !staff.WellFormed(token) {
		t.Fatalf("token %q", token)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(token, staff.TokenPrefix))
	if len(raw) < 16 {
		t.Errorf("token carries %d random bytes, want at least 16", len(raw))
	}
	// Only the hash is stored.
	var stored []byte
	if err := pool.QueryRow(ctx, `SELECT token_hash FROM staff_tokens WHERE staff_id = $1`, st.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256([]byte(token)); !bytes.Equal(stored, sum[:]) {
		t.Error("the stored hash is not the token's SHA-256")
	}
	p, err := svc.Authenticate(ctx, token)
	if err != nil || p.StaffID != st.ID || p.Role != commerce.RoleMerchandiser {
		t.Fatalf("Authenticate: %+v %v", p, err)
	}
	var used *time.Time
	if err := pool.QueryRow(ctx, `SELECT last_used_at FROM staff_tokens WHERE staff_id = $1`, st.ID).Scan(&used); err != nil || used == nil {
		t.Errorf("last_used_at not recorded: %v", err)
	}

	bad := []string{"", "st_", token[:len(token)-1], token + "A", "xx" + token[2:], strings.Replace(token, token[5:6], flip(token[5:6]), 1)}
	for _, b := range bad {
		if _, err := svc.Authenticate(ctx, b); commerce.ErrorCode(err) != commerce.ErrUnauthenticated {
			t.Errorf("token %q: %v, want UNAUTHENTICATED", b, err)
		}
	}

	// Expired.
	if _, err := pool.Exec(ctx, `UPDATE staff_tokens SET created_at = now() - interval '2 hours', expires_at = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, token); commerce.ErrorCode(err) != commerce.ErrUnauthenticated {
		t.Errorf("expired token: %v", err)
	}
	// Revoked.
	token2, err := svc.IssueToken(ctx, st.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.RevokeToken(ctx, token2); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, token2); commerce.ErrorCode(err) != commerce.ErrUnauthenticated {
		t.Errorf("revoked token: %v", err)
	}
	if err := svc.RevokeToken(ctx, token2); commerce.ErrorCode(err) != commerce.ErrNotFound {
		t.Errorf("revoking twice: %v", err)
	}
	// Disabled user.
	token3, err := svc.IssueToken(ctx, st.ID, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.DisableStaff(ctx, st.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, token3); commerce.ErrorCode(err) != commerce.ErrUnauthenticated {
		t.Errorf("disabled user's token: %v", err)
	}
	if _, err := svc.IssueToken(ctx, st.ID, time.Hour); commerce.ErrorCode(err) != commerce.ErrNotFound {
		t.Errorf("token for a disabled user: %v", err)
	}
}

func flip(s string) string {
	if s == "A" {
		return "B"
	}
	return "A"
}

func TestCreateStaffValidates(t *testing.T) {
	pool := commercetest.NewDB(t)
	svc := staff.NewService(pool)
	ctx := t.Context()
	store := commerce.NewID()
	if _, err := svc.CreateStaff(ctx, staff.Input{Email: "a@example.com", Name: "A", Role: commerce.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		in    staff.Input
		code  string
		field string
	}{
		{staff.Input{Email: "A@example.com", Name: "A", Role: commerce.RoleAdmin}, commerce.ErrConflict, "email"},
		{staff.Input{Email: "not an email", Name: "A", Role: commerce.RoleAdmin}, commerce.ErrInvalidInput, "email"},
		{staff.Input{Email: "b@example.com", Name: " ", Role: commerce.RoleAdmin}, commerce.ErrInvalidInput, "name"},
		{staff.Input{Email: "b@example.com", Name: "B", Role: "owner"}, commerce.ErrInvalidInput, "role"},
		{staff.Input{Email: "b@example.com", Name: "B", Role: commerce.RoleAssociate}, commerce.ErrInvalidInput, "locationIds"},
	}
	for _, c := range cases {
		_, err := svc.CreateStaff(ctx, c.in)
		ce, ok := err.(*commerce.Error)
		if !ok || ce.Code != c.code || ce.Field != c.field {
			t.Errorf("%+v: %v, want %s on %s", c.in, err, c.code, c.field)
		}
	}
	st, err := svc.CreateStaff(ctx, staff.Input{Email: "c@example.com", Name: "C", Role: commerce.RoleAssociate, LocationIDs: []commerce.ID{store, store}})
	if err != nil {
		t.Fatal(err)
	}
	token, err := svc.IssueToken(ctx, st.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.Authenticate(ctx, token)
	if err != nil || len(p.LocationIDs) != 1 || p.LocationIDs[0] != store || !p.InLocation(store) {
		t.Errorf("associate principal: %+v %v", p, err)
	}
	found, err := svc.FindStaffByEmail(ctx, "C@EXAMPLE.COM")
	if err != nil || found.ID != st.ID {
		t.Errorf("FindStaffByEmail: %+v %v", found, err)
	}
	if _, err := svc.IssueToken(ctx, st.ID, 2*staff.MaxTTL); commerce.ErrorCode(err) != commerce.ErrInvalidInput {
		t.Errorf("a token beyond the maximum TTL: %v", err)
	}
	if _, err := svc.IssueToken(ctx, commerce.NewID(), time.Hour); commerce.ErrorCode(err) != commerce.ErrNotFound {
		t.Errorf("a token for nobody: %v", err)
	}
}
