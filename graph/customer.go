package graph

import (
	"errors"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/graph/model"
)

// customerUserErrors splits a customer mutation's error, Shopify style:
// what the shopper can act on (bad input, a taken email, wrong
// credentials, too many attempts, a token already signed out) becomes a
// userError and the call succeeds; anything else stays a top-level error.
// Fields named by the service ("email") are prefixed with the argument
// holding them (input), unless they are arguments themselves.
func customerUserErrors(err error, input string, args ...string) ([]model.CustomerUserError, error) {
	if err == nil {
		return []model.CustomerUserError{}, nil
	}
	ce, ok := errors.AsType[*commerce.Error](err)
	if !ok {
		return nil, err
	}
	switch ce.Code {
	case commerce.ErrInvalidInput, commerce.ErrConflict, commerce.ErrUnauthenticated,
		commerce.ErrRateLimited, commerce.ErrNotFound:
	default:
		return nil, err
	}
	return []model.CustomerUserError{{Field: fieldPath(ce.Field, input, args), Message: ce.Message, Code: ce.Code}}, nil
}
