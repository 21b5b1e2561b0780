package main

import (
	"strings"
	"testing"
)

// A list of an object type is pointed at marshalList with the table's
// name for it, even when another type's name is a prefix of it; a list of
// anything else keeps gqlgen's marshalling; the table lists the fields
// handed to out.Concurrently. A deferred group's path is computed only
// when it has deferred fields.
func TestRewrite(t *testing.T) {
	src := []byte(`func (ec *executionContext) _Line(ctx context.Context, sel ast.SelectionSet, obj *cart.Line) graphql.Marshaler {
	fields := graphql.CollectFields(ec.OperationContext, sel, lineImplementors)
	for i, field := range fields {
		switch field.Name {
		case "id":
			out.Values[i] = ec._Line_id(ctx, field, obj)
		case "merchandise":
			out.Concurrently(i, func(ctx context.Context) graphql.Marshaler { return innerFunc(ctx, out) })
		}
	}
}

func (ec *executionContext) _Line2(ctx context.Context, sel ast.SelectionSet, obj *cart.Line2) graphql.Marshaler {
	fields := graphql.CollectFields(ec.OperationContext, sel, line2Implementors)
	for i, field := range fields {
		switch field.Name {
		case "id":
			out.Values[i] = ec._Line2_id(ctx, field, obj)
		}
	}
}

func (ec *executionContext) marshalNLine2ᚕ(ctx context.Context, sel ast.SelectionSet, v []cart.Line) graphql.Marshaler {
	ret := graphql.MarshalSliceConcurrently(ctx, len(v), 0, false, func(ctx context.Context, i int) graphql.Marshaler {
		fc := graphql.GetFieldContext(ctx)
		fc.Result = &v[i]
		return ec.marshalNLine2githubᚗcomᚋcartᚐLine(ctx, sel, v[i])
	})
}

func (ec *executionContext) marshalNLine22ᚕ(ctx context.Context, sel ast.SelectionSet, v []cart.Line2) graphql.Marshaler {
	ret := graphql.MarshalSliceConcurrently(ctx, len(v), 0, false, func(ctx context.Context, i int) graphql.Marshaler {
		fc := graphql.GetFieldContext(ctx)
		fc.Result = &v[i]
		return ec.marshalNLine22githubᚗcomᚋcartᚐLine2(ctx, sel, v[i])
	})
}

func (ec *executionContext) marshalNKind2ᚕ(ctx context.Context, sel ast.SelectionSet, v []cart.Kind) graphql.Marshaler {
	ret := graphql.MarshalSliceConcurrently(ctx, len(v), 0, false, func(ctx context.Context, i int) graphql.Marshaler {
		fc := graphql.GetFieldContext(ctx)
		fc.Result = &v[i]
		return ec.marshalNKind2githubᚗcomᚋcartᚐKind(ctx, sel, v[i])
	})
}
`)
	types := objectTypes(src)
	if len(types) != 2 || strings.Join(types["Line"].waiting, ",") != "merchandise" || len(types["Line2"].waiting) != 0 ||
		types["Line2"].implementors != "line2Implementors" {
		t.Fatalf("object types %+v", types)
	}
	out := string(rewriteLists(src, types))
	for _, want := range []string{
		`ret := ec.marshalList(ctx, sel, "Line", len(v), 0, false, func(ctx context.Context, i int) graphql.Marshaler {`,
		`ret := ec.marshalList(ctx, sel, "Line2", len(v), 0, false, func(ctx context.Context, i int) graphql.Marshaler {`,
		"return ec.marshalNKind2githubᚗcomᚋcartᚐKind(ctx, sel, v[i])",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the rewritten source lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "graphql.MarshalSliceConcurrently("); n != 1 {
		t.Errorf("%d lists left to gqlgen, want 1 (the enum's)", n)
	}
	deferred := `	ec.ProcessDeferredGroup(graphql.DeferredGroup{
		Defers:   deferLabelToView,
		Path:     graphql.GetPath(ctx),
		FieldSet: deferredFieldSet,
	})
`
	if got, want := string(rewriteDeferredPaths([]byte(deferred))), strings.Replace(deferred, "graphql.GetPath(ctx)", deferredPathCall, 1); got != want {
		t.Errorf("deferred group rewritten as\n%s\nwant\n%s", got, want)
	}
	if table := string(tableSource(types)); !strings.Contains(table, `"Line": {lineImplementors, []string{"merchandise"}},`) {
		t.Errorf("table:\n%s", table)
	}
}
