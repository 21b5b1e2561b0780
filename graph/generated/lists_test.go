package generated

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// A cart's lines are marshalled in order exactly when nothing selected
// under them is resolved concurrently, at any depth and through fragments.
func TestMayWait(t *testing.T) {
	schema := NewExecutableSchema(Config{}).Schema()
	for _, tc := range []struct {
		name, lines string
		want        bool
	}{
		{"plain fields", `lines { id quantity }`, false},
		{"plain fields under plain fields", `lines { id cost { total { amount currencyCode } } adjustments { description amount { amount } } }`, false},
		{"typename", `lines { __typename id }`, false},
		{"a resolver", `lines { id merchandise { id } }`, true},
		{"a resolver under a plain field", `lines { addedByChannel { name store { id } } }`, true},
		{"a resolver in a fragment", `lines { ...L }`, true},
		{"a resolver in an inline fragment", `lines { ... on CartLine { merchandise { id } } }`, true},
		{"a resolver skipped", `lines { id merchandise @skip(if: true) { id } }`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			oc, lines := cartLines(t, schema, tc.lines)
			if got := mayWait(oc, lines, "CartLine"); got != tc.want {
				t.Errorf("mayWait = %v, want %v", got, tc.want)
			}
		})
	}
	if !mayWait(&graphql.OperationContext{}, nil, "NoSuchType") {
		t.Error("a type mayWait does not know (an interface, a union) should be taken as waiting")
	}
}

// cartLines parses a query of a cart's lines with the selection given (and
// a fragment L of CartLine, when it spreads it), and returns the selection
// under lines.
func cartLines(t *testing.T, schema *ast.Schema, lines string) (*graphql.OperationContext, ast.SelectionSet) {
	t.Helper()
	query := `query { cart(id: "x") { ` + lines + ` } }`
	if strings.Contains(lines, "...L") {
		query += ` fragment L on CartLine { merchandise { id } }`
	}
	doc, errs := gqlparser.LoadQuery(schema, query)
	if errs != nil {
		t.Fatal(errs)
	}
	oc := &graphql.OperationContext{Doc: doc, Operation: doc.Operations[0]}
	cart := doc.Operations[0].SelectionSet[0].(*ast.Field)
	f := graphql.CollectFields(oc, cart.SelectionSet, []string{"Cart"})[0]
	if f.Name != "lines" {
		t.Fatalf("selected %s, want lines", f.Name)
	}
	return oc, f.Selections
}

// Lines that select a resolver are marshalled at the same time (each
// element here waits until all have started, as dataloaders wait for the
// keys of all); plain ones one after the other, each with its index.
func TestMarshalList(t *testing.T) {
	schema := NewExecutableSchema(Config{}).Schema()
	const n = 4
	var ctx context.Context // of the last run
	run := func(t *testing.T, lines string, marshal func(ctx context.Context, i int) graphql.Marshaler) graphql.Array {
		oc, sel := cartLines(t, schema, lines)
		ctx = graphql.WithResponseContext(graphql.WithOperationContext(context.Background(), oc), graphql.DefaultErrorPresenter,
			func(_ context.Context, err any) error { return fmt.Errorf("recovered: %v", err) })
		return newExecutionContext(oc, nil, nil).marshalList(ctx, sel, "CartLine", n, 0, false, marshal)
	}

	t.Run("with a resolver, at the same time", func(t *testing.T) {
		var started sync.WaitGroup
		started.Add(n)
		all := make(chan struct{})
		go func() { started.Wait(); close(all) }()
		ret := run(t, `lines { merchandise { id } }`, func(ctx context.Context, i int) graphql.Marshaler {
			started.Done()
			select {
			case <-all:
			case <-time.After(5 * time.Second):
				t.Errorf("element %d: the others never started", i)
			}
			return graphql.MarshalInt(i)
		})
		if len(ret) != n {
			t.Errorf("got %d elements, want %d", len(ret), n)
		}
	})

	t.Run("plain, in order", func(t *testing.T) {
		var (
			next    int
			running bool
		)
		ret := run(t, `lines { id quantity }`, func(ctx context.Context, i int) graphql.Marshaler {
			if running || i != next {
				t.Errorf("element %d marshalled out of order (next %d) or beside another", i, next)
			}
			running = true
			defer func() { running = false }()
			if fc := graphql.GetFieldContext(ctx); fc == nil || fc.Index == nil || *fc.Index != i {
				t.Errorf("element %d: field context without its index", i)
			}
			next++
			return graphql.MarshalInt(i)
		})
		if len(ret) != n || next != n {
			t.Errorf("marshalled %d of %d elements", next, n)
		}
	})

	t.Run("plain, a panic", func(t *testing.T) {
		ret := run(t, `lines { id }`, func(ctx context.Context, i int) graphql.Marshaler {
			if i == 2 {
				panic("boom")
			}
			return graphql.MarshalInt(i)
		})
		if ret != nil {
			t.Errorf("a panicking element gave %v, want a null list", ret)
		}
		if errs := graphql.GetErrors(ctx); len(errs) != 1 || !strings.Contains(errs[0].Message, "boom") {
			t.Errorf("errors %v, want the recovered panic", errs)
		}
	})
}

// An object's path is computed for its deferred fields only: with some it
// is the object's path, without any it is nil.
func TestDeferredPath(t *testing.T) {
	ctx := graphql.WithFieldContext(context.Background(), &graphql.FieldContext{Field: graphql.CollectedField{Field: &ast.Field{Alias: "cart"}}})
	i := 2
	ctx = graphql.WithFieldContext(ctx, &graphql.FieldContext{Index: &i})
	want := graphql.GetPath(ctx)
	if len(want) != 2 {
		t.Fatalf("the test's context has path %v, want cart[2]", want)
	}
	if got := deferredPath(ctx, map[string]*graphql.FieldSetView{"later": nil}); got.String() != want.String() {
		t.Errorf("with a deferred field: path %v, want %v", got, want)
	}
	if got := deferredPath(ctx, map[string]*graphql.FieldSetView{}); got != nil {
		t.Errorf("without deferred fields: path %v, want nil", got)
	}
}
