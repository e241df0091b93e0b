package tokenactor

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// The fast path serves a value until the loop's timer withdraws it at
// ExpiresAt. Callers that come at that very instant race the timer's
// callback and may be served the value although it is no longer usable
// (usable means now < ExpiresAt). So the fast path stops serving a value a
// margin before it expires (publish and nextBoundary), and from then on the
// loop, which reads the clock, decides.
func TestFastPathNeverServesAtExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const callers = 1000
		r := &finalRefresher{life: 10 * time.Minute}
		c := New[int](r)
		defer c.Close()
		ctx := t.Context()

		if _, err := c.Get(ctx); err != nil {
			t.Fatal(err)
		}
		expiry := time.Now().Add(r.life)
		var served atomic.Int32
		var wg sync.WaitGroup
		for range callers {
			wg.Go(func() {
				time.Sleep(time.Until(expiry))
				if _, err := c.Get(ctx); err == nil {
					served.Add(1)
				}
			})
		}
		wg.Wait()
		if n := served.Load(); n > 0 {
			t.Errorf("%d of %d callers coming at ExpiresAt were served the expired value", n, callers)
		}
	})
}

// finalRefresher hands out Final entries numbered 1, 2, ..., living for
// life.
type finalRefresher struct {
	life  time.Duration
	calls atomic.Int32
}

func (r *finalRefresher) Refresh(context.Context, *Entry[int]) (Entry[int], error) {
	n := r.calls.Add(1)
	return Entry[int]{Value: int(n), ExpiresAt: time.Now().Add(r.life), Final: true}, nil
}
