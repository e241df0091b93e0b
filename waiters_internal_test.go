package tokenactor

import (
	"context"
	"testing"
	"testing/synctest"
)

// TestDepartedWaitersAreForgotten: while a refresh hangs (here without a
// refresh timeout), callers keep coming, park, and leave when their
// contexts end, the way request handlers with deadlines do. The loop must
// not keep every caller that ever parked: memory would grow with the
// request rate for as long as the refresh hangs.
func TestDepartedWaitersAreForgotten(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New[int](RefresherFunc[int](func(ctx context.Context, _ *Entry[int]) (Entry[int], error) {
			<-ctx.Done()
			return Entry[int]{}, ctx.Err()
		}), WithRefreshTimeout(0))
		const rounds, callers = 20, 1000
		for range rounds {
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, callers)
			for range callers {
				go func() {
					_, err := c.Get(ctx)
					done <- err
				}()
			}
			synctest.Wait() // all parked
			cancel()
			for range callers {
				<-done
			}
		}
		synctest.Wait()
		if n := len(c.l.job.waiters); n > 2*callers {
			t.Errorf("the refresh in flight keeps %d waiters after %d callers came and left, %d at a time; want at most %d", n, rounds*callers, callers, 2*callers)
		}
		c.Close()
	})
}
