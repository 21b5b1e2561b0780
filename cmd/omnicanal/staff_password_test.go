package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/commercetest"
	"github.com/omnicanal/omnicanal/commerce/demo"
	"github.com/omnicanal/omnicanal/commerce/staff"
)

func TestStaffPasswordsFromStandardInput(t *testing.T) {
	pool := commercetest.NewDB(t, commercetest.WithSeed("demo", func(ctx context.Context, pool *pgxpool.Pool) error {
		_, err := demo.Seed(ctx, pool)
		return err
	}))
	ctx := t.Context()
	staffCmd := func(stdin string, args ...string) (string, error) {
		var stdout, stderr bytes.Buffer
		err := runStaff(ctx, pool, args, strings.NewReader(stdin), &stdout, &stderr)
		return stdout.String() + stderr.String(), err
	}
	svc := staff.NewService(pool)

	out, err := staffCmd(" spaces count too \n", "create", "--email", "nina@example.com", "--name", "Nina", "--role", "associate", "--store", demo.CodeLyon, "--password-stdin")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "spaces count") {
		t.Errorf("the password was echoed: %q", out)
	}
	token, st, err := svc.SignIn(ctx, "nina@example.com", " spaces count too ")
	if err != nil {
		t.Fatalf("signing in with the password given on stdin: %v", err)
	}
	if st.Role != commerce.RoleAssociate || len(st.LocationIDs) != 1 || st.LocationIDs[0] != demo.LocationID(demo.CodeLyon) {
		t.Errorf("signed in as %+v", st)
	}

	// Reset: positional email, any case; the old session ends.
	if _, err := staffCmd("a brand new password\r\n", "password", "NINA@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, token); commerce.ErrorCode(err) != commerce.ErrUnauthenticated {
		t.Errorf("session after `staff password`: %v", err)
	}
	if _, _, err := svc.SignIn(ctx, "nina@example.com", " spaces count too "); commerce.ErrorCode(err) != commerce.ErrUnauthenticated {
		t.Errorf("the old password: %v", err)
	}
	if _, _, err := svc.SignIn(ctx, "nina@example.com", "a brand new password"); err != nil {
		t.Errorf("the new password (CRLF trimmed): %v", err)
	}
	// --email works too.
	if _, err := staffCmd("third password", "password", "--email", "nina@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.SignIn(ctx, "nina@example.com", "third password"); err != nil {
		t.Errorf("password set with --email: %v", err)
	}

	if _, err := staffCmd("", "password", "nina@example.com"); err == nil || !strings.Contains(err.Error(), "no password") {
		t.Errorf("empty standard input: %v", err)
	}
	if _, err := staffCmd("short\n", "password", "nina@example.com"); commerce.ErrorCode(err) != commerce.ErrInvalidInput {
		t.Errorf("a short password: %v", err)
	}
	if _, err := staffCmd("long enough pass\n", "password", "nobody@example.com"); commerce.ErrorCode(err) != commerce.ErrNotFound {
		t.Errorf("unknown user: %v", err)
	}
	if _, err := staffCmd("x\n", "password"); err == nil {
		t.Error("password without an email was accepted")
	}
	// No user is created when the password is refused.
	if _, err := staffCmd("short\n", "create", "--email", "omar@example.com", "--name", "Omar", "--role", "admin", "--password-stdin"); commerce.ErrorCode(err) != commerce.ErrInvalidInput {
		t.Errorf("create with a short password: %v", err)
	}
	if _, err := svc.FindStaffByEmail(ctx, "omar@example.com"); commerce.ErrorCode(err) != commerce.ErrNotFound {
		t.Errorf("a user was created despite the refused password: %v", err)
	}
	// Without --password-stdin, standard input is not read and no password is set.
	if _, err := staffCmd("ignored password\n", "create", "--email", "omar@example.com", "--name", "Omar", "--role", "admin"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.SignIn(ctx, "omar@example.com", "ignored password"); commerce.ErrorCode(err) != commerce.ErrUnauthenticated {
		t.Errorf("a user created without --password-stdin signed in: %v", err)
	}
}
