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
//
// Triggers notify only for watched ids (migration 0016): a notification
// costs Postgres a database-wide lock at commit and wakes every listening
// server, which is wasted on the carts nobody has open — most of them. So
// the hub records the ids its watchers watch in the table live_watches, one
// row per (channel, id, server instance), and refreshes the rows while it
// has watchers; a row it stops refreshing expires. The triggers ask
// live_watched(channel, id).
//
// A change whose trigger ran just before a watch was recorded does not
// notify, yet may commit after the watcher's first read. Subscribe covers
// it: once the watch is recorded, it waits for every transaction in
// progress at that moment to end before it returns, so the watcher's first
// read sees what such a change made.
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
	// WatchTTL is how long a recorded watch lasts without a refresh; the
	// hub refreshes its watches three times in that period. 60 s when
	// zero.
	WatchTTL time.Duration
}

// Hub dispatches the notifications of one channel to the watchers of the
// ids they name. Build it with New, run it with Run.
type Hub struct {
	config   *pgx.ConnConfig
	pool     *pgxpool.Pool
	cfg      Config
	log      *slog.Logger
	instance commerce.ID // this hub's rows in live_watches

	mu      sync.Mutex
	watches map[commerce.ID]*watch

	listening atomic.Bool
}

// watch is the watchers of one id in this process, and the record of it in
// live_watches.
type watch struct {
	watchers map[chan struct{}]struct{}
	// recorded is closed once the first watcher recorded the watch, or
	// failed to (err, then read-only).
	recorded chan struct{}
	err      error
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
	if cfg.WatchTTL <= 0 {
		cfg.WatchTTL = time.Minute
	}
	return &Hub{config: conn, pool: pool, cfg: cfg, log: log, instance: commerce.NewID(), watches: map[commerce.ID]*watch{}}
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
	refreshed := make(chan struct{})
	go func() {
		defer close(refreshed)
		h.refresh(ctx)
	}()
	defer func() { <-refreshed }()
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
// before the first read of what is watched: it returns once the watch is
// recorded and the transactions that may have changed id without seeing
// it have ended (see the package doc), so the first read sees every change
// that will not wake the watcher.
func (h *Hub) Subscribe(ctx context.Context, id commerce.ID) (wake <-chan struct{}, stop func(), err error) {
	w := make(chan struct{}, 1)
	h.mu.Lock()
	wt := h.watches[id]
	first := wt == nil
	if first {
		wt = &watch{watchers: map[chan struct{}]struct{}{}, recorded: make(chan struct{})}
		h.watches[id] = wt
	}
	wt.watchers[w] = struct{}{}
	h.mu.Unlock()
	stop = func() { h.unsubscribe(id, wt, w) }

	if first {
		// Not the caller's ctx alone: other watchers of id may wait for
		// this record, and must not fail because this caller left.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
		wt.err = h.record(rctx, []commerce.ID{id})
		cancel()
		if wt.err != nil {
			h.mu.Lock()
			if h.watches[id] == wt { // the next Subscribe tries again
				delete(h.watches, id)
			}
			h.mu.Unlock()
		}
		close(wt.recorded)
	}
	select {
	case <-wt.recorded:
	case <-ctx.Done():
		stop()
		return nil, nil, ctx.Err()
	}
	if wt.err != nil {
		stop()
		return nil, nil, fmt.Errorf("%s: recording a watch: %w", h.cfg.Name, wt.err)
	}
	return w, stop, nil
}

func (h *Hub) unsubscribe(id commerce.ID, wt *watch, w chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(wt.watchers, w)
	// The row in live_watches is left to expire: deleting it could race
	// with the record of a new watcher of id.
	if len(wt.watchers) == 0 && h.watches[id] == wt {
		delete(h.watches, id)
	}
}

const (
	// recordTimeout bounds the writing of a watch.
	recordTimeout = 10 * time.Second
	// settleTimeout bounds the wait for the transactions in progress when
	// a watch was recorded. A change made by a transaction older than
	// that may be missed, until the next change of the id.
	settleTimeout = 2 * time.Second
)

// recordSQL records or refreshes watches of this hub, and deletes the
// watches that expired a while ago (any instance's: a server that stopped
// cannot delete its own).
const recordSQL = `WITH recorded AS (
		INSERT INTO live_watches AS w (channel, id, instance, expires_at)
		SELECT $1, unnest($2::uuid[]), $3, now() + make_interval(secs => $4)
		ON CONFLICT (channel, id, instance) DO UPDATE SET expires_at = EXCLUDED.expires_at
	)
	DELETE FROM live_watches WHERE expires_at < now() - interval '1 minute'`

// record writes (or refreshes) the watches of ids, then waits until every
// transaction in progress at that moment has ended: such a transaction may
// have changed one of ids without seeing the watch, so it notified nobody.
func (h *Hub) record(ctx context.Context, ids []commerce.ID) error {
	if _, err := h.pool.Exec(ctx, recordSQL, h.cfg.Channel, ids, h.instance, h.cfg.WatchTTL.Seconds()); err != nil {
		return err
	}
	return h.settle(ctx)
}

// settle waits until the transactions in progress now (those with an xid,
// the only ones that can change anything) have ended, or settleTimeout.
// A snapshot's xmin is the oldest transaction still running; once it has
// passed the xmax of a snapshot taken now, all of those have ended.
func (h *Hub) settle(ctx context.Context) error {
	const q = `SELECT pg_snapshot_xmin(s)::text::bigint, pg_snapshot_xmax(s)::text::bigint FROM pg_current_snapshot() s`
	var xmin, target int64
	if err := h.pool.QueryRow(ctx, q).Scan(&xmin, &target); err != nil {
		return err
	}
	deadline := time.Now().Add(settleTimeout)
	for pause := time.Millisecond; xmin < target; pause = min(2*pause, 50*time.Millisecond) {
		if time.Now().After(deadline) {
			h.log.WarnContext(ctx, h.cfg.Name+": a transaction older than the new watch is still running; going on", "xid", xmin)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		var xmax int64
		if err := h.pool.QueryRow(ctx, q).Scan(&xmin, &xmax); err != nil {
			return err
		}
	}
	return nil
}

// refresh keeps this hub's watches from expiring until ctx ends. After a
// refresh that failed, some may have expired and changes gone unnotified:
// the next refresh that works wakes every watcher, as a reconnection does.
func (h *Hub) refresh(ctx context.Context) {
	tick := time.NewTicker(h.cfg.WatchTTL / 3)
	defer tick.Stop()
	failed := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		h.mu.Lock()
		ids := make([]commerce.ID, 0, len(h.watches))
		for id := range h.watches {
			ids = append(ids, id)
		}
		h.mu.Unlock()
		rctx, cancel := context.WithTimeout(ctx, recordTimeout)
		err := h.record(rctx, ids)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			h.log.WarnContext(ctx, h.cfg.Name+": refreshing the watches failed; retrying", "err", err)
			failed = true
		case failed:
			failed = false
			h.wakeAll()
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
	if wt := h.watches[id]; wt != nil {
		for w := range wt.watchers {
			poke(w)
		}
	}
}

func (h *Hub) wakeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, wt := range h.watches {
		for w := range wt.watchers {
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
