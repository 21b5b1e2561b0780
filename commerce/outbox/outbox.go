// Package outbox is the transactional outbox: a change and the work it
// implies for another part of the system are written in one transaction,
// then workers drain the outbox and retry until the work is done.
//
// Guarantees: at least once (a row is deleted only after its handler
// succeeded; a worker that dies lets its lease lapse and another takes the
// row), and one batch per aggregate at a time (two workers never handle rows
// of the same product concurrently, so an older state can never be pushed
// after a newer one).
package outbox

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/internal/db"
)

// Queues.
const (
	// Search holds product ids whose search document must be rebuilt.
	Search = "search"
)

// notifyChannel is the Postgres NOTIFY channel that wakes workers when rows
// are written, so that they need not poll fast.
const notifyChannel = "outbox"

// Enqueue records, inside the caller's transaction, that the aggregates
// changed and that queue's consumer has work to do for them.
func Enqueue(ctx context.Context, tx db.Querier, queue string, aggregateIDs ...commerce.ID) error {
	return EnqueueKind(ctx, tx, queue, "", aggregateIDs...)
}

// StockOnly is the kind of a search update that a stock change alone made
// (a variant ran out at a store, or came back): the caches of catalog data
// that hold no stock need not be purged for it (Worker.Notified).
const StockOnly = "stock"

// EnqueueKind is Enqueue for a change of a kind the queue's listeners may
// tell apart (see Worker.Notified); "" is Enqueue's.
func EnqueueKind(ctx context.Context, tx db.Querier, queue, kind string, aggregateIDs ...commerce.ID) error {
	if len(aggregateIDs) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO outbox (queue, aggregate_id) SELECT $1, unnest($2::uuid[])`, queue, aggregateIDs); err != nil {
		return fmt.Errorf("outbox.Enqueue: %w", err)
	}
	payload := queue
	if kind != "" {
		payload += ":" + kind
	}
	// Delivered at commit, and only then: a rolled-back change wakes no one.
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, notifyChannel, payload); err != nil {
		return fmt.Errorf("outbox.Enqueue: %w", err)
	}
	return nil
}

// Service claims and settles outbox rows.
type Service struct {
	pool *pgxpool.Pool
}

// NewService returns an outbox service over pool.
func NewService(pool *pgxpool.Pool) *Service { return &Service{pool: pool} }

// Batch is the work a worker leased: the distinct aggregates and the rows
// that named them.
type Batch struct {
	Queue        string
	AggregateIDs []commerce.ID
	rowIDs       []int64
	maxAttempts  int
}

// Claim leases the ready rows of up to limit aggregates of queue that no
// other worker holds. Claims are serialized per queue by a transaction
// advisory lock: they take milliseconds, and without it two workers could
// each lock a different row of the same aggregate.
func (s *Service) Claim(ctx context.Context, queue string, limit int, lease time.Duration) (Batch, error) {
	b := Batch{Queue: queue}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, queueLock(queue)); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `
			WITH picked AS (
				SELECT o.aggregate_id FROM outbox o
				WHERE o.queue = $1 AND o.run_at <= now()
				  AND (o.claimed_until IS NULL OR o.claimed_until < now())
				  AND NOT EXISTS (SELECT 1 FROM outbox busy WHERE busy.queue = $1
					AND busy.aggregate_id = o.aggregate_id AND busy.claimed_until >= now())
				GROUP BY o.aggregate_id
				ORDER BY min(o.id)
				LIMIT $2)
			UPDATE outbox o SET claimed_until = now() + $3::interval, attempts = o.attempts + 1
			FROM picked
			WHERE o.queue = $1 AND o.aggregate_id = picked.aggregate_id
			RETURNING o.id, o.aggregate_id, o.attempts`, queue, limit, lease)
		if err != nil {
			return err
		}
		var (
			id       int64
			agg      commerce.ID
			attempts int
			seen     = map[commerce.ID]bool{}
		)
		_, err = pgx.ForEachRow(rows, []any{&id, &agg, &attempts}, func() error {
			b.rowIDs = append(b.rowIDs, id)
			b.maxAttempts = max(b.maxAttempts, attempts)
			if !seen[agg] {
				seen[agg] = true
				b.AggregateIDs = append(b.AggregateIDs, agg)
			}
			return nil
		})
		return err
	})
	if err != nil {
		return Batch{}, fmt.Errorf("outbox.Claim: %w", err)
	}
	return b, nil
}

// Complete deletes the batch's rows: their work is done. Rows written for
// the same aggregates after the claim are untouched and will run again.
func (s *Service) Complete(ctx context.Context, b Batch) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM outbox WHERE id = ANY($1)`, b.rowIDs); err != nil {
		return fmt.Errorf("outbox.Complete: %w", err)
	}
	return nil
}

// Fail releases the batch's rows for a retry after a backoff that grows
// with the attempts, and keeps the error for operators.
func (s *Service) Fail(ctx context.Context, b Batch, cause error) error {
	_, err := s.pool.Exec(ctx, `UPDATE outbox SET claimed_until = NULL, run_at = now() + $2::interval, last_error = $3
		WHERE id = ANY($1)`, b.rowIDs, Backoff(b.maxAttempts), cause.Error())
	if err != nil {
		return fmt.Errorf("outbox.Fail: %w", err)
	}
	return nil
}

// Backoff is the wait before attempt n+1: 1 s, 2 s, 4 s … capped at 5 min.
func Backoff(attempts int) time.Duration {
	d := time.Second << min(max(attempts-1, 0), 9)
	return min(d, 5*time.Minute)
}

// Pending counts the rows of queue not yet done, for tests and readiness.
func (s *Service) Pending(ctx context.Context, queue string) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE queue = $1`, queue).Scan(&n); err != nil {
		return 0, fmt.Errorf("outbox.Pending: %w", err)
	}
	return n, nil
}

func queueLock(queue string) int64 {
	h := fnv.New64a()
	h.Write([]byte("outbox:" + queue))
	return int64(h.Sum64())
}
