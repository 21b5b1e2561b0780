package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/channel"
	"github.com/omnicanal/omnicanal/commerce/location"
	"github.com/omnicanal/omnicanal/graph/generated"
	"github.com/omnicanal/omnicanal/graph/model"
)

// setComplexity weighs list fields by how many items they may return, so
// that products(first: 100) { variants(first: 100) { … } } costs what it
// would make the server do, not one unit per field.
func setComplexity(c *generated.ComplexityRoot) {
	c.Query.Products = func(child int, first *int, _ *string, _ *model.ProductFilter, _ *model.ProductSortKey, _ *bool) int {
		return listCost(child, first, 20)
	}
	c.Category.Products = func(child int, first *int, _ *string, _ *model.ProductSortKey, _ *bool) int {
		return listCost(child, first, 20)
	}
	c.Collection.Products = func(child int, first *int, _ *string, _ *model.ProductSortKey, _ *bool) int {
		return listCost(child, first, 20)
	}
	c.ProductVariant.Availability = func(child int, _ location.Point, first *int) int { return listCost(child, first, 5) }
	c.Query.Stores = func(child int, _ *location.Point, _ *bool, first *int, _ *string) int {
		return listCost(child, first, 20)
	}
	c.Product.Variants = func(child int, first *int) int { return listCost(child, first, 50) }
}

func listCost(child int, first *int, def int) int {
	n := def
	if first != nil && *first > 0 {
		n = min(*first, maxFirst) // larger values are rejected by the resolver anyway
	}
	return 1 + n*child
}

const codeDepthLimit = "DEPTH_LIMIT_EXCEEDED"

// depthLimit rejects operations nested deeper than max fields. Introspection
// fields are not counted: GraphiQL's own schema query is deep by design, and
// introspection is off in production.
type depthLimit struct{ max int }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = depthLimit{}

func (depthLimit) ExtensionName() string                   { return "DepthLimit" }
func (depthLimit) Validate(graphql.ExecutableSchema) error { return nil }
func (d depthLimit) MutateOperationContext(_ context.Context, op *graphql.OperationContext) *gqlerror.Error {
	if d.max <= 0 {
		return nil
	}
	if depth := selectionDepth(op.Operation.SelectionSet, op.Doc.Fragments, 0); depth > d.max {
		err := gqlerror.Errorf("operation is nested %d levels deep, more than the limit of %d", depth, d.max)
		err.Extensions = map[string]any{"code": codeDepthLimit}
		return err
	}
	return nil
}

// selectionDepth returns the deepest field nesting below set. Validation has
// already rejected fragment cycles; seen guards against them anyway.
func selectionDepth(set ast.SelectionSet, frags ast.FragmentDefinitionList, seen int) int {
	if seen > 64 {
		return seen
	}
	deepest := 0
	for _, sel := range set {
		var d int
		switch s := sel.(type) {
		case *ast.Field:
			if len(s.Name) > 2 && s.Name[:2] == "__" {
				continue
			}
			d = 1 + selectionDepth(s.SelectionSet, frags, seen+1)
		case *ast.InlineFragment:
			d = selectionDepth(s.SelectionSet, frags, seen+1)
		case *ast.FragmentSpread:
			if f := frags.ForName(s.Name); f != nil {
				d = selectionDepth(f.SelectionSet, frags, seen+1)
			}
		}
		deepest = max(deepest, d)
	}
	return deepest
}

// channelGate refuses operations whose request named no valid channel.
// Only pure introspection may go without one, so GraphiQL and code
// generators can read the schema before a key is configured.
type channelGate struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = channelGate{}

func (channelGate) ExtensionName() string                   { return "ChannelGate" }
func (channelGate) Validate(graphql.ExecutableSchema) error { return nil }
func (channelGate) MutateOperationContext(ctx context.Context, op *graphql.OperationContext) *gqlerror.Error {
	if channel.FromContext(ctx) != nil {
		return nil
	}
	err, _ := ctx.Value(channelErrKey{}).(error)
	if err == nil {
		if introspectionOnly(op.Operation.SelectionSet, op.Doc.Fragments) {
			return nil
		}
		_, err = channel.Require(ctx)
	}
	return graphql.DefaultErrorPresenter(ctx, err)
}

func introspectionOnly(set ast.SelectionSet, frags ast.FragmentDefinitionList) bool {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if s.Name != "__schema" && s.Name != "__type" && s.Name != "__typename" {
				return false
			}
		case *ast.InlineFragment:
			if !introspectionOnly(s.SelectionSet, frags) {
				return false
			}
		case *ast.FragmentSpread:
			if f := frags.ForName(s.Name); f == nil || !introspectionOnly(f.SelectionSet, frags) {
				return false
			}
		}
	}
	return true
}

// channelGate's errors pass through the error presenter (DispatchError),
// which turns the commerce.Error into a code; keep the import honest.
var _ = commerce.ErrChannelRequired
