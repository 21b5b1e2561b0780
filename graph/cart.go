package graph

import (
	"context"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/cart"
	"github.com/omnicanal/omnicanal/commerce/channel"
	"github.com/omnicanal/omnicanal/graph/model"
)

// Conversions for the cart API (cart.resolvers.go): GraphQL inputs to cart
// inputs, refusals to userErrors.

// cartUserErrors splits a cart mutation's error like userErrors does for
// the catalog: what the client can act on (INVALID_INPUT, NOT_FOUND,
// CONFLICT, OUT_OF_STOCK with its stores) becomes userErrors, anything else
// stays a top-level error. Fields are named after the arguments, prefixed
// with input's name except for those in args.
func cartUserErrors(err error, input string, args ...string) ([]model.CartUserError, error) {
	if err == nil {
		return []model.CartUserError{}, nil
	}
	errs := cart.UserErrors(err)
	if errs == nil {
		return nil, err
	}
	out := make([]model.CartUserError, 0, len(errs))
	for _, e := range errs {
		switch e := e.(type) {
		case *cart.StockError:
			ue := model.CartUserError{Field: fieldPath(e.Field, input, args), Message: e.Message(),
				Code: commerce.ErrOutOfStock, Stores: make([]model.StoreAvailability, len(e.Stores))}
			for i := range e.Stores {
				ue.Stores[i] = model.StoreAvailability{Store: &e.Stores[i].Store, QuantityAvailable: e.Stores[i].Available}
			}
			out = append(out, ue)
		case *commerce.Error:
			out = append(out, model.CartUserError{Field: fieldPath(e.Field, input, args), Message: e.Message, Code: e.Code})
		}
	}
	return out, nil
}

// Where the web package serves the kiosk page and the QR images of handoff
// codes (web.Static's kiosk/index.html and web.HandoffQR, mounted by
// cmd/omnicanal). Paths, not URLs: the API does not know the address its
// clients reach it by (a load balancer's), and they resolve a path against
// the one they used.
const (
	KioskPath     = "/kiosk/"
	HandoffQRPath = "/kiosk/qr.svg"
)

// customerCart turns "no active cart" into null: a signed-in customer
// without a cart is a normal state (cartCreate makes one), not an error.
func customerCart(c *cart.Cart, err error) (*cart.Cart, error) {
	if commerce.ErrorCode(err) == commerce.ErrNotFound {
		return nil, nil
	}
	return c, err
}

func cartLines(in []model.CartLineInput) []cart.LineInput {
	out := make([]cart.LineInput, len(in))
	for i, l := range in {
		out[i] = cart.LineInput{VariantID: l.MerchandiseID, Quantity: 1}
		if l.Quantity != nil {
			out[i].Quantity = *l.Quantity
		}
	}
	return out
}

func cartLineUpdates(in []model.CartLineUpdateInput) []cart.LineUpdate {
	out := make([]cart.LineUpdate, len(in))
	for i, l := range in {
		out[i] = cart.LineUpdate{ID: l.ID, Quantity: l.Quantity}
	}
	return out
}

func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// primeLine hands the operation's loaders what the cart read already holds
// for a line, so that merchandise { product price } costs no query. The
// product is primed whatever its publication on the request's channel: a
// line added on the web shows its product at the kiosk too, where the
// channel-filtered loader would find nothing (and null would break the
// non-null ProductVariant.product). The price is primed only when the
// channel's currency is the cart's, as the loader's prices are the
// channel's (a line without a price in the cart's currency is left to the
// loader).
func primeLine(ctx context.Context, l *cart.Line) {
	ld := loadersFrom(ctx)
	ld.productByID().Prime(l.Product.ID, &l.Product)
	if ch := channel.FromContext(ctx); ch != nil && l.Price != nil && l.Price.Price.Currency == ch.Currency {
		ld.priceByVariant().Prime(l.Variant.ID, l.Price)
	}
}
