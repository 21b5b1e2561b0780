package returns

import (
	"context"
	"fmt"

	"github.com/omnicanal/omnicanal/commerce"
)

// FindReturnsByOrderIDs returns the returns of the orders ids (each with
// its OrderID), each order's oldest first, with their lines: two
// statements for all the orders instead of two per order.
//
// It checks no access: ids must be orders the caller was already allowed
// to read (through order.Service.FindOrder, FindCustomerOrders or a staff
// read), as for FindReturnsByOrderID.
func (s *Service) FindReturnsByOrderIDs(ctx context.Context, ids []commerce.ID) ([]*Return, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rs, err := readReturns(ctx, s.pool, `r.order_id = ANY($1)`, false, ids)
	if err != nil {
		return nil, fmt.Errorf("returns.FindReturnsByOrderIDs: %w", err)
	}
	return rs, nil
}
