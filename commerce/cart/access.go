package cart

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/channel"
	"github.com/omnicanal/omnicanal/commerce/internal/db"
	"github.com/omnicanal/omnicanal/commerce/internal/secret"
)

// TokenPrefix starts every cart token, so that a token is recognisable in
// a secret scanner and cannot be mistaken for a staff token ("st_").
const TokenPrefix = "gt_"

// IssueToken gives another token for a cart, valid for ttl (forever when
// 0), inside the caller's transaction. It checks nothing: the caller has
// established that whoever gets the token may reach the cart (a handoff
// code verified, a cart the caller just read with access). The token is
// returned once and stored hashed.
func IssueToken(ctx context.Context, tx db.Querier, cartID commerce.ID, ttl time.Duration) (string, error) {
	token, hash := secret.New(TokenPrefix)
	var expires *time.Duration
	if ttl > 0 {
		expires = &ttl
	}
	if _, err := tx.Exec(ctx, `INSERT INTO cart_tokens (token_hash, cart_id, expires_at)
		VALUES ($1, $2, now() + $3::interval)`, hash, cartID, expires); err != nil {
		return "", fmt.Errorf("cart.IssueToken: %w", err)
	}
	return token, nil
}

// access is who the request is, as far as reaching carts goes.
type access struct {
	tokenHash []byte       // nil without a well-formed token
	customer  *commerce.ID // the signed-in customer
	staff     bool         // a staff user assisting at this store's kiosk or till
}

// accessFor works out how the request in ctx may reach carts, with the
// token it gave (empty for none).
func accessFor(ctx context.Context, token string) access {
	var a access
	if secret.WellFormed(TokenPrefix, token) {
		a.tokenHash = secret.Hash(token)
	}
	if id, ok := commerce.CustomerFrom(ctx); ok {
		a.customer = &id
	}
	a.staff = staffAssisting(ctx)
	return a
}

// staffAssisting tells whether the request is a staff user working at the
// kiosk or till it speaks through: an associate of that store, or an admin
// or merchandiser (who may act in every store).
func staffAssisting(ctx context.Context) bool {
	p, ok := commerce.PrincipalFrom(ctx)
	ch := channel.FromContext(ctx)
	if !ok || p.StaffID == (commerce.ID{}) || ch == nil || ch.LocationID == nil {
		return false
	}
	return (ch.Kind == channel.Kiosk || ch.Kind == channel.POS) && p.InLocation(*ch.LocationID)
}

// reach is the SQL condition that the cart c is @cart and that the request
// may reach it; every statement that reads or changes a cart includes it.
var reach = reachOf("@cart", "@token::bytea", "@customer::uuid", "@staff::boolean")

// reachOf is reach over other expressions: the cart's id, the token's hash
// (NULL for none), the signed-in customer (NULL for none) and whether a
// staff user is assisting (see access), for statements that reach several
// carts at once.
func reachOf(cart, token, customer, staff string) string {
	return `c.id = ` + cart + ` AND (
	(` + token + ` IS NOT NULL AND EXISTS (SELECT 1 FROM cart_tokens ct
		WHERE ct.token_hash = ` + token + ` AND ct.cart_id = c.id AND ct.revoked_at IS NULL
			AND (ct.expires_at IS NULL OR ct.expires_at > now())))
	OR c.customer_id = ` + customer + `
	OR ` + staff + `)`
}

// args returns the named arguments of reach, to which a statement adds its own.
func (a access) args(cartID commerce.ID) pgx.NamedArgs {
	return pgx.NamedArgs{"cart": cartID, "token": a.tokenHash, "customer": a.customer, "staff": a.staff}
}
