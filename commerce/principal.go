package commerce

import (
	"context"
	"slices"
	"strings"
)

// Role is what a staff user may do. Customers are not principals of this
// kind: they reach only their own carts and orders through their own tokens.
type Role string

const (
	// RoleAdmin may do everything, staff management included.
	RoleAdmin Role = "admin"
	// RoleMerchandiser manages the catalog, prices, offers and stock.
	RoleMerchandiser Role = "merchandiser"
	// RoleAssociate works in stores (POS, pickup desk) and is scoped to the
	// locations listed in Principal.LocationIDs.
	RoleAssociate Role = "associate"
)

// ParseRole validates a role name given by an operator or a client.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	switch r {
	case RoleAdmin, RoleMerchandiser, RoleAssociate:
		return r, nil
	}
	return "", InvalidInput("role", "unknown role %q (admin, merchandiser or associate)", s)
}

// Principal is the staff user a request acts for.
type Principal struct {
	StaffID ID
	Role    Role
	// LocationIDs are the stores an associate works in. Admins and
	// merchandisers are not scoped and may leave it empty.
	LocationIDs []ID
}

// InLocation tells whether the principal may act on that location's
// business: every location for admins and merchandisers, the listed ones for
// associates.
func (p Principal) InLocation(id ID) bool {
	if p.Role == RoleAdmin || p.Role == RoleMerchandiser {
		return true
	}
	return slices.Contains(p.LocationIDs, id)
}

type principalKey struct{}

// WithPrincipal returns ctx acting for p. Only the authentication layer
// (a verified staff token) should call it.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal ctx acts for, if any.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// RequireRole returns the acting principal when it holds one of roles (any
// role when none is given). Services call it at the top of every staff
// operation, so that the API, the admin and the bulk feed get the same
// checks; resolvers and handlers never decide permissions themselves.
//
// No principal is UNAUTHENTICATED (the client must sign in); a principal
// with another role is FORBIDDEN (signing in again will not help).
func RequireRole(ctx context.Context, roles ...Role) (Principal, error) {
	p, ok := PrincipalFrom(ctx)
	if !ok || p.StaffID == (ID{}) {
		return Principal{}, Errorf(ErrUnauthenticated, "this operation needs a staff token (Authorization: Bearer st_…)")
	}
	if len(roles) > 0 && !slices.Contains(roles, p.Role) {
		names := make([]string, len(roles))
		for i, r := range roles {
			names[i] = string(r)
		}
		return Principal{}, Errorf(ErrForbidden, "this operation needs the role %s", strings.Join(names, " or "))
	}
	return p, nil
}

type customerKey struct{}

// WithCustomer returns ctx acting for the signed-in customer id. Only the
// authentication layer (a verified customer session token) should call it.
func WithCustomer(ctx context.Context, id ID) context.Context {
	return context.WithValue(ctx, customerKey{}, id)
}

// CustomerFrom returns the signed-in customer ctx acts for, if any.
func CustomerFrom(ctx context.Context) (ID, bool) {
	id, ok := ctx.Value(customerKey{}).(ID)
	return id, ok && id != ID{}
}
