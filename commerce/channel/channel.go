// Package channel knows the sales channels clients speak as: a web storefront,
// a mobile app, a store kiosk or a POS till. Every request names its channel
// with a publishable key; the channel fixes the currency and, for kiosks and
// tills, the store.
package channel

import (
	"context"

	"github.com/omnicanal/omnicanal/commerce"
)

// Kind is the type of client a channel serves.
type Kind string

const (
	Web    Kind = "web"
	Mobile Kind = "mobile"
	Kiosk  Kind = "kiosk"
	POS    Kind = "pos"
)

// Channel is one sales channel.
type Channel struct {
	ID             commerce.ID       `db:"id"`
	Kind           Kind              `db:"kind"`
	Name           string            `db:"name"`
	Currency       commerce.Currency `db:"currency_code"`
	LocationID     *commerce.ID      `db:"location_id"`
	PublishableKey string            `db:"publishable_key"`
}

type ctxKey struct{}

// NewContext returns ctx carrying the channel the request speaks as.
func NewContext(ctx context.Context, ch *Channel) context.Context {
	return context.WithValue(ctx, ctxKey{}, ch)
}

// FromContext returns the request's channel, or nil when it named none.
func FromContext(ctx context.Context) *Channel {
	ch, _ := ctx.Value(ctxKey{}).(*Channel)
	return ch
}

// Require returns the request's channel or a CHANNEL_REQUIRED error.
func Require(ctx context.Context) (*Channel, error) {
	if ch := FromContext(ctx); ch != nil {
		return ch, nil
	}
	return nil, commerce.Errorf(commerce.ErrChannelRequired, "this request must name its sales channel with the X-Channel-Key header")
}
