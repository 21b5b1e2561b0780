// Package listen fans a Postgres notification channel out to the watchers
// of one process: the live carts (commerce/cart) and live pickup queues
// (commerce/pickup) each run one Hub.
//
// A trigger notifies a channel with an id as the payload, at commit. The
// hub holds one dedicated connection LISTENing on that channel and wakes
// the watchers of the notified id. Several server instances each listen,
// so a change made through one reaches the watchers of all: Postgres is the
// broker.
//
// Notifications are hints, not data: a burst of them wakes a watcher once
// if it has not yet taken the previous wake-up (its channel holds one), and
// the watcher reads the current state itself. When the listening
// connection is lost, notifications sent meanwhile are lost with it, so
// after every (re)connection the hub wakes every watcher, which reads again
// in case something changed in the gap.
package listen

import (
	"context"
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

// Config says what a hub listens to.
type Config struct {
	// Channel is the Postgres channel, whose payloads are ids
	// (commerce.ID).
	Channel string
	// ApplicationName is the application_name of the hub's connection,
	// which tells it apart in pg_stat_activity.
	ApplicationName string
	// Name starts the hub's log messages ("cart live updates").
	Name string
	// RetryDelay is the first wait before reconnecting after the
	// connection was lost, doubled at each failure up to 5 s; 250 ms when
	// zero.
	RetryDelay time.Duration
	// Heartbeat is how long the connection may stay quiet before the hub
	// pings it, since a dead peer may never close it; 30 s when zero.
	Heartbeat time.Duration
}

// Hub dispatches the notifications of one channel to the watchers of the
// ids they name. Build it with New, run it with Run.
type Hub struct {
	config *pgx.ConnConfig
	cfg    Config
	log    *slog.Logger

	mu       sync.Mutex
	watchers map[commerce.ID]map[chan struct{}]struct{}

	listening atomic.Bool
}

// New returns a hub that connects with pool's settings, on a connection of
// its own: a LISTEN must stay on one session, and must not hold one of the
// pool's connections forever or wait behind busy requests for one.
func New(pool *pgxpool.Pool, log *slog.Logger, cfg Config) *Hub {
	conn := pool.Config().ConnConfig.Copy()
	conn.RuntimeParams["application_name"] = cfg.ApplicationName
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.RetryDelay <= 0 {
		cfg.RetryDelay = 250 * time.Millisecond
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 30 * time.Second
	}
	return &Hub{config: conn, cfg: cfg, log: log, watchers: map[commerce.ID]map[chan struct{}]struct{}{}}
}

// Listening tells whether the hub is connected and listening now.
func (h *Hub) Listening() bool { return h.listening.Load() }

// Log is the hub's logger, for its watchers' messages.
func (h *Hub) Log() *slog.Logger { return h.log }

// maxRetryDelay bounds the wait between reconnection attempts.
const maxRetryDelay = 5 * time.Second

// Run listens until ctx ends, reconnecting whenever the connection is
// lost. It returns nil when ctx ends.
func (h *Hub) Run(ctx context.Context) error {
	delay := h.cfg.RetryDelay
	for {
		connected, err := h.listen(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if connected {
			delay = h.cfg.RetryDelay // it worked for a while: start the backoff again
		}
		h.log.WarnContext(ctx, h.cfg.Name+": connection lost, reconnecting", "err", err, "in", delay)
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
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{h.cfg.Channel}.Sanitize()); err != nil {
		return false, err
	}
	h.listening.Store(true)
	// Anything may have changed while nobody listened (or before the first
	// connection, for watchers that started early).
	h.wakeAll()
	for {
		wctx, cancel := context.WithTimeout(ctx, h.cfg.Heartbeat)
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

// Subscribe registers a watcher of id: the returned channel receives a
// value after each notification of id and after each (re)connection,
// holding at most one pending wake-up. stop unregisters it. Subscribe
// before the first read of what is watched, so that a change committed
// between the two is not missed.
func (h *Hub) Subscribe(id commerce.ID) (wake <-chan struct{}, stop func()) {
	w := make(chan struct{}, 1)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.watchers[id] == nil {
		h.watchers[id] = map[chan struct{}]struct{}{}
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

// dispatch wakes the watchers of the id a notification names.
func (h *Hub) dispatch(payload string) {
	id, err := commerce.ParseID("payload", payload)
	if err != nil {
		h.log.Warn(h.cfg.Name+": notification without an id", "channel", h.cfg.Channel, "payload", payload)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for w := range h.watchers[id] {
		poke(w)
	}
}

func (h *Hub) wakeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ws := range h.watchers {
		for w := range ws {
			poke(w)
		}
	}
}

func poke(w chan struct{}) {
	select {
	case w <- struct{}{}:
	default: // already awake: it will read the latest state anyway
	}
}
