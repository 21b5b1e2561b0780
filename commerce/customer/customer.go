// Package customer knows the shoppers who have an account: they sign up and
// sign in with an email and a password, and get an opaque session token
// that every channel (web, app, kiosk) sends to act for them. The full
// profile (addresses, consents, loyalty identities) comes later.
//
// A session token is "ct_" followed by 32 random bytes in unpadded
// base64url. It is returned once, at sign-up or sign-in; the database keeps
// only its SHA-256, an expiry and, after sign-out, a revocation time. The
// "ct_" prefix lets the HTTP layer tell it from a staff token ("st_") in the
// same Authorization header without a lookup.
//
// Sign-in never tells an unknown email from a wrong password (one
// UNAUTHENTICATED error, and the same argon2 work for both, so timing does
// not tell either), and failed attempts are rate-limited per email and per
// client (ratelimit.ClientFrom), so passwords cannot be guessed online.
package customer

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/channel"
	"github.com/omnicanal/omnicanal/commerce/internal/db"
	"github.com/omnicanal/omnicanal/commerce/internal/password"
	"github.com/omnicanal/omnicanal/commerce/ratelimit"
)

// TokenPrefix starts every customer session token.
const TokenPrefix = "ct_"

// tokenBytes is the entropy of a token: 256 bits, far beyond guessing.
const tokenBytes = 32

// tokenLen is the length of a well-formed token, checked before any lookup.
var tokenLen = len(TokenPrefix) + base64.RawURLEncoding.EncodedLen(tokenBytes)

// DefaultSessionTTL is how long a session lasts: a shopper stays signed in
// on their phone for a month, like on most shops.
const DefaultSessionTTL = 30 * 24 * time.Hour

// Password length bounds, in characters after normalization (see
// password.MinLen and password.MaxLen).
const (
	MinPasswordLen = password.MinLen
	MaxPasswordLen = password.MaxLen
)

// Default rate limits. Only failures count (a successful attempt gives its
// unit back), so a shopper who signs in often is never slowed down.
var (
	// DefaultSignInPerEmail: ten wrong passwords for one email in a quarter
	// of an hour is a guesser, not a forgetful shopper.
	DefaultSignInPerEmail = ratelimit.Limit{Max: 10, Window: 15 * time.Minute}
	// DefaultSignInPerClient is higher: many shoppers may share one address
	// (a store's kiosks, a mobile carrier's NAT).
	DefaultSignInPerClient = ratelimit.Limit{Max: 50, Window: 15 * time.Minute}
	// DefaultSignUpPerClient limits sign-ups refused for a taken email,
	// which is what someone probing for accounts sees.
	DefaultSignUpPerClient = ratelimit.Limit{Max: 20, Window: time.Hour}
)

// Rate-limit scopes (see package ratelimit).
const (
	scopeSignInEmail  = "customer.sign_in.email"
	scopeSignInClient = "customer.sign_in.client"
	scopeSignUpClient = "customer.sign_up.client"
)

// usageResolution is how stale last_used_at may get: authentication writes
// it at most this often per session, not on every request.
const usageResolution = time.Minute

// Customer is a shopper with an account. It holds no password hash: that
// never leaves this package.
type Customer struct {
	ID        commerce.ID `db:"id"`
	Email     string      `db:"email"`
	Name      string      `db:"name"`
	CreatedAt time.Time   `db:"created_at"`
	UpdatedAt time.Time   `db:"updated_at"`
}

// AccessToken is a new session's bearer token, returned once.
type AccessToken struct {
	// ID names the session; it is not a secret.
	ID commerce.ID
	// Token is the secret the client sends as `Authorization: Bearer …`.
	Token     string
	ExpiresAt time.Time
}

// String keeps the secret out of anything that prints the value with %v.
func (t AccessToken) String() string {
	return fmt.Sprintf("AccessToken{ID: %s, Token: %s…, ExpiresAt: %s}", t.ID, TokenPrefix, t.ExpiresAt.Format(time.RFC3339))
}

// LogValue keeps the secret out of logs.
func (t AccessToken) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", t.ID.String()), slog.Time("expires_at", t.ExpiresAt))
}

// Service manages customer accounts and their sessions.
type Service struct {
	pool    *pgxpool.Pool
	limiter *ratelimit.Limiter

	sessionTTL      time.Duration
	signInPerEmail  ratelimit.Limit
	signInPerClient ratelimit.Limit
	signUpPerClient ratelimit.Limit
	params          Params

	// passwords hashes and verifies with params, a bounded number at once.
	passwords *password.Hasher
}

// Option changes a default of the service.
type Option func(*Service)

// WithSessionTTL sets how long new sessions last.
func WithSessionTTL(d time.Duration) Option { return func(s *Service) { s.sessionTTL = d } }

// WithSignInLimits sets the failed sign-in limits per email and per client.
func WithSignInLimits(perEmail, perClient ratelimit.Limit) Option {
	return func(s *Service) { s.signInPerEmail, s.signInPerClient = perEmail, perClient }
}

// WithSignUpLimit sets the limit of sign-ups refused per client.
func WithSignUpLimit(perClient ratelimit.Limit) Option {
	return func(s *Service) { s.signUpPerClient = perClient }
}

// WithPasswordParams sets the argon2id parameters of new hashes. Production
// keeps DefaultParams; tests of other areas that create many customers may
// lower the cost.
func WithPasswordParams(p Params) Option { return func(s *Service) { s.params = p } }

// NewService returns a customer service over pool.
func NewService(pool *pgxpool.Pool, opts ...Option) *Service {
	s := &Service{
		pool:            pool,
		limiter:         ratelimit.New(pool),
		sessionTTL:      DefaultSessionTTL,
		signInPerEmail:  DefaultSignInPerEmail,
		signInPerClient: DefaultSignInPerClient,
		signUpPerClient: DefaultSignUpPerClient,
		params:          DefaultParams,
	}
	for _, o := range opts {
		o(s)
	}
	s.passwords = password.NewHasher(s.params)
	return s
}

const columns = `id, email, name, created_at, updated_at`

// badCredentials is the one answer for an unknown email and for a wrong
// password: telling them apart would tell anyone which emails have an
// account here.
var badCredentials = commerce.Errorf(commerce.ErrUnauthenticated, "the email or password is incorrect")

// SignUp creates an account and signs it in. The email is trimmed and
// lower-cased; one already taken (in any case) is a CONFLICT on "email".
// Sign-ups refused that way are rate-limited per client, since they are
// what someone probing for accounts sees.
func (s *Service) SignUp(ctx context.Context, email, pw, name string) (*Customer, *AccessToken, error) {
	email, err := normalizeEmail(email)
	if err != nil {
		return nil, nil, err
	}
	if err := password.Validate(pw); err != nil {
		return nil, nil, err
	}
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 200 {
		return nil, nil, commerce.InvalidInput("name", "a name of 1 to 200 characters is required")
	}

	var unit *ratelimit.Decision
	if client := ratelimit.ClientFrom(ctx); client != "" {
		d, err := s.limiter.Allow(ctx, scopeSignUpClient, client, s.signUpPerClient)
		if err != nil {
			return nil, nil, fmt.Errorf("customer.SignUp: %w", err)
		}
		if !d.Allowed {
			return nil, nil, d.Err("too many sign-up attempts from this client")
		}
		unit = &d
	}

	hash, err := s.passwords.Hash(ctx, pw)
	if err != nil {
		return nil, nil, fmt.Errorf("customer.SignUp: %w", err)
	}
	var (
		c   Customer
		tok *AccessToken
	)
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `INSERT INTO customers (id, email, name, password_hash)
			VALUES ($1, $2, $3, $4) RETURNING `+columns, commerce.NewID(), email, name, hash)
		if c, err = db.One[Customer](rows, err, "customer"); err != nil {
			return err
		}
		tok, err = s.startSession(ctx, tx, c.ID)
		return err
	})
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.ConstraintName == "customers_email_key" {
		// The refused sign-up keeps its unit: this is the outcome that is limited.
		return nil, nil, &commerce.Error{Code: commerce.ErrConflict, Field: "email", Message: "an account with this email already exists; sign in instead"}
	}
	if unit != nil {
		// Best effort: a failed refund only brings the limit a little closer.
		_ = s.limiter.Refund(ctx, *unit)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("customer.SignUp: %w", err)
	}
	return &c, tok, nil
}

// SignIn checks an email and a password and starts a session. A wrong
// email or password is UNAUTHENTICATED, the same either way; too many
// failures for the email, or from the client, are RATE_LIMITED until the
// window ends, whether or not the email has an account.
func (s *Service) SignIn(ctx context.Context, email, pw string) (*Customer, *AccessToken, error) {
	// A malformed email cannot have an account; it gets the same answer
	// (and the same limits) as any other unknown one.
	email = strings.ToLower(strings.TrimSpace(email))

	units, err := s.takeSignInUnits(ctx, email)
	if err != nil {
		return nil, nil, err
	}

	var (
		c    Customer
		hash string
	)
	err = s.pool.QueryRow(ctx, `SELECT `+columns+`, password_hash FROM customers WHERE lower(email) = $1`, email).
		Scan(&c.ID, &c.Email, &c.Name, &c.CreatedAt, &c.UpdatedAt, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		// Spend the same argon2 work as for a real account, so response
		// times do not tell which emails have one.
		s.passwords.VerifyNobody(ctx, pw)
		return nil, nil, badCredentials
	}
	if err != nil {
		return nil, nil, fmt.Errorf("customer.SignIn: %w", err)
	}
	ok, err := s.passwords.Verify(ctx, pw, hash)
	if err != nil {
		return nil, nil, fmt.Errorf("customer.SignIn: %w", err)
	}
	if !ok {
		return nil, nil, badCredentials // the failure keeps its units
	}
	s.limiter.RefundAll(ctx, units)
	if s.passwords.Outdated(hash) {
		// The hash predates the current parameters: upgrade it now that the
		// password is known. Best effort; the old hash still verifies.
		if h, err := s.passwords.Hash(ctx, pw); err == nil {
			_, _ = s.pool.Exec(ctx, `UPDATE customers SET password_hash = $2, updated_at = now()
				WHERE id = $1 AND password_hash = $3`, c.ID, h, hash)
		}
	}
	tok, err := s.startSession(ctx, s.pool, c.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("customer.SignIn: %w", err)
	}
	return &c, tok, nil
}

// takeSignInUnits counts the attempt against the email's limit and the
// client's (when the request has a client). The units are taken before the
// password is checked, so concurrent guesses cannot all pass the limit
// before any of them is counted.
func (s *Service) takeSignInUnits(ctx context.Context, email string) ([]ratelimit.Decision, error) {
	checks := []ratelimit.Check{{Scope: scopeSignInEmail, Key: email, Limit: s.signInPerEmail}}
	if client := ratelimit.ClientFrom(ctx); client != "" {
		checks = append(checks, ratelimit.Check{Scope: scopeSignInClient, Key: client, Limit: s.signInPerClient})
	}
	units, err := s.limiter.AllowAll(ctx, "too many failed sign-in attempts", checks...)
	if err != nil && commerce.ErrorCode(err) != commerce.ErrRateLimited {
		return nil, fmt.Errorf("customer.SignIn: %w", err)
	}
	return units, err
}

// SignOut revokes a session: its token stops working at once. An unknown
// or already revoked token is NOT_FOUND. It returns the session's id.
func (s *Service) SignOut(ctx context.Context, token string) (commerce.ID, error) {
	if !WellFormed(token) {
		return commerce.ID{}, commerce.NotFound("no such session")
	}
	hash := hashToken(token)
	var id commerce.ID
	err := s.pool.QueryRow(ctx, `UPDATE customer_sessions SET revoked_at = now()
		WHERE token_hash = $1 AND revoked_at IS NULL RETURNING id`, hash[:]).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return commerce.ID{}, commerce.NotFound("no such session")
	}
	if err != nil {
		return commerce.ID{}, fmt.Errorf("customer.SignOut: %w", err)
	}
	return id, nil
}

// unauthenticated is the one answer for every bad session token: unknown,
// malformed, expired or revoked. Telling them apart would help someone
// holding a stolen token, not the rightful customer (who just signs in).
var unauthenticated = commerce.Errorf(commerce.ErrUnauthenticated, "the customer access token is invalid or expired; sign in again")

// Authenticate returns the customer a session token acts for.
func (s *Service) Authenticate(ctx context.Context, token string) (commerce.ID, error) {
	if !WellFormed(token) {
		return commerce.ID{}, unauthenticated
	}
	hash := hashToken(token)
	var (
		customerID, sessionID commerce.ID
		lastUsed              *time.Time
		now                   time.Time
	)
	err := s.pool.QueryRow(ctx, `SELECT id, customer_id, last_used_at, now() FROM customer_sessions
		WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now()`,
		hash[:]).Scan(&sessionID, &customerID, &lastUsed, &now)
	if errors.Is(err, pgx.ErrNoRows) {
		return commerce.ID{}, unauthenticated
	}
	if err != nil {
		return commerce.ID{}, fmt.Errorf("customer.Authenticate: %w", err)
	}
	if lastUsed == nil || now.Sub(*lastUsed) >= usageResolution {
		// Best effort: a failed bookkeeping write must not refuse a valid token.
		_, _ = s.pool.Exec(ctx, `UPDATE customer_sessions SET last_used_at = now() WHERE id = $1`, sessionID)
	}
	return customerID, nil
}

// FindCustomerByID returns a customer. It checks no permission: the API
// only ever asks for the signed-in customer (`me`), and other areas look up
// the owners of their own records.
func (s *Service) FindCustomerByID(ctx context.Context, id commerce.ID) (*Customer, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+columns+` FROM customers WHERE id = $1`, id)
	c, err := db.One[Customer](rows, err, "customer")
	if err != nil {
		return nil, fmt.Errorf("customer.FindCustomerByID: %w", err)
	}
	return &c, nil
}

// startSession issues a session token for the customer, recording the
// channel of the request.
func (s *Service) startSession(ctx context.Context, q db.Querier, customerID commerce.ID) (*AccessToken, error) {
	raw := make([]byte, tokenBytes)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	tok := &AccessToken{ID: commerce.NewID(), Token: TokenPrefix + base64.RawURLEncoding.EncodeToString(raw)}
	hash := hashToken(tok.Token)
	var channelID *commerce.ID
	if ch := channel.FromContext(ctx); ch != nil {
		channelID = &ch.ID
	}
	err := q.QueryRow(ctx, `INSERT INTO customer_sessions (id, customer_id, token_hash, channel_id, expires_at)
		VALUES ($1, $2, $3, $4, now() + $5::interval) RETURNING expires_at`,
		tok.ID, customerID, hash[:], channelID, s.sessionTTL).Scan(&tok.ExpiresAt)
	if err != nil {
		return nil, err
	}
	return tok, nil
}

// normalizeEmail trims and lower-cases an email and checks that it is one.
func normalizeEmail(email string) (string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || len(email) > 254 {
		return "", commerce.InvalidInput("email", "%q is not an email address", email)
	}
	return email, nil
}

// WellFormed tells whether s has the shape of a customer token. It says
// nothing of its validity; it spares the database obvious garbage.
func WellFormed(s string) bool {
	if len(s) != tokenLen || !strings.HasPrefix(s, TokenPrefix) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s[len(TokenPrefix):])
	return err == nil
}

func hashToken(token string) [32]byte { return sha256.Sum256([]byte(token)) }
