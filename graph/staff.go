package graph

import (
	"errors"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/staff"
	"github.com/omnicanal/omnicanal/graph/model"
)

// staffUserErrors splits a staff sign-in or sign-out error like
// customerUserErrors: what the person at the desk can act on (wrong
// credentials, a disabled account, too many attempts, a token already
// signed out) becomes a userError and the call succeeds; anything else
// stays a top-level error. field, when set, names the argument at fault.
func staffUserErrors(err error, field string) ([]model.StaffUserError, error) {
	if err == nil {
		return []model.StaffUserError{}, nil
	}
	ce, ok := errors.AsType[*commerce.Error](err)
	if !ok {
		return nil, err
	}
	switch ce.Code {
	case commerce.ErrUnauthenticated, commerce.ErrForbidden, commerce.ErrRateLimited, commerce.ErrNotFound:
	default:
		return nil, err
	}
	ue := model.StaffUserError{Message: ce.Message, Code: ce.Code}
	if field != "" {
		ue.Field = []string{field}
	}
	return []model.StaffUserError{ue}, nil
}

// staffService returns the staff service, or the error a server without
// one (it offers no staff access) answers.
func (r *Resolver) staffService() (*staff.Service, error) {
	if r.staff == nil {
		return nil, commerce.Errorf(commerce.ErrUnauthenticated, "staff sign-in is not offered here")
	}
	return r.staff, nil
}
