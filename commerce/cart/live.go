package cart

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/internal/listen"
)

// Live updates. Every change of a cart bumps its version, and a trigger on
// that column notifies the Postgres channel "cart" with the cart id, at
// commit (migration 0008), if some server has a watcher of the cart
// (migration 0016: the hub records its watches in the database). Each server process runs one Hub
// (commerce/internal/listen): one dedicated connection LISTENing on "cart",
// that wakes the watchers of the notified cart. A watcher (Watch, one per
// subscription) then reads the cart again with its own access — the
// request's token, customer or staff user and channel — so access is
// checked at every push and prices are those of the subscriber's channel; a
// token revoked meanwhile ends the watch. Several
// server instances each LISTEN, so a change made through one reaches
// subscribers of all: Postgres is the broker.
//
// Notifications are hints, not data: a burst of changes wakes a watcher
// once if it is still reading (its wake-up channel holds one), and the
// watcher pushes only a cart whose version moved. When the listening
// connection is lost, notifications sent meanwhile are lost with it, so
// after every (re)connection the hub wakes every watcher, which pushes the
// cart if it changed in the gap.

// HubApplicationName is the application_name of the hub's connection, which
// tells it apart in pg_stat_activity.
const HubApplicationName = "omnicanal-cart-live"

// Hub fans the database's cart notifications out to this process's
// watchers. Build it with NewHub, run it with Run, and give it to the
// service with WithHub.
type Hub struct {
	l *listen.Hub
}

// HubOption changes a default of the hub.
type HubOption func(*listen.Config)

// WithRetryDelay sets the first wait before reconnecting after the
// connection was lost (doubled at each failure, up to 5 s); 250 ms by
// default.
func WithRetryDelay(d time.Duration) HubOption { return func(c *listen.Config) { c.RetryDelay = d } }

// NewHub returns a hub that listens on the channel "cart" with pool's
// settings, on a connection of its own.
func NewHub(pool *pgxpool.Pool, log *slog.Logger, opts ...HubOption) *Hub {
	cfg := listen.Config{Channel: "cart", ApplicationName: HubApplicationName, Name: "cart live updates"}
	for _, o := range opts {
		o(&cfg)
	}
	return &Hub{l: listen.New(pool, log, cfg)}
}

// Listening tells whether the hub is connected and listening now.
func (h *Hub) Listening() bool { return h.l.Listening() }

// Run listens until ctx ends, reconnecting whenever the connection is
// lost. It returns nil when ctx ends.
func (h *Hub) Run(ctx context.Context) error { return h.l.Run(ctx) }

// Watch returns the cart now, then again after each change, until ctx ends
// or the request can no longer reach the cart (a revoked or expired token:
// the channel is then closed without a last cart), or the cart stops being
// active (the channel is closed after that last cart: a converted or
// merged cart no longer changes). A cart the request cannot reach at the
// start is the error, as for FindCart.
//
// Each push is read and priced anew for the request's access and channel,
// as FindCart would; carts are pushed in version order, each version at
// most once, and a burst of changes may be pushed as its last cart only.
func (s *Service) Watch(ctx context.Context, id commerce.ID, token string) (<-chan *Cart, error) {
	if s.hub == nil {
		return nil, errors.New("cart.Watch: live updates are not configured (cart.WithHub)")
	}
	out, err := listen.Follow(ctx, s.hub.l, id, listen.Follower[*Cart]{
		Read:  func(ctx context.Context) (*Cart, error) { return s.FindCart(ctx, id, token) },
		Ended: func(err error) bool { return commerce.ErrorCode(err) == commerce.ErrNotFound }, // access lost
		Moved: func(prev, next *Cart) bool { return next.Version > prev.Version },
		Last:  func(c *Cart) bool { return c.Status != Active },
	})
	if err != nil {
		return nil, fmt.Errorf("cart.Watch: %w", err)
	}
	return out, nil
}
