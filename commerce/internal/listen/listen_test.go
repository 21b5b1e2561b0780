package listen_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
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

// subscribe is hub.Subscribe, failing the test on an error.
func subscribe(t *testing.T, hub *listen.Hub, id commerce.ID) (<-chan struct{}, func()) {
	t.Helper()
	w, stop, err := hub.Subscribe(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return w, stop
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
	wa1, stop := subscribe(t, hub, a)
	defer stop()
	wa2, stop := subscribe(t, hub, a)
	defer stop()
	wb, stopB := subscribe(t, hub, b)

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
	w, stop := subscribe(t, hub, id)
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

// things makes a table whose trigger notifies "listen_test" with the id of
// a changed row, as the cart and pickup triggers do: only if watched.
func things(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	_, err := pool.Exec(t.Context(), `
		CREATE TABLE listen_things (id uuid PRIMARY KEY, v int NOT NULL DEFAULT 0);
		CREATE FUNCTION listen_things_notify() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF live_watched('listen_test', NEW.id) THEN
				PERFORM pg_notify('listen_test', NEW.id::text);
			END IF;
			RETURN NULL;
		END $$;
		CREATE TRIGGER listen_things_notify AFTER INSERT OR UPDATE ON listen_things
			FOR EACH ROW EXECUTE FUNCTION listen_things_notify();`)
	if err != nil {
		t.Fatal(err)
	}
}

func change(t *testing.T, q interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}, id commerce.ID) {
	t.Helper()
	if _, err := q.Exec(t.Context(), `INSERT INTO listen_things (id) VALUES ($1) ON CONFLICT (id) DO UPDATE SET v = listen_things.v + 1`, id); err != nil {
		t.Fatal(err)
	}
}

// listener LISTENs on "listen_test" on a connection of its own and returns
// the payloads it receives.
func listener(t *testing.T, pool *pgxpool.Pool) <-chan string {
	t.Helper()
	conn, err := pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(t.Context(), "LISTEN listen_test"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan string, 100)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			n, err := conn.Conn().WaitForNotification(ctx)
			if err != nil {
				return
			}
			got <- n.Payload
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		conn.Conn().Close(context.Background()) //nolint:errcheck // a cancelled wait leaves it unusable
		conn.Release()
	})
	return got
}

// The trigger notifies only for an id some hub watches: a change of an
// unwatched id sends nothing, and once a watch is recorded its changes are
// notified. The notifications of one session arrive in commit order, so the
// first payload received tells whether the earlier change notified.
func TestOnlyWatchedIDsAreNotified(t *testing.T) {
	pool := commercetest.NewDB(t)
	things(t, pool)
	hub := run(t, pool, listen.Config{})
	got := listener(t, pool)
	unwatched, watched := commerce.NewID(), commerce.NewID()
	w, stop := subscribe(t, hub, watched)
	defer stop()

	change(t, pool, unwatched)
	change(t, pool, watched)
	select {
	case p := <-got:
		if p != watched.String() {
			t.Fatalf("first notification for %s, want only the watched %s", p, watched)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notification for the watched id")
	}
	if !woken(w, 10*time.Second) {
		t.Fatal("the watcher was not woken")
	}
	select {
	case p := <-got:
		t.Fatalf("a second notification (%s) for one change of a watched id", p)
	case <-time.After(100 * time.Millisecond):
	}
}

// Subscribe returns only after a transaction that changed the id before
// the watch was recorded — and so notified nobody — has ended, so the
// watcher's first read sees that change.
func TestSubscribeWaitsForChangesInProgress(t *testing.T) {
	pool := commercetest.NewDB(t)
	things(t, pool)
	hub := run(t, pool, listen.Config{})
	id := commerce.NewID()
	tx, err := pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // committed below
	change(t, tx, id)                       // the trigger ran: nobody watched

	subscribed := make(chan error, 1)
	go func() {
		_, stop, err := hub.Subscribe(t.Context(), id)
		if err == nil {
			defer stop()
		}
		subscribed <- err
	}()
	select {
	case err := <-subscribed:
		t.Fatalf("Subscribe returned (%v) while a change of the id was in progress", err)
	case <-time.After(200 * time.Millisecond):
	}
	if err := tx.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-subscribed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Subscribe did not return after the change committed")
	}
}

// A hub refreshes the watches it has watchers for, and lets the others
// expire.
func TestWatchesAreRefreshedThenExpire(t *testing.T) {
	pool := commercetest.NewDB(t)
	hub := run(t, pool, listen.Config{WatchTTL: 300 * time.Millisecond})
	kept, dropped := commerce.NewID(), commerce.NewID()
	_, stop := subscribe(t, hub, kept)
	defer stop()
	_, stopDropped := subscribe(t, hub, dropped)
	stopDropped()

	watched := func(id commerce.ID) bool {
		t.Helper()
		var ok bool
		if err := pool.QueryRow(t.Context(), `SELECT live_watched('listen_test', $1)`, id).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	time.Sleep(time.Second) // three TTLs
	if !watched(kept) {
		t.Fatal("a watch with a watcher expired")
	}
	if watched(dropped) {
		t.Fatal("a watch without watchers was kept")
	}
}
