package cart

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
)

// Live updates. Every change of a cart bumps its version, and a trigger on
// that column notifies the Postgres channel "cart" with the cart id, at
// commit (migration 0008). Each server process runs one Hub: one dedicated
// connection LISTENing on "cart", that wakes the watchers of the notified
// cart. A watcher (Watch, one per subscription) then reads the cart again
// with its own access — the request's token, customer or staff user and
// channel — so access is checked at every push and prices are those of the
// subscriber's channel; a token revoked meanwhile ends the watch. Several
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

// notifyChannel is the Postgres channel the carts_notify trigger uses.
const notifyChannel = "cart"

// Hub fans the database's cart notifications out to this process's
// watchers. Build it with NewHub, run it with Run, and give it to the
// service with WithHub.
type Hub struct {
	config     *pgx.ConnConfig
	log        *slog.Logger
	retryDelay time.Duration
	heartbeat  time.Duration

	mu       sync.Mutex
	watchers map[commerce.ID]map[*watcher]struct{}

	listening atomic.Bool
}

// HubOption changes a default of the hub.
type HubOption func(*Hub)

// WithRetryDelay sets the first wait before reconnecting after the
// connection was lost (doubled at each failure, up to 5 s); 250 ms by
// default.
func WithRetryDelay(d time.Duration) HubOption { return func(h *Hub) { h.retryDelay = d } }

// NewHub returns a hub that connects with pool's settings, on a connection
// of its own: a LISTEN must stay on one session, and must not hold one of
// the pool's connections forever or wait behind busy requests for one.
func NewHub(pool *pgxpool.Pool, log *slog.Logger, opts ...HubOption) *Hub {
	cfg := pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = HubApplicationName
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Hub{config: cfg, log: log, retryDelay: 250 * time.Millisecond, heartbeat: 30 * time.Second,
		watchers: map[commerce.ID]map[*watcher]struct{}{}}
	for _, o := range opts {
		o(h)
	}
	return h
}

// Listening tells whether the hub is connected and listening now.
func (h *Hub) Listening() bool { return h.listening.Load() }

// maxRetryDelay bounds the wait between reconnection attempts.
const maxRetryDelay = 5 * time.Second

// Run listens until ctx ends, reconnecting whenever the connection is
// lost. It returns nil when ctx ends.
func (h *Hub) Run(ctx context.Context) error {
	delay := h.retryDelay
	for {
		connected, err := h.listen(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if connected {
			delay = h.retryDelay // it worked for a while: start the backoff again
		}
		h.log.WarnContext(ctx, "cart live updates: connection lost, reconnecting", "err", err, "in", delay)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		delay = min(delay*2, maxRetryDelay)
	}
}

// listen connects, LISTENs and dispatches notifications until the
// connection fails or ctx ends. connected tells whether it got as far as
// listening.
func (h *Hub) listen(ctx context.Context) (connected bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, h.config)
	if err != nil {
		return false, err
	}
	defer func() {
		h.listening.Store(false)
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return false, err
	}
	h.listening.Store(true)
	// Anything may have changed while nobody listened (or before the first
	// connection, for watchers that started early).
	h.wakeAll()
	for {
		wctx, cancel := context.WithTimeout(ctx, h.heartbeat)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			h.dispatch(n.Payload)
		case ctx.Err() != nil:
			return true, ctx.Err()
		case pgconn.Timeout(err):
			// Quiet for a while: make sure the connection is still there,
			// since a dead peer may never close it. Notifications that
			// arrive meanwhile are kept by pgx for the next wait.
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return true, fmt.Errorf("heartbeat: %w", err)
			}
		default:
			return true, err
		}
	}
}

// watcher is one subscription's wake-up call.
type watcher struct {
	wake chan struct{}
}

func (w *watcher) poke() {
	select {
	case w.wake <- struct{}{}:
	default: // already awake: it will read the latest cart anyway
	}
}

// subscribe registers a watcher of the cart; the returned function
// unregisters it.
func (h *Hub) subscribe(id commerce.ID) (*watcher, func()) {
	w := &watcher{wake: make(chan struct{}, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.watchers[id] == nil {
		h.watchers[id] = map[*watcher]struct{}{}
	}
	h.watchers[id][w] = struct{}{}
	return w, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.watchers[id], w)
		if len(h.watchers[id]) == 0 {
			delete(h.watchers, id)
		}
	}
}

// dispatch wakes the watchers of the cart a notification names.
func (h *Hub) dispatch(payload string) {
	id, err := commerce.ParseID("payload", payload)
	if err != nil {
		h.log.Warn("cart live updates: notification without a cart id", "payload", payload)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for w := range h.watchers[id] {
		w.poke()
	}
}

func (h *Hub) wakeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ws := range h.watchers {
		for w := range ws {
			w.poke()
		}
	}
}

// retryRead is how long a watcher waits to read again after a read failed
// for another reason than access (the database busy or restarting).
const retryRead = time.Second

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
	// Registered before the first read, so that a change committed between
	// the read and the registration is not missed.
	w, stop := s.hub.subscribe(id)
	c, err := s.FindCart(ctx, id, token)
	if err != nil {
		stop()
		return nil, fmt.Errorf("cart.Watch: %w", err)
	}
	out := make(chan *Cart, 1)
	out <- c
	go func() {
		defer close(out)
		defer stop()
		last := c.Version
		if c.Status != Active {
			return
		}
		var retry <-chan time.Time
		for {
			select {
			case <-ctx.Done():
				return
			case <-w.wake:
			case <-retry:
			}
			retry = nil
			c, err := s.FindCart(ctx, id, token)
			switch {
			case ctx.Err() != nil:
				return
			case commerce.ErrorCode(err) == commerce.ErrNotFound:
				return // access lost: the subscription ends
			case err != nil:
				s.hub.log.WarnContext(ctx, "cart live updates: reading a cart failed; retrying", "cart", id, "err", err)
				retry = time.After(retryRead)
				continue
			case c.Version <= last:
				continue
			}
			last = c.Version
			select {
			case out <- c:
			case <-ctx.Done():
				return
			}
			if c.Status != Active {
				return
			}
		}
	}()
	return out, nil
}
