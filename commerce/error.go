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
