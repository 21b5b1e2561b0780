package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// loadResult is what the measured period of a run produced.
type loadResult struct {
	start     time.Time       // when the first request (warm-up included) was sent
	from, to  time.Time       // the measured window
	latencies []time.Duration // of the requests that succeeded in the window
	errors    [errGraphQL + 1]int
	firstErr  [errGraphQL + 1]string // one example message per kind
	bytes     int64                  // response bytes of the successful requests
}

// record counts one measured answer: its latency when it succeeded, its
// kind of error (and the first message of that kind) otherwise.
func (r *loadResult) record(res result, latency time.Duration) {
	if res.err != nil {
		r.errors[res.kind]++
		if r.firstErr[res.kind] == "" {
			r.firstErr[res.kind] = res.err.Error()
		}
		return
	}
	r.latencies = append(r.latencies, latency)
	r.bytes += int64(len(res.body))
}

// merge adds a worker's figures to r (the measured window excepted).
func (r *loadResult) merge(w *loadResult) {
	r.latencies = append(r.latencies, w.latencies...)
	r.bytes += w.bytes
	for k := range w.errors {
		r.errors[k] += w.errors[k]
		if r.firstErr[k] == "" {
			r.firstErr[k] = w.firstErr[k]
		}
	}
}

func (r *loadResult) requests() int {
	n := len(r.latencies)
	for _, e := range r.errors[1:] {
		n += e
	}
	return n
}

// runLoad keeps conns requests in flight, from now until warmup+duration
// has passed, n requests were measured (n > 0), or ctx ends. Only requests
// that complete inside the measured window count: those answered during the
// warm-up (cold caches, connections being opened, the runtime growing its
// heap) and those answered after the window closed are left out.
//
// bodies is one list shared by every connection, which then start at
// different bodies, or one list per connection (an operation with perConn),
// which each goes through in order.
//
// onMeasure is called when the measured window opens, unless the run ends
// before; runLoad returns only after it has returned.
func runLoad(ctx context.Context, c *client, bodies [][][]byte, conns int, warmup, duration time.Duration, n int, onMeasure func()) *loadResult {
	start := time.Now()
	from := start.Add(warmup)
	deadline := from.Add(duration)
	runCtx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()

	// Whatever ends the run (deadline, n reached, Ctrl-C), the window
	// closes when it ends.
	var stopAt time.Time
	stopped := make(chan struct{})
	context.AfterFunc(runCtx, func() { stopAt = time.Now(); close(stopped) })

	measuring := make(chan struct{})
	go func() {
		defer close(measuring)
		select {
		case <-time.After(time.Until(from)):
			onMeasure()
		case <-runCtx.Done():
		}
	}()

	var (
		counted atomic.Int64
		mu      sync.Mutex
		total   = &loadResult{start: start, from: from}
		wg      sync.WaitGroup
	)
	for w := range conns {
		wg.Go(func() {
			// Each worker keeps its own figures, merged once at the end,
			// so recording a request costs no lock.
			local := &loadResult{latencies: make([]time.Duration, 0, 4096)}
			mine, i, step := bodies[0], w, conns
			if len(bodies) > 1 {
				mine, i, step = bodies[w%len(bodies)], 0, 1
			}
			for ; runCtx.Err() == nil; i += step {
				t0 := time.Now()
				// Sent with ctx, not runCtx: a request in flight when the
				// window closes is left to finish (within --timeout) and
				// not counted, rather than cancelled — a cancelled request
				// makes the server log errors that are not its fault.
				res := c.send(ctx, mine[i%len(mine)])
				t1 := time.Now()
				if runCtx.Err() != nil {
					break // answered after the window closed
				}
				if res.kind == errTransport {
					// A dead server would otherwise be hammered in a tight loop.
					time.Sleep(10 * time.Millisecond)
				}
				if t1.Before(from) {
					continue // warm-up
				}
				if n > 0 {
					k := counted.Add(1)
					if k > int64(n) {
						break
					}
					if k == int64(n) {
						cancel()
					}
				}
				local.record(res, t1.Sub(t0))
			}
			mu.Lock()
			defer mu.Unlock()
			total.merge(local)
		})
	}
	wg.Wait()
	cancel()
	<-stopped
	<-measuring
	total.to = stopAt
	if total.to.After(deadline) {
		total.to = deadline
	}
	if !total.to.After(from) {
		total.to = from // stopped during the warm-up: nothing was measured
	}
	return total
}

// runOnce sends each of bodies once, over conns connections that each take
// the next unsent body when their previous answer arrives, until none is
// left, duration has passed since the measured window opened, or ctx ends.
// The first warm bodies are the warm-up. The measured window opens when
// the first measured body is sent and closes when the last measured answer
// arrives: every measured request that was sent is waited for and counted.
// onMeasure is called when the window opens.
func runOnce(ctx context.Context, c *client, bodies [][]byte, conns, warm int, duration time.Duration, onMeasure func()) *loadResult {
	warm = min(warm, len(bodies))
	stopCtx, stop := context.WithCancel(ctx)
	defer stop()
	var (
		next   atomic.Int64
		mu     sync.Mutex
		opened sync.Once
		total  = &loadResult{start: time.Now()}
		wg     sync.WaitGroup
		timer  *time.Timer // set once the window opens; read after wg.Wait
	)
	open := func(t time.Time) {
		opened.Do(func() {
			mu.Lock()
			total.from = t
			mu.Unlock()
			onMeasure()
			timer = time.AfterFunc(duration, stop)
		})
	}
	if warm == 0 {
		open(total.start)
	}
	for range conns {
		wg.Go(func() {
			local := &loadResult{latencies: make([]time.Duration, 0, 1024)}
			for stopCtx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(bodies) {
					break
				}
				t0 := time.Now()
				if i == warm {
					open(t0)
				}
				// Sent with ctx: once taken, a body is never sent again,
				// so its answer is always waited for (within --timeout).
				res := c.send(ctx, bodies[i])
				t1 := time.Now()
				if ctx.Err() != nil {
					break // Ctrl-C: an interrupted request is not the server's error
				}
				if i < warm {
					continue
				}
				if t1.After(local.to) {
					local.to = t1
				}
				local.record(res, t1.Sub(t0))
			}
			mu.Lock()
			defer mu.Unlock()
			total.merge(local)
			if local.to.After(total.to) {
				total.to = local.to
			}
		})
	}
	wg.Wait()
	if timer != nil {
		timer.Stop()
	}
	if total.from.IsZero() {
		total.from = time.Now() // stopped during the warm-up: nothing was measured
	}
	if total.to.Before(total.from) {
		total.to = total.from
	}
	return total
}
