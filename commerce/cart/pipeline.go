package cart

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pipelinedTx is db.InTx for a change that begins its transaction itself,
// in the batch that makes the change (addLines with readBack): BEGIN, the
// change and the read of the result go to Postgres in one round trip, and
// COMMIT (or ROLLBACK) in a second, where db.InTx takes one round trip for
// BEGIN alone. On a hot path the round trip cost more CPU than BEGIN itself
// (docs/performance.md, issue 4).
//
// fn must send BEGIN first. When fn fails, the transaction is rolled back;
// a serialization failure or deadlock is retried, as db.InTx does. A
// connection left in a transaction, or busy, by a failure is destroyed by
// the pool on release rather than reused.
func (s *Service) pipelinedTx(ctx context.Context, fn func(*pgxpool.Conn) error) error {
	for attempt := 1; ; attempt++ {
		err := s.pipelinedOnce(ctx, fn)
		if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && attempt < 3 &&
			(pgErr.Code == "40001" || pgErr.Code == "40P01") {
			continue
		}
		return err
	}
}

func (s *Service) pipelinedOnce(ctx context.Context, fn func(*pgxpool.Conn) error) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if err := fn(conn); err != nil {
		if conn.Conn().PgConn().TxStatus() != 'I' {
			// Best effort: if it fails, Release destroys the connection.
			_, _ = conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		}
		return err
	}
	tag, err := conn.Exec(ctx, "COMMIT")
	if err != nil {
		return err
	}
	// COMMIT of a transaction that failed is a rollback, without an error.
	if tag.String() != "COMMIT" {
		return fmt.Errorf("cart: the transaction was rolled back at commit (%s)", tag)
	}
	return nil
}
