package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/location"
	"github.com/omnicanal/omnicanal/commerce/staff"
	"github.com/omnicanal/omnicanal/migrations"
)

const staffUsage = `usage: omnicanal staff <command> [flags]   (needs DATABASE_URL)

commands:
  create --email E --name N --role admin|merchandiser|associate [--store CODE]...
           add a staff user; associates need the codes of the stores they work in
  token  --email E [--ttl 720h]
           issue an API token and print it on stdout: it is shown this once only
  revoke   revoke the token read from standard input (kept out of shell history)
  disable --email E
           stop every token of the user at once
`

// runStaff manages staff users and tokens: the operator's way in before the
// admin has staff screens. Tokens are printed, never logged.
func runStaff(ctx context.Context, pool *pgxpool.Pool, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, staffUsage)
		return nil
	}
	if pending, err := migrations.Pending(ctx, pool); err != nil {
		return err
	} else if len(pending) > 0 {
		return errors.New("the database schema is out of date: run `omnicanal migrate` first")
	}
	svc := staff.NewService(pool)
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("omnicanal staff "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		email, name, role string
		stores            stringList
		ttl               = staff.DefaultTTL
	)
	switch sub {
	case "create":
		fs.StringVar(&email, "email", "", "email address (the user's login)")
		fs.StringVar(&name, "name", "", "full name")
		fs.StringVar(&role, "role", "", "admin, merchandiser or associate")
		fs.Var(&stores, "store", "code of a store the associate works in (repeatable)")
	case "token":
		fs.StringVar(&email, "email", "", "email address of the staff user")
		fs.DurationVar(&ttl, "ttl", ttl, "how long the token is valid")
	case "disable":
		fs.StringVar(&email, "email", "", "email address of the staff user")
	case "revoke":
	default:
		return fmt.Errorf("unknown staff command %q\n\n%s", sub, staffUsage)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}

	switch sub {
	case "create":
		r, err := commerce.ParseRole(role)
		if err != nil {
			return err
		}
		ids, err := storeIDs(ctx, location.NewService(pool), stores)
		if err != nil {
			return err
		}
		st, err := svc.CreateStaff(ctx, staff.Input{Email: email, Name: name, Role: r, LocationIDs: ids})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created %s %s (%s), id %s\n", st.Role, st.Email, st.Name, st.ID)
	case "token":
		st, err := svc.FindStaffByEmail(ctx, email)
		if err != nil {
			return err
		}
		token, err := svc.IssueToken(ctx, st.ID, ttl)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "token for %s (%s), valid until %s; it is shown this once only:\n",
			st.Email, st.Role, time.Now().Add(ttl).Format(time.RFC3339))
		fmt.Fprintln(stdout, token)
	case "revoke":
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if err := svc.RevokeToken(ctx, strings.TrimSpace(line)); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "token revoked")
	case "disable":
		st, err := svc.FindStaffByEmail(ctx, email)
		if err != nil {
			return err
		}
		if err := svc.DisableStaff(ctx, st.ID); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "disabled %s: none of their tokens works any more\n", st.Email)
	}
	return nil
}

// storeIDs resolves store codes (PAR-RIVOLI) to location ids.
func storeIDs(ctx context.Context, locs *location.Service, codes []string) ([]commerce.ID, error) {
	if len(codes) == 0 {
		return nil, nil
	}
	all, err := locs.FindLocations(ctx, location.Filter{Kind: location.Store})
	if err != nil {
		return nil, err
	}
	byCode := make(map[string]commerce.ID, len(all))
	for _, l := range all {
		byCode[strings.ToUpper(l.Code)] = l.ID
	}
	ids := make([]commerce.ID, 0, len(codes))
	for _, c := range codes {
		id, ok := byCode[strings.ToUpper(strings.TrimSpace(c))]
		if !ok {
			return nil, fmt.Errorf("no store has the code %q", c)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
