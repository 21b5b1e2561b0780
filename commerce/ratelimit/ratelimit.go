// Package ratelimit counts attempts per (scope, key) in Postgres, so that
// every server instance behind the load balancer shares one count: a
// guesser cannot multiply their tries by spreading them over instances.
//
// The algorithm is a fixed window: the first attempt opens a window of
// Limit.Window, each attempt in it adds one, and the attempt that makes the
// count exceed Limit.Max is refused, like every later one until the window
// ends; the next attempt then opens a new window at one. Taking a unit is a
// single atomic upsert on the counter's row, so concurrent attempts are
// counted exactly (50 at once against a limit of 10 let exactly 10 through)
// without any read-then-write. A fixed window may let up to 2×Max attempts
// through around a window boundary; for slowing guessers down that is
// plenty, and it keeps the cost at one statement per attempt.
//
// Counts are written by the limiter's own statements, outside any caller's
// transaction: a count rolled back with a failed operation would give a
// guesser free tries. Keys are stored as their SHA-256, so the table holds
// no email or address in clear. Scopes are free-form names owned by their
// callers ("customer.sign_in.email", "cart.resume.client"); give each
// (thing limited, kind of key) its own scope.
//
// Typical use, counting only failures (a unit is taken before the attempt,
// so concurrent attempts cannot slip past the limit, and given back after a
// success):
//
//	d, err := limiter.Allow(ctx, "cart.resume.client", ratelimit.ClientFrom(ctx), limit)
//	if err != nil { return err }
//	if !d.Allowed { return d.Err("too many attempts") }
//	… the attempt …
//	if ok { _ = limiter.Refund(ctx, d) }
package ratelimit

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
)

// Limit is how many attempts one key may make per window.
type Limit struct {
	Max    int
	Window time.Duration
}

// Validate refuses a limit that would block everything or nothing by mistake.
func (l Limit) Validate() error {
	if l.Max < 1 || l.Window < time.Millisecond {
		return fmt.Errorf("ratelimit: invalid limit %d per %s", l.Max, l.Window)
	}
	return nil
}

// Decision is the outcome of one attempt.
type Decision struct {
	// Allowed tells whether the attempt may go ahead.
	Allowed bool
	// Count is the number of attempts counted in the current window, this
	// one included (so it exceeds Max when the attempt is refused).
	Count int
	// Remaining is how many more attempts the window allows.
	Remaining int
	// RetryAfter is how long until the window ends and the count resets.
	RetryAfter time.Duration

	// What Refund needs to give the unit back to the same window.
	scope       string
	keyHash     [32]byte
	windowStart time.Time
}

// Err returns the RATE_LIMITED error for a refused attempt, telling the
// client when to try again; what describes what was attempted ("too many
// sign-in attempts").
func (d Decision) Err(what string) *commerce.Error {
	secs := int(math.Ceil(d.RetryAfter.Seconds()))
	wait := fmt.Sprintf("%d seconds", secs)
	if secs > 90 {
		wait = fmt.Sprintf("%d minutes", int(math.Ceil(float64(secs)/60)))
	}
	return commerce.Errorf(commerce.ErrRateLimited, "%s; try again in %s", what, wait)
}

// pruneEvery is how many Allow calls of a process run between two prunes
// of ended windows. Pruning on the write path keeps the table small (a
// guesser spraying random emails adds a row per email) without a separate
// job to deploy; one call in a thousand pays for a short, batched delete.
const pruneEvery = 1000

// pruneBatch bounds the rows one prune deletes, so the unlucky request that
// runs it stays fast; a backlog is worked off over several prunes.
const pruneBatch = 1000

// Limiter counts attempts in the rate_limits table.
type Limiter struct {
	pool  *pgxpool.Pool
	calls atomic.Uint64
}

// New returns a limiter over pool.
func New(pool *pgxpool.Pool) *Limiter { return &Limiter{pool: pool} }

// Allow counts one attempt of key in scope and tells whether it is within
// limit. An empty key is counted like any other: a caller that has no key
// for a client should not call Allow for it rather than pool every such
// client together.
func (l *Limiter) Allow(ctx context.Context, scope, key string, limit Limit) (Decision, error) {
	if err := limit.Validate(); err != nil {
		return Decision{}, err
	}
	d := Decision{scope: scope, keyHash: sha256.Sum256([]byte(key))}
	var windowEnd, now time.Time
	// One statement: insert the counter at 1, or bump it, or, when its
	// window has ended, restart it at 1 in a new window. ON CONFLICT takes
	// the row lock, so concurrent attempts each see their own count.
	err := l.pool.QueryRow(ctx, `INSERT INTO rate_limits AS r (scope, key_hash, window_start, window_end, count)
		VALUES ($1, $2, now(), now() + $3::interval, 1)
		ON CONFLICT (scope, key_hash) DO UPDATE SET
			window_start = CASE WHEN r.window_end <= now() THEN now() ELSE r.window_start END,
			window_end   = CASE WHEN r.window_end <= now() THEN now() + $3::interval ELSE r.window_end END,
			count        = CASE WHEN r.window_end <= now() THEN 1 WHEN r.count < 2147483647 THEN r.count + 1 ELSE r.count END
		RETURNING count, window_start, window_end, now()`,
		scope, d.keyHash[:], limit.Window).Scan(&d.Count, &d.windowStart, &windowEnd, &now)
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit.Allow: %w", err)
	}
	d.Allowed = d.Count <= limit.Max
	d.Remaining = max(limit.Max-d.Count, 0)
	d.RetryAfter = max(windowEnd.Sub(now), 0)
	if l.calls.Add(1)%pruneEvery == 0 {
		// Best effort: a failed cleanup must not refuse the attempt.
		_, _ = l.Prune(ctx)
	}
	return d, nil
}

// Refund gives back the unit an allowed attempt took, for limits that count
// only failures: take a unit before the attempt (so concurrent attempts
// cannot all pass a check made before any of them is counted), refund it
// when the attempt succeeds. A refund after the window ended does nothing.
func (l *Limiter) Refund(ctx context.Context, d Decision) error {
	if !d.Allowed {
		return nil // a refused attempt did not happen; there is nothing to give back
	}
	_, err := l.pool.Exec(ctx, `UPDATE rate_limits SET count = count - 1
		WHERE scope = $1 AND key_hash = $2 AND window_start = $3 AND count > 0`,
		d.scope, d.keyHash[:], d.windowStart)
	if err != nil {
		return fmt.Errorf("ratelimit.Refund: %w", err)
	}
	return nil
}

// Reset forgets every attempt of key in scope.
func (l *Limiter) Reset(ctx context.Context, scope, key string) error {
	h := sha256.Sum256([]byte(key))
	if _, err := l.pool.Exec(ctx, `DELETE FROM rate_limits WHERE scope = $1 AND key_hash = $2`, scope, h[:]); err != nil {
		return fmt.Errorf("ratelimit.Reset: %w", err)
	}
	return nil
}

// Prune deletes up to a batch of counters whose window has ended; they
// count for nothing any more. It returns how many it deleted.
func (l *Limiter) Prune(ctx context.Context) (int64, error) {
	tag, err := l.pool.Exec(ctx, `DELETE FROM rate_limits WHERE (scope, key_hash) IN (
		SELECT scope, key_hash FROM rate_limits WHERE window_end <= now() LIMIT $1)`, pruneBatch)
	if err != nil {
		return 0, fmt.Errorf("ratelimit.Prune: %w", err)
	}
	return tag.RowsAffected(), nil
}

type clientKey struct{}

// WithClient returns ctx carrying the key of the client making the request
// (the HTTP layer uses its remote address). Services limit per client with
// it; only the transport knows who the client is.
func WithClient(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, clientKey{}, key)
}

// ClientFrom returns the client key of ctx, "" when the request came from
// no network client (a command, a job, a test).
func ClientFrom(ctx context.Context) string {
	k, _ := ctx.Value(clientKey{}).(string)
	return k
}
