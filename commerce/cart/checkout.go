package cart

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/pricing"
)

// What checkout (package order) needs from carts: the cart locked, read and
// priced by the same path as every cart read, inside the checkout's
// transaction, and the cart marked converted in it.
//
// Pricing needs the active offers and their usage, which the offers store
// reads through its own pool. A transaction must not wait for a second
// connection (a burst of checkouts holding every connection would wait
// for ever), so CheckoutPricing reads them before the transaction and
// LockForCheckoutTx prices with them.

// CheckoutPricing is what pricing a cart at checkout needs besides the cart:
// the offers active now and those used up, for the cart's buyer.
type CheckoutPricing struct {
	now                    time.Time
	customer               *commerce.ID
	offers                 []pricing.Offer
	exhausted, exhaustedMe []commerce.ID
}

// PrepareCheckout reads, outside any transaction, the offers and usage
// limits the cart id will be priced with. It checks no access: it reveals
// nothing, and LockForCheckoutTx checks.
func (s *Service) PrepareCheckout(ctx context.Context, id commerce.ID) (*CheckoutPricing, error) {
	p := &CheckoutPricing{now: s.now()}
	var cur string
	err := s.pool.QueryRow(ctx, `SELECT currency_code, customer_id FROM carts WHERE id = $1`, id).Scan(&cur, &p.customer)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, nil // LockForCheckoutTx says NOT_FOUND
	}
	if err != nil {
		return nil, fmt.Errorf("cart.PrepareCheckout: %w", err)
	}
	if s.offers == nil {
		return p, nil
	}
	if p.offers, err = s.offers.ActiveOffers(ctx, commerce.Currency(cur), p.now); err != nil {
		return nil, fmt.Errorf("cart.PrepareCheckout: active offers: %w", err)
	}
	if limits, ok := s.offers.(UsageLimits); ok && len(p.offers) > 0 {
		var me commerce.ID
		if p.customer != nil {
			me = *p.customer
		}
		if p.exhausted, p.exhaustedMe, err = limits.Exhausted(ctx, p.offers, me); err != nil {
			return nil, fmt.Errorf("cart.PrepareCheckout: offer usage: %w", err)
		}
	}
	return p, nil
}

// prefetched is an Offers (and UsageLimits) answering from a CheckoutPricing.
type prefetched struct{ p *CheckoutPricing }

func (f prefetched) ActiveOffers(context.Context, commerce.Currency, time.Time) ([]pricing.Offer, error) {
	return f.p.offers, nil
}

func (f prefetched) Exhausted(context.Context, []pricing.Offer, commerce.ID) ([]commerce.ID, []commerce.ID, error) {
	return f.p.exhausted, f.p.exhaustedMe, nil
}

// LockForCheckoutTx locks the cart id's row in tx (FOR NO KEY UPDATE:
// concurrent checkouts and changes of one cart queue here, while foreign
// key checks of rows that reference the cart, such as its order, do not) if the request may reach it with token
// (see the package doc), then reads it and prices it with p, exactly as a
// cart read does. The cart is returned in whatever status it has; the
// caller checks it. A cart the request may not reach is NOT_FOUND
// (field cartId). When the cart changed owner since PrepareCheckout, the
// usage limits read are someone else's: CONFLICT, try again.
func (s *Service) LockForCheckoutTx(ctx context.Context, tx pgx.Tx, id commerce.ID, token string, p *CheckoutPricing) (*Cart, error) {
	acc := accessFor(ctx, token)
	var customer *commerce.ID
	err := tx.QueryRow(ctx, `SELECT c.customer_id FROM carts c WHERE `+reach+` FOR NO KEY UPDATE OF c`, acc.args(id)).Scan(&customer)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, &commerce.Error{Code: commerce.ErrNotFound, Field: "cartId", Message: "cart not found"}
	}
	if err != nil {
		return nil, fmt.Errorf("cart.LockForCheckoutTx: %w", err)
	}
	if (customer == nil) != (p.customer == nil) || (customer != nil && *customer != *p.customer) {
		return nil, &commerce.Error{Code: commerce.ErrConflict, Field: "cartId", Message: "the cart changed owner at the same time; try again"}
	}
	c, err := read(ctx, tx, acc, id)
	if err != nil {
		return nil, fmt.Errorf("cart.LockForCheckoutTx: %w", err)
	}
	// The catalog side of the lines (SKU, titles, categories and
	// collections, which offers' conditions test): without it the order
	// would freeze empty names and miss offers the cart showed.
	if err := s.complete(ctx, tx, c); err != nil {
		return nil, fmt.Errorf("cart.LockForCheckoutTx: %w", err)
	}
	priced := *s
	priced.offers = prefetched{p}
	priced.now = func() time.Time { return p.now }
	if err := priced.price(ctx, c); err != nil {
		return nil, fmt.Errorf("cart.LockForCheckoutTx: %w", err)
	}
	return c, nil
}

// CanReachTx tells whether the request may reach the cart id with token,
// whatever its status: a retried checkout of a converted cart must find
// its order only for whoever could check the cart out.
func CanReachTx(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, id commerce.ID, token string) (bool, error) {
	acc := accessFor(ctx, token)
	var one int
	err := q.QueryRow(ctx, `SELECT 1 FROM carts c WHERE `+reach, acc.args(id)).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("cart.CanReachTx: %w", err)
	}
	return true, nil
}

// MarkConvertedTx marks the active cart id converted, in the checkout's
// transaction (which holds its row lock, see LockForCheckoutTx). The
// version bump notifies live views at commit.
func MarkConvertedTx(ctx context.Context, tx pgx.Tx, id commerce.ID) error {
	tag, err := tx.Exec(ctx, `UPDATE carts SET status = 'converted', version = version + 1, updated_at = now()
		WHERE id = $1 AND status = 'active'`, id)
	if err != nil {
		return fmt.Errorf("cart.MarkConvertedTx: %w", err)
	}
	if tag.RowsAffected() != 1 {
		return &commerce.Error{Code: commerce.ErrConflict, Field: "cartId", Message: "this cart can no longer be checked out"}
	}
	return nil
}
