package cart

import (
	"context"
	"testing"
	"time"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/commercetest"
)

// A quiet hub pings its connection at every heartbeat and keeps it: the
// wait that timed out leaves the connection usable, and a notification
// sent after several heartbeats still arrives.
func TestHubHeartbeatKeepsTheConnection(t *testing.T) {
	pool := commercetest.NewDB(t)
	hub := NewHub(pool, nil)
	hub.heartbeat = 20 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hub.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	id := commerce.NewID()
	w, stop := hub.subscribe(id)
	defer stop()
	deadline := time.Now().Add(10 * time.Second)
	for !hub.Listening() {
		if time.Now().After(deadline) {
			t.Fatal("the hub does not listen")
		}
		time.Sleep(5 * time.Millisecond)
	}
	<-w.wake // the wake-up of the first connection
	var backend int
	if err := pool.QueryRow(t.Context(), `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()`, HubApplicationName).Scan(&backend); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // ten heartbeats
	if _, err := pool.Exec(t.Context(), `SELECT pg_notify('cart', $1)`, id.String()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.wake:
	case <-time.After(10 * time.Second):
		t.Fatal("no notification after the heartbeats")
	}
	var now int
	if err := pool.QueryRow(t.Context(), `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()`, HubApplicationName).Scan(&now); err != nil || now != backend {
		t.Fatalf("the hub reconnected (backend %d, then %d): the heartbeat broke its connection", backend, now)
	}
}
