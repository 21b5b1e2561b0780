package outbox

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
)

// Handler does a queue's work for a set of aggregates. It must be
// idempotent: after a crash the same aggregates come again.
type Handler func(ctx context.Context, aggregateIDs []commerce.ID) error

// Worker drains one queue. Several workers, in one process or many, may
// drain the same queue: Claim keeps them off each other's aggregates.
type Worker struct {
	Queue   string
	Handle  Handler
	Outbox  *Service
	Pool    *pgxpool.Pool // for LISTEN; nil means poll only
	Logger  *slog.Logger
	Batch   int           // aggregates per batch (default 100)
	Lease   time.Duration // how long a claim holds (default 2 min); keep the handler well under it
	Poll    time.Duration // how often to look without a notification (default 1 s)
	Timeout time.Duration // limit of one Handle call (default 1 min)
	// Notified, when set, is called on every notification for Queue: a
	// change for this queue has just committed somewhere (any instance),
	// of the kind given to EnqueueKind ("" for Enqueue). Caches of what the
	// change affects hook in here.
	Notified func(kind string)
}

func (w *Worker) defaults() {
	if w.Batch <= 0 {
		w.Batch = 100
	}
	if w.Lease <= 0 {
		w.Lease = 2 * time.Minute
	}
	if w.Poll <= 0 {
		w.Poll = time.Second
	}
	if w.Timeout <= 0 {
		w.Timeout = time.Minute
	}
	if w.Logger == nil {
		w.Logger = slog.New(slog.DiscardHandler)
	}
}

// Run drains the queue until ctx ends.
func (w *Worker) Run(ctx context.Context) error {
	w.defaults()
	wake := make(chan struct{}, 1)
	if w.Pool != nil {
		go w.listen(ctx, wake)
	}
	for {
		n, err := w.RunOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			w.Logger.Error("outbox: batch failed", "queue", w.Queue, "err", err)
		}
		if n > 0 && err == nil {
			continue // there may be more right away
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-time.After(w.Poll):
		}
	}
}

// RunOnce claims and handles one batch and returns how many aggregates it
// held. A handler error releases the batch for a retry with backoff.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	w.defaults()
	b, err := w.Outbox.Claim(ctx, w.Queue, w.Batch, w.Lease)
	if err != nil || len(b.AggregateIDs) == 0 {
		return 0, err
	}
	hctx, cancel := context.WithTimeout(ctx, w.Timeout)
	herr := w.Handle(hctx, b.AggregateIDs)
	cancel()
	// Settle even when ctx is ending: the work is done (or failed) either
	// way, and a lapsed lease would only redo it.
	settle := context.WithoutCancel(ctx)
	if herr != nil {
		if err := w.Outbox.Fail(settle, b, herr); err != nil {
			return len(b.AggregateIDs), errors.Join(herr, err)
		}
		return len(b.AggregateIDs), herr
	}
	return len(b.AggregateIDs), w.Outbox.Complete(settle, b)
}

// listen turns NOTIFYs on the outbox channel into wake-ups, reconnecting
// after a lost connection. Polling covers any notification missed meanwhile.
func (w *Worker) listen(ctx context.Context, wake chan<- struct{}) {
	for ctx.Err() == nil {
		conn, err := w.Pool.Acquire(ctx)
		if err != nil {
			time.Sleep(w.Poll)
			continue
		}
		if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err == nil {
			for {
				n, err := conn.Conn().WaitForNotification(ctx)
				if err != nil {
					break
				}
				queue, kind, _ := strings.Cut(n.Payload, ":")
				if queue == w.Queue {
					if w.Notified != nil {
						w.Notified(kind)
					}
					select {
					case wake <- struct{}{}:
					default:
					}
				}
			}
		}
		// The connection may still be listening: close it rather than
		// return it to the pool.
		conn.Hijack().Close(context.Background())
	}
}
