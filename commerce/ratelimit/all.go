package ratelimit

import (
	"context"
	"fmt"
)

// Check is one limit an attempt counts against: key's attempts in scope.
type Check struct {
	Scope, Key string
	Limit      Limit
}

// AllowAll counts one attempt against every check, in order, and returns
// the units taken, for RefundAll after a success. When one check refuses,
// the units already taken are given back before the RATE_LIMITED error
// (described by what) is returned: the attempt will not be made, so a
// client already refused cannot burn another key's allowance (an email's,
// locking its owner out) with attempts that never happen.
func (l *Limiter) AllowAll(ctx context.Context, what string, checks ...Check) ([]Decision, error) {
	taken := make([]Decision, 0, len(checks))
	for _, c := range checks {
		d, err := l.Allow(ctx, c.Scope, c.Key, c.Limit)
		if err == nil && d.Allowed {
			taken = append(taken, d)
			continue
		}
		l.RefundAll(ctx, taken)
		if err != nil {
			return nil, fmt.Errorf("ratelimit.AllowAll: %w", err)
		}
		return nil, d.Err(what)
	}
	return taken, nil
}

// RefundAll gives back the units of ds, best effort: a failed refund only
// brings a limit a little closer.
func (l *Limiter) RefundAll(ctx context.Context, ds []Decision) {
	for _, d := range ds {
		_ = l.Refund(ctx, d)
	}
}
