package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// loadResult is what the measured period of a run produced.
type loadResult struct {
	from, to  time.Time       // the measured window
	latencies []time.Duration // of the requests that succeeded in the window
	errors    [errGraphQL + 1]int
	firstErr  [errGraphQL + 1]string // one example message per kind
	bytes     int64                  // response bytes of the successful requests
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
		total   = &loadResult{from: from}
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
				if res.err != nil {
					local.errors[res.kind]++
					if local.firstErr[res.kind] == "" {
						local.firstErr[res.kind] = res.err.Error()
					}
					continue
				}
				local.latencies = append(local.latencies, t1.Sub(t0))
				local.bytes += int64(len(res.body))
			}
			mu.Lock()
			defer mu.Unlock()
			total.latencies = append(total.latencies, local.latencies...)
			total.bytes += local.bytes
			for k := range local.errors {
				total.errors[k] += local.errors[k]
				if total.firstErr[k] == "" {
					total.firstErr[k] = local.firstErr[k]
				}
			}
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
