package graph_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/demo"
	"github.com/omnicanal/omnicanal/commerce/ratelimit"
	"github.com/omnicanal/omnicanal/commerce/staff"
	"github.com/omnicanal/omnicanal/graph"
)

const (
	staffPassword = "desk password 42"

	staffSignIn = `mutation($email: String!, $password: String!) {
  staffSignIn(email: $email, password: $password) {
    token
    staff { id name email role locations { id code name } }
    userErrors { field message code }
  }
}`
	staffSignOut = `mutation($token: String!) {
  staffSignOut(token: $token) { signedOut userErrors { field message code } }
}`
	staffMe = `{ staffMe { id email role locations { code name } } }`
)

// signInServer is the real handler with staff sign-in, an associate of
// Paris and Lyon and a merchandiser, both with a password.
type signInServer struct {
	*server
	pool *pgxpool.Pool
	svc  *staff.Service
}

func newSignInServer(t *testing.T, trusted []netip.Prefix, opts ...staff.Option) *signInServer {
	t.Helper()
	pool := demoDB(t)
	svc := staff.NewService(pool, append([]staff.Option{staff.WithPasswordParams(64, 1)}, opts...)...)
	for _, in := range []staff.Input{
		{Email: "lea@maison-sentier.example", Name: "Léa", Role: commerce.RoleAssociate, Password: staffPassword,
			LocationIDs: []commerce.ID{demo.LocationID(demo.CodeParis), demo.LocationID(demo.CodeLyon)}},
		{Email: "marc@maison-sentier.example", Name: "Marc", Role: commerce.RoleMerchandiser, Password: staffPassword},
	} {
		if _, err := svc.CreateStaff(t.Context(), in); err != nil {
			t.Fatal(err)
		}
	}
	return &signInServer{pool: pool, svc: svc, server: newServer(t, services(pool), func(o *graph.Options) {
		o.Staff = svc
		o.TrustedProxies = trusted
	})}
}

// send posts an operation on the Paris POS channel, with a bearer token and
// an X-Forwarded-For header when given.
func (s *signInServer) send(t *testing.T, token, forwardedFor, query string, vars map[string]any) *response {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, s.URL, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/graphql-response+json")
	req.Header.Set(graph.ChannelKeyHeader, demo.KeyPOSParis)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if forwardedFor != "" {
		req.Header.Set("X-Forwarded-For", forwardedFor)
	}
	return do(t, req)
}

func (s *signInServer) signIn(t *testing.T, from, email, password string) *response {
	t.Helper()
	return s.send(t, "", from, staffSignIn, map[string]any{"email": email, "password": password}).ok(t)
}

func TestStaffSignInMeAndSignOut(t *testing.T) {
	s := newSignInServer(t, nil)
	r := s.signIn(t, "", " LEA@maison-sentier.example", staffPassword)
	token, _ := at(r.Data, "staffSignIn", "token").(string)
	if !staff.WellFormed(token) || len(at(r.Data, "staffSignIn", "userErrors").([]any)) != 0 {
		t.Fatalf("sign-in: %s", r.Raw)
	}
	if at(r.Data, "staffSignIn", "staff", "email") != "lea@maison-sentier.example" || at(r.Data, "staffSignIn", "staff", "role") != "ASSOCIATE" {
		t.Errorf("signed-in staff: %s", r.Raw)
	}
	codes := func(r *response, path ...any) []string {
		var out []string
		locs, _ := at(r.Data, path...).([]any)
		for _, l := range locs {
			out = append(out, at(l, "code").(string))
		}
		slices.Sort(out)
		return out
	}
	want := []string{demo.CodeLyon, demo.CodeParis}
	slices.Sort(want)
	if got := codes(r, "staffSignIn", "staff", "locations"); !slices.Equal(got, want) {
		t.Errorf("locations of the associate: %v, want %v (%s)", got, want, r.Raw)
	}

	// The token acts as the associate, with their stores.
	me := s.send(t, token, "", staffMe, nil).ok(t)
	if at(me.Data, "staffMe", "email") != "lea@maison-sentier.example" || at(me.Data, "staffMe", "role") != "ASSOCIATE" {
		t.Errorf("staffMe: %s", me.Raw)
	}
	if got := codes(me, "staffMe", "locations"); !slices.Equal(got, want) {
		t.Errorf("staffMe locations: %v, want %v", got, want)
	}
	p, err := s.svc.Authenticate(t.Context(), token)
	if err != nil || p.Role != commerce.RoleAssociate || !p.InLocation(demo.LocationID(demo.CodeParis)) ||
		!p.InLocation(demo.LocationID(demo.CodeLyon)) || p.InLocation(demo.LocationID(demo.CodeBordeaux)) {
		t.Errorf("the token's principal: %+v %v", p, err)
	}
	// Staff-only operations see the role: an associate may not create products.
	if r := s.send(t, token, "", `mutation { productCreate(input: {handle: "x", title: "X"}) { userErrors { code } } }`, nil); r.code() != commerce.ErrForbidden {
		t.Errorf("productCreate as an associate: %s", r.Raw)
	}

	// A merchandiser has no stores to list: not scoped by location.
	r = s.signIn(t, "", "marc@maison-sentier.example", staffPassword)
	if at(r.Data, "staffSignIn", "staff", "role") != "MERCHANDISER" || len(at(r.Data, "staffSignIn", "staff", "locations").([]any)) != 0 {
		t.Errorf("merchandiser: %s", r.Raw)
	}

	// Without a token staffMe is null, not an error.
	if r := s.send(t, "", "", staffMe, nil).ok(t); r.Data["staffMe"] != nil {
		t.Errorf("staffMe without a token: %s", r.Raw)
	}

	// Sign-out ends the token; the next request with it is refused whole.
	if r := s.send(t, "", "", staffSignOut, map[string]any{"token": token}).ok(t); at(r.Data, "staffSignOut", "signedOut") != true {
		t.Fatalf("sign-out: %s", r.Raw)
	}
	if r := s.send(t, token, "", staffMe, nil); r.code() != commerce.ErrUnauthenticated || r.Data != nil {
		t.Errorf("staffMe after sign-out: %s", r.Raw)
	}
	r = s.send(t, "", "", staffSignOut, map[string]any{"token": token}).ok(t)
	if at(r.Data, "staffSignOut", "signedOut") != false || at(r.Data, "staffSignOut", "userErrors", 0, "code") != commerce.ErrNotFound ||
		at(r.Data, "staffSignOut", "userErrors", 0, "field", 0) != "token" {
		t.Errorf("signing out twice: %s", r.Raw)
	}
}

func TestStaffSignInWrongAndUnknownLookTheSame(t *testing.T) {
	s := newSignInServer(t, nil)
	wrong := s.signIn(t, "", "lea@maison-sentier.example", "not her password")
	unknown := s.signIn(t, "", "nobody@maison-sentier.example", staffPassword)
	for _, r := range []*response{wrong, unknown} {
		if at(r.Data, "staffSignIn", "token") != nil || at(r.Data, "staffSignIn", "staff") != nil ||
			at(r.Data, "staffSignIn", "userErrors", 0, "code") != commerce.ErrUnauthenticated {
			t.Errorf("bad credentials: %s", r.Raw)
		}
	}
	if !bytes.Equal(wrong.Raw, unknown.Raw) {
		t.Errorf("a wrong password and an unknown email answer differently:\n%s\n%s", wrong.Raw, unknown.Raw)
	}
	// The right password of a disabled account: FORBIDDEN, no token.
	st, err := s.svc.FindStaffByEmail(t.Context(), "lea@maison-sentier.example")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.svc.DisableStaff(t.Context(), st.ID); err != nil {
		t.Fatal(err)
	}
	r := s.signIn(t, "", "lea@maison-sentier.example", staffPassword)
	if at(r.Data, "staffSignIn", "token") != nil || at(r.Data, "staffSignIn", "userErrors", 0, "code") != commerce.ErrForbidden {
		t.Errorf("disabled account: %s", r.Raw)
	}
	// Passwords never reach the logs.
	if logs := s.logs.String(); strings.Contains(logs, staffPassword) || strings.Contains(logs, "not her password") {
		t.Errorf("a password is in the logs: %s", logs)
	}
}

func TestStaffSignInIsRateLimited(t *testing.T) {
	s := newSignInServer(t, nil, staff.WithSignInLimits(
		ratelimit.Limit{Max: 3, Window: 15 * time.Minute}, ratelimit.Limit{Max: 100, Window: 15 * time.Minute}))
	code := func(r *response) any { return at(r.Data, "staffSignIn", "userErrors", 0, "code") }
	for i := range 3 {
		if r := s.signIn(t, "", "lea@maison-sentier.example", "guess"); code(r) != commerce.ErrUnauthenticated {
			t.Fatalf("failure %d: %s", i+1, r.Raw)
		}
	}
	r := s.signIn(t, "", "lea@maison-sentier.example", staffPassword)
	if code(r) != commerce.ErrRateLimited || at(r.Data, "staffSignIn", "token") != nil {
		t.Errorf("after 3 failures: %s", r.Raw)
	}
	if r := s.signIn(t, "", "marc@maison-sentier.example", staffPassword); code(r) != nil {
		t.Errorf("another account: %s", r.Raw)
	}
}

// Behind a trusted proxy each client has its own allowance, found in
// X-Forwarded-For; from an untrusted peer the header is ignored, so
// forging a fresh address for every guess earns nothing.
func TestStaffSignInLimitsClientsBehindTrustedProxies(t *testing.T) {
	perClient := staff.WithSignInLimits(ratelimit.Limit{Max: 100, Window: time.Hour}, ratelimit.Limit{Max: 2, Window: time.Hour})
	code := func(r *response) any { return at(r.Data, "staffSignIn", "userErrors", 0, "code") }

	// The test server's peer is 127.0.0.1: trusted here, as a load balancer.
	s := newSignInServer(t, []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, perClient)
	for range 2 {
		s.signIn(t, "192.0.2.66, 203.0.113.9", "lea@maison-sentier.example", "guess")
	}
	// The guesser (203.0.113.9; 192.0.2.66 is what it forged) is limited,
	// whatever it puts left of its own address.
	if r := s.signIn(t, "198.51.100.1, 203.0.113.9", "marc@maison-sentier.example", staffPassword); code(r) != commerce.ErrRateLimited {
		t.Errorf("the guesser behind the proxy: %s", r.Raw)
	}
	// A store desk behind the same proxy is not.
	if r := s.signIn(t, "198.51.100.7", "marc@maison-sentier.example", staffPassword); code(r) != nil {
		t.Errorf("another client behind the proxy: %s", r.Raw)
	}

	// Nobody trusted (the default): the peer is the client, and forged
	// headers change nothing.
	s = newSignInServer(t, nil, perClient)
	s.signIn(t, "203.0.113.1", "lea@maison-sentier.example", "guess")
	s.signIn(t, "203.0.113.2", "lea@maison-sentier.example", "guess")
	if r := s.signIn(t, "203.0.113.3", "marc@maison-sentier.example", staffPassword); code(r) != commerce.ErrRateLimited {
		t.Errorf("an untrusted peer forging X-Forwarded-For got a fresh allowance: %s", r.Raw)
	}
}

// A server without staff access refuses sign-in.
func TestStaffSignInWithoutTheService(t *testing.T) {
	s := &signInServer{server: newServer(t, services(demoDB(t)))}
	r := s.send(t, "", "", staffSignIn, map[string]any{"email": "lea@maison-sentier.example", "password": staffPassword})
	if r.code() != commerce.ErrUnauthenticated {
		t.Errorf("sign-in without the staff service: %s", r.Raw)
	}
	if r := s.send(t, "", "", staffMe, nil).ok(t); r.Data["staffMe"] != nil {
		t.Errorf("staffMe without the service: %s", r.Raw)
	}
}
