package tokenactor_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/fakeclock"
)

// countingRefresher hands out "token-N", valid for an hour on clk, and
// counts its calls.
type countingRefresher struct {
	clk   *fakeclock.Clock
	calls atomic.Int64
}

func (r *countingRefresher) Refresh(context.Context, *tokenactor.Entry[string]) (tokenactor.Entry[string], error) {
	return r.next(), nil
}

func (r *countingRefresher) next() tokenactor.Entry[string] {
	n := r.calls.Add(1)
	return tokenactor.Entry[string]{
		Value:     fmt.Sprintf("token-%d", n),
		ExpiresAt: r.clk.Now().Add(time.Hour),
	}
}

func getValue(t *testing.T, c *tokenactor.Cache[string]) string {
	t.Helper()
	v, err := c.Get(t.Context())
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	return v
}

// TestFastPathEndsAtStaleBoundary: the timer that guards the fast path
// fires at ExpiresAt - window exactly, so the first Get from then on
// starts the background refresh, and none before it does. The window is
// not a multiple of the recheck interval, so only a timer armed for the
// boundary itself gets there in time.
func TestFastPathEndsAtStaleBoundary(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := fakeclock.New()
		r := &countingRefresher{clk: clk}
		const window = 10*time.Minute + 7*time.Second
		c := tokenactor.New[string](r, tokenactor.WithClock(clk), tokenactor.WithRefreshWindow(window))
		defer c.Close()
		if got := getValue(t, c); got != "token-1" {
			t.Fatalf("first Get = %q, want token-1", got)
		}
		// The loop arms its timer after it answers: let it, before the
		// clock moves (the engine times the timer from the instant it
		// read the clock for the message, not from the instant it arms).
		synctest.Wait()
		staleAt := clk.Now().Add(time.Hour - window)

		clk.AdvanceTo(staleAt.Add(-time.Nanosecond))
		synctest.Wait()
		if got := getValue(t, c); got != "token-1" {
			t.Fatalf("Get just before stale = %q, want token-1", got)
		}
		synctest.Wait()
		if n := r.calls.Load(); n != 1 {
			t.Fatalf("refresher called %d times before the value turned stale, want 1", n)
		}

		clk.AdvanceTo(staleAt)
		synctest.Wait()
		if got := getValue(t, c); got != "token-1" {
			t.Fatalf("Get at the stale boundary = %q, want the still usable token-1", got)
		}
		synctest.Wait()
		if n := r.calls.Load(); n != 2 {
			t.Fatalf("refresher called %d times once the value turned stale, want 2 (one background refresh)", n)
		}
		if got := getValue(t, c); got != "token-2" {
			t.Fatalf("Get after the background refresh = %q, want token-2", got)
		}
	})
}

// TestFastPathNoticesWallClockJumpWithinRecheck pins what the fast path
// guarantees when the wall clock steps forward (or the machine slept) while
// its elapsed-time timers stood still: the stale value may be served until
// the recheck interval has elapsed, not longer.
func TestFastPathNoticesWallClockJumpWithinRecheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := fakeclock.New()
		r := &countingRefresher{clk: clk}
		const recheck = 30 * time.Second // as documented in doc.go, "The fast path"
		c := tokenactor.New[string](r, tokenactor.WithClock(clk))
		defer c.Close()
		if got := getValue(t, c); got != "token-1" {
			t.Fatalf("first Get = %q, want token-1", got)
		}

		synctest.Wait()         // the loop arms its timer after it answers
		clk.Jump(2 * time.Hour) // token-1 expired an hour ago by the wall clock
		clk.Add(recheck)
		synctest.Wait()
		if got := getValue(t, c); got != "token-2" {
			t.Fatalf("Get a recheck interval after the jump = %q, want token-2", got)
		}
		if n := r.calls.Load(); n != 2 {
			t.Fatalf("refresher called %d times, want 2", n)
		}
	})
}
