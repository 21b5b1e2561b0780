package outbox_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/commercetest"
	"github.com/omnicanal/omnicanal/commerce/outbox"
)

func TestMain(m *testing.M) { commercetest.Main(m) }

const queue = "test"

func enqueue(t *testing.T, pool *pgxpool.Pool, ids ...commerce.ID) {
	t.Helper()
	err := pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error {
		return outbox.Enqueue(t.Context(), tx, queue, ids...)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func ids(n int) []commerce.ID {
	out := make([]commerce.ID, n)
	for i := range out {
		out[i] = commerce.NewID()
	}
	return out
}

func TestRolledBackChangesLeaveNoWork(t *testing.T) {
	pool := commercetest.NewDB(t)
	errRollback := errors.New("rollback")
	err := pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error {
		if err := outbox.Enqueue(t.Context(), tx, queue, ids(3)...); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatal(err)
	}
	if n, err := outbox.NewService(pool).Pending(t.Context(), queue); err != nil || n != 0 {
		t.Fatalf("pending after rollback: %d, %v", n, err)
	}
}

// Four workers drain 200 aggregates, each changed three times: every
// aggregate is handled, none by two workers at once, and the outbox empties.
func TestConcurrentWorkersNeverShareAnAggregate(t *testing.T) {
	pool := commercetest.NewDB(t)
	aggs := ids(200)
	for range 3 {
		enqueue(t, pool, aggs...)
	}
	var (
		mu       sync.Mutex
		inFlight = map[commerce.ID]bool{}
		handled  = map[commerce.ID]int{}
		overlap  atomic.Int64
	)
	handle := func(ctx context.Context, batch []commerce.ID) error {
		mu.Lock()
		for _, id := range batch {
			if inFlight[id] {
				overlap.Add(1)
			}
			inFlight[id] = true
		}
		mu.Unlock()
		time.Sleep(2 * time.Millisecond) // let other workers try to claim the same ids
		mu.Lock()
		for _, id := range batch {
			delete(inFlight, id)
			handled[id]++
		}
		mu.Unlock()
		return nil
	}
	svc := outbox.NewService(pool)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			w := &outbox.Worker{Queue: queue, Handle: handle, Outbox: svc, Batch: 7}
			for {
				n, err := w.RunOnce(t.Context())
				if err != nil {
					t.Error(err)
					return
				}
				if n == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	if overlap.Load() != 0 {
		t.Errorf("%d times an aggregate was handled by two workers at once", overlap.Load())
	}
	if len(handled) != len(aggs) {
		t.Errorf("%d of %d aggregates handled", len(handled), len(aggs))
	}
	if n, _ := svc.Pending(t.Context(), queue); n != 0 {
		t.Errorf("%d rows left", n)
	}
}

// A worker that dies mid-batch loses nothing: its lease lapses and the
// next worker handles the same aggregates.
func TestAWorkerKilledMidBatchLosesNothing(t *testing.T) {
	pool := commercetest.NewDB(t)
	aggs := ids(5)
	enqueue(t, pool, aggs...)
	svc := outbox.NewService(pool)

	// The dying worker claims with a short lease and never settles.
	b, err := svc.Claim(t.Context(), queue, 100, 300*time.Millisecond)
	if err != nil || len(b.AggregateIDs) != 5 {
		t.Fatalf("claim: %v, %v", b.AggregateIDs, err)
	}
	// While the lease holds, nobody else gets the rows.
	if b2, err := svc.Claim(t.Context(), queue, 100, time.Minute); err != nil || len(b2.AggregateIDs) != 0 {
		t.Fatalf("claimed leased rows: %v, %v", b2.AggregateIDs, err)
	}
	time.Sleep(400 * time.Millisecond)

	var got []commerce.ID
	w := &outbox.Worker{Queue: queue, Outbox: svc, Handle: func(_ context.Context, batch []commerce.ID) error {
		got = append(got, batch...)
		return nil
	}}
	if n, err := w.RunOnce(t.Context()); err != nil || n != 5 {
		t.Fatalf("after the lease lapsed: %d, %v", n, err)
	}
	if len(got) != 5 {
		t.Errorf("handled %v", got)
	}
}

// A failing handler is retried with backoff; the error is kept.
func TestFailuresAreRetried(t *testing.T) {
	pool := commercetest.NewDB(t)
	enqueue(t, pool, ids(1)...)
	svc := outbox.NewService(pool)
	calls := 0
	w := &outbox.Worker{Queue: queue, Outbox: svc, Handle: func(context.Context, []commerce.ID) error {
		calls++
		if calls == 1 {
			return errors.New("engine unavailable")
		}
		return nil
	}}
	if _, err := w.RunOnce(t.Context()); err == nil {
		t.Fatal("want the handler's error")
	}
	var lastErr string
	var wait time.Duration
	if err := pool.QueryRow(t.Context(), `SELECT last_error, run_at - now() FROM outbox`).Scan(&lastErr, &wait); err != nil {
		t.Fatal(err)
	}
	if lastErr != "engine unavailable" || wait <= 0 {
		t.Errorf("after a failure: last_error %q, retry in %v", lastErr, wait)
	}
	// Not retried before its time…
	if n, _ := w.RunOnce(t.Context()); n != 0 {
		t.Error("retried before the backoff")
	}
	// …and retried after it.
	if _, err := pool.Exec(t.Context(), `UPDATE outbox SET run_at = now()`); err != nil {
		t.Fatal(err)
	}
	if n, err := w.RunOnce(t.Context()); n != 1 || err != nil {
		t.Fatalf("retry: %d, %v", n, err)
	}
	if n, _ := svc.Pending(t.Context(), queue); n != 0 || calls != 2 {
		t.Errorf("pending %d after %d calls", n, calls)
	}
}

// A change written while its aggregate is being handled is not swallowed
// by the completion of the older batch.
func TestChangesDuringHandlingRunAgain(t *testing.T) {
	pool := commercetest.NewDB(t)
	agg := ids(1)
	enqueue(t, pool, agg...)
	svc := outbox.NewService(pool)
	calls := 0
	w := &outbox.Worker{Queue: queue, Outbox: svc, Handle: func(context.Context, []commerce.ID) error {
		calls++
		if calls == 1 {
			enqueue(t, pool, agg...) // the product changes again meanwhile
		}
		return nil
	}}
	for range 3 {
		if _, err := w.RunOnce(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if calls != 2 {
		t.Errorf("handled %d times, want 2 (the change during handling must run again)", calls)
	}
}

func TestBackoff(t *testing.T) {
	for attempts, want := range map[int]time.Duration{0: time.Second, 1: time.Second, 2: 2 * time.Second, 4: 8 * time.Second, 30: 5 * time.Minute} {
		if got := outbox.Backoff(attempts); got != want {
			t.Errorf("Backoff(%d) = %v, want %v", attempts, got, want)
		}
	}
}

// Run wakes on NOTIFY rather than waiting for its poll.
func TestRunWakesOnNotify(t *testing.T) {
	pool := commercetest.NewDB(t)
	done := make(chan commerce.ID, 1)
	w := &outbox.Worker{Queue: queue, Outbox: outbox.NewService(pool), Pool: pool, Poll: time.Hour,
		Handle: func(_ context.Context, batch []commerce.ID) error { done <- batch[0]; return nil }}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go w.Run(ctx)
	time.Sleep(200 * time.Millisecond) // let it LISTEN
	agg := ids(1)
	enqueue(t, pool, agg...)
	select {
	case got := <-done:
		if got != agg[0] {
			t.Errorf("handled %v", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the worker did not wake on NOTIFY")
	}
}

// Notified hears the kind of each change: "" for Enqueue, the kind given to
// EnqueueKind; a notification for another queue is not heard at all.
func TestNotifiedHearsTheKind(t *testing.T) {
	pool := commercetest.NewDB(t)
	kinds := make(chan string, 10)
	w := &outbox.Worker{Queue: queue, Outbox: outbox.NewService(pool), Pool: pool, Poll: time.Hour,
		Handle:   func(context.Context, []commerce.ID) error { return nil },
		Notified: func(kind string) { kinds <- kind }}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go w.Run(ctx)
	time.Sleep(200 * time.Millisecond) // let it LISTEN

	for _, send := range []func(pgx.Tx) error{
		func(tx pgx.Tx) error {
			return outbox.EnqueueKind(t.Context(), tx, "other", outbox.StockOnly, ids(1)...)
		},
		func(tx pgx.Tx) error { return outbox.EnqueueKind(t.Context(), tx, queue, outbox.StockOnly, ids(1)...) },
		func(tx pgx.Tx) error { return outbox.Enqueue(t.Context(), tx, queue, ids(1)...) },
	} {
		if err := pgx.BeginFunc(t.Context(), pool, send); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{outbox.StockOnly, ""} {
		select {
		case got := <-kinds:
			if got != want {
				t.Fatalf("heard kind %q, want %q", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no notification of kind %q", want)
		}
	}
	select {
	case got := <-kinds:
		t.Fatalf("heard a third notification (%q): the other queue's", got)
	case <-time.After(100 * time.Millisecond):
	}
}
