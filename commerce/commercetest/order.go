package commercetest

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
)

// Execer is what a pool and a transaction have in common for EnsureOrder.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// EnsureOrder writes, if there is none, a minimal order with this id placed
// for pickup at locationID: what tests of stock reservations need for the
// reservations' foreign key to orders without going through a checkout.
// Call it in the transaction that reserves (the key is checked at commit)
// or before. It records the order on any channel, making a test channel in
// a database without one.
func EnsureOrder(ctx context.Context, q Execer, orderID, locationID uuid.UUID) error {
	ch := uuid.New()
	_, err := q.Exec(ctx, `WITH ch AS (
			INSERT INTO channels (id, kind, name, currency_code, publishable_key)
			SELECT $3, 'web', 'Test channel', 'EUR', $4 WHERE NOT EXISTS (SELECT 1 FROM channels)
			RETURNING id)
		INSERT INTO orders (id, channel_id, status, payment_status, payment_method, fulfillment, location_id, currency_code,
			subtotal, discount, tax, total)
		SELECT $1, coalesce((SELECT id FROM ch), (SELECT id FROM channels ORDER BY id LIMIT 1)), 'placed', 'unpaid', 'at_pickup',
			'pickup', $2, 'EUR', 0, 0, 0, 0
		ON CONFLICT (id) DO NOTHING`, orderID, locationID, ch, "pk_test_"+ch.String())
	return err
}
