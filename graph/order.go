package graph

import (
	"errors"
	"strings"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/order"
	"github.com/omnicanal/omnicanal/graph/model"
)

// Conversions for the order API (order.resolvers.go).

// orderUserErrors turns what a client can act on into userErrors (every
// *commerce.Error and the OUT_OF_STOCK *order.StockError with its stores);
// anything else stays a top-level error ("internal error" to the client).
// Fields are prefixed with input unless they are one of args.
func orderUserErrors(err error, input string, args ...string) ([]model.OrderUserError, error) {
	if err == nil {
		return []model.OrderUserError{}, nil
	}
	if se, ok := errors.AsType[*order.StockError](err); ok {
		return []model.OrderUserError{{Field: orderField(se.Field, input, args), Message: se.Message(),
			Code: commerce.ErrOutOfStock, Stores: se.Stores}}, nil
	}
	if ce, ok := errors.AsType[*commerce.Error](err); ok && ce.Code != commerce.ErrInternal {
		return []model.OrderUserError{{Field: orderField(ce.Field, input, args), Message: ce.Message, Code: ce.Code}}, nil
	}
	return nil, err
}

// orderField is the GraphQL path of a service field name.
func orderField(field, input string, args []string) []string {
	field = strings.Replace(field, "fulfillment.pickup.locationId", "fulfillment.pickup.storeId", 1)
	return fieldPath(field, input, args)
}

func checkoutInput(in model.CartCheckoutInput) order.CheckoutInput {
	out := order.CheckoutInput{CartID: in.CartID, Token: str(in.Token), Email: str(in.Email), IdempotencyKey: str(in.IdempotencyKey)}
	if f := in.Fulfillment; f != nil {
		if f.Pickup != nil {
			out.Fulfillment.Pickup = &order.PickupInput{LocationID: f.Pickup.StoreID}
		}
		if f.Shipping != nil {
			s := &order.ShippingInput{FromLocationID: f.Shipping.FromLocationID}
			if a := f.Shipping.Address; a != nil {
				s.Address = order.Address{Name: a.Name, Line1: a.Line1, Line2: str(a.Line2), City: a.City, PostalCode: a.PostalCode,
					Region: str(a.Region), CountryCode: a.CountryCode, Phone: str(a.Phone)}
				if a.Coordinates != nil {
					lat, lng := a.Coordinates.Lat, a.Coordinates.Lng
					s.Address.Lat, s.Address.Lng = &lat, &lng
				}
			}
			out.Fulfillment.Shipping = s
		}
	}
	if p := in.Payment; p != nil {
		out.Payment = order.PaymentInput{Method: p.Method, Reference: str(p.Reference)}
		if p.Tender != nil {
			out.Payment.Tender = *p.Tender
		}
	}
	return out
}

// orderConnection wraps a page of orders.
func orderConnection(p *order.OrderPage) *model.OrderConnection {
	c := &model.OrderConnection{Edges: make([]model.OrderEdge, len(p.Orders)), Nodes: make([]order.Order, len(p.Orders)),
		PageInfo: &model.PageInfo{HasNextPage: p.HasNextPage}}
	for i, o := range p.Orders {
		c.Nodes[i] = *o
		c.Edges[i] = model.OrderEdge{Cursor: p.Cursors[i], Node: o}
	}
	if n := len(p.Orders); n > 0 {
		start, end := p.Cursors[0], p.Cursors[n-1]
		c.PageInfo.StartCursor, c.PageInfo.EndCursor = &start, &end
	}
	return c
}
