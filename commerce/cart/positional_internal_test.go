package cart

import (
	"context"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
)

// toPositional rewrites the hot statements exactly as pgx.NamedArgs does
// at every call.
func TestToPositionalMatchesNamedArgs(t *testing.T) {
	named := pgx.NamedArgs{"cart": 1, "token": 2, "customer": 3, "staff": 4, "if_version": 5, "channel": 6,
		"max_quantity": 7, "variants": 8, "quantities": 9, "line_ids": 10}
	for name, sql := range map[string]string{"addSQL": addSQL, "readSQL": readSQL} {
		wantSQL, wantArgs, err := named.RewriteQuery(context.Background(), nil, sql, nil)
		if err != nil {
			t.Fatal(err)
		}
		p := toPositional(sql)
		if p.sql != wantSQL {
			t.Errorf("%s: rewritten as\n%s\nwant\n%s", name, p.sql, wantSQL)
		}
		if got := p.args(named); !slices.Equal(got, wantArgs) {
			t.Errorf("%s: arguments %v, want %v", name, got, wantArgs)
		}
	}
	if p := toPositional("SELECT @a, @b, @a, @c1"); p.sql != "SELECT $1, $2, $1, $3" || !slices.Equal(p.names, []string{"a", "b", "c1"}) {
		t.Errorf("got %q %v", p.sql, p.names)
	}
}
