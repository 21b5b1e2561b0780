package db

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// InTx runs fn in a transaction, again (up to three times in all) when
// Postgres aborts it for a deadlock or a serialization failure: those
// depend on timing, not on the request, and a retry succeeds. Every
// exported service method that writes goes through it.
func InTx(ctx context.Context, pool *pgxpool.Pool, fn func(pgx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := pgx.BeginFunc(ctx, pool, fn)
		if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && attempt < 3 &&
			(pgErr.Code == "40001" || pgErr.Code == "40P01") {
			continue
		}
		return err
	}
}
