package cart_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/cart"
	"github.com/omnicanal/omnicanal/commerce/demo"
)

// runHub starts a hub over the env's pool and returns a service that
// watches through it, once the hub listens.
func (e *env) runHub(t *testing.T, opts ...cart.HubOption) (*cart.Service, *cart.Hub) {
	t.Helper()
	hub := cart.NewHub(e.pool, nil, opts...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hub.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("hub: %v", err)
		}
	})
	waitFor(t, "the hub to listen", hub.Listening)
	return cart.NewService(e.pool, nil, cart.WithHub(hub)), hub
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// next returns the next cart pushed, or nil when the watch ended.
func next(t *testing.T, ch <-chan *cart.Cart) *cart.Cart {
	t.Helper()
	select {
	case c := <-ch:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no push within 10 s")
		return nil
	}
}

// A watch gets the cart, then every change, in version order, priced for
// its own channel; a burst may be pushed as its last version only.
func TestWatchPushesChanges(t *testing.T) {
	e := newEnv(t, nil)
	svc, _ := e.runHub(t)
	vs := stocked(t, 2, 20)
	phone := e.on(t, demo.KeyMobileEU)
	c, token, err := svc.CreateCart(phone, cart.CreateInput{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(e.on(t, demo.KeyKioskParis))
	defer cancel()
	watch, err := svc.Watch(ctx, c.ID, token)
	if err != nil {
		t.Fatal(err)
	}
	if got := next(t, watch); got.ID != c.ID || got.Version != 1 {
		t.Fatalf("first push: %+v", got)
	}
	if _, err := svc.AddLines(phone, c.ID, token, []cart.LineInput{{VariantID: vs[0], Quantity: 1}}, nil); err != nil {
		t.Fatal(err)
	}
	if got := next(t, watch); got.Version != 2 || len(got.Lines) != 1 {
		t.Fatalf("after an add: v%d, %d lines", got.Version, len(got.Lines))
	}
	for range 5 {
		if _, err := svc.AddLines(phone, c.ID, token, []cart.LineInput{{VariantID: vs[1], Quantity: 1}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	last := 2
	for last < 7 {
		got := next(t, watch)
		if got.Version <= last {
			t.Fatalf("version %d pushed after %d", got.Version, last)
		}
		last = got.Version
	}
	cancel()
	for range watch { // drains, and ends: the watch stops with its context
	}
}

// A watch with a token ends when the token is revoked (the cart attached
// to a customer); the customer's own watch of a guest cart merged into
// theirs ends with the merged cart.
func TestWatchEndsWhenAccessOrCartEnds(t *testing.T) {
	e := newEnv(t, nil)
	svc, _ := e.runHub(t)
	kiosk := e.on(t, demo.KeyKioskParis)
	g, gt, err := svc.CreateCart(kiosk, cart.CreateInput{})
	if err != nil {
		t.Fatal(err)
	}
	watch, err := svc.Watch(kiosk, g.ID, gt)
	if err != nil {
		t.Fatal(err)
	}
	next(t, watch)
	bob := e.customer(t)
	if _, err := svc.SetBuyerIdentity(commerce.WithCustomer(kiosk, bob), g.ID, gt, nil); err != nil {
		t.Fatal(err)
	}
	if got := next(t, watch); got != nil {
		t.Fatalf("pushed after its token was revoked: %+v", got)
	}
	if _, err := svc.Watch(kiosk, g.ID, gt); code(err) != commerce.ErrNotFound {
		t.Fatalf("watching with a revoked token: %v", err)
	}

	// Bob watches a second guest cart he is about to sign in with.
	asBob := commerce.WithCustomer(kiosk, bob)
	g2, gt2, err := svc.CreateCart(kiosk, cart.CreateInput{})
	if err != nil {
		t.Fatal(err)
	}
	watch, err = svc.Watch(asBob, g2.ID, gt2)
	if err != nil {
		t.Fatal(err)
	}
	next(t, watch)
	if _, err := svc.SetBuyerIdentity(asBob, g2.ID, gt2, nil); err != nil {
		t.Fatal(err)
	}
	if got := next(t, watch); got == nil || got.Status != cart.Merged || got.MergedIntoID == nil || *got.MergedIntoID != g.ID {
		t.Fatalf("the last push of a merged cart: %+v", got)
	}
	if got := next(t, watch); got != nil {
		t.Fatalf("pushed after the merged cart: %+v", got)
	}
}

// Notifications sent while the hub's connection is down are lost with it:
// after reconnecting, the hub has every watcher read its cart again, so a
// change made in the gap still reaches the subscriber.
func TestWatchSurvivesAReconnection(t *testing.T) {
	e := newEnv(t, nil)
	// Long enough that the change below is made while nobody listens.
	svc, hub := e.runHub(t, cart.WithRetryDelay(500*time.Millisecond))
	vs := stocked(t, 1, 5)
	web := e.on(t, demo.KeyWebEU)
	c, token, err := svc.CreateCart(web, cart.CreateInput{})
	if err != nil {
		t.Fatal(err)
	}
	watch, err := svc.Watch(web, c.ID, token)
	if err != nil {
		t.Fatal(err)
	}
	next(t, watch)
	var killed bool
	if err := e.pool.QueryRow(t.Context(), `SELECT bool_or(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND datname = current_database()`, cart.HubApplicationName).Scan(&killed); err != nil || !killed {
		t.Fatalf("terminating the hub's connection: %v %v", err, killed)
	}
	waitFor(t, "the hub to notice", func() bool { return !hub.Listening() })
	if _, err := svc.AddLines(web, c.ID, token, []cart.LineInput{{VariantID: vs[0], Quantity: 1}}, nil); err != nil {
		t.Fatal(err)
	}
	if hub.Listening() {
		t.Fatal("the hub reconnected before the change: the test proves nothing")
	}
	if got := next(t, watch); got == nil || got.Version != 2 {
		t.Fatalf("after reconnecting: %+v", got)
	}
	waitFor(t, "the hub to listen again", hub.Listening)
}

// The cart trigger notifies a change only when some server watches the
// cart (migrations 0016, 0018): an unwatched cart's change sends nothing;
// once a watch of it is recorded, its change is notified.
func TestOnlyWatchedCartsAreNotified(t *testing.T) {
	e := newEnv(t, nil)
	web := e.on(t, demo.KeyWebEU)
	v := stocked(t, 1, 5)[0]
	c, token, err := e.svc.CreateCart(web, cart.CreateInput{})
	if err != nil {
		t.Fatal(err)
	}
	conn := e.listen(t, "cart")
	add := func() {
		t.Helper()
		if _, err := e.svc.AddLines(web, c.ID, token, []cart.LineInput{{VariantID: v, Quantity: 1}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	add()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if n, err := conn.Conn().WaitForNotification(ctx); err == nil {
		t.Fatalf("an unwatched cart's change was notified: %s", n.Payload)
	}
	e.watched(t, c.ID)
	add()
	ctx, cancel = context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	n, err := conn.Conn().WaitForNotification(ctx)
	if err != nil || n.Payload != c.ID.String() {
		t.Fatalf("the watched cart's change: notification %+v, %v", n, err)
	}
}

// A variant deleted from the catalog leaves the carts that held it (the
// lines cascade): that is a change of those carts like any other. Their
// version grows, a device still at the old version gets CONFLICT, and
// those watching are told. A cart's own removal of a line still bumps its
// version by one, not two.
func TestVariantDeletionChangesCarts(t *testing.T) {
	e := newEnv(t, nil)
	web := e.on(t, demo.KeyWebEU)
	vs := stocked(t, 3, 5)
	c, token, err := e.svc.CreateCart(web, cart.CreateInput{Lines: []cart.LineInput{{VariantID: vs[0], Quantity: 1}, {VariantID: vs[1], Quantity: 1}, {VariantID: vs[2], Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	before := c.Version
	conn := e.listen(t, "cart")
	e.watched(t, c.ID)

	if _, err := e.pool.Exec(t.Context(), `DELETE FROM variants WHERE id = $1`, vs[0]); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if n, err := conn.Conn().WaitForNotification(ctx); err != nil || n.Payload != c.ID.String() {
		t.Fatalf("the variant's deletion: notification %+v, %v", n, err)
	}
	c, err = e.svc.FindCart(web, c.ID, token)
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != before+1 || len(c.Lines) != 2 || slices.ContainsFunc(c.Lines, func(l cart.Line) bool { return l.Variant.ID == vs[0] }) {
		t.Fatalf("after the deletion: version %d (was %d), lines %+v", c.Version, before, c.Lines)
	}
	if _, err := e.svc.AddLines(web, c.ID, token, []cart.LineInput{{VariantID: vs[1], Quantity: 1}}, &before); code(err) != commerce.ErrConflict {
		t.Errorf("an add at the version before the deletion: %v", err)
	}

	v := c.Version
	c, err = e.svc.RemoveLines(web, c.ID, token, []commerce.ID{c.Lines[0].ID}, nil)
	if err != nil || c.Version != v+1 {
		t.Fatalf("a line removed by the cart's own change: version %d, want %d (%v)", c.Version, v+1, err)
	}
}

// listen returns a connection of the pool listening on channel, released
// at the end of the test.
func (e *env) listen(t *testing.T, channel string) *pgxpool.Conn {
	t.Helper()
	conn, err := e.pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Release)
	if _, err := conn.Exec(t.Context(), "LISTEN "+channel); err != nil {
		t.Fatal(err)
	}
	return conn
}

// watched records a watch of the cart, as a server instance does for its
// subscribers, so that its changes are notified.
func (e *env) watched(t *testing.T, id commerce.ID) {
	t.Helper()
	if _, err := e.pool.Exec(t.Context(), `INSERT INTO live_watches (channel, id, instance, expires_at)
		VALUES ('cart', $1, $2, now() + interval '1 minute')`, id, commerce.NewID()); err != nil {
		t.Fatal(err)
	}
}
