package outbox

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/internal/db"
)

// EnqueuePayload records, inside the caller's transaction, one event about
// aggregateID for queue's consumer, carrying payload (marshalled to JSON):
// for events whose consumer needs more than the id, such as
// inventory.low_stock.
//
// Unlike Enqueue it sends no NOTIFY: these events (orders, returns, low
// stock) go to notifiers and integrations, for which a worker's poll (1 s
// by default) is soon enough, and a notifying transaction holds a
// database-wide lock through its commit's flush — every checkout wrote one
// (docs/performance.md, issue 5).
func EnqueuePayload(ctx context.Context, tx db.Querier, queue string, aggregateID commerce.ID, payload any) error {
	body, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("outbox.EnqueuePayload: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO outbox (queue, aggregate_id, payload) VALUES ($1, $2, $3)`, queue, aggregateID, body); err != nil {
		return fmt.Errorf("outbox.EnqueuePayload: %w", err)
	}
	return nil
}
