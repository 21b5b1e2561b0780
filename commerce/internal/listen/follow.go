package listen

import (
	"context"
	"time"

	"github.com/omnicanal/omnicanal/commerce"
)

// Follower says how Follow reads and pushes one live value.
type Follower[T any] struct {
	// Read reads the current value, with the subscriber's own access.
	Read func(context.Context) (T, error)
	// Ended tells whether a read error ends the watch (access lost); any
	// other error is logged and the read tried again after retryRead.
	Ended func(error) bool
	// Moved tells whether next differs from the last value pushed, prev.
	Moved func(prev, next T) bool
	// Last, when set, tells whether a value is the last one (the watch
	// ends after pushing it: a converted cart no longer changes).
	Last func(T) bool
}

// retryRead is how long a watch waits to read again after a read failed
// for another reason than access (the database busy or restarting).
const retryRead = time.Second

// Follow returns the value of id now, then again after each change of it,
// until ctx ends, a read ends the watch (f.Ended) or a last value was
// pushed (f.Last). A failed first read is the error. Notifications are
// hints: each wake-up reads the value anew, and only a value that moved is
// pushed, so a burst of changes may be pushed as its last value only.
func Follow[T any](ctx context.Context, h *Hub, id commerce.ID, f Follower[T]) (<-chan T, error) {
	// Subscribed before the first read, so that a change committed between
	// the two is not missed.
	wake, stop, err := h.Subscribe(ctx, id)
	if err != nil {
		return nil, err
	}
	last, err := f.Read(ctx)
	if err != nil {
		stop()
		return nil, err
	}
	out := make(chan T, 1)
	out <- last
	go func() {
		defer close(out)
		defer stop()
		if f.Last != nil && f.Last(last) {
			return
		}
		var retry <-chan time.Time
		for {
			select {
			case <-ctx.Done():
				return
			case <-wake:
			case <-retry:
			}
			retry = nil
			v, err := f.Read(ctx)
			switch {
			case ctx.Err() != nil:
				return
			case err != nil && f.Ended(err):
				return
			case err != nil:
				h.log.WarnContext(ctx, h.cfg.Name+": reading failed; retrying", "id", id, "err", err)
				retry = time.After(retryRead)
				continue
			case !f.Moved(last, v):
				continue
			}
			last = v
			select {
			case out <- v:
			case <-ctx.Done():
				return
			}
			if f.Last != nil && f.Last(v) {
				return
			}
		}
	}()
	return out, nil
}
