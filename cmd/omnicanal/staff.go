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
  create --email E --name N --role admin|merchandiser|associate [--store CODE]... [--password-stdin]
           add a staff user; associates need the codes of the stores they work in;
           --password-stdin reads a sign-in password (8 to 256 characters) from
           the first line of standard input
  password EMAIL
           set or reset the user's sign-in password, read from the first line of
           standard input; their sign-in sessions end (API tokens keep working)
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
		passwordStdin     bool
	)
	switch sub {
	case "create":
		fs.StringVar(&email, "email", "", "email address (the user's login)")
		fs.StringVar(&name, "name", "", "full name")
		fs.StringVar(&role, "role", "", "admin, merchandiser or associate")
		fs.Var(&stores, "store", "code of a store the associate works in (repeatable)")
		fs.BoolVar(&passwordStdin, "password-stdin", false, "read a sign-in password from the first line of standard input")
	case "password":
		fs.StringVar(&email, "email", "", "email address of the staff user (or give it as the argument)")
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
	rest := fs.Args()
	if sub == "password" && email == "" && len(rest) > 0 {
		email, rest = rest[0], rest[1:]
	}
	if len(rest) > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(rest, " "))
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
		in := staff.Input{Email: email, Name: name, Role: r, LocationIDs: ids}
		if passwordStdin {
			if in.Password, err = readSecret(stdin, "password"); err != nil {
				return err
			}
		}
		st, err := svc.CreateStaff(ctx, in)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created %s %s (%s), id %s\n", st.Role, st.Email, st.Name, st.ID)
		if passwordStdin {
			fmt.Fprintln(stdout, "they can sign in with their email and password")
		}
	case "password":
		if email == "" {
			return errors.New("usage: omnicanal staff password EMAIL   (the password is read from standard input)")
		}
		st, err := svc.FindStaffByEmail(ctx, email)
		if err != nil {
			return err
		}
		pw, err := readSecret(stdin, "password")
		if err != nil {
			return err
		}
		if err := svc.SetPassword(ctx, st.ID, pw); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "password set for %s; their sign-in sessions have ended\n", st.Email)
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
		token, err := readSecret(stdin, "token")
		if err != nil {
			return err
		}
		if err := svc.RevokeToken(ctx, strings.TrimSpace(token)); err != nil {
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

// readSecret reads a secret from the first line of stdin: a secret given as
// a flag would show in `ps` and in the shell's history. Only the line end
// is removed; spaces belong to the secret.
func readSecret(stdin io.Reader, what string) (string, error) {
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the %s from standard input: %w", what, err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", fmt.Errorf("no %s on standard input", what)
	}
	return line, nil
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
