package commerce_test

import (
	"context"
	"testing"

	"github.com/omnicanal/omnicanal/commerce"
)

func TestRequireRole(t *testing.T) {
	store, other := commerce.NewID(), commerce.NewID()
	merch := commerce.Principal{StaffID: commerce.NewID(), Role: commerce.RoleMerchandiser}
	assoc := commerce.Principal{StaffID: commerce.NewID(), Role: commerce.RoleAssociate, LocationIDs: []commerce.ID{store}}
	cases := []struct {
		name  string
		ctx   context.Context
		roles []commerce.Role
		want  string
	}{
		{"no principal", context.Background(), []commerce.Role{commerce.RoleAdmin}, commerce.ErrUnauthenticated},
		{"no principal, any role", context.Background(), nil, commerce.ErrUnauthenticated},
		{"zero principal", commerce.WithPrincipal(context.Background(), commerce.Principal{Role: commerce.RoleAdmin}), nil, commerce.ErrUnauthenticated},
		{"right role", commerce.WithPrincipal(context.Background(), merch), []commerce.Role{commerce.RoleAdmin, commerce.RoleMerchandiser}, ""},
		{"wrong role", commerce.WithPrincipal(context.Background(), assoc), []commerce.Role{commerce.RoleAdmin, commerce.RoleMerchandiser}, commerce.ErrForbidden},
		{"any role", commerce.WithPrincipal(context.Background(), assoc), nil, ""},
	}
	for _, c := range cases {
		p, err := commerce.RequireRole(c.ctx, c.roles...)
		if got := commerce.ErrorCode(err); got != c.want {
			t.Errorf("%s: code %q, want %q (%v)", c.name, got, c.want, err)
		}
		if err == nil && p.StaffID == (commerce.ID{}) {
			t.Errorf("%s: no principal returned", c.name)
		}
	}
	if !assoc.InLocation(store) || assoc.InLocation(other) {
		t.Error("an associate must be scoped to their stores")
	}
	if !merch.InLocation(other) {
		t.Error("a merchandiser is not scoped to stores")
	}
}

func TestParseRole(t *testing.T) {
	for in, want := range map[string]commerce.Role{"admin": commerce.RoleAdmin, " Merchandiser ": commerce.RoleMerchandiser, "associate": commerce.RoleAssociate} {
		if got, err := commerce.ParseRole(in); err != nil || got != want {
			t.Errorf("ParseRole(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := commerce.ParseRole("owner"); commerce.ErrorCode(err) != commerce.ErrInvalidInput {
		t.Errorf("ParseRole(owner): %v", err)
	}
}
