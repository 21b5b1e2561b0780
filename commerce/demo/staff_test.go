package demo_test

import (
	"testing"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/commercetest"
	"github.com/omnicanal/omnicanal/commerce/demo"
	"github.com/omnicanal/omnicanal/commerce/staff"
)

// The demo associates sign in with the documented demo password, each in
// their own store only, and a second seed leaves a changed password alone.
func TestDemoAssociatesSignIn(t *testing.T) {
	pool := commercetest.NewDB(t)
	ctx := t.Context()
	if _, err := demo.Seed(ctx, pool); err != nil {
		t.Fatal(err)
	}
	svc := staff.NewService(pool)
	for _, c := range []struct{ email, store, other string }{
		{demo.StaffParis, demo.CodeParis, demo.CodeLyon},
		{demo.StaffLyon, demo.CodeLyon, demo.CodeParis},
	} {
		token, st, err := svc.SignIn(ctx, c.email, demo.StaffPassword)
		if err != nil {
			t.Fatalf("%s: %v", c.email, err)
		}
		p, err := svc.Authenticate(ctx, token)
		if err != nil || st.Role != commerce.RoleAssociate || !p.InLocation(demo.LocationID(c.store)) || p.InLocation(demo.LocationID(c.other)) {
			t.Errorf("%s: %+v %+v %v, want an associate of %s only", c.email, st, p, err, c.store)
		}
	}
	if len(demo.Staff()) != 4 {
		t.Errorf("%d demo staff, want one associate per store", len(demo.Staff()))
	}
	if err := svc.SetPassword(ctx, demo.StaffID(demo.StaffParis), "changed by the owner"); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Seed(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.SignIn(ctx, demo.StaffParis, "changed by the owner"); err != nil {
		t.Errorf("a second seed reset a changed password: %v", err)
	}
}
