package ratelimit_test

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/commercetest"
	"github.com/omnicanal/omnicanal/commerce/ratelimit"
)

func TestMain(m *testing.M) { commercetest.Main(m) }

var tenPerHour = ratelimit.Limit{Max: 10, Window: time.Hour}

// endWindows moves every window of scope into the past, as if its time had
// run out (the tests do not sleep through real windows).
func endWindows(t *testing.T, pool *pgxpool.Pool, scope string) {
	t.Helper()
	if _, err := pool.Exec(t.Context(), `UPDATE rate_limits SET window_start = window_start - interval '2 hours',
		window_end = now() - interval '1 second' WHERE scope = $1`, scope); err != nil {
		t.Fatal(err)
	}
}

func allow(t *testing.T, l *ratelimit.Limiter, scope, key string, limit ratelimit.Limit) ratelimit.Decision {
	t.Helper()
	d, err := l.Allow(t.Context(), scope, key, limit)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestConcurrentAttemptsAreCountedExactly(t *testing.T) {
	pool := commercetest.NewDB(t)
	l := ratelimit.New(pool)
	const attempts = 50
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		allowed int
		counts  = map[int]bool{}
		start   = make(chan struct{})
	)
	for range attempts {
		wg.Go(func() {
			<-start
			d, err := l.Allow(context.Background(), "test.concurrent", "203.0.113.7", tenPerHour)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if d.Allowed {
				allowed++
			}
			if counts[d.Count] {
				t.Errorf("two attempts were both counted as number %d", d.Count)
			}
			counts[d.Count] = true
		})
	}
	close(start)
	wg.Wait()
	if allowed != tenPerHour.Max {
		t.Errorf("%d of %d concurrent attempts allowed, want exactly %d", allowed, attempts, tenPerHour.Max)
	}
	if len(counts) != attempts {
		t.Errorf("%d distinct counts, want %d", len(counts), attempts)
	}
}

func TestLimitResetsAfterTheWindow(t *testing.T) {
	pool := commercetest.NewDB(t)
	l := ratelimit.New(pool)
	limit := ratelimit.Limit{Max: 3, Window: 15 * time.Minute}
	for i := 1; i <= 3; i++ {
		d := allow(t, l, "test.window", "anna@example.com", limit)
		if !d.Allowed || d.Count != i || d.Remaining != 3-i {
			t.Fatalf("attempt %d: %+v", i, d)
		}
		if d.RetryAfter <= 14*time.Minute || d.RetryAfter > limit.Window {
			t.Errorf("attempt %d: RetryAfter %s, want the rest of a 15-minute window", i, d.RetryAfter)
		}
	}
	d := allow(t, l, "test.window", "anna@example.com", limit)
	if d.Allowed || d.Count != 4 || d.Remaining != 0 {
		t.Fatalf("fourth attempt: %+v, want refused", d)
	}
	err := d.Err("too many attempts")
	if commerce.ErrorCode(err) != commerce.ErrRateLimited || err.Message != "too many attempts; try again in 15 minutes" {
		t.Errorf("Err: %v", err)
	}
	// Other keys and other scopes have their own counts.
	if d := allow(t, l, "test.window", "bruno@example.com", limit); !d.Allowed || d.Count != 1 {
		t.Errorf("another key: %+v", d)
	}
	if d := allow(t, l, "test.other", "anna@example.com", limit); !d.Allowed || d.Count != 1 {
		t.Errorf("another scope: %+v", d)
	}

	endWindows(t, pool, "test.window")
	if d := allow(t, l, "test.window", "anna@example.com", limit); !d.Allowed || d.Count != 1 {
		t.Errorf("after the window: %+v, want a new window at 1", d)
	}
}

// A short real window, not moved by hand: the count restarts on its own.
func TestShortWindowExpiresByItself(t *testing.T) {
	pool := commercetest.NewDB(t)
	l := ratelimit.New(pool)
	limit := ratelimit.Limit{Max: 1, Window: 300 * time.Millisecond}
	if d := allow(t, l, "test.short", "k", limit); !d.Allowed {
		t.Fatal("first attempt refused")
	}
	d := allow(t, l, "test.short", "k", limit)
	if d.Allowed {
		t.Fatal("second attempt allowed")
	}
	time.Sleep(d.RetryAfter + 50*time.Millisecond)
	if d := allow(t, l, "test.short", "k", limit); !d.Allowed || d.Count != 1 {
		t.Errorf("after RetryAfter: %+v", d)
	}
}

func TestRefundGivesBackOneUnitOfTheSameWindow(t *testing.T) {
	pool := commercetest.NewDB(t)
	l := ratelimit.New(pool)
	ctx := t.Context()
	limit := ratelimit.Limit{Max: 2, Window: time.Hour}
	first := allow(t, l, "test.refund", "k", limit)
	if err := l.Refund(ctx, first); err != nil {
		t.Fatal(err)
	}
	// Refunded successes never use up the limit.
	for i := range 5 {
		d := allow(t, l, "test.refund", "k", limit)
		if !d.Allowed || d.Count != 1 {
			t.Fatalf("attempt %d after refunds: %+v", i, d)
		}
		if err := l.Refund(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	allow(t, l, "test.refund", "k", limit)
	allow(t, l, "test.refund", "k", limit)
	refused := allow(t, l, "test.refund", "k", limit)
	if refused.Allowed {
		t.Fatal("third attempt allowed")
	}
	// Refunding a refused attempt gives nothing back.
	if err := l.Refund(ctx, refused); err != nil {
		t.Fatal(err)
	}
	if d := allow(t, l, "test.refund", "k", limit); d.Allowed || d.Count != 4 {
		t.Errorf("after refunding a refused attempt: %+v", d)
	}
	// A refund of an old window does not touch the new one.
	old := first
	endWindows(t, pool, "test.refund")
	fresh := allow(t, l, "test.refund", "k", limit)
	if err := l.Refund(ctx, old); err != nil {
		t.Fatal(err)
	}
	var count int
	if err := pool.QueryRow(ctx, `SELECT count FROM rate_limits WHERE scope = 'test.refund'`).Scan(&count); err != nil || count != fresh.Count {
		t.Errorf("count %d after an old refund, want %d (%v)", count, fresh.Count, err)
	}

	if err := l.Reset(ctx, "test.refund", "k"); err != nil {
		t.Fatal(err)
	}
	if d := allow(t, l, "test.refund", "k", limit); d.Count != 1 {
		t.Errorf("after Reset: %+v", d)
	}
}

func TestKeysAreStoredHashedAndEndedWindowsPruned(t *testing.T) {
	pool := commercetest.NewDB(t)
	l := ratelimit.New(pool)
	ctx := t.Context()
	allow(t, l, "test.prune", "anna@example.com", tenPerHour)
	allow(t, l, "test.keep", "192.0.2.1", tenPerHour)
	rows, err := pool.Query(ctx, `SELECT key_hash FROM rate_limits`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var h []byte
		if err := rows.Scan(&h); err != nil {
			t.Fatal(err)
		}
		if len(h) != 32 || bytes.Contains(h, []byte("anna")) || bytes.Contains(h, []byte("192.0.2.1")) {
			t.Errorf("key stored as %q, want its SHA-256", h)
		}
	}
	endWindows(t, pool, "test.prune")
	n, err := l.Prune(ctx)
	if err != nil || n != 1 {
		t.Fatalf("Prune deleted %d, %v; want the 1 ended window", n, err)
	}
	var left []string
	rows, err = pool.Query(ctx, `SELECT scope FROM rate_limits`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		left = append(left, s)
	}
	if len(left) != 1 || left[0] != "test.keep" {
		t.Errorf("left after Prune: %v", left)
	}
}

func TestInvalidLimitIsRefused(t *testing.T) {
	l := ratelimit.New(nil) // the limit is checked before any query
	for _, lim := range []ratelimit.Limit{{}, {Max: 0, Window: time.Hour}, {Max: 1}} {
		if _, err := l.Allow(t.Context(), "s", "k", lim); err == nil {
			t.Errorf("limit %+v accepted", lim)
		}
	}
}

func TestClientKeyTravelsInTheContext(t *testing.T) {
	ctx := t.Context()
	if k := ratelimit.ClientFrom(ctx); k != "" {
		t.Errorf("no client: %q", k)
	}
	if k := ratelimit.ClientFrom(ratelimit.WithClient(ctx, "198.51.100.4")); k != "198.51.100.4" {
		t.Errorf("client: %q", k)
	}
}
