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
// (usable means now < ExpiresAt). The chaos test finds this with callers that
// come back exactly when their value expires. Fix: withdraw the value from
// the fast path a margin before it expires (publish and nextBoundary), so
// that from then on the loop, which reads the clock, decides.
func TestFastPathNeverServesAtExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const callers = 1000
		r := &supRefresher{life: 10 * time.Minute}
		c := New[int](supNonRefreshable{r})
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

// supNonRefreshable hands out the entries of r marked Final.
type supNonRefreshable struct{ r *supRefresher }

func (n supNonRefreshable) Refresh(ctx context.Context, _ *Entry[int]) (Entry[int], error) {
	e, err := n.r.call(ctx)
	e.Final = true
	return e, err
}
