package tokenactor_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tokenactor/tokenactor"
)

// TestRefreshJitterSpreadsRefreshes: caches that fetched their values at the
// same instant start their background refreshes at different moments, each
// between ExpiresAt - window·(1+frac) and ExpiresAt - window. Without the
// option they would all start at ExpiresAt - window.
func TestRefreshJitterSpreadsRefreshes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			caches = 20
			life   = time.Hour
			window = 90 * time.Second
			frac   = 0.5
		)
		start := time.Now()
		expires := start.Add(life)
		started := make(chan time.Time, caches) // one refresh per cache
		var callers sync.WaitGroup
		for range caches {
			var refreshed atomic.Bool
			r := tokenactor.RefresherFunc[int](func(_ context.Context, previous *tokenactor.Entry[int]) (tokenactor.Entry[int], error) {
				if previous != nil && !refreshed.Swap(true) {
					started <- time.Now()
				}
				return tokenactor.Entry[int]{Value: 1, ExpiresAt: expires}, nil
			})
			c := tokenactor.New(r, tokenactor.WithRefreshJitter(frac))
			defer c.Close()
			if _, err := c.Get(t.Context()); err != nil {
				t.Fatal(err)
			}
			// A caller that comes back every second triggers the
			// background refresh within a second of the value turning
			// stale.
			callers.Go(func() {
				for !refreshed.Load() {
					time.Sleep(time.Second)
					if _, err := c.Get(t.Context()); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		earliest := expires.Add(-time.Duration(float64(window) * (1 + frac)))
		latest := expires.Add(-window)
		distinct := map[time.Time]bool{}
		for range caches {
			at := <-started
			distinct[at] = true
			if at.Before(earliest) || at.After(latest.Add(time.Second)) {
				t.Errorf("refresh started %v before expiry, want between %v and %v", expires.Sub(at), expires.Sub(latest), expires.Sub(earliest))
			}
		}
		callers.Wait()
		if len(distinct) < 2 {
			t.Errorf("all %d caches refreshed at the same instant", caches)
		}
	})
}
