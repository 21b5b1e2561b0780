package cart

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pipelinedTx is db.InTx for a change that sends its whole transaction in
// one round trip (sendAdds with commit): the change and the read of the
// result, as one implicit transaction, where db.InTx takes one round trip
// for BEGIN alone and one for COMMIT. On a hot path the round trips cost
// more CPU than the statements (docs/performance.md, issue 4). This is
// only right for a change that writes all or nothing whatever it finds, so
// that committing without looking is safe: see addSQL. It runs on pool:
// the service's, or the add pool (see addsOn).
//
// fn must send one batch, without BEGIN or COMMIT. A serialization
// failure, a deadlock or a raced add (errAddRaced) is tried again, as is
// an add that found the cart moved between the statement's snapshot and
// its lock (errCartMoved) when retryMoved says so. A connection left in a
// transaction, or busy, by a failure is rolled back, or destroyed by the
// pool on release rather than reused.
func (s *Service) pipelinedTx(ctx context.Context, pool *pgxpool.Pool, retryMoved bool, fn func(*pgxpool.Conn) error) error {
	for attempt := 1; ; attempt++ {
		err := s.pipelinedOnce(ctx, pool, fn)
		if attempt < 3 {
			if retryMoved && errors.Is(err, errCartMoved) {
				continue
			}
			if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok &&
				(pgErr.Code == "40001" || pgErr.Code == "40P01" || pgErr.Code == errAddRaced) {
				continue
			}
		}
		return err
	}
}

func (s *Service) pipelinedOnce(ctx context.Context, pool *pgxpool.Pool, fn func(*pgxpool.Conn) error) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	err = fn(conn)
	if conn.Conn().PgConn().TxStatus() != 'I' {
		// Best effort: if it fails, Release destroys the connection.
		_, _ = conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
	}
	return err
}
