package pickup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
)

// Live queues, on the pattern of the live carts (commerce/cart/live.go):
// a trigger on orders notifies the Postgres channel "pickup" with the
// location id whenever a pickup order is inserted or its version moves
// (every transition, an arrival), at commit (migration 0014). Each server
// process runs one Hub, a dedicated connection LISTENing on "pickup", that
// wakes the watchers of the notified store; a watcher then reads the queue
// again with the subscriber's own access and pushes it if it changed. Every
// instance listens, so a change made through any reaches subscribers of
// all. After every (re)connection the hub wakes every watcher, since
// notifications sent while nobody listened are lost.

// HubApplicationName is the application_name of the hub's connection.
const HubApplicationName = "omnicanal-pickup-live"

const notifyChannel = "pickup"

// Hub fans the database's pickup notifications out to this process's
// watchers. Build it with NewHub, run it with Run, give it to the service
// with WithHub.
type Hub struct {
	config     *pgx.ConnConfig
	log        *slog.Logger
	retryDelay time.Duration
	heartbeat  time.Duration

	mu       sync.Mutex
	watchers map[commerce.ID]map[chan struct{}]struct{}

	listening atomic.Bool
}

// NewHub returns a hub connecting with pool's settings on a connection of
// its own.
func NewHub(pool *pgxpool.Pool, log *slog.Logger) *Hub {
	cfg := pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = HubApplicationName
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Hub{config: cfg, log: log, retryDelay: 250 * time.Millisecond, heartbeat: 30 * time.Second,
		watchers: map[commerce.ID]map[chan struct{}]struct{}{}}
}

// Listening tells whether the hub is connected and listening now.
func (h *Hub) Listening() bool { return h.listening.Load() }

// Run listens until ctx ends, reconnecting with a growing delay (up to 5 s)
// whenever the connection is lost. It returns nil when ctx ends.
func (h *Hub) Run(ctx context.Context) error {
	delay := h.retryDelay
	for {
		connected, err := h.listen(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if connected {
			delay = h.retryDelay
		}
		h.log.WarnContext(ctx, "pickup live queues: connection lost, reconnecting", "err", err, "in", delay)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		delay = min(delay*2, 5*time.Second)
	}
}

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
	h.wake(nil)
	for {
		wctx, cancel := context.WithTimeout(ctx, h.heartbeat)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			id, perr := commerce.ParseID("payload", n.Payload)
			if perr != nil {
				h.log.Warn("pickup live queues: notification without a location id", "payload", n.Payload)
				continue
			}
			h.wake(&id)
		case ctx.Err() != nil:
			return true, ctx.Err()
		case pgconn.Timeout(err):
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

// wake pokes the watchers of a location, or all of them for nil.
func (h *Hub) wake(loc *commerce.ID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, ws := range h.watchers {
		if loc != nil && id != *loc {
			continue
		}
		for w := range ws {
			select {
			case w <- struct{}{}:
			default:
			}
		}
	}
}

func (h *Hub) subscribe(loc commerce.ID) (chan struct{}, func()) {
	w := make(chan struct{}, 1)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.watchers[loc] == nil {
		h.watchers[loc] = map[chan struct{}]struct{}{}
	}
	h.watchers[loc][w] = struct{}{}
	return w, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.watchers[loc], w)
		if len(h.watchers[loc]) == 0 {
			delete(h.watchers, loc)
		}
	}
}

// fingerprint identifies a queue's content: each order's id and version.
func fingerprint(q []Entry) []string {
	out := make([]string, len(q))
	for i, e := range q {
		out[i] = fmt.Sprintf("%s@%d", e.Order.ID, e.Order.Version)
	}
	return out
}

// Watch returns the queue of the store loc now, then again after each
// change of it, until ctx ends. Access is that of FindQueue, checked at
// the start (the error) and at every read (a read refused ends the watch).
func (s *Service) Watch(ctx context.Context, loc commerce.ID) (<-chan []Entry, error) {
	if s.hub == nil {
		return nil, errors.New("pickup.Watch: live queues are not configured (pickup.WithHub)")
	}
	wake, stop := s.hub.subscribe(loc)
	q, err := s.FindQueue(ctx, loc)
	if err != nil {
		stop()
		return nil, fmt.Errorf("pickup.Watch: %w", err)
	}
	out := make(chan []Entry, 1)
	out <- q
	go func() {
		defer close(out)
		defer stop()
		last := fingerprint(q)
		var retry <-chan time.Time
		for {
			select {
			case <-ctx.Done():
				return
			case <-wake:
			case <-retry:
			}
			retry = nil
			q, err := s.FindQueue(ctx, loc)
			switch code := commerce.ErrorCode(err); {
			case ctx.Err() != nil:
				return
			case code == commerce.ErrForbidden || code == commerce.ErrUnauthenticated:
				return
			case err != nil:
				s.hub.log.WarnContext(ctx, "pickup live queues: reading a queue failed; retrying", "location", loc, "err", err)
				retry = time.After(time.Second)
				continue
			}
			fp := fingerprint(q)
			if slices.Equal(fp, last) {
				continue
			}
			last = fp
			select {
			case out <- q:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}
