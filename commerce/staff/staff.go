// Package staff knows the people who run the shop — admins, merchandisers
// and store associates — and the bearer tokens their tools (the POS, an ERP
// feed, scripts) authenticate with.
//
// A token is "st_" followed by 32 random bytes in unpadded base64url. It is
// shown once, when issued; the database keeps only its SHA-256, so a copy of
// the table lets nobody in. The "st_" prefix lets an HTTP layer tell a staff
// token from other bearer tokens (customer sessions) without a lookup, and
// makes a leaked token easy to recognise in a secret scanner.
//
// Creating staff and issuing API tokens are operator tasks done with the
// `omnicanal staff` command, which has database access; they are not exposed
// over the API until the admin brings staff management with its own checks.
//
// A staff user given a password (`omnicanal staff create --password-stdin`,
// `omnicanal staff password`) may also sign in over the API (SignIn), as an
// associate does at the pickup desk. Sign-in follows customer sign-in: an
// argon2id hash (commerce/internal/password), one UNAUTHENTICATED answer for
// an unknown email and a wrong password with the same argon2 work for both,
// and failed attempts rate-limited per email and per client. It returns an
// ordinary staff token of the "session" kind, which lives SessionTTL (a
// working day) instead of the operator tokens' DefaultTTL; SignOut revokes
// it, and setting a new password revokes every session of the user.
package staff

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/internal/db"
	"github.com/omnicanal/omnicanal/commerce/internal/password"
	"github.com/omnicanal/omnicanal/commerce/ratelimit"
)

// TokenPrefix starts every staff token.
const TokenPrefix = "st_"

// tokenBytes is the entropy of a token: 256 bits, far beyond guessing.
const tokenBytes = 32

// tokenLen is the length of a well-formed token, checked before any lookup.
var tokenLen = len(TokenPrefix) + base64.RawURLEncoding.EncodedLen(tokenBytes)

// DefaultTTL is how long a token lives when the operator gives no TTL.
const DefaultTTL = 30 * 24 * time.Hour

// MaxTTL bounds a token's life, so that a forgotten token expires one day.
const MaxTTL = 366 * 24 * time.Hour

// SessionTTL is how long a token from SignIn lives: one working day and a
// bit. A desk left signed in overnight asks for the password again in the
// morning; a stolen session is worth half a day at most.
const SessionTTL = 12 * time.Hour

// Default limits of failed sign-ins, as for customers: only failures count.
var (
	// DefaultSignInPerEmail: ten wrong passwords for one account in a
	// quarter of an hour is a guesser, not a tired associate.
	DefaultSignInPerEmail = ratelimit.Limit{Max: 10, Window: 15 * time.Minute}
	// DefaultSignInPerClient is higher: a store's desks and tills may share
	// one address.
	DefaultSignInPerClient = ratelimit.Limit{Max: 50, Window: 15 * time.Minute}
)

// Rate-limit scopes (see package ratelimit).
const (
	scopeSignInEmail  = "staff.sign_in.email"
	scopeSignInClient = "staff.sign_in.client"
)

// Token kinds (staff_tokens.kind).
const (
	kindAPI     = "api"
	kindSession = "session"
)

// usageResolution is how stale last_used_at may get: authentication writes
// it at most this often per token, not on every request.
const usageResolution = time.Minute

// Staff is a staff user.
type Staff struct {
	ID          commerce.ID   `db:"id"`
	Email       string        `db:"email"`
	Name        string        `db:"name"`
	Role        commerce.Role `db:"role"`
	LocationIDs []commerce.ID `db:"location_ids"`
	CreatedAt   time.Time     `db:"created_at"`
	DisabledAt  *time.Time    `db:"disabled_at"`
}

// Input describes a staff user to create.
type Input struct {
	Email       string
	Name        string
	Role        commerce.Role
	LocationIDs []commerce.ID
	// Password, when set, lets the user sign in (8 to 256 characters).
	// Empty: the user works with operator-issued tokens only.
	Password string
}

// Validate normalizes the input (trimmed, lower-cased email, sorted unique
// locations) and checks it, naming the field at fault.
func (in *Input) Validate() error {
	in.Email = strings.ToLower(strings.TrimSpace(in.Email))
	in.Name = strings.TrimSpace(in.Name)
	if a, err := mail.ParseAddress(in.Email); err != nil || a.Address != in.Email || len(in.Email) > 254 {
		return commerce.InvalidInput("email", "%q is not an email address", in.Email)
	}
	if in.Name == "" || len(in.Name) > 200 {
		return commerce.InvalidInput("name", "a name of 1 to 200 characters is required")
	}
	if _, err := commerce.ParseRole(string(in.Role)); err != nil {
		return err
	}
	slices.SortFunc(in.LocationIDs, func(a, b commerce.ID) int { return strings.Compare(a.String(), b.String()) })
	in.LocationIDs = slices.Compact(in.LocationIDs)
	if in.Role == commerce.RoleAssociate && len(in.LocationIDs) == 0 {
		return commerce.InvalidInput("locationIds", "an associate must be given the stores they work in")
	}
	if in.Password != "" {
		return password.Validate(in.Password)
	}
	return nil
}

// Service manages staff users and their tokens.
type Service struct {
	pool    *pgxpool.Pool
	limiter *ratelimit.Limiter

	sessionTTL      time.Duration
	signInPerEmail  ratelimit.Limit
	signInPerClient ratelimit.Limit
	params          password.Params
	passwords       *password.Hasher
}

// Option changes a default of the service.
type Option func(*Service)

// WithSessionTTL sets how long the tokens of new sign-ins live.
func WithSessionTTL(d time.Duration) Option { return func(s *Service) { s.sessionTTL = d } }

// WithSignInLimits sets the failed sign-in limits per email and per client.
func WithSignInLimits(perEmail, perClient ratelimit.Limit) Option {
	return func(s *Service) { s.signInPerEmail, s.signInPerClient = perEmail, perClient }
}

// WithPasswordParams sets the argon2id parameters of new hashes. Production
// keeps password.DefaultParams; tests may lower the cost.
func WithPasswordParams(memoryKiB, passes uint32) Option {
	return func(s *Service) { s.params.Memory, s.params.Time = memoryKiB, passes }
}

// NewService returns a staff service over pool.
func NewService(pool *pgxpool.Pool, opts ...Option) *Service {
	s := &Service{
		pool:            pool,
		limiter:         ratelimit.New(pool),
		sessionTTL:      SessionTTL,
		signInPerEmail:  DefaultSignInPerEmail,
		signInPerClient: DefaultSignInPerClient,
		params:          password.DefaultParams,
	}
	for _, o := range opts {
		o(s)
	}
	s.passwords = password.NewHasher(s.params)
	return s
}

const columns = `id, email, name, role, location_ids, created_at, disabled_at`

// CreateStaff adds a staff user. An email already taken is a CONFLICT.
func (s *Service) CreateStaff(ctx context.Context, in Input) (*Staff, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if in.LocationIDs == nil {
		in.LocationIDs = []commerce.ID{}
	}
	var hash *string
	if in.Password != "" {
		h, err := s.passwords.Hash(ctx, in.Password)
		if err != nil {
			return nil, fmt.Errorf("staff.CreateStaff: %w", err)
		}
		hash = &h
	}
	rows, err := s.pool.Query(ctx, `INSERT INTO staff_users (id, email, name, role, location_ids, password_hash)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+columns,
		commerce.NewID(), in.Email, in.Name, string(in.Role), in.LocationIDs, hash)
	st, err := db.One[Staff](rows, err, "staff user")
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.ConstraintName == "staff_users_email_key" {
		return nil, &commerce.Error{Code: commerce.ErrConflict, Field: "email", Message: "a staff user with this email already exists"}
	}
	if err != nil {
		return nil, fmt.Errorf("staff.CreateStaff: %w", err)
	}
	return &st, nil
}

// FindStaffByEmail returns the staff user with that email (any case).
func (s *Service) FindStaffByEmail(ctx context.Context, email string) (*Staff, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+columns+` FROM staff_users WHERE email = $1`,
		strings.ToLower(strings.TrimSpace(email)))
	st, err := db.One[Staff](rows, err, "staff user")
	if err != nil {
		return nil, fmt.Errorf("staff.FindStaffByEmail: %w", err)
	}
	return &st, nil
}

// FindStaffByID returns a staff user. It checks no permission: it serves
// the operator's command and other areas naming who did something; the
// API's `staffMe` goes through FindSignedInStaff.
func (s *Service) FindStaffByID(ctx context.Context, id commerce.ID) (*Staff, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+columns+` FROM staff_users WHERE id = $1`, id)
	st, err := db.One[Staff](rows, err, "staff user")
	if err != nil {
		return nil, fmt.Errorf("staff.FindStaffByID: %w", err)
	}
	return &st, nil
}

// FindSignedInStaff returns the staff user the request acts for (any role);
// UNAUTHENTICATED without a staff token.
func (s *Service) FindSignedInStaff(ctx context.Context) (*Staff, error) {
	p, err := commerce.RequireRole(ctx)
	if err != nil {
		return nil, err
	}
	return s.FindStaffByID(ctx, p.StaffID)
}

// SetPassword sets (or resets) the password of a staff user and revokes
// their sign-in sessions, so that whoever signed in with the old password
// is out; their API tokens are left alone. It is an operator task, like
// CreateStaff, and checks no permission.
func (s *Service) SetPassword(ctx context.Context, staffID commerce.ID, pw string) error {
	if err := password.Validate(pw); err != nil {
		return err
	}
	hash, err := s.passwords.Hash(ctx, pw)
	if err != nil {
		return fmt.Errorf("staff.SetPassword: %w", err)
	}
	err = db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE staff_users SET password_hash = $2 WHERE id = $1`, staffID, hash)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return commerce.NotFound("staff user not found")
		}
		_, err = tx.Exec(ctx, `UPDATE staff_tokens SET revoked_at = now()
			WHERE staff_id = $1 AND kind = $2 AND revoked_at IS NULL`, staffID, kindSession)
		return err
	})
	if err != nil {
		return fmt.Errorf("staff.SetPassword: %w", err)
	}
	return nil
}

// badCredentials is the one answer for an unknown email, a user without a
// password and a wrong password: telling them apart would tell anyone which
// emails belong to staff.
var badCredentials = commerce.Errorf(commerce.ErrUnauthenticated, "the email or password is incorrect")

// SignIn checks an email and a password and issues a session token (an
// ordinary staff token that lives SessionTTL). A wrong email or password is
// UNAUTHENTICATED, the same either way and after the same argon2 work; too
// many failures for the email, or from the client (ratelimit.ClientFrom),
// are RATE_LIMITED until the window ends, whether or not the email is
// known. A disabled user with the right password is FORBIDDEN: only someone
// who knows the password learns that the account is disabled, and signing
// in again will not help them.
func (s *Service) SignIn(ctx context.Context, email, pw string) (string, *Staff, error) {
	// A malformed email cannot be a user's; it gets the same answer (and
	// the same limits) as any other unknown one.
	email = strings.ToLower(strings.TrimSpace(email))
	checks := []ratelimit.Check{{Scope: scopeSignInEmail, Key: email, Limit: s.signInPerEmail}}
	if client := ratelimit.ClientFrom(ctx); client != "" {
		checks = append(checks, ratelimit.Check{Scope: scopeSignInClient, Key: client, Limit: s.signInPerClient})
	}
	units, err := s.limiter.AllowAll(ctx, "too many failed sign-in attempts", checks...)
	if err != nil {
		if commerce.ErrorCode(err) == commerce.ErrRateLimited {
			return "", nil, err
		}
		return "", nil, fmt.Errorf("staff.SignIn: %w", err)
	}

	var (
		st   Staff
		hash *string
	)
	err = s.pool.QueryRow(ctx, `SELECT `+columns+`, password_hash FROM staff_users WHERE email = $1`, email).
		Scan(&st.ID, &st.Email, &st.Name, &st.Role, &st.LocationIDs, &st.CreatedAt, &st.DisabledAt, &hash)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && hash == nil) {
		// Spend the same argon2 work as for a real account, so response
		// times do not tell which emails are staff.
		s.passwords.VerifyNobody(ctx, pw)
		return "", nil, badCredentials
	}
	if err != nil {
		return "", nil, fmt.Errorf("staff.SignIn: %w", err)
	}
	ok, err := s.passwords.Verify(ctx, pw, *hash)
	if err != nil {
		return "", nil, fmt.Errorf("staff.SignIn: %w", err)
	}
	if !ok {
		return "", nil, badCredentials // the failure keeps its units
	}
	if st.DisabledAt != nil {
		return "", nil, commerce.Errorf(commerce.ErrForbidden, "this staff account is disabled")
	}
	s.limiter.RefundAll(ctx, units)
	if s.passwords.Outdated(*hash) {
		// The hash predates the current parameters: upgrade it now that the
		// password is known. Best effort; the old hash still verifies.
		if h, err := s.passwords.Hash(ctx, pw); err == nil {
			_, _ = s.pool.Exec(ctx, `UPDATE staff_users SET password_hash = $2 WHERE id = $1 AND password_hash = $3`, st.ID, h, *hash)
		}
	}
	token, err := s.issueToken(ctx, st.ID, s.sessionTTL, kindSession)
	if commerce.ErrorCode(err) == commerce.ErrNotFound {
		// Disabled between the read and the insert.
		return "", nil, commerce.Errorf(commerce.ErrForbidden, "this staff account is disabled")
	}
	if err != nil {
		return "", nil, fmt.Errorf("staff.SignIn: %w", err)
	}
	return token, &st, nil
}

// SignOut revokes the token of a sign-in (any staff token, in fact): it
// stops working at once. An unknown or already revoked token is NOT_FOUND.
func (s *Service) SignOut(ctx context.Context, token string) error {
	return s.RevokeToken(ctx, token)
}

// DisableStaff stops every token of the user from working, at once.
func (s *Service) DisableStaff(ctx context.Context, staffID commerce.ID) error {
	tag, err := s.pool.Exec(ctx, `UPDATE staff_users SET disabled_at = coalesce(disabled_at, now()) WHERE id = $1`, staffID)
	if err != nil {
		return fmt.Errorf("staff.DisableStaff: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return commerce.NotFound("staff user not found")
	}
	return nil
}

// IssueToken creates a token for the staff user, valid for ttl (DefaultTTL
// when 0). The token is returned once and never stored: lose it, issue
// another.
func (s *Service) IssueToken(ctx context.Context, staffID commerce.ID, ttl time.Duration) (string, error) {
	if ttl == 0 {
		ttl = DefaultTTL
	}
	return s.issueToken(ctx, staffID, ttl, kindAPI)
}

func (s *Service) issueToken(ctx context.Context, staffID commerce.ID, ttl time.Duration, kind string) (string, error) {
	if ttl < time.Minute || ttl > MaxTTL {
		return "", commerce.InvalidInput("ttl", "a token lives between one minute and %d days", int(MaxTTL.Hours()/24))
	}
	raw := make([]byte, tokenBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("staff.IssueToken: %w", err)
	}
	token := TokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	hash := hashToken(token)
	// The user must exist and be enabled; checked in the same statement.
	tag, err := s.pool.Exec(ctx, `INSERT INTO staff_tokens (id, staff_id, token_hash, expires_at, kind)
		SELECT $1, u.id, $3, now() + $4::interval, $5 FROM staff_users u WHERE u.id = $2 AND u.disabled_at IS NULL`,
		commerce.NewID(), staffID, hash[:], ttl, kind)
	if err != nil {
		return "", fmt.Errorf("staff.IssueToken: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return "", commerce.NotFound("no enabled staff user has this id")
	}
	return token, nil
}

// unauthenticated is the one answer for every bad token: unknown,
// malformed, expired, revoked or of a disabled user. Telling them apart
// would help someone holding a stolen token, not the rightful user.
var unauthenticated = commerce.Errorf(commerce.ErrUnauthenticated, "the staff token is invalid or expired")

// Authenticate returns the principal a token acts for.
func (s *Service) Authenticate(ctx context.Context, token string) (commerce.Principal, error) {
	if !WellFormed(token) {
		return commerce.Principal{}, unauthenticated
	}
	hash := hashToken(token)
	var (
		p        commerce.Principal
		tokenID  commerce.ID
		lastUsed *time.Time
		now      time.Time
	)
	err := s.pool.QueryRow(ctx, `SELECT t.id, t.last_used_at, now(), u.id, u.role, u.location_ids
		FROM staff_tokens t JOIN staff_users u ON u.id = t.staff_id
		WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > now() AND u.disabled_at IS NULL`,
		hash[:]).Scan(&tokenID, &lastUsed, &now, &p.StaffID, &p.Role, &p.LocationIDs)
	if errors.Is(err, pgx.ErrNoRows) {
		return commerce.Principal{}, unauthenticated
	}
	if err != nil {
		return commerce.Principal{}, fmt.Errorf("staff.Authenticate: %w", err)
	}
	if lastUsed == nil || now.Sub(*lastUsed) >= usageResolution {
		// Best effort: a failed bookkeeping write must not refuse a valid token.
		_, _ = s.pool.Exec(ctx, `UPDATE staff_tokens SET last_used_at = now() WHERE id = $1`, tokenID)
	}
	return p, nil
}

// RevokeToken makes the token stop working at once. Revoking an unknown or
// already revoked token is NOT_FOUND, so a typo does not pass for success.
func (s *Service) RevokeToken(ctx context.Context, token string) error {
	if !WellFormed(token) {
		return commerce.NotFound("no such token")
	}
	hash := hashToken(token)
	tag, err := s.pool.Exec(ctx, `UPDATE staff_tokens SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL`, hash[:])
	if err != nil {
		return fmt.Errorf("staff.RevokeToken: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return commerce.NotFound("no such token")
	}
	return nil
}

// WellFormed tells whether s has the shape of a staff token. It says
// nothing of its validity; it spares the database obvious garbage.
func WellFormed(s string) bool {
	if len(s) != tokenLen || !strings.HasPrefix(s, TokenPrefix) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s[len(TokenPrefix):])
	return err == nil
}

func hashToken(token string) [32]byte { return sha256.Sum256([]byte(token)) }
