package order

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/internal/db"
)

// Batch reads, for a list of orders (a customer's page of orders): one
// statement for all the orders instead of one per order.

// FindTransitionsByOrderIDs returns the recorded transitions of the orders
// ids, each order's oldest first, by order id (an order without any has no
// entry), in one statement.
//
// It checks no access: ids must be orders the caller was already allowed
// to read (through FindOrder, FindCustomerOrders or a staff read), as for
// FindTransitions.
func (s *Service) FindTransitionsByOrderIDs(ctx context.Context, ids []commerce.ID) (map[commerce.ID][]Transition, error) {
	ts, err := readTransitions(ctx, s.pool, ids)
	if err != nil {
		return nil, fmt.Errorf("order.FindTransitionsByOrderIDs: %w", err)
	}
	return ts, nil
}

// FindPaymentsByOrderIDs returns the payments of the orders ids, each
// order's oldest first, by order id (an order without any has no entry),
// in one statement.
//
// It checks no access: ids must be orders the caller was already allowed
// to read (through FindOrder, FindCustomerOrders or a staff read), as for
// FindPayments.
func (s *Service) FindPaymentsByOrderIDs(ctx context.Context, ids []commerce.ID) (map[commerce.ID][]Payment, error) {
	ps, err := readPayments(ctx, s.pool, ids)
	if err != nil {
		return nil, fmt.Errorf("order.FindPaymentsByOrderIDs: %w", err)
	}
	return ps, nil
}

// readTransitions reads the transitions of the orders ids, grouped by
// order, each group oldest first.
func readTransitions(ctx context.Context, q db.Querier, ids []commerce.ID) (map[commerce.ID][]Transition, error) {
	out := make(map[commerce.ID][]Transition, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, `SELECT order_id, id, field, from_state, to_state, actor_kind, actor_id, channel_id, reason, at
		FROM order_transitions WHERE order_id = ANY($1) ORDER BY order_id, id`, ids)
	if err != nil {
		return nil, err
	}
	var (
		orderID commerce.ID
		t       Transition
	)
	_, err = pgx.ForEachRow(rows, []any{&orderID, &t.ID, &t.Field, &t.From, &t.To, &t.Actor.Kind, &t.Actor.ID, &t.Actor.ChannelID,
		&t.Reason, &t.At}, func() error {
		out[orderID] = append(out[orderID], t)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// readPayments reads the payments of the orders ids, grouped by order,
// each group oldest first.
func readPayments(ctx context.Context, q db.Querier, ids []commerce.ID) (map[commerce.ID][]Payment, error) {
	out := make(map[commerce.ID][]Payment, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, `SELECT order_id, id, provider, intent_id, amount, received, refunded, currency_code, status, method,
			tender, reference, staff_id, created_at, updated_at
		FROM order_payments WHERE order_id = ANY($1) ORDER BY order_id, created_at, id`, ids)
	if err != nil {
		return nil, err
	}
	var (
		orderID                    commerce.ID
		p                          Payment
		amount, received, refunded int64
		cur                        string
	)
	_, err = pgx.ForEachRow(rows, []any{&orderID, &p.ID, &p.Provider, &p.IntentID, &amount, &received, &refunded, &cur, &p.Status,
		&p.Method, &p.Tender, &p.Reference, &p.StaffID, &p.CreatedAt, &p.UpdatedAt}, func() error {
		c := commerce.Currency(cur)
		p.Amount, p.Received, p.Refunded = commerce.Money{Amount: amount, Currency: c}, commerce.Money{Amount: received, Currency: c},
			commerce.Money{Amount: refunded, Currency: c}
		out[orderID] = append(out[orderID], p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
