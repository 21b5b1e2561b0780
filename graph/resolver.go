// Package graph is the public GraphQL API: the schema in schema/, thin
// resolvers that convert input, call one service method and return, and the
// HTTP plumbing (transport, limits, errors, channel resolution).
package graph

//go:generate env GODEBUG=gotypesalias=0 go tool gqlgen generate

import (
	"github.com/omnicanal/omnicanal/commerce/cart"
	"github.com/omnicanal/omnicanal/commerce/catalog"
	"github.com/omnicanal/omnicanal/commerce/channel"
	"github.com/omnicanal/omnicanal/commerce/customer"
	"github.com/omnicanal/omnicanal/commerce/inventory"
	"github.com/omnicanal/omnicanal/commerce/location"
	"github.com/omnicanal/omnicanal/commerce/offer"
	"github.com/omnicanal/omnicanal/commerce/order"
	"github.com/omnicanal/omnicanal/commerce/pickup"
	"github.com/omnicanal/omnicanal/commerce/returns"
	"github.com/omnicanal/omnicanal/commerce/staff"
	"github.com/omnicanal/omnicanal/search"
)

// Services are the domain services the API calls.
type Services struct {
	Channels     *channel.Service
	Locations    *location.Service
	Catalog      *catalog.Service
	Inventory    *inventory.Service
	SearchEngine search.Engine
	// Customers signs shoppers up and in; nil refuses customer tokens.
	Customers *customer.Service
	// Offers stores offers and coupon codes (staff writes and listing).
	Offers *offer.Service
	// Carts are the shared carts, priced with Offers.
	Carts *cart.Service
	// Orders checks carts out and follows orders; nil refuses checkout.
	Orders *order.Service
	// Returns takes orders' units back into stores; nil refuses returns.
	Returns *returns.Service
	// Pickup runs the stores' pickup desks; nil refuses them.
	Pickup *pickup.Service
}

// Resolver is the root resolver; it holds no request state (that lives in
// the per-request loaders), so one instance serves every request.
type Resolver struct {
	Services
	// staff signs staff in and out (Options.Staff); nil refuses that.
	staff *staff.Service
}
