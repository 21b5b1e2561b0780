// Package commerce holds the vocabulary every area of Omnicanal shares: the error
// type and its codes, money, identifiers and the acting principal. Each area
// (catalog, channel, inventory, ...) is a package below this one.
package commerce

import (
	"errors"
	"fmt"
)

// Error codes. They are part of the public API: GraphQL exposes them as
// extensions.code and userErrors.code, so clients may switch on them.
const (
	ErrNotFound        = "NOT_FOUND"
	ErrInvalidInput    = "INVALID_INPUT"
	ErrConflict        = "CONFLICT"
	ErrUnauthenticated = "UNAUTHENTICATED"
	ErrForbidden       = "FORBIDDEN"
	ErrOutOfStock      = "OUT_OF_STOCK"
	ErrPaymentFailed   = "PAYMENT_FAILED"
	ErrRateLimited     = "RATE_LIMITED"
	ErrInternal        = "INTERNAL"
	// ErrChannelRequired: the request did not name its sales channel.
	ErrChannelRequired = "CHANNEL_REQUIRED"
	// ErrUnknownChannel: the publishable key names no channel.
	ErrUnknownChannel = "UNKNOWN_CHANNEL"
)

// Error is an error a client may see: a stable code, a human message and,
// for bad input, the field at fault. Err keeps the cause for logs only.
type Error struct {
	Code    string
	Message string
	Field   string
	Err     error
}

func (e *Error) Error() string {
	msg := e.Code + ": " + e.Message
	if e.Field != "" {
		msg += " (" + e.Field + ")"
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// InvalidInput reports a bad value of one input field.
func InvalidInput(field, format string, args ...any) *Error {
	return &Error{Code: ErrInvalidInput, Field: field, Message: fmt.Sprintf(format, args...)}
}

// NotFound reports that what was asked for does not exist (or is not the caller's).
func NotFound(format string, args ...any) *Error {
	return &Error{Code: ErrNotFound, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, INTERNAL for
// any other error and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return ErrInternal
}

// Leaves returns the *Error leaves of err, however joined (errors.Join) or
// wrapped, when every leaf is an *Error that keep accepts; otherwise nil
// and false, and the caller reports err as a whole. A nil err has no
// leaves and is not accepted.
func Leaves(err error, keep func(*Error) bool) ([]*Error, bool) {
	var out []*Error
	var walk func(error) bool
	walk = func(e error) bool {
		if ce, ok := e.(*Error); ok {
			if !keep(ce) {
				return false
			}
			out = append(out, ce)
			return true
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if !walk(e) {
					return false
				}
			}
			return true
		case interface{ Unwrap() error }:
			if next := u.Unwrap(); next != nil {
				return walk(next)
			}
		}
		return false
	}
	if err == nil || !walk(err) {
		return nil, false
	}
	return out, true
}
