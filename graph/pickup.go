package graph

import (
	"context"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/order"
	"github.com/omnicanal/omnicanal/commerce/pickup"
	"github.com/omnicanal/omnicanal/graph/model"
)

// Conversions for the pickup desk (pickup.resolvers.go).

// PickupQRPath serves the QR image of a pickup code (web.PickupQRPath;
// graph does not import web).
const PickupQRPath = "/pickup/qr.svg"

// pickupService is the pickup desk, or an error when the server runs
// without one.
func (r *Resolver) pickupService() (*pickup.Service, error) {
	if r.Pickup == nil {
		return nil, commerce.Errorf(commerce.ErrForbidden, "the pickup desk is not available on this server")
	}
	return r.Pickup, nil
}

// pickupPayload wraps an order move's result; args are the mutation's
// argument names (userErrors fields are not prefixed with an input).
func pickupPayload(o *order.Order, err error, args ...string) (*model.PickupOrderPayload, error) {
	errs, err := orderUserErrors(err, "", args...)
	if err != nil {
		return nil, err
	}
	return &model.PickupOrderPayload{Order: o, UserErrors: errs}, nil
}

func pickupPaymentOf(in *model.PickupPaymentInput) *pickup.Payment {
	if in == nil {
		return nil
	}
	return &pickup.Payment{Tender: in.Tender, Reference: str(in.Reference)}
}

func (r *Resolver) pickupMove(ctx context.Context, move func(*pickup.Service) (*order.Order, error), args ...string) (*model.PickupOrderPayload, error) {
	svc, err := r.pickupService()
	if err != nil {
		return pickupPayload(nil, err, args...)
	}
	o, err := move(svc)
	return pickupPayload(o, err, args...)
}
