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

func TestStaffCommand(t *testing.T) {
	url := commercetest.URL(t, commercetest.WithSeed("demo", func(ctx context.Context, pool *pgxpool.Pool) error {
		_, err := demo.Seed(ctx, pool)
		return err
	}))
	t.Setenv("DATABASE_URL", url)
	staffCmd := func(args ...string) (string, string, error) {
		var stdout, stderr bytes.Buffer
		err := run(append([]string{"staff"}, args...), &stdout, &stderr)
		return stdout.String(), stderr.String(), err
	}
	if _, _, err := staffCmd("create", "--email", "léa@example.com", "--name", "Léa", "--role", "associate", "--store", "par-rivoli", "--store", demo.CodeLyon); err != nil {
		t.Fatal(err)
	}
	if _, _, err := staffCmd("create", "--email", "max@example.com", "--name", "Max", "--role", "associate", "--store", "NOWHERE"); err == nil || !strings.Contains(err.Error(), "NOWHERE") {
		t.Errorf("unknown store: %v", err)
	}
	if _, _, err := staffCmd("create", "--email", "LÉA@example.com", "--name", "Léa", "--role", "admin"); commerce.ErrorCode(err) != commerce.ErrConflict {
		t.Errorf("duplicate email: %v", err)
	}
	out, notice, err := staffCmd("token", "--email", "LÉA@example.com", "--ttl", "2h")
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(out)
	if !staff.WellFormed(token) || strings.Contains(notice, token) {
		t.Fatalf("stdout %q, stderr %q: want the token alone on stdout", out, notice)
	}
	pool, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	p, err := staff.NewService(pool).Authenticate(t.Context(), token)
	if err != nil || p.Role != commerce.RoleAssociate || !p.InLocation(demo.LocationID(demo.CodeParis)) || !p.InLocation(demo.LocationID(demo.CodeLyon)) {
		t.Errorf("the printed token: %+v %v", p, err)
	}
	if _, _, err := staffCmd("disable", "--email", "léa@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := staff.NewService(pool).Authenticate(t.Context(), token); commerce.ErrorCode(err) != commerce.ErrUnauthenticated {
		t.Errorf("token of a disabled user: %v", err)
	}
	if _, _, err := staffCmd("promote"); err == nil {
		t.Error("an unknown staff command was accepted")
	}
}
