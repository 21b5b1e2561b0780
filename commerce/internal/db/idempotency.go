package db

import (
	"context"
	"crypto/sha256"
	"encoding/json"

	"github.com/jackc/pgx/v5"

	"github.com/omnicanal/omnicanal/commerce"
)

// ClaimStaffKey records a staff idempotency key for a request, or finds the result of
// the request that used it first. A concurrent first use blocks here on the
// key's primary key until that request commits (then this one replays it)
// or rolls back (then this one goes ahead).
func ClaimStaffKey(ctx context.Context, tx pgx.Tx, staffID commerce.ID, key, operation string, request any) (replayed bool, resultID commerce.ID, err error) {
	body, err := json.Marshal(request)
	if err != nil {
		return false, commerce.ID{}, err
	}
	hash := sha256.Sum256(body)
	tag, err := tx.Exec(ctx, `INSERT INTO staff_idempotency_keys (staff_id, key, operation, request_hash)
		VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, staffID, key, operation, hash[:])
	if err != nil {
		return false, commerce.ID{}, err
	}
	if tag.RowsAffected() == 1 {
		_, err := tx.Exec(ctx, `DELETE FROM staff_idempotency_keys WHERE staff_id = $1 AND created_at < now() - interval '1 day'`, staffID)
		return false, commerce.ID{}, err
	}
	var (
		op     string
		stored []byte
		result *commerce.ID
	)
	if err := tx.QueryRow(ctx, `SELECT operation, request_hash, result_id FROM staff_idempotency_keys WHERE staff_id = $1 AND key = $2`,
		staffID, key).Scan(&op, &stored, &result); err != nil {
		return false, commerce.ID{}, err
	}
	if op != operation || string(stored) != string(hash[:]) || result == nil {
		return false, commerce.ID{}, &commerce.Error{Code: commerce.ErrConflict, Field: "idempotencyKey",
			Message: "this idempotency key was already used for a different request"}
	}
	return true, *result, nil
}

// SetStaffKeyResult records, in the transaction that claimed the key, the id
// of what the operation created, for the replays to return.
func SetStaffKeyResult(ctx context.Context, tx pgx.Tx, staffID commerce.ID, key string, resultID commerce.ID) error {
	_, err := tx.Exec(ctx, `UPDATE staff_idempotency_keys SET result_id = $3 WHERE staff_id = $1 AND key = $2`, staffID, key, resultID)
	return err
}
