package cart

import (
	"regexp"

	"github.com/jackc/pgx/v5"
)

// positional is a statement written with named arguments (@name, as
// pgx.NamedArgs takes them) and rewritten once, at start-up, to positional
// ones ($1, $2, …). pgx rewrites named arguments by parsing the statement
// at every call, which cost ~5 % of the server's CPU on cartLinesAdd
// (docs/performance.md, issue 4); the hot statements are rewritten here
// once instead. The statements it takes hold no "@" but in their
// arguments (no string literal or operator with one).
type positional struct {
	sql   string
	names []string // of $1, $2, …
}

var namedArg = regexp.MustCompile(`@([A-Za-z_][A-Za-z0-9_]*)`)

func toPositional(sql string) positional {
	var p positional
	at := map[string]int{}
	p.sql = namedArg.ReplaceAllStringFunc(sql, func(m string) string {
		name := m[1:]
		n, ok := at[name]
		if !ok {
			p.names = append(p.names, name)
			n = len(p.names)
			at[name] = n
		}
		return "$" + itoa(n)
	})
	return p
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// args returns the arguments in their positions; a name missing from named
// is NULL, as with pgx.NamedArgs.
func (p positional) args(named pgx.NamedArgs) []any {
	out := make([]any, len(p.names))
	for i, name := range p.names {
		out[i] = named[name]
	}
	return out
}
