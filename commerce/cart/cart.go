package cart

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/catalog"
	"github.com/omnicanal/omnicanal/commerce/channel"
	"github.com/omnicanal/omnicanal/commerce/location"
	"github.com/omnicanal/omnicanal/commerce/pricing"
)

// Status is a cart's lifecycle state. Only active carts change.
type Status string

const (
	Active Status = "active"
	// Converted: checkout turned the cart into an order.
	Converted Status = "converted"
	// Merged: the cart was merged into its customer's cart at sign-in.
	Merged Status = "merged"
	// Abandoned: left alone long enough for the abandoned-cart job.
	Abandoned Status = "abandoned"
)

// Bounds of one cart and of one request.
const (
	// MaxLines bounds the lines of a cart (see the package doc).
	MaxLines = 250
	// MaxQuantity bounds the quantity of one line.
	MaxQuantity = 9999
	// maxLinesPerRequest bounds the lines one mutation names.
	maxLinesPerRequest = 100
	// maxCodes bounds the discount codes of a cart, maxCodeLen one code
	// (the pricing engine's own limit).
	maxCodes   = 10
	maxCodeLen = 64
	// Idempotency keys: long enough to be unguessable when random (a UUID
	// is 36 characters), short enough to index.
	minKeyLen, maxKeyLen = 16, 200
)

// Cart is a cart as a shopper sees it: its lines, and its cost priced now.
type Cart struct {
	ID commerce.ID
	// Version grows by one with every change.
	Version  int
	Status   Status
	Currency commerce.Currency
	// CustomerID is the owner; nil for a guest cart.
	CustomerID       *commerce.ID
	PickupLocationID *commerce.ID
	CreatedChannelID commerce.ID
	// MergedIntoID is, for a merged cart, the customer's cart its lines
	// went to at sign-in.
	MergedIntoID *commerce.ID
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// Lines in the order they were first added.
	Lines []Line
	// Cost is the cart priced on read: totals, order-level adjustments
	// with their explanations, and every offer skipped with its reason.
	// Its Lines hold only the lines that could be priced; see Line.Cost.
	Cost pricing.Result
	// DiscountCodes are the codes entered, in order, with their outcome.
	DiscountCodes []DiscountCode

	codes []string // as stored
}

// Line is one line of a cart.
type Line struct {
	ID       commerce.ID
	Quantity int
	Variant  catalog.Variant
	// Product is the variant's product, whatever its status and publication
	// now: a line shows what the shopper put in the cart.
	Product catalog.Product
	// AddedBy is the channel that added the line.
	AddedBy   channel.Channel
	CreatedAt time.Time
	UpdatedAt time.Time
	// Price is the variant's current price in the cart's currency; nil
	// when it has none (the line is then left out of the totals).
	Price *catalog.Price
	// Cost is the line priced; nil when Price is.
	Cost *pricing.LineResult
	// Adjustments explain the line's discount: the line-level offers, then
	// its shares of the order-level ones (each with that offer's
	// explanation and the share as amount), so that Cost.Total is
	// Cost.Subtotal minus the sum of the amounts.
	Adjustments []pricing.Adjustment

	categoryIDs   []commerce.ID
	collectionIDs []commerce.ID
}

// DiscountCode is the outcome of one entered code.
type DiscountCode struct {
	Code       string
	Applicable bool
	// Reason is a stable reason code (pricing.Reason) and Message the
	// sentence every channel shows; both nil when the code applies.
	Reason  *string
	Message *string
}

// LineInput adds Quantity units of a variant.
type LineInput struct {
	VariantID commerce.ID
	Quantity  int
}

// LineUpdate sets a line's quantity; 0 removes it.
type LineUpdate struct {
	ID       commerce.ID
	Quantity int
}

// CreateInput is a new cart.
type CreateInput struct {
	// IdempotencyKey makes a retry return the first call's cart. Optional;
	// 16 to 200 characters. For a guest it is a secret: generate it at
	// random (a UUID v4, or 128 bits or more in base64url) and do not log it.
	IdempotencyKey string
	Lines          []LineInput
}

// Offers gives the offers a cart is priced with. The offers store
// implements it; a nil Offers prices every cart without offers.
type Offers interface {
	// ActiveOffers returns the offers that may apply in currency cur at
	// now. Returning more (offers of other currencies or outside their
	// dates) is harmless: the engine skips them with a reason.
	ActiveOffers(ctx context.Context, cur commerce.Currency, now time.Time) ([]pricing.Offer, error)
}

// UsageLimits may also be implemented by an Offers: among the offers, it
// tells those whose total usage limit is reached and those the customer
// (zero for a guest) has used up. Without it no offer counts as used up.
type UsageLimits interface {
	Exhausted(ctx context.Context, offers []pricing.Offer, customerID commerce.ID) (total, forCustomer []commerce.ID, err error)
}

// StockError is an OUT_OF_STOCK refusal of one line: the quantity the line
// would have, what is available where the rule looks (the pickup store, or
// online), and the nearest stores that have the quantity.
type StockError struct {
	// Field is the input element at fault, e.g. "lines[1].quantity".
	Field     string
	VariantID commerce.ID
	SKU       string
	Requested int
	Available int
	// Store is the pickup store the stock was looked at; nil for online.
	Store *location.Location
	// Stores are the nearest stores with the requested quantity, at most
	// five: nearest to the pickup store or to the channel's store, with
	// their distance, or by name without either.
	Stores []StoreStock

	// Set when the error is made, used to look the stores up after the
	// transaction: where distances are measured from, and the store to
	// leave out (the one that lacks the stock).
	origin, pickup *commerce.ID
}

// StoreStock is a store that has enough of a variant.
type StoreStock struct {
	Store     location.Location
	Available int
}

// Message is the sentence shown to the shopper.
func (e *StockError) Message() string {
	where := "online"
	if e.Store != nil {
		where = "at " + e.Store.Name
	}
	msg := fmt.Sprintf("only %d of %s available %s, %d wanted", e.Available, e.SKU, where, e.Requested)
	if len(e.Stores) > 0 {
		names := make([]string, len(e.Stores))
		for i, s := range e.Stores {
			names[i] = s.Store.Name
		}
		msg += "; in stock at " + strings.Join(names, ", ")
	}
	return msg
}

func (e *StockError) Error() string {
	return commerce.ErrOutOfStock + ": " + e.Message() + " (" + e.Field + ")"
}

// Unwrap makes the error an OUT_OF_STOCK *commerce.Error for
// commerce.ErrorCode and the GraphQL error presenter.
func (e *StockError) Unwrap() error {
	return &commerce.Error{Code: commerce.ErrOutOfStock, Field: e.Field, Message: e.Message()}
}
