package tokenactor_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tokenactor/tokenactor"
)

// Callers that come while others already wait for a refresh wait on the
// same wake without asking the loop: a Get that waits allocates nothing of
// its own (no reply channel, no mailbox slot), so 10,000 callers parked on
// an expired token leave no garbage for the collector to chase while they
// are woken.
func TestParkedGetAllocatesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const callers = 1000
		c, s, _ := newCache()
		defer c.Close()
		first := goGet(context.Background(), c)
		synctest.Wait()
		call := s.next(t)

		// What the runtime allocates to start a goroutine is counted by
		// parking as many goroutines on a plain channel, in a second round
		// that reuses what the first one left, as the Gets do.
		var wg sync.WaitGroup
		var goroutines uint64
		for range 2 {
			block := make(chan struct{})
			goroutines = mallocs(callers, func() { defer wg.Done(); <-block }, &wg)
			close(block)
			wg.Wait()
		}

		var bad sync.Map
		gets := mallocs(callers, func() {
			defer wg.Done()
			if v, err := c.Get(context.Background()); v != "v1" || err != nil {
				bad.Store(v, err)
			}
		}, &wg)
		call.ok("v1", at(time.Hour), true)
		wg.Wait()
		synctest.Wait() // the first caller's goroutine hands on its answer
		if r, ok := answered(first); !ok || r.value != "v1" {
			t.Fatalf("first caller got %+v (answered %t), want v1", r, ok)
		}
		bad.Range(func(v, err any) bool {
			t.Fatalf("a parked caller got %q, %v; want v1", v, err)
			return false
		})
		if per := float64(int64(gets)-int64(goroutines)) / callers; per >= 0.5 {
			t.Errorf("a parked Get allocates %.2f times, want none", per)
		}
	})
}

// mallocs starts n goroutines running f (each counted in wg), waits until
// all of them are durably blocked, and returns the heap allocations made
// meanwhile.
func mallocs(n int, f func(), wg *sync.WaitGroup) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	wg.Add(n)
	for range n {
		go f()
	}
	synctest.Wait()
	runtime.ReadMemStats(&after)
	return after.Mallocs - before.Mallocs
}

// Callers that came after the first one parked, and so wait on the
// published wake, get what callers parked by the loop get: the fresh call's
// outcome across a Reset, ctx's error when theirs ends (and the refresh
// goes on; an error even from a context that breaks its contract),
// ErrClosed on Close.
func TestLateParkedCallers(t *testing.T) {
	t.Run("reset", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c, s, _ := newCache()
			defer c.Close()
			first := goGet(context.Background(), c)
			synctest.Wait()
			stale := s.next(t)
			late := goGets(c, 10)
			synctest.Wait()

			c.Reset()
			stale.ok("old", at(time.Hour), true)
			synctest.Wait()
			wantWaiting(t, append(late, first))
			fresh := goGets(c, 10)
			synctest.Wait()
			s.next(t).ok("new", at(time.Hour), true)
			synctest.Wait()
			wantAll(t, append(append(late, first), fresh...), "new")
			s.none(t)
		})
	})
	t.Run("context", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c, s, _ := newCache()
			defer c.Close()
			first := goGet(context.Background(), c)
			synctest.Wait()
			call := s.next(t)
			ctx, cancel := context.WithCancel(context.Background())
			leaving := goGet(ctx, c)
			broken := goGet(brokenCtx{context.Background()}, c)
			staying := goGets(c, 10)
			synctest.Wait()
			if r, ok := answered(broken); !ok || r.err == nil {
				t.Fatalf("late caller with a broken context got %+v (answered %t), want an error", r, ok)
			}

			cancel()
			synctest.Wait()
			if r, ok := answered(leaving); !ok || !errors.Is(r.err, context.Canceled) {
				t.Fatalf("cancelled caller got %+v (answered %t), want context.Canceled at once", r, ok)
			}
			if call.ctx.Err() != nil {
				t.Fatal("a caller's context ended the shared refresh")
			}
			call.ok("v1", at(time.Hour), true)
			synctest.Wait()
			wantAll(t, append(staying, first), "v1")
		})
	})
	t.Run("close", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c, s, _ := newCache(tokenactor.WithRefreshTimeout(0))
			first := goGet(context.Background(), c)
			synctest.Wait()
			s.next(t) // never answered: it ends when Close cancels it
			late := goGets(c, 10)
			synctest.Wait()

			c.Close()
			synctest.Wait()
			for i, ch := range append(late, first) {
				if r, ok := answered(ch); !ok || !errors.Is(r.err, tokenactor.ErrClosed) {
					t.Fatalf("caller %d got %+v (answered %t), want ErrClosed", i, r, ok)
				}
			}
			if _, err := c.Get(context.Background()); !errors.Is(err, tokenactor.ErrClosed) {
				t.Fatalf("Get after Close: %v, want ErrClosed", err)
			}
		})
	})
}
