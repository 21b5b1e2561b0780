package graph

import (
	"errors"
	"strings"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/returns"
	"github.com/omnicanal/omnicanal/graph/model"
)

// Conversions for the returns API (returns.resolvers.go).

// errReturnsOff is what the API says when the server runs without returns.
var errReturnsOff = commerce.Errorf(commerce.ErrConflict, "returns are not available on this server")

// returnUserErrors turns what a client can act on (every *commerce.Error but
// INTERNAL) into userErrors; anything else stays a top-level error.
func returnUserErrors(err error, input string, args ...string) ([]model.ReturnUserError, error) {
	if err == nil {
		return []model.ReturnUserError{}, nil
	}
	if ce, ok := errors.AsType[*commerce.Error](err); ok && ce.Code != commerce.ErrInternal {
		field := strings.Replace(ce.Field, "locationId", "storeId", 1)
		return []model.ReturnUserError{{Field: fieldPath(field, input, args), Message: ce.Message, Code: ce.Code}}, nil
	}
	return nil, err
}

func returnInput(in model.ReturnCreateInput) returns.Input {
	out := returns.Input{OrderID: in.OrderID, Token: str(in.Token), LocationID: in.StoreID, Reason: str(in.Reason),
		IdempotencyKey: in.IdempotencyKey, Lines: make([]returns.LineInput, len(in.Lines))}
	if in.Refund != nil {
		out.Refund.Method = in.Refund.Method
	}
	for i, l := range in.Lines {
		out.Lines[i] = returns.LineInput{OrderLineID: l.OrderLineID, Quantity: l.Quantity}
	}
	return out
}
