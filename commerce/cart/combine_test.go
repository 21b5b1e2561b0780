package cart_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/cart"
	"github.com/omnicanal/omnicanal/commerce/demo"
)

// groupEnv is an env whose service runs at most groups groups of adds at
// once, of at most size adds, and records the size of every group.
type groupEnv struct {
	*env
	mu    sync.Mutex
	sizes []int
}

func newGroupEnv(t *testing.T, path addPath, groups, size int) *groupEnv {
	t.Helper()
	g := &groupEnv{env: newEnv(t, nil)}
	opts := []cart.Option{cart.WithAddGroups(groups, size), cart.WithGroupHook(func(n int) {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.sizes = append(g.sizes, n)
	})}
	if path == onAddPool {
		addPool, err := cart.NewAddPool(t.Context(), g.pool.Config())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(addPool.Close)
		opts = append(opts, cart.WithAddPool(addPool))
	}
	g.svc = cart.NewService(g.pool, nil, opts...)
	return g
}

// addPath is how adds reach Postgres: on the service's pool, sending
// their settings with each add, or on an add pool (cart.NewAddPool) whose
// sessions have them. Every test of groups runs on both.
type addPath string

const (
	onServicePool addPath = "service pool"
	onAddPool     addPath = "add pool"
)

func onEachAddPath(t *testing.T, test func(t *testing.T, path addPath)) {
	for _, path := range []addPath{onServicePool, onAddPool} {
		t.Run(string(path), func(t *testing.T) { test(t, path) })
	}
}

func (g *groupEnv) groupSizes() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.sizes)
}

// newCart makes a guest cart, with lines when given.
func (g *groupEnv) newCart(t *testing.T, ctx context.Context, lines ...cart.LineInput) (*cart.Cart, string) {
	t.Helper()
	c, token, err := g.svc.CreateCart(ctx, cart.CreateInput{Lines: lines})
	if err != nil {
		t.Fatal(err)
	}
	return c, token
}

// guestCart is a cart as created, with its token.
type guestCart struct {
	c     *cart.Cart
	token string
}

// newCarts makes n empty guest carts.
func (g *groupEnv) newCarts(t *testing.T, ctx context.Context, n int) []guestCart {
	t.Helper()
	out := make([]guestCart, n)
	for i := range out {
		out[i].c, out[i].token = g.newCart(t, ctx)
	}
	return out
}

// holdSlot makes the service's one group slot busy: an add to a cart of
// its own waits for the cart's row lock, which the returned function
// releases (and then returns that add's error).
func (g *groupEnv) holdSlot(t *testing.T, ctx context.Context) (release func() error) {
	t.Helper()
	holder, token := g.newCart(t, ctx)
	tx, err := g.pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback(context.Background()) }) //nolint:errcheck // committed by release
	if _, err := tx.Exec(t.Context(), `SELECT 1 FROM carts WHERE id = $1 FOR UPDATE`, holder.ID); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := g.svc.AddLines(ctx, holder.ID, token, []cart.LineInput{{VariantID: stocked(t, 1, 5)[0], Quantity: 1}}, nil)
		done <- err
	}()
	waitForLock(t, g.env)
	return func() error {
		if err := tx.Commit(t.Context()); err != nil {
			t.Fatal(err)
		}
		return <-done
	}
}

// waitForWaiting waits until n adds wait for a group.
func (g *groupEnv) waitForWaiting(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for g.svc.AddsWaiting() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d adds wait for a group, want %d", g.svc.AddsWaiting(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// Adds that wait together run as one group, and each gets exactly the
// outcome it would have had alone: lines added, OUT_OF_STOCK, NOT_FOUND
// for a foreign cart or an unknown variant, CONFLICT for a stale
// ifVersion. Only the carts whose adds succeeded change.
func TestGroupedAddsGetTheirOwnOutcomes(t *testing.T) {
	onEachAddPath(t, testGroupedAddsGetTheirOwnOutcomes)
}

func testGroupedAddsGetTheirOwnOutcomes(t *testing.T, path addPath) {
	g := newGroupEnv(t, path, 1, 8)
	web := g.on(t, demo.KeyWebEU)
	vs := stocked(t, 3, 5)
	short := demo.VariantID(demo.SKUInLyonNotParis) // 56 online
	one := func(v commerce.ID, n int) []cart.LineInput { return []cart.LineInput{{VariantID: v, Quantity: n}} }
	stale, current := 0, 0

	type tc struct {
		name      string
		lines     []cart.LineInput
		token     func(string) string
		ifVersion *int
		check     func(t *testing.T, got *cart.Cart, err error)
	}
	added := func(want ...int) func(*testing.T, *cart.Cart, error) {
		return func(t *testing.T, got *cart.Cart, err error) {
			t.Helper()
			if err != nil || got == nil {
				t.Fatalf("want the lines added, got %v", err)
			}
			var qs []int
			for _, l := range got.Lines {
				qs = append(qs, l.Quantity)
			}
			slices.Sort(qs)
			if !slices.Equal(qs, want) || got.Cost.Total.Amount <= 0 {
				t.Fatalf("lines %v, total %v: want quantities %v, priced", qs, got.Cost.Total, want)
			}
		}
	}
	refused := func(code string, field string) func(*testing.T, *cart.Cart, error) {
		return func(t *testing.T, _ *cart.Cart, err error) {
			t.Helper()
			var ce *commerce.Error
			if commerce.ErrorCode(err) != code || !errors.As(err, &ce) || ce.Field != field {
				t.Fatalf("want %s on %s, got %v", code, field, err)
			}
		}
	}
	cases := []tc{
		{name: "one line", lines: one(vs[0], 2), check: added(2)},
		{name: "two lines", lines: []cart.LineInput{{VariantID: vs[0], Quantity: 1}, {VariantID: vs[1], Quantity: 3}}, check: added(1, 3)},
		{name: "raised line", lines: one(vs[2], 2), check: added(3)}, // the cart has 1 of it
		{name: "out of stock", lines: one(short, 57), check: func(t *testing.T, _ *cart.Cart, err error) {
			var se *cart.StockError
			if !errors.As(err, &se) || se.Field != "lines[0].quantity" || se.Available != 56 {
				t.Fatalf("want OUT_OF_STOCK, 56 available, got %v", err)
			}
		}},
		{name: "unknown variant", lines: one(commerce.NewID(), 1), check: refused(commerce.ErrNotFound, "lines[0].merchandiseId")},
		{name: "foreign cart", lines: one(vs[0], 1), token: func(string) string { return "" }, check: refused(commerce.ErrNotFound, "cartId")},
		{name: "stale version", lines: one(vs[0], 1), ifVersion: &stale, check: refused(commerce.ErrConflict, "ifVersion")},
		{name: "current version", lines: one(vs[1], 1), ifVersion: &current, check: added(1, 1)},
	}

	carts := make([]guestCart, len(cases))
	for i, tc := range cases {
		var c *cart.Cart
		var token string
		switch tc.name {
		case "raised line":
			c, token = g.newCart(t, web, cart.LineInput{VariantID: vs[2], Quantity: 1})
		case "current version":
			c, token = g.newCart(t, web, cart.LineInput{VariantID: vs[0], Quantity: 1})
			current = c.Version
			stale = c.Version + 5
		default:
			c, token = g.newCart(t, web)
		}
		carts[i] = guestCart{c, token}
	}

	release := g.holdSlot(t, web)
	type result struct {
		c   *cart.Cart
		err error
	}
	results := make([]chan result, len(cases))
	for i, tc := range cases {
		results[i] = make(chan result, 1)
		token := carts[i].token
		if tc.token != nil {
			token = tc.token(token)
		}
		go func() {
			c, err := g.svc.AddLines(web, carts[i].c.ID, token, tc.lines, tc.ifVersion)
			results[i] <- result{c, err}
		}()
	}
	g.waitForWaiting(t, len(cases))
	if err := release(); err != nil {
		t.Fatal(err)
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := <-results[i]
			tc.check(t, r.c, r.err)
			after, err := g.svc.FindCart(web, carts[i].c.ID, carts[i].token)
			if err != nil {
				t.Fatal(err)
			}
			want := carts[i].c.Version
			if r.err == nil {
				want++
			}
			if after.Version != want {
				t.Fatalf("version %d after the add, want %d", after.Version, want)
			}
			// A refused add to a cart the request reaches answers with the
			// cart as the refusal left it, priced (read in the group's
			// transaction, not again after it).
			if r.err != nil && tc.token == nil && (r.c == nil || r.c.ID != after.ID || r.c.Version != after.Version ||
				len(r.c.Lines) != len(after.Lines) || r.c.Cost.Total != after.Cost.Total) {
				t.Fatalf("refused add answered %+v, want the cart as it is: %+v", r.c, after)
			}
		})
	}
	if got := g.groupSizes(); !slices.Equal(got, []int{1, len(cases)}) {
		t.Fatalf("groups of %v, want the held add alone then one group of %d", got, len(cases))
	}
}

// A group whose transaction fails commits nothing, and each of its adds
// is then run alone: every add lands exactly once. It fails in its
// statements, or at commit, after the group has passed its slot on to the
// next (see combiner.lead).
func TestFailedGroupRunsItsAddsAlone(t *testing.T) { onEachAddPath(t, testFailedGroupRunsItsAddsAlone) }

func testFailedGroupRunsItsAddsAlone(t *testing.T, path addPath) {
	for name, trigger := range map[string]string{
		"in a statement": `CREATE TRIGGER fail_second_line BEFORE INSERT ON cart_lines
			FOR EACH ROW EXECUTE FUNCTION fail_second_line()`,
		"at commit": `CREATE CONSTRAINT TRIGGER fail_second_line AFTER INSERT ON cart_lines
			DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fail_second_line()`,
	} {
		t.Run(name, func(t *testing.T) {
			g := newGroupEnv(t, path, 1, 8)
			web := g.on(t, demo.KeyWebEU)
			// The second line ever written fails: the held add writes the
			// first, the group the second.
			if _, err := g.pool.Exec(t.Context(), `
				CREATE SEQUENCE lines_written;
				CREATE FUNCTION fail_second_line() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN
					IF nextval('lines_written') = 2 THEN
						RAISE EXCEPTION 'the second line fails';
					END IF;
					RETURN NEW;
				END $$;
				`+trigger); err != nil {
				t.Fatal(err)
			}
			v := stocked(t, 1, 5)[0]
			carts := g.newCarts(t, web, 3)
			release := g.holdSlot(t, web)
			errs := make(chan error, len(carts))
			for _, c := range carts {
				go func() {
					_, err := g.svc.AddLines(web, c.c.ID, c.token, []cart.LineInput{{VariantID: v, Quantity: 1}}, nil)
					errs <- err
				}()
			}
			g.waitForWaiting(t, len(carts))
			if err := release(); err != nil {
				t.Fatal(err)
			}
			for range carts {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			for _, c := range carts {
				got, err := g.svc.FindCart(web, c.c.ID, c.token)
				if err != nil {
					t.Fatal(err)
				}
				if len(got.Lines) != 1 || got.Lines[0].Quantity != 1 || got.Version != c.c.Version+1 {
					t.Fatalf("cart at version %d with %+v: want its one unit, once", got.Version, got.Lines)
				}
			}
			var written int
			if err := g.pool.QueryRow(t.Context(), `SELECT last_value FROM lines_written`).Scan(&written); err != nil {
				t.Fatal(err)
			}
			if sizes := g.groupSizes(); !slices.Equal(sizes, []int{1, 3}) || written != 5 {
				t.Fatalf("groups %v and %d lines written: want the group of 3 to fail and its adds to be written alone", sizes, written)
			}
		})
	}
}

// A cart locked for long by another transaction does not hold up the
// adds to other carts grouped with it: the group gives up waiting for the
// lock and its adds run alone, the one to the locked cart waiting for as
// long as the lock is held.
func TestLockedCartDoesNotHoldUpItsGroup(t *testing.T) {
	onEachAddPath(t, testLockedCartDoesNotHoldUpItsGroup)
}

func testLockedCartDoesNotHoldUpItsGroup(t *testing.T, path addPath) {
	g := newGroupEnv(t, path, 1, 8)
	web := g.on(t, demo.KeyWebEU)
	v := stocked(t, 1, 5)[0]
	carts := g.newCarts(t, web, 3)
	locked := carts[0].c.ID
	tx, err := g.pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // committed below
	if _, err := tx.Exec(t.Context(), `SELECT 1 FROM carts WHERE id = $1 FOR UPDATE`, locked); err != nil {
		t.Fatal(err)
	}

	release := g.holdSlot(t, web)
	done := make(chan commerce.ID, len(carts))
	errs := make(chan error, len(carts))
	for _, c := range carts {
		go func() {
			_, err := g.svc.AddLines(web, c.c.ID, c.token, []cart.LineInput{{VariantID: v, Quantity: 1}}, nil)
			errs <- err
			done <- c.c.ID
		}()
	}
	g.waitForWaiting(t, len(carts))
	if err := release(); err != nil {
		t.Fatal(err)
	}
	for range len(carts) - 1 {
		select {
		case id := <-done:
			if id == locked {
				t.Fatal("the add to the locked cart went through while it was locked")
			}
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the adds to unlocked carts waited for the locked one")
		}
	}
	if err := tx.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	if id := <-done; id != locked {
		t.Fatalf("last add done: %s, want the locked cart's", id)
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if sizes := g.groupSizes(); !slices.Equal(sizes, []int{1, 3}) {
		t.Fatalf("groups %v, want the held add alone then one group of 3", sizes)
	}
}

// An add given up while it waits for a group is not made, and the
// others go on.
func TestWaitingAddGivenUp(t *testing.T) { onEachAddPath(t, testWaitingAddGivenUp) }

func testWaitingAddGivenUp(t *testing.T, path addPath) {
	g := newGroupEnv(t, path, 1, 8)
	web := g.on(t, demo.KeyWebEU)
	v := stocked(t, 1, 5)[0]
	c, token := g.newCart(t, web)
	release := g.holdSlot(t, web)
	ctx, cancel := context.WithCancel(web)
	given := make(chan error, 1)
	go func() {
		_, err := g.svc.AddLines(ctx, c.ID, token, []cart.LineInput{{VariantID: v, Quantity: 1}}, nil)
		given <- err
	}()
	g.waitForWaiting(t, 1)
	cancel()
	select {
	case err := <-given:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("want the add given up, got %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the add went on waiting after it was given up")
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	got, err := g.svc.FindCart(web, c.ID, token)
	if err != nil || len(got.Lines) != 0 || got.Version != c.Version {
		t.Fatalf("cart %+v, %v: want it unchanged", got, err)
	}
	if got, err := g.svc.AddLines(web, c.ID, token, []cart.LineInput{{VariantID: v, Quantity: 1}}, nil); err != nil || len(got.Lines) != 1 {
		t.Fatalf("the next add: %+v, %v", got, err)
	}
}

// Many devices adding to many carts at once, in groups that overlap in
// time: every unit lands once, no add fails (no deadlock between groups),
// and adds really were grouped.
func TestConcurrentGroupsLoseNothing(t *testing.T) { onEachAddPath(t, testConcurrentGroupsLoseNothing) }

func testConcurrentGroupsLoseNothing(t *testing.T, path addPath) {
	g := newGroupEnv(t, path, 2, 4)
	web := g.on(t, demo.KeyWebEU)
	const carts, devices, adds = 8, 4, 10
	vs := stocked(t, 3, devices*adds)
	cs := g.newCarts(t, web, carts)
	var wg sync.WaitGroup
	errs := make(chan error, carts*devices*adds)
	for i := range carts {
		for d := range devices {
			wg.Go(func() {
				for a := range adds {
					v := vs[(i+d+a)%len(vs)]
					if _, err := g.svc.AddLines(web, cs[i].c.ID, cs[i].token, []cart.LineInput{{VariantID: v, Quantity: 1}}, nil); err != nil {
						errs <- fmt.Errorf("cart %d, device %d, add %d: %w", i, d, a, err)
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i, c := range cs {
		got, err := g.svc.FindCart(web, c.c.ID, c.token)
		if err != nil {
			t.Fatal(err)
		}
		units := 0
		for _, l := range got.Lines {
			units += l.Quantity
		}
		if units != devices*adds || got.Version != c.c.Version+devices*adds {
			t.Errorf("cart %d: %d units at version %d, want %d at %d", i, units, got.Version, devices*adds, c.c.Version+devices*adds)
		}
	}
	grouped := slices.ContainsFunc(g.groupSizes(), func(n int) bool { return n > 1 })
	if !grouped {
		t.Fatalf("no add was grouped (groups %v): the test did not test groups", g.groupSizes())
	}
}

// The add pool's sessions start with the adds' plan settings and lock
// bound, and the pool stays small.
func TestAddPoolSessions(t *testing.T) {
	e := newEnv(t, nil)
	addPool, err := cart.NewAddPool(t.Context(), e.pool.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer addPool.Close()
	for setting, want := range map[string]string{"plan_cache_mode": "force_generic_plan", "enable_hashjoin": "off",
		"enable_mergejoin": "off", "lock_timeout": "50ms"} {
		var got string
		if err := addPool.QueryRow(t.Context(), "SELECT current_setting($1)", setting).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s = %s on the add pool, want %s", setting, got, want)
		}
	}
	if n, main := addPool.Config().MaxConns, e.pool.Config().MaxConns; n > main || n > int32(2*runtime.GOMAXPROCS(0)+cart.DefaultAddGroupSize) {
		t.Errorf("the add pool holds up to %d connections (the service's %d)", n, main)
	}
}
