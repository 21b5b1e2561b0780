package listen_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/commercetest"
	"github.com/omnicanal/omnicanal/commerce/internal/listen"
)

func TestMain(m *testing.M) { commercetest.Main(m) }

const appName = "omnicanal-listen-test"

// run starts a hub on the channel "listen_test" and waits until it
// listens.
func run(t *testing.T, pool *pgxpool.Pool, cfg listen.Config) *listen.Hub {
	t.Helper()
	cfg.Channel, cfg.ApplicationName, cfg.Name = "listen_test", appName, "test"
	hub := listen.New(pool, nil, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hub.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for !hub.Listening() {
		if time.Now().After(deadline) {
			t.Fatal("the hub does not listen")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return hub
}

func notify(t *testing.T, pool *pgxpool.Pool, payload string) {
	t.Helper()
	if _, err := pool.Exec(t.Context(), `SELECT pg_notify('listen_test', $1)`, payload); err != nil {
		t.Fatal(err)
	}
}

func woken(w <-chan struct{}, within time.Duration) bool {
	select {
	case <-w:
		return true
	case <-time.After(within):
		return false
	}
}

// A notification wakes the watchers of the id it names, and only them; a
// payload that is not an id wakes nobody and leaves the hub listening.
func TestHubDispatchesByID(t *testing.T) {
	pool := commercetest.NewDB(t)
	hub := run(t, pool, listen.Config{})
	a, b := commerce.NewID(), commerce.NewID()
	wa1, stop := hub.Subscribe(a)
	defer stop()
	wa2, stop := hub.Subscribe(a)
	defer stop()
	wb, stopB := hub.Subscribe(b)

	notify(t, pool, "not an id")
	notify(t, pool, a.String())
	if !woken(wa1, 10*time.Second) || !woken(wa2, 10*time.Second) {
		t.Fatal("a watcher of the notified id was not woken")
	}
	if woken(wb, 200*time.Millisecond) {
		t.Fatal("a watcher of another id was woken")
	}
	if !hub.Listening() {
		t.Fatal("a payload that is not an id stopped the hub")
	}

	// A watcher that does not read holds one wake-up and never blocks
	// the hub: the others are still woken.
	for range 5 {
		notify(t, pool, b.String())
	}
	notify(t, pool, a.String())
	if !woken(wa1, 10*time.Second) {
		t.Fatal("a watcher that does not read blocked the hub")
	}
	select { // b's notifications came before a's
	case <-wb:
	default:
		t.Fatal("the watcher of b holds no wake-up")
	}

	// After stop, a watcher is no longer woken.
	stopB()
	notify(t, pool, b.String())
	notify(t, pool, a.String())
	if !woken(wa1, 10*time.Second) {
		t.Fatal("no wake-up after the second notification of a")
	}
	if woken(wb, 200*time.Millisecond) {
		t.Fatal("a stopped watcher was woken")
	}
}

// A quiet hub pings its connection at every heartbeat and keeps it: the
// wait that timed out leaves the connection usable, and a notification
// sent after several heartbeats still arrives.
func TestHubHeartbeatKeepsTheConnection(t *testing.T) {
	pool := commercetest.NewDB(t)
	id := commerce.NewID()
	hub := run(t, pool, listen.Config{Heartbeat: 20 * time.Millisecond})
	w, stop := hub.Subscribe(id)
	defer stop()
	var backend int
	if err := pool.QueryRow(t.Context(), `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()`, appName).Scan(&backend); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // ten heartbeats
	notify(t, pool, id.String())
	if !woken(w, 10*time.Second) {
		t.Fatal("no notification after the heartbeats")
	}
	var now int
	if err := pool.QueryRow(t.Context(), `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()`, appName).Scan(&now); err != nil || now != backend {
		t.Fatalf("the hub reconnected (backend %d, then %d): the heartbeat broke its connection", backend, now)
	}
}
