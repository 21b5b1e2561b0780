package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/internal/reqid"
)

const (
	codeTimeout   = "TIMEOUT"
	codeCancelled = "CANCELLED"
)

// presentError decides what a client may learn from an error. A
// commerce.Error shows its message and code (and field); GraphQL's own
// errors (syntax, validation, limits) keep theirs; anything else is an
// internal error: logged once here with the request id, shown as
// "internal error" so no detail of our internals reaches a client.
func presentError(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gqlErr := graphql.DefaultErrorPresenter(ctx, err)
		if ce, ok := errors.AsType[*commerce.Error](err); ok && ce.Code != commerce.ErrInternal {
			gqlErr.Message = ce.Message
			gqlErr.Extensions = map[string]any{"code": ce.Code}
			if ce.Field != "" {
				gqlErr.Extensions["field"] = ce.Field
			}
			return gqlErr
		}
		if gqlErr.Err == nil && !isInternal(err) {
			// Raised by gqlgen itself with a message meant for clients.
			if gqlErr.Extensions == nil || gqlErr.Extensions["code"] == nil {
				gqlErr.Extensions = map[string]any{"code": "GRAPHQL_VALIDATION_FAILED"}
			}
			return gqlErr
		}
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			// The client went away; nobody reads this, and logging it once
			// per field of a large response would flood the log.
			return &gqlerror.Error{Message: "the request was cancelled", Path: gqlErr.Path,
				Extensions: map[string]any{"code": codeCancelled}}
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return &gqlerror.Error{Message: "the request took too long and was stopped", Path: gqlErr.Path,
				Extensions: map[string]any{"code": codeTimeout}}
		}
		if _, recovered := errors.AsType[*panicError](err); !recovered { // panics are logged with their stack already
			log.ErrorContext(ctx, "graphql: internal error", "request_id", reqid.FromContext(ctx),
				"path", gqlErr.Path.String(), "err", err)
		}
		return &gqlerror.Error{Message: "internal error", Path: gqlErr.Path,
			Extensions: map[string]any{"code": commerce.ErrInternal, "requestId": reqid.FromContext(ctx)}}
	}
}

// isInternal tells an error of ours (wrapped by gqlgen with Err set, or
// a commerce INTERNAL) from a bare gqlerror gqlgen made for the client.
func isInternal(err error) bool {
	var gqlErr *gqlerror.Error
	if errors.As(err, &gqlErr) {
		return gqlErr.Err != nil
	}
	return true
}

type panicError struct{ value any }

func (p *panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }

// recoverPanic turns a panic in a resolver into an internal error for the
// client and one log line with the stack for us.
func recoverPanic(log *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, v any) error {
		log.ErrorContext(ctx, "graphql: panic", "request_id", reqid.FromContext(ctx),
			"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		return &panicError{value: v}
	}
}
