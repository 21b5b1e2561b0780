package graph

import (
	"context"

	"github.com/omnicanal/omnicanal/commerce/order"
	"github.com/omnicanal/omnicanal/graph/model"
)

// Conversions for shipping (shipping.resolvers.go).

// shipmentPayload wraps a shipping move's result; args are the mutation's
// argument names.
func shipmentPayload(o *order.Order, err error, args ...string) (*model.OrderShipmentPayload, error) {
	errs, err := orderUserErrors(err, "", args...)
	if err != nil {
		return nil, err
	}
	return &model.OrderShipmentPayload{Order: o, UserErrors: errs}, nil
}

// shipmentOf is the shipment of an order already reached, read with the
// order (no query of its own); nil before it ships.
func (r *Resolver) shipmentOf(_ context.Context, o *order.Order) (*order.Shipment, error) {
	return o.Shipment, nil
}
