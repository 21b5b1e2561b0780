package pricing

import (
	"fmt"
	"math/bits"
	"time"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/channel"
)

// Input is everything the engine looks at besides the offers: a cart-like
// list of lines at current prices, who is buying, where, with which codes,
// and when. Price never reads a clock or a database, so the same Input and
// offers always give the same Result.
type Input struct {
	Currency commerce.Currency
	// Channel is the kind of channel the request comes from. It matters
	// only to offers with an explicit channel restriction; empty (an admin
	// preview outside any channel) matches none of those.
	Channel  channel.Kind
	Customer Customer
	Lines    []Line
	// Codes are the coupon codes the shopper entered, in the order entered.
	Codes []string
	// Shipping is the shipping amount before offers; zero for pickup.
	Shipping commerce.Money
	// Now is the moment of pricing, compared with offers' date windows.
	Now time.Time
	// ExhaustedOffers lists offers whose total usage limit is reached and
	// ExhaustedForCustomer those this customer has used up; the database
	// knows, the engine only skips them with a reason.
	ExhaustedOffers      []commerce.ID
	ExhaustedForCustomer []commerce.ID
}

// Line is one cart line at its current catalogue price.
type Line struct {
	// ID is the cart line's id, echoed in the result.
	ID            commerce.ID
	VariantID     commerce.ID
	ProductID     commerce.ID
	CategoryIDs   []commerce.ID
	CollectionIDs []commerce.ID
	Quantity      int
	UnitPrice     commerce.Money
}

// Customer is what the engine knows of the buyer.
type Customer struct {
	// ID is zero for a guest.
	ID          commerce.ID
	Segments    []string
	LoyaltyTier string
}

// SignedIn reports whether the buyer is a known customer rather than a guest.
func (c Customer) SignedIn() bool { return c.ID != (commerce.ID{}) }

// Validate checks the input, returning an INVALID_INPUT *commerce.Error
// naming the first field at fault. Price calls it first.
func (in *Input) Validate() error {
	if c, err := commerce.ParseCurrency(string(in.Currency)); err != nil || c != in.Currency {
		return commerce.InvalidInput("currency", "unsupported currency %q", in.Currency)
	}
	if in.Channel != "" && !knownChannel(in.Channel) {
		return commerce.InvalidInput("channel", "unknown channel kind %q", in.Channel)
	}
	if in.Now.IsZero() {
		// A zero Now would silently switch every dated offer off (or on);
		// the caller must say what time it is.
		return commerce.InvalidInput("now", "the moment of pricing is required")
	}
	if len(in.Lines) > MaxLines {
		return commerce.InvalidInput("lines", "a cart has at most %d lines, got %d", MaxLines, len(in.Lines))
	}
	var subtotal int64
	for i := range in.Lines {
		l := &in.Lines[i]
		if l.Quantity < 0 || l.Quantity > MaxQuantity {
			return commerce.InvalidInput(fmt.Sprintf("lines[%d].quantity", i), "quantity must be between 0 and %d, got %d", MaxQuantity, l.Quantity)
		}
		if l.UnitPrice.Currency != in.Currency {
			return commerce.InvalidInput(fmt.Sprintf("lines[%d].unitPrice", i), "price in %q in a %s cart", l.UnitPrice.Currency, in.Currency)
		}
		if l.UnitPrice.Amount < 0 || l.UnitPrice.Amount > MaxAmount {
			return commerce.InvalidInput(fmt.Sprintf("lines[%d].unitPrice", i), "unit price must be between 0 and %d, got %d", MaxAmount, l.UnitPrice.Amount)
		}
		sub, ok := lineSubtotal(l)
		if !ok || sub > MaxAmount-subtotal {
			return commerce.InvalidInput(fmt.Sprintf("lines[%d].quantity", i), "the cart's subtotal would exceed %d", MaxAmount)
		}
		subtotal += sub
	}
	if in.Shipping.Amount != 0 || in.Shipping.Currency != "" {
		if in.Shipping.Currency != in.Currency {
			return commerce.InvalidInput("shipping", "shipping in %q in a %s cart", in.Shipping.Currency, in.Currency)
		}
		if in.Shipping.Amount < 0 || in.Shipping.Amount > MaxAmount {
			return commerce.InvalidInput("shipping", "shipping must be between 0 and %d, got %d", MaxAmount, in.Shipping.Amount)
		}
	}
	return nil
}

// lineSubtotal is unit price × quantity, with ok false past MaxAmount.
func lineSubtotal(l *Line) (int64, bool) {
	hi, lo := bits.Mul64(uint64(l.UnitPrice.Amount), uint64(l.Quantity))
	if hi != 0 || lo > uint64(MaxAmount) {
		return 0, false
	}
	return int64(lo), true
}
