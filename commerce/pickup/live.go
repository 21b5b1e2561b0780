package pickup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/internal/listen"
)

// Live queues, on the pattern of the live carts (commerce/cart/live.go):
// a trigger on orders notifies the Postgres channel "pickup" with the
// location id whenever a pickup order is inserted or its version moves
// (every transition, an arrival), at commit (migration 0014), if some
// server has a watcher of that store (migration 0016). Each server
// process runs one Hub (commerce/internal/listen), a dedicated connection
// LISTENing on "pickup", that wakes the watchers of the notified store; a
// watcher then reads the queue again with the subscriber's own access and
// pushes it if it changed. Every
// instance listens, so a change made through any reaches subscribers of
// all. After every (re)connection the hub wakes every watcher, since
// notifications sent while nobody listened are lost.

// HubApplicationName is the application_name of the hub's connection.
const HubApplicationName = "omnicanal-pickup-live"

// Hub fans the database's pickup notifications out to this process's
// watchers. Build it with NewHub, run it with Run, give it to the service
// with WithHub.
type Hub struct {
	l *listen.Hub
}

// NewHub returns a hub listening on the channel "pickup" with pool's
// settings, on a connection of its own.
func NewHub(pool *pgxpool.Pool, log *slog.Logger) *Hub {
	return &Hub{l: listen.New(pool, log, listen.Config{
		Channel: "pickup", ApplicationName: HubApplicationName, Name: "pickup live queues"})}
}

// Listening tells whether the hub is connected and listening now.
func (h *Hub) Listening() bool { return h.l.Listening() }

// Run listens until ctx ends, reconnecting with a growing delay (up to 5 s)
// whenever the connection is lost. It returns nil when ctx ends.
func (h *Hub) Run(ctx context.Context) error { return h.l.Run(ctx) }

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
	out, err := listen.Follow(ctx, s.hub.l, loc, listen.Follower[[]Entry]{
		Read: func(ctx context.Context) ([]Entry, error) { return s.FindQueue(ctx, loc) },
		Ended: func(err error) bool {
			code := commerce.ErrorCode(err)
			return code == commerce.ErrForbidden || code == commerce.ErrUnauthenticated
		},
		Moved: func(prev, next []Entry) bool { return !slices.Equal(fingerprint(prev), fingerprint(next)) },
	})
	if err != nil {
		return nil, fmt.Errorf("pickup.Watch: %w", err)
	}
	return out, nil
}
