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
// Creating staff and issuing tokens are operator tasks done with the
// `omnicanal staff` command, which has database access; they are not exposed
// over the API until the admin brings staff management with its own checks.
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
	return nil
}

// Service manages staff users and their tokens.
type Service struct {
	pool *pgxpool.Pool
}

// NewService returns a staff service over pool.
func NewService(pool *pgxpool.Pool) *Service { return &Service{pool: pool} }

const columns = `id, email, name, role, location_ids, created_at, disabled_at`

// CreateStaff adds a staff user. An email already taken is a CONFLICT.
func (s *Service) CreateStaff(ctx context.Context, in Input) (*Staff, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if in.LocationIDs == nil {
		in.LocationIDs = []commerce.ID{}
	}
	rows, err := s.pool.Query(ctx, `INSERT INTO staff_users (id, email, name, role, location_ids)
		VALUES ($1, $2, $3, $4, $5) RETURNING `+columns,
		commerce.NewID(), in.Email, in.Name, string(in.Role), in.LocationIDs)
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
	tag, err := s.pool.Exec(ctx, `INSERT INTO staff_tokens (id, staff_id, token_hash, expires_at)
		SELECT $1, u.id, $3, now() + $4::interval FROM staff_users u WHERE u.id = $2 AND u.disabled_at IS NULL`,
		commerce.NewID(), staffID, hash[:], ttl)
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
