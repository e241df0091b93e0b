package tokenactor

import (
	"math"
	"runtime"
	"time"

	"context"
	"github.com/tokenactor/tokenactor/fakeclock"
	"testing"
	"testing/synctest"
)

// TestDepartedWaitersAreForgotten: while a refresh hangs (here without a
// refresh timeout), callers keep coming, park, and leave when their
// contexts end, the way request handlers with deadlines do. The cache must
// not keep anything of every caller that ever parked: memory would grow
// with the request rate for as long as the refresh hangs. (Kept, the 19,000
// callers of the later rounds would hold about 3 MB.)
func TestDepartedWaitersAreForgotten(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New[int](RefresherFunc[int](func(ctx context.Context, _ *Entry[int]) (Entry[int], error) {
			<-ctx.Done()
			return Entry[int]{}, ctx.Err()
		}), WithRefreshTimeout(0))
		const rounds, callers = 20, 1000
		round := func() {
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
			synctest.Wait()
		}
		round()
		before := heapInUse()
		for range rounds - 1 {
			round()
		}
		if grown := int64(heapInUse()) - int64(before); grown > 512<<10 {
			t.Errorf("the heap grew by %d bytes while %d callers came and left, %d at a time; want it not to grow with them", grown, (rounds-1)*callers, callers)
		}
		c.Close()
	})
}

// heapInUse returns the bytes of live heap objects after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestTimerBeyondYear2262: a clock that reads later than Unix nanoseconds
// reach (April 2262: a wrong RTC, a hostile test) still gets its timer
// re-armed for an earlier boundary, so the fast path stops serving a value
// that turned stale or expired.
func TestTimerBeyondYear2262(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := fakeclock.New()
		clk.Set(time.Unix(0, math.MaxInt64).Add(-20 * time.Second))
		calls := 0
		c := New[int](RefresherFunc[int](func(context.Context, *Entry[int]) (Entry[int], error) {
			calls++
			life := time.Hour
			if calls > 1 {
				life = 5 * time.Second
			}
			return Entry[int]{Value: calls, ExpiresAt: clk.Now().Add(life), Final: true}, nil
		}), WithClock(clk))
		defer c.Close()
		if v, err := c.Get(t.Context()); v != 1 || err != nil {
			t.Fatalf("Get = %d, %v; want 1", v, err)
		}
		c.Invalidate()
		if v, err := c.Get(t.Context()); v != 2 || err != nil {
			t.Fatalf("Get after Invalidate = %d, %v; want 2", v, err)
		}
		synctest.Wait()
		clk.Add(10 * time.Second) // value 2 expired 5 s ago
		synctest.Wait()
		if v, err := c.Get(t.Context()); err == nil {
			t.Fatalf("Get after ExpiresAt = %d, nil; want ErrTokenExpired", v)
		}
	})
}
