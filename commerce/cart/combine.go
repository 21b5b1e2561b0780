package cart

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// combiner lets adds to different carts that arrive together share one
// transaction, one round trip to Postgres and one execution of addSQL and
// of the read that follows it. Under load much of an add's cost in
// Postgres is not the work on its rows but what every transaction and
// every statement pays: the commit and its WAL flush, the round trip's
// system calls, and starting up the executor for the add's plan of some
// 50 nodes. Shared by a group, these are what lets 16 carts edited in
// parallel go past what one transaction per add allows
// (docs/performance.md, issue 4).
//
// At most limit groups run at once. An add that finds one free runs at
// once, alone if nothing waits: a cart edited in a loop is never delayed.
// The others wait; when a group's statements have answered, the first
// waiting add leads the next group, taking with it up to max-1 adds that
// wait behind it, one per cart (addSQL takes a cart once). The next group
// so runs while the previous one's commit is flushed to disk; the adds of
// a group learn their outcome only once it is committed.
//
// A group is only an optimisation: whenever it cannot give an add its
// own outcome it sends the add on alone, as if there were no combiner.
// A group whose transaction failed (a raced add, a deadlock, a
// serialization failure, a cart locked for long by another transaction,
// see groupSettings: nothing of it was committed) sends every add on
// alone, as does an add that found its cart moved (errCartMoved), which
// is retried alone as pipelinedTx does.
//
// An add alone locks one cart, so it cannot deadlock with anything; two
// groups running at once could, if they locked two carts in opposite
// orders. A group sends its carts in id order, which its plan mostly
// keeps, and should two groups still deadlock, the lock wait bound of
// groupSettings (50 ms, well before Postgres's deadlock check at 1 s)
// fails one of them, whose adds then run alone.
type combiner struct {
	limit, max int

	mu      sync.Mutex
	running int
	waiting []*addJob

	// grouped, when set (by tests), is told the size of every group.
	grouped func(size int)
}

// addJob is one add waiting for, or in, a group.
type addJob struct {
	call addCall
	done chan struct{} // closed when the fields below are set
	// lead: the job leads the next group (and has no outcome yet);
	// alone: run it alone; otherwise cart and err are its outcome.
	lead, alone bool
	cart        *Cart
	err         error
}

// add runs the add call, in a group when others arrive at the same time.
// The cart is the one the add made (unpriced), as addLines with commit.
func (s *Service) add(ctx context.Context, call addCall) (*Cart, error) {
	cb := s.combiner
	if cb == nil {
		return s.addAlone(ctx, call)
	}
	j := &addJob{call: call, done: make(chan struct{})}
	cb.mu.Lock()
	if cb.running < cb.limit {
		cb.running++
		j.lead = true
		cb.mu.Unlock()
	} else {
		cb.waiting = append(cb.waiting, j)
		cb.mu.Unlock()
		select {
		case <-j.done:
		case <-ctx.Done():
			cb.mu.Lock()
			if i := slices.Index(cb.waiting, j); i >= 0 {
				cb.waiting = slices.Delete(cb.waiting, i, i+1)
				cb.mu.Unlock()
				return nil, ctx.Err()
			}
			cb.mu.Unlock()
			<-j.done // already taken by a group: its outcome is coming
		}
	}
	if j.lead {
		cb.lead(ctx, s, j)
	}
	if j.alone {
		return s.addAlone(ctx, call)
	}
	return j.cart, j.err
}

// addAlone runs one add in its own transaction.
func (s *Service) addAlone(ctx context.Context, call addCall) (*Cart, error) {
	pool, settings := s.addsOn(false)
	c, err := s.sendAlone(ctx, pool, settings, call)
	if pool != s.pool && isLockTimeout(err) {
		// The add pool's sessions give up on a row lock after 50 ms, as
		// groups must; an add alone waits as long as it has to.
		c, err = s.sendAlone(ctx, s.pool, addPlans, call)
	}
	return c, err
}

func (s *Service) sendAlone(ctx context.Context, pool *pgxpool.Pool, settings string, call addCall) (*Cart, error) {
	var c *Cart
	err := s.pipelinedTx(ctx, pool, call.ifVersion == nil, func(conn *pgxpool.Conn) error {
		var err error
		c, err = addLines(ctx, conn, &call, settings, true)
		return err
	})
	return c, err
}

// lead runs the group that j leads: j and the adds waiting behind it, up
// to max, one per cart (an add to a cart already in the group waits for
// the next). Its running slot passes to the first add still waiting, if
// any, once the group's statements have answered (see pass).
func (cb *combiner) lead(ctx context.Context, s *Service, j *addJob) {
	j.lead = false
	cb.mu.Lock()
	group := []*addJob{j}
	rest := cb.waiting[:0]
	for _, w := range cb.waiting {
		if len(group) < cb.max && !slices.ContainsFunc(group, func(g *addJob) bool { return g.call.id == w.call.id }) {
			group = append(group, w)
		} else {
			rest = append(rest, w)
		}
	}
	clear(cb.waiting[len(rest):])
	cb.waiting = rest
	cb.mu.Unlock()

	if cb.grouped != nil {
		cb.grouped(len(group))
	}
	// pass hands the running slot on to the first add still waiting, if
	// any; a group does so as soon as its statements have answered, while
	// its commit is flushed to disk: the next group's statements then run
	// during that wait instead of after it.
	passed := false
	pass := func() {
		if passed {
			return
		}
		passed = true
		cb.mu.Lock()
		var next *addJob
		if len(cb.waiting) > 0 {
			next = cb.waiting[0]
			cb.waiting = slices.Delete(cb.waiting, 0, 1)
			next.lead = true
		} else {
			cb.running--
		}
		cb.mu.Unlock()
		if next != nil {
			close(next.done)
		}
	}
	if len(group) == 1 {
		j.cart, j.err = s.addAlone(ctx, j.call)
	} else {
		// The group must not fail because the client of the add that
		// leads it went away: the others are waiting for it. It keeps the
		// leader's deadline (the GraphQL timeout), the earliest of the
		// group's, so that a stalled database does not hold them forever.
		gctx := context.WithoutCancel(ctx)
		if dl, ok := ctx.Deadline(); ok {
			var cancel context.CancelFunc
			gctx, cancel = context.WithDeadline(gctx, dl)
			defer cancel()
		}
		s.runGroup(gctx, group, pass)
	}
	pass()
	for _, g := range group[1:] {
		close(g.done)
	}
}

// groupSettings is addPlans for a group, and a bound on how long it may
// wait for a row lock: a cart locked by a long transaction must not hold
// up the adds to other carts grouped with it, and all those waiting
// behind. Past the bound the group fails and its adds run alone, the one
// to the locked cart waiting as long as it has to.
const groupSettings = addPlans + `, set_config('lock_timeout', '50ms', true)`

// runGroup runs the adds of group, each to another cart, in one
// transaction and sets each one's outcome (see combiner). It calls
// answered once the statements have answered, before the commit's answer:
// the outcomes are only final after it.
func (s *Service) runGroup(ctx context.Context, group []*addJob, answered func()) {
	// Carts by id, whatever order the adds came in (see combiner).
	jobs := slices.Clone(group)
	slices.SortFunc(jobs, func(a, b *addJob) int { return bytes.Compare(a.call.id[:], b.call.id[:]) })
	calls := make([]*addCall, len(jobs))
	for i, j := range jobs {
		calls[i] = &j.call
	}
	var outs []addOutcome
	pool, settings := s.addsOn(true)
	err := s.pipelinedOnce(ctx, pool, func(conn *pgxpool.Conn) error {
		var err error
		outs, err = sendAdds(ctx, conn, calls, settings, true, answered)
		return err
	})
	if err == nil {
		for i, j := range jobs {
			j.cart, j.err = outs[i].cart, outs[i].err
			if errors.Is(j.err, errCartMoved) && j.call.ifVersion == nil {
				j.alone, j.err = true, nil
			}
		}
		return
	}
	if _, ok := errors.AsType[*pgconn.PgError](err); ok {
		// Postgres failed the transaction: nothing of it was committed.
		for _, j := range group {
			j.alone = true
		}
		return
	}
	// Lost connection or the like: whether the commit happened is
	// unknown, as for an add alone in the same case.
	for _, j := range group {
		j.err = err
	}
}
