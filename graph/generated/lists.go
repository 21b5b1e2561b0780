package generated

// Written by hand, beside gqlgen's output: graph/internal/genlists points
// the generated list marshallers and deferred groups here.

import (
	"context"
	"slices"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// listType is an object type as marshalList sees it (lists_gen.go).
type listType struct {
	implementors []string // the names it satisfies, for graphql.CollectFields
	waiting      []string // its fields gqlgen resolves concurrently
}

// marshalList marshals a list of the object type typeName, as
// graphql.MarshalSliceConcurrently, which gives each element a goroutine
// so that the elements' resolvers run at the same time and their
// dataloaders batch. When nothing selected under the elements, however
// deep, is resolved concurrently, those goroutines only cost: for a cart's
// 16 lines they took ~15 % of the server's CPU per cart add
// (docs/performance.md). The elements are then marshalled in order on this
// goroutine, each with its index in its field context, and a panic is
// handled the same way: the error is added and the list is null.
func (ec *executionContext) marshalList(ctx context.Context, sel ast.SelectionSet, typeName string, n int, workerLimit int64, omitPanicHandler bool,
	marshalElement func(ctx context.Context, i int) graphql.Marshaler,
) graphql.Array {
	if n > 1 && mayWait(ec.OperationContext, sel, typeName) {
		return graphql.MarshalSliceConcurrently(ctx, n, workerLimit, omitPanicHandler, marshalElement)
	}
	ret := make(graphql.Array, n)
	for i := range n {
		ctx := graphql.WithFieldContext(ctx, &graphql.FieldContext{Index: &i})
		if omitPanicHandler {
			ret[i] = marshalElement(ctx, i)
			continue
		}
		if !marshalRecovered(ctx, ret, i, marshalElement) {
			return nil
		}
	}
	return ret
}

// marshalRecovered sets ret[i], and tells whether it did so without a panic.
func marshalRecovered(ctx context.Context, ret graphql.Array, i int, marshalElement func(context.Context, int) graphql.Marshaler) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			graphql.AddError(ctx, graphql.Recover(ctx, r))
			ok = false
		}
	}()
	ret[i] = marshalElement(ctx, i)
	return true
}

// mayWait tells whether marshalling an element of the type typeName with
// the selection sel may wait on something: a field gqlgen resolves
// concurrently, here or in a selection under it. A type it does not know
// (an interface or a union) may.
func mayWait(oc *graphql.OperationContext, sel ast.SelectionSet, typeName string) bool {
	t, ok := listTypes[typeName]
	if !ok {
		return true
	}
	for _, f := range graphql.CollectFields(oc, sel, t.implementors) {
		if slices.Contains(t.waiting, f.Name) {
			return true
		}
		if len(f.Selections) > 0 && (f.Definition == nil || mayWait(oc, f.Selections, f.Definition.Type.Name())) {
			return true
		}
	}
	return false
}

// deferredPath is the path of the object being marshalled, for the fields
// of it that are deferred (defers): nil when there are none, the usual
// case, in which graphql's ProcessDeferredGroup drops it unread. gqlgen
// computes it for every object, which walks the context and allocates:
// ~3.5 % of the server's CPU on cartLinesAdd, whose response holds an
// object per cart line (docs/performance.md).
func deferredPath(ctx context.Context, defers map[string]*graphql.FieldSetView) ast.Path {
	if len(defers) == 0 {
		return nil
	}
	return graphql.GetPath(ctx)
}
