package graph_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/customer"
	"github.com/omnicanal/omnicanal/commerce/demo"
	"github.com/omnicanal/omnicanal/commerce/ratelimit"
	"github.com/omnicanal/omnicanal/graph"
)

// customerServer is the real handler with customer accounts.
type customerServer struct {
	*server
	pool *pgxpool.Pool
}

func newCustomerServer(t *testing.T, opts ...customer.Option) *customerServer {
	t.Helper()
	pool := demoDB(t)
	svc := services(pool)
	svc.Customers = customer.NewService(pool, opts...)
	return &customerServer{server: newServer(t, svc), pool: pool}
}

// send posts an operation on the web channel, with a bearer token when one
// is given.
func (s *customerServer) send(t *testing.T, token, query string, vars map[string]any) *response {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, s.URL, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/graphql-response+json")
	req.Header.Set(graph.ChannelKeyHeader, demo.KeyWebEU)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(t, req)
}

const (
	customerPassword = "correct horse battery"

	customerCreate = `mutation($input: CustomerCreateInput!) {
  customerCreate(input: $input) {
    customer { id email name createdAt }
    customerAccessToken { accessToken expiresAt }
    userErrors { field message code }
  }
}`
	tokenCreate = `mutation($email: String!, $password: String!) {
  customerAccessTokenCreate(input: {email: $email, password: $password}) {
    customerAccessToken { accessToken expiresAt }
    userErrors { field message code }
  }
}`
	tokenDelete = `mutation($token: String!) {
  customerAccessTokenDelete(accessToken: $token) { deletedCustomerAccessTokenId userErrors { field message code } }
}`
	meQuery = `{ me { id email name createdAt } }`
)

// signUpVia creates an account through the API and returns its token.
func (s *customerServer) signUpVia(t *testing.T, email string) string {
	t.Helper()
	r := s.send(t, "", customerCreate, map[string]any{"input": map[string]any{
		"email": email, "password": customerPassword, "name": "Anna Martin"}}).ok(t)
	token, _ := at(r.Data, "customerCreate", "customerAccessToken", "accessToken").(string)
	if token == "" {
		t.Fatalf("no token: %s", r.Raw)
	}
	return token
}

func (s *customerServer) signInVia(t *testing.T, email, password string) *response {
	t.Helper()
	return s.send(t, "", tokenCreate, map[string]any{"email": email, "password": password}).ok(t)
}

func TestCustomerSignUpThenMe(t *testing.T) {
	s := newCustomerServer(t)
	r := s.send(t, "", customerCreate, map[string]any{"input": map[string]any{
		"email": " Anna@Example.com", "password": customerPassword, "name": "Anna Martin"}}).ok(t)
	p := at(r.Data, "customerCreate")
	token, _ := at(p, "customerAccessToken", "accessToken").(string)
	if !customer.WellFormed(token) || at(p, "customer", "email") != "anna@example.com" ||
		mustJSON(at(p, "userErrors")) != `[]` {
		t.Fatalf("customerCreate: %s", r.Raw)
	}
	expires, err := time.Parse(time.RFC3339, at(p, "customerAccessToken", "expiresAt").(string))
	if err != nil || time.Until(expires) < 29*24*time.Hour {
		t.Errorf("expiresAt %v (%v), want in 30 days", expires, err)
	}

	me := s.send(t, token, meQuery, nil).ok(t)
	if at(me.Data, "me", "id") != at(p, "customer", "id") || at(me.Data, "me", "email") != "anna@example.com" ||
		at(me.Data, "me", "name") != "Anna Martin" || at(me.Data, "me", "createdAt") == nil {
		t.Errorf("me: %s", me.Raw)
	}
	// A guest is nobody, not an error.
	if r := s.send(t, "", meQuery, nil).ok(t); mustJSON(r.Data) != `{"me":null}` {
		t.Errorf("me as a guest: %s", r.Raw)
	}
	// The session remembers the channel it was opened on.
	var channelID commerce.ID
	if err := s.pool.QueryRow(t.Context(), `SELECT channel_id FROM customer_sessions`).Scan(&channelID); err != nil ||
		channelID != demo.ChannelID(demo.KeyWebEU) {
		t.Errorf("session channel %v (%v), want the web channel", channelID, err)
	}
}

func TestCustomerSignInRightAndWrong(t *testing.T) {
	s := newCustomerServer(t)
	s.signUpVia(t, "anna@example.com")

	r := s.signInVia(t, "ANNA@example.com", customerPassword)
	token, _ := at(r.Data, "customerAccessTokenCreate", "customerAccessToken", "accessToken").(string)
	if token == "" || mustJSON(at(r.Data, "customerAccessTokenCreate", "userErrors")) != `[]` {
		t.Fatalf("right password: %s", r.Raw)
	}
	if me := s.send(t, token, meQuery, nil).ok(t); at(me.Data, "me", "email") != "anna@example.com" {
		t.Errorf("me after sign-in: %s", me.Raw)
	}

	wrong := s.signInVia(t, "anna@example.com", "incorrect horse")
	unknown := s.signInVia(t, "nobody@example.com", customerPassword)
	want := `{"customerAccessTokenCreate":{"customerAccessToken":null,"userErrors":[{"code":"UNAUTHENTICATED","field":null,"message":"the email or password is incorrect"}]}}`
	if mustJSON(wrong.Data) != want {
		t.Errorf("wrong password: %s", wrong.Raw)
	}
	if mustJSON(unknown.Data) != mustJSON(wrong.Data) {
		t.Errorf("an unknown email answers %s, a wrong password %s: they must not be told apart", unknown.Raw, wrong.Raw)
	}
}

func TestCustomerCreateUserErrors(t *testing.T) {
	s := newCustomerServer(t)
	s.signUpVia(t, "anna@example.com")
	cases := []struct {
		email, password, name, want string
	}{
		{"ANNA@example.com", customerPassword, "Anna", `[{"code":"CONFLICT","field":["input","email"]}]`},
		{"anna", customerPassword, "Anna", `[{"code":"INVALID_INPUT","field":["input","email"]}]`},
		{"bruno@example.com", "short", "Bruno", `[{"code":"INVALID_INPUT","field":["input","password"]}]`},
		{"bruno@example.com", customerPassword, " ", `[{"code":"INVALID_INPUT","field":["input","name"]}]`},
	}
	for _, c := range cases {
		r := s.send(t, "", customerCreate, map[string]any{"input": map[string]any{
			"email": c.email, "password": c.password, "name": c.name}}).ok(t)
		p := at(r.Data, "customerCreate")
		errs, _ := at(p, "userErrors").([]any)
		for _, e := range errs {
			delete(e.(map[string]any), "message")
		}
		if mustJSON(errs) != c.want || at(p, "customer") != nil || at(p, "customerAccessToken") != nil {
			t.Errorf("customerCreate(%q, %q): %s, want %s", c.email, c.name, r.Raw, c.want)
		}
		if strings.Contains(string(r.Raw), c.password) {
			t.Errorf("the response echoes the password: %s", r.Raw)
		}
	}
}

func TestCustomerTokenDeleteAndExpiry(t *testing.T) {
	s := newCustomerServer(t)
	token := s.signUpVia(t, "anna@example.com")
	other, _ := at(s.signInVia(t, "anna@example.com", customerPassword).Data,
		"customerAccessTokenCreate", "customerAccessToken", "accessToken").(string)

	r := s.send(t, "", tokenDelete, map[string]any{"token": other}).ok(t)
	if id, _ := at(r.Data, "customerAccessTokenDelete", "deletedCustomerAccessTokenId").(string); id == "" ||
		mustJSON(at(r.Data, "customerAccessTokenDelete", "userErrors")) != `[]` {
		t.Fatalf("customerAccessTokenDelete: %s", r.Raw)
	}
	if strings.Contains(string(r.Raw), other) {
		t.Errorf("the deleted token is echoed: %s", r.Raw)
	}
	// A signed-out token fails the whole request, like any bad token.
	if r := s.send(t, other, meQuery, nil); r.code() != commerce.ErrUnauthenticated || r.Data["me"] != nil {
		t.Errorf("me with a signed-out token: %d %s", r.Status, r.Raw)
	}
	r = s.send(t, "", tokenDelete, map[string]any{"token": other}).ok(t)
	if errs := at(r.Data, "customerAccessTokenDelete", "userErrors", 0); at(errs, "code") != commerce.ErrNotFound ||
		mustJSON(at(errs, "field")) != `["accessToken"]` || at(r.Data, "customerAccessTokenDelete", "deletedCustomerAccessTokenId") != nil {
		t.Errorf("deleting twice: %s", r.Raw)
	}
	// The first session is untouched…
	if me := s.send(t, token, meQuery, nil).ok(t); at(me.Data, "me", "email") != "anna@example.com" {
		t.Errorf("the other session: %s", me.Raw)
	}
	// …until it expires.
	if _, err := s.pool.Exec(t.Context(), `UPDATE customer_sessions SET created_at = now() - interval '31 days',
		expires_at = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	if r := s.send(t, token, meQuery, nil); r.code() != commerce.ErrUnauthenticated || r.Data["me"] != nil {
		t.Errorf("me with an expired token: %d %s", r.Status, r.Raw)
	}
	forged := customer.TokenPrefix + strings.Repeat("A", 43)
	for _, bad := range []string{forged, "ct_nope"} {
		if r := s.send(t, bad, meQuery, nil); r.code() != commerce.ErrUnauthenticated {
			t.Errorf("me with %q: %s", bad, r.Raw)
		}
	}
	// Tokens of no known kind are not ours: the request goes on as a guest.
	if r := s.send(t, "some-other-token", meQuery, nil).ok(t); mustJSON(r.Data) != `{"me":null}` {
		t.Errorf("an unknown kind of token: %s", r.Raw)
	}
}

func TestCustomerSignInIsRateLimited(t *testing.T) {
	s := newCustomerServer(t, customer.WithSignInLimits(
		ratelimit.Limit{Max: 3, Window: 15 * time.Minute}, ratelimit.Limit{Max: 5, Window: 15 * time.Minute}))
	s.signUpVia(t, "anna@example.com")
	s.signUpVia(t, "bruno@example.com")
	code := func(r *response) any { return at(r.Data, "customerAccessTokenCreate", "userErrors", 0, "code") }

	for i := range 3 {
		if r := s.signInVia(t, "anna@example.com", "guess"); code(r) != commerce.ErrUnauthenticated {
			t.Fatalf("failure %d: %s", i+1, r.Raw)
		}
	}
	r := s.signInVia(t, "anna@example.com", customerPassword)
	if code(r) != commerce.ErrRateLimited || at(r.Data, "customerAccessTokenCreate", "customerAccessToken") != nil ||
		!strings.Contains(at(r.Data, "customerAccessTokenCreate", "userErrors", 0, "message").(string), "try again in 15 minutes") {
		t.Errorf("after 3 failures for the email: %s", r.Raw)
	}
	// The client (127.0.0.1 here) has failed 3 times; two more on another
	// email reach its limit of 5, and then every email is refused to it.
	for range 2 {
		if r := s.signInVia(t, "bruno@example.com", "guess"); code(r) != commerce.ErrUnauthenticated {
			t.Fatalf("bruno's failures: %s", r.Raw)
		}
	}
	if r := s.signInVia(t, "bruno@example.com", customerPassword); code(r) != commerce.ErrRateLimited {
		t.Errorf("after 5 failures from the client: %s", r.Raw)
	}

	// When the window ends, sign-in works again.
	if _, err := s.pool.Exec(t.Context(), `UPDATE rate_limits SET window_start = window_start - interval '1 hour',
		window_end = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	r = s.signInVia(t, "anna@example.com", customerPassword)
	if tok, _ := at(r.Data, "customerAccessTokenCreate", "customerAccessToken", "accessToken").(string); !customer.WellFormed(tok) {
		t.Errorf("after the window: %s", r.Raw)
	}
}

// Passwords and tokens never reach the logs, not even when a request fails
// with an internal error.
func TestCustomerSecretsAreNotLogged(t *testing.T) {
	s := newCustomerServer(t)
	token := s.signUpVia(t, "anna@example.com")
	s.signInVia(t, "anna@example.com", "a wrong password")
	s.send(t, token, meQuery, nil).ok(t)
	s.send(t, "", tokenDelete, map[string]any{"token": token}).ok(t)
	s.send(t, token, meQuery, nil)
	// Break the database under a sign-in, so an internal error is logged.
	if _, err := s.pool.Exec(t.Context(), `DROP TABLE rate_limits`); err != nil {
		t.Fatal(err)
	}
	if r := s.send(t, "", tokenCreate, map[string]any{"email": "anna@example.com", "password": customerPassword}); r.code() != commerce.ErrInternal {
		t.Fatalf("sign-in without its table: %s", r.Raw)
	}
	logs := s.logs.String()
	if !strings.Contains(logs, "internal error") {
		t.Fatalf("the internal error was not logged: %s", logs)
	}
	for _, secret := range []string{customerPassword, "a wrong password", token, token[len(customer.TokenPrefix):]} {
		if strings.Contains(logs, secret) {
			t.Errorf("a secret is in the logs: %q", secret)
		}
	}
}

// Over a websocket the customer token travels in connection_init; a bad
// one refuses the connection.
func TestWebsocketCustomerToken(t *testing.T) {
	s := newCustomerServer(t)
	token := s.signUpVia(t, "anna@example.com")
	ctx := t.Context()
	dial := func(token string) (*websocket.Conn, error) { return dialWithToken(t, s.URL, token) }
	if _, err := dial(customer.TokenPrefix + strings.Repeat("B", 43)); err == nil {
		t.Error("a bad customer token was accepted over a websocket")
	}
	conn, err := dial(token)
	if err != nil {
		t.Fatalf("a good customer token was refused: %v", err)
	}
	if err := wsjson.Write(ctx, conn, map[string]any{"type": "subscribe", "id": "1", "payload": map[string]any{"query": meQuery}}); err != nil {
		t.Fatal(err)
	}
	var m struct {
		Type    string
		Payload map[string]any
	}
	if err := wsjson.Read(ctx, conn, &m); err != nil || m.Type != "next" || at(m.Payload, "data", "me", "email") != "anna@example.com" {
		t.Errorf("me over the websocket: %+v %v", m, err)
	}
}

// A server without customer accounts refuses customer tokens rather than
// serving the client as a guest.
func TestCustomerTokensRefusedWithoutTheService(t *testing.T) {
	s := &customerServer{server: newServer(t, services(demoDB(t)))}
	r := s.send(t, customer.TokenPrefix+strings.Repeat("C", 43), `{ channel { name } }`, nil)
	if r.code() != commerce.ErrUnauthenticated || r.Data != nil {
		t.Errorf("a customer token without the service: %s", r.Raw)
	}
}
