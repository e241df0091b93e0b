package tokenactor_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/fakeclock"
)

// Every test here runs in a testing/synctest bubble with a fake clock made
// inside it: synctest.Wait returns once every goroutine of the cache is
// durably blocked, so each assertion sees a settled state.

// newCache returns a cache over a stub refresher and a fake clock at
// fakeclock.Start.
func newCache(opts ...tokenactor.Option) (*tokenactor.Cache[string], *stubRefresher, *fakeclock.Clock) {
	clk := fakeclock.New()
	s := newStub()
	c := tokenactor.New[string](s, append([]tokenactor.Option{tokenactor.WithClock(clk)}, opts...)...)
	return c, s, clk
}

// prime makes the first Get authenticate and answers it with value.
func prime(t *testing.T, c *tokenactor.Cache[string], s *stubRefresher, value string, expiresAt time.Time, refreshable bool) {
	t.Helper()
	ch := goGet(context.Background(), c)
	synctest.Wait()
	call := s.next(t)
	if call.op != "authenticate" {
		t.Fatalf("first call is %s, want authenticate", call.op)
	}
	call.ok(value, expiresAt, refreshable)
	synctest.Wait()
	r, ok := answered(ch)
	if !ok || r.err != nil || r.value != value {
		t.Fatalf("first Get = %+v (answered %t), want %q", r, ok, value)
	}
}

func TestFirstGetAuthenticatesOnceForAllCallers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s, _ := newCache()
		defer c.Close()

		const callers = 500
		chs := goGets(c, callers)
		synctest.Wait()
		call := s.next(t)
		s.none(t)
		wantWaiting(t, chs)
		call.ok("v1", at(time.Hour), true)
		synctest.Wait()
		wantAll(t, chs, "v1")
		mustGet(t, c, "v1")
		synctest.Wait()
		s.none(t)
	})
}

func TestAuthenticateErrorIsSharedAndPassedThrough(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s, _ := newCache()
		defer c.Close()

		chs := goGets(c, 100)
		synctest.Wait()
		s.next(t).fail(fmtErr("no credentials: %w", tokenactor.ErrNotAuthenticated))
		synctest.Wait()
		s.none(t)
		for i, ch := range chs {
			r, ok := answered(ch)
			if !ok || !errors.Is(r.err, tokenactor.ErrNotAuthenticated) {
				t.Fatalf("caller %d got %+v (answered %t), want ErrNotAuthenticated", i, r, ok)
			}
		}
	})
}

// TestExpiryBoundaries pins the refresh model's thresholds: with ExpiresAt at
// 1000 s and the 90 s window, the value is fresh at 909 s and expired at
// 910 s; usable at 999 s and not at 1000 s.
func TestExpiryBoundaries(t *testing.T) {
	t.Run("fresh until ExpiresAt-window", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c, s, clk := newCache()
			defer c.Close()
			prime(t, c, s, "v1", at(1000*time.Second), true)

			clk.AdvanceTo(at(909*time.Second + 999*time.Millisecond))
			synctest.Wait()
			mustGet(t, c, "v1")
			synctest.Wait()
			s.none(t)

			clk.AdvanceTo(at(910 * time.Second))
			synctest.Wait()
			mustGet(t, c, "v1") // expired but usable: served at once...
			synctest.Wait()
			if call := s.next(t); call.op != "refresh" || call.current.Value != "v1" { // ...and refreshed in the background
				t.Fatalf("call = %s of %q, want refresh of v1", call.op, call.current.Value)
			}
		})
	})
	t.Run("usable until ExpiresAt", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c, s, clk := newCache()
			defer c.Close()
			prime(t, c, s, "v1", at(1000*time.Second), false)

			clk.AdvanceTo(at(999*time.Second + 999*time.Millisecond))
			synctest.Wait()
			mustGet(t, c, "v1")

			clk.AdvanceTo(at(1000 * time.Second))
			synctest.Wait()
			if _, err := c.Get(context.Background()); !errors.Is(err, tokenactor.ErrTokenExpired) {
				t.Fatalf("Get at ExpiresAt: err = %v, want ErrTokenExpired", err)
			}
			synctest.Wait()
			s.none(t) // not refreshable: no call
		})
	})
}

func TestBackgroundRefreshServesCurrentValueWithoutWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s, clk := newCache()
		defer c.Close()
		prime(t, c, s, "v1", at(1000*time.Second), true)
		clk.AdvanceTo(at(950 * time.Second))

		mustGet(t, c, "v1")
		synctest.Wait()
		call := s.next(t)
		for range 200 { // while the refresh is in flight, nobody waits and nobody starts another
			mustGet(t, c, "v1")
		}
		synctest.Wait()
		s.none(t)

		call.ok("v2", at(2000*time.Second), true)
		synctest.Wait()
		mustGet(t, c, "v2")
	})
}

func TestRefreshCrossingExpiryParksCallers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s, clk := newCache(tokenactor.WithRefreshTimeout(0))
		defer c.Close()
		prime(t, c, s, "v1", at(1000*time.Second), true)
		clk.AdvanceTo(at(950 * time.Second))
		mustGet(t, c, "v1")
		synctest.Wait()
		call := s.next(t)

		clk.AdvanceTo(at(1000 * time.Second)) // the refresh is still in flight at expiry
		synctest.Wait()
		chs := goGets(c, 300)
		synctest.Wait()
		wantWaiting(t, chs)
		s.none(t)
		call.ok("v2", at(2000*time.Second), true)
		synctest.Wait()
		wantAll(t, chs, "v2")
	})
}

func TestUnusableRefreshableBlocksOnOneRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s, clk := newCache()
		defer c.Close()
		prime(t, c, s, "v1", at(1000*time.Second), true)
		clk.AdvanceTo(at(5000 * time.Second))

		chs := goGets(c, 300)
		synctest.Wait()
		call := s.next(t)
		s.none(t)
		if call.op != "refresh" {
			t.Fatalf("op = %s, want refresh", call.op)
		}
		call.ok("v2", at(6000*time.Second), true)
		synctest.Wait()
		wantAll(t, chs, "v2")
	})
}

// TestFailedRefreshIsSharedNotReplayed: N parked callers cause one attempt,
// and each gets an error that is both ErrTokenExpired and the refresher's.
func TestFailedRefreshIsSharedNotReplayed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s, clk := newCache()
		defer c.Close()
		prime(t, c, s, "v1", at(1000*time.Second), true)
		clk.AdvanceTo(at(5000 * time.Second))

		chs := goGets(c, 300)
		synctest.Wait()
		s.next(t).fail(&errUpstream{code: "invalid_grant"})
		synctest.Wait()
		s.none(t)
		for i, ch := range chs {
			r, ok := answered(ch)
			var up *errUpstream
			if !ok || !errors.Is(r.err, tokenactor.ErrTokenExpired) || !errors.As(r.err, &up) || up.code != "invalid_grant" {
				t.Fatalf("caller %d got %+v (answered %t), want ErrTokenExpired wrapping errUpstream", i, r, ok)
			}
		}
	})
}

func TestNotRefreshableExpiredIsServedUntilUnusable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s, clk := newCache()
		defer c.Close()
		prime(t, c, s, "v1", at(1000*time.Second), false)

		clk.AdvanceTo(at(950 * time.Second))
		synctest.Wait()
		mustGet(t, c, "v1")
		synctest.Wait()
		s.none(t)
	})
}

func TestBackoffAfterFailedBlockingRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s, clk := newCache(tokenactor.WithBackoff(time.Second, 8*time.Second))
		defer c.Close()
		prime(t, c, s, "v1", at(1000*time.Second), true)
		clk.AdvanceTo(at(5000 * time.Second))

		// A dead server: answer every call with a failure and count them,
		// while callers keep calling every 100 ms for a minute.
		var attempts []time.Duration
		for range 600 {
			ch := goGet(context.Background(), c)
			synctest.Wait()
			select {
			case call := <-s.calls:
				attempts = append(attempts, clk.Now().Sub(at(5000*time.Second)))
				call.fail(&errUpstream{code: "server_error"})
				synctest.Wait()
			default:
			}
			r, ok := answered(ch)
			if !ok || !errors.Is(r.err, tokenactor.ErrTokenExpired) {
				t.Fatalf("Get during outage = %+v (answered %t), want ErrTokenExpired at once", r, ok)
			}
			clk.Add(100 * time.Millisecond)
		}
		// Delays 1, 2, 4, 8, 8, ... s, each ±20%: over 60 s that is at most
		// 1 + ceil((60-0.8-1.6-3.2)/6.4)+3 attempts, far from one per call.
		if len(attempts) < 8 || len(attempts) > 13 {
			t.Fatalf("%d attempts in 60 s at %v; want between 8 and 13", len(attempts), attempts)
		}
		for i := 1; i < len(attempts); i++ {
			gap := attempts[i] - attempts[i-1]
			want := min(time.Second<<(i-1), 8*time.Second)
			if gap < want*8/10 {
				t.Fatalf("attempt %d came %v after the previous; backoff wants at least %v", i+1, gap, want*8/10)
			}
		}
	})
}

func TestBackgroundFailureKeepsServingWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s, clk := newCache()
		defer c.Close()
		prime(t, c, s, "v1", at(1000*time.Second), true)
		clk.AdvanceTo(at(911 * time.Second))

		attempts := 0
		for range 800 { // 80 s of calls every 100 ms, inside the window
			mustGet(t, c, "v1")
			synctest.Wait()
			select {
			case call := <-s.calls:
				attempts++
				call.fail(&errUpstream{code: "temporarily_unavailable"})
				synctest.Wait()
			default:
			}
			clk.Add(100 * time.Millisecond)
		}
		// Delays 1, 2, 4, 8, 16, 32 s (±20%) fit at most 7 attempts in 80 s.
		if attempts < 5 || attempts > 7 {
			t.Fatalf("%d background attempts in 80 s, want 5 to 7", attempts)
		}
	})
}

func TestRetryAfterStretchesBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s, clk := newCache()
		defer c.Close()
		prime(t, c, s, "v1", at(1000*time.Second), true)
		clk.AdvanceTo(at(5000 * time.Second))

		ch := goGet(context.Background(), c)
		synctest.Wait()
		s.next(t).fail(retryAfterError{d: 30 * time.Second})
		synctest.Wait()
		<-ch

		clk.Add(29 * time.Second)
		if _, err := c.Get(context.Background()); !errors.Is(err, tokenactor.ErrTokenExpired) {
			t.Fatalf("Get before Retry-After: %v, want ErrTokenExpired", err)
		}
		synctest.Wait()
		s.none(t)
		clk.Add(time.Second)
		ch = goGet(context.Background(), c)
		synctest.Wait()
		s.next(t).ok("v2", at(9000*time.Second), true)
		synctest.Wait()
		if r, _ := answered(ch); r.value != "v2" {
			t.Fatalf("Get after Retry-After = %+v, want v2", r)
		}
	})
}

func TestParkedCallerContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s, _ := newCache()
		defer c.Close()

		ctx, cancel := context.WithCancel(context.Background())
		leaving := goGet(ctx, c)
		staying := goGet(context.Background(), c)
		deadline, cancelDeadline := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancelDeadline()
		timingOut := goGet(deadline, c)
		synctest.Wait()
		call := s.next(t)

		cancel()
		synctest.Wait()
		if r, ok := answered(leaving); !ok || !errors.Is(r.err, context.Canceled) {
			t.Fatalf("cancelled caller got %+v (answered %t), want context.Canceled at once", r, ok)
		}
		time.Sleep(5 * time.Second) // bubble time: the deadline passes
		synctest.Wait()
		if r, ok := answered(timingOut); !ok || !errors.Is(r.err, context.DeadlineExceeded) {
			t.Fatalf("caller past its deadline got %+v (answered %t), want DeadlineExceeded", r, ok)
		}
		if call.ctx.Err() != nil {
			t.Fatal("a caller's context ended the shared refresh")
		}
		call.ok("v1", at(time.Hour), true)
		synctest.Wait()
		if r, ok := answered(staying); !ok || r.value != "v1" {
			t.Fatalf("remaining caller got %+v (answered %t), want v1", r, ok)
		}
	})
}

func TestCloseWhileParkedAndRefreshHangs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s, _ := newCache(tokenactor.WithRefreshTimeout(0))
		chs := goGets(c, 50)
		synctest.Wait()
		call := s.next(t) // never answered: the refresh hangs until its ctx ends

		c.Close()
		synctest.Wait() // let the callers' goroutines pass their answers on
		if !errors.Is(call.ctx.Err(), context.Canceled) {
			t.Fatalf("refresh ctx err = %v after Close, want Canceled", call.ctx.Err())
		}
		for i, ch := range chs {
			if r, ok := answered(ch); !ok || !errors.Is(r.err, tokenactor.ErrClosed) {
				t.Fatalf("caller %d got %+v (answered %t), want ErrClosed", i, r, ok)
			}
		}
		if _, err := c.Get(context.Background()); !errors.Is(err, tokenactor.ErrClosed) {
			t.Fatalf("Get after Close: %v, want ErrClosed", err)
		}
		c.Close()      // idempotent: returns at once
		c.Invalidate() // a no-op after Close, and it returns
	})
}

func TestCloseStopsServingFreshValue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s, _ := newCache()
		prime(t, c, s, "v1", at(time.Hour), true)
		c.Close()
		if _, err := c.Get(context.Background()); !errors.Is(err, tokenactor.ErrClosed) {
			t.Fatalf("Get after Close: %v, want ErrClosed", err)
		}
	})
}

func TestRefresherPanicIsDeliveredAndCacheRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var events []tokenactor.Event
		c, s, clk := newCache(tokenactor.WithEventHook(func(e tokenactor.Event) { events = append(events, e) }))
		defer c.Close()

		chs := []<-chan result{goGet(context.Background(), c), goGet(context.Background(), c)}
		synctest.Wait()
		s.next(t).reply <- outcome{panic: "boom"}
		synctest.Wait()
		for i, ch := range chs {
			r, ok := answered(ch)
			var pe *tokenactor.PanicError
			if !ok || !errors.As(r.err, &pe) || pe.Value != "boom" || len(pe.Stack) == 0 {
				t.Fatalf("caller %d got %+v (answered %t), want *PanicError with value and stack", i, r, ok)
			}
		}
		clk.Add(2 * time.Second) // past the first backoff
		prime(t, c, s, "v1", at(time.Hour), true)

		var panicked bool
		for _, e := range events {
			var pe *tokenactor.PanicError
			if f, ok := e.(tokenactor.RefreshFailed); ok && errors.As(f.Err, &pe) && pe.Value == "boom" {
				panicked = true
			}
		}
		if !panicked {
			t.Fatalf("events %v: want a RefreshFailed whose Err is the *PanicError", events)
		}
	})
}

func TestInvalidate(t *testing.T) {
	t.Run("refreshable: one Refresh for many invalidations", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c, s, _ := newCache()
			defer c.Close()
			prime(t, c, s, "v1", at(time.Hour), true)

			for range 10 {
				c.Invalidate()
			}
			chs := []<-chan result{goGet(context.Background(), c), goGet(context.Background(), c)}
			synctest.Wait()
			for _, ch := range chs {
				if r, ok := answered(ch); ok {
					t.Fatalf("Get after Invalidate returned %+v without waiting", r)
				}
			}
			c.Invalidate() // while the refresh is in flight
			call := s.next(t)
			s.none(t)
			if call.op != "refresh" || call.current.Value != "v1" {
				t.Fatalf("call = %s of %q, want refresh of v1", call.op, call.current.Value)
			}
			call.ok("v2", at(time.Hour), true)
			synctest.Wait()
			for _, ch := range chs {
				if r, ok := answered(ch); !ok || r.value != "v2" {
					t.Fatalf("Get = %+v (answered %t), want v2", r, ok)
				}
			}
			mustGet(t, c, "v2")
		})
	})
	t.Run("not refreshable: Authenticate", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c, s, _ := newCache()
			defer c.Close()
			prime(t, c, s, "v1", at(time.Hour), false)
			c.Invalidate()
			ch := goGet(context.Background(), c)
			synctest.Wait()
			call := s.next(t)
			if call.op != "authenticate" {
				t.Fatalf("call = %s, want authenticate", call.op)
			}
			call.ok("v2", at(time.Hour), false)
			synctest.Wait()
			if r, _ := answered(ch); r.value != "v2" {
				t.Fatalf("Get = %+v, want v2", r)
			}
		})
	})
}

func TestRefreshTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s, clk := newCache(tokenactor.WithRefreshTimeout(10 * time.Second))
		defer c.Close()
		ch := goGet(context.Background(), c)
		synctest.Wait()
		call := s.next(t) // hangs until its ctx ends
		clk.Add(9 * time.Second)
		synctest.Wait()
		if _, ok := answered(ch); ok {
			t.Fatal("Get returned before the refresh timeout")
		}
		clk.Add(time.Second)
		synctest.Wait()
		r, ok := answered(ch)
		if !ok || !errors.Is(r.err, tokenactor.ErrRefreshTimeout) || !errors.Is(call.ctx.Err(), context.Canceled) {
			t.Fatalf("Get = %+v (answered %t), want ErrRefreshTimeout", r, ok)
		}
	})
}

// TestShortLivedValueShrinksWindow: a 60 s value under the 90 s window is
// refreshed after half its life, not on every call.
func TestShortLivedValueShrinksWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s, clk := newCache()
		defer c.Close()
		prime(t, c, s, "v1", at(60*time.Second), true)

		for range 29 {
			clk.Add(time.Second)
			mustGet(t, c, "v1")
		}
		synctest.Wait()
		s.none(t)
		clk.Add(time.Second) // 30 s: half the lifetime
		mustGet(t, c, "v1")
		synctest.Wait()
		s.next(t).ok("v2", at(120*time.Second), true)
	})
}

func TestExpiredEntryFromRefresherIsNotServed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s, clk := newCache()
		defer c.Close()
		ch := goGet(context.Background(), c)
		synctest.Wait()
		s.next(t).ok("stale", clk.Now(), true) // expires the instant it arrives
		synctest.Wait()
		if r, ok := answered(ch); !ok || r.err == nil || r.value != "" {
			t.Fatalf("Get = %+v (answered %t), want an error and no value", r, ok)
		}
	})
}

func TestEventsOfARefreshCycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got []string
		c, s, clk := newCache(tokenactor.WithEventHook(func(e tokenactor.Event) {
			got = append(got, eventName(e))
		}))
		defer c.Close()
		prime(t, c, s, "v1", at(1000*time.Second), true)
		clk.AdvanceTo(at(950 * time.Second))
		mustGet(t, c, "v1")
		synctest.Wait()
		s.next(t).fail(&errUpstream{code: "server_error"})
		synctest.Wait()

		want := []string{
			"RefreshStarted authenticate 1 false", "RefreshSucceeded authenticate 1",
			"RefreshStarted refresh 1 true", "RefreshFailed refresh 1",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("events (-want +got):\n%s", diff)
		}
	})
}

func eventName(e tokenactor.Event) string {
	switch e := e.(type) {
	case tokenactor.RefreshStarted:
		return fmtS("RefreshStarted %v %d %t", e.Op, e.Attempt, e.Background)
	case tokenactor.RefreshSucceeded:
		return fmtS("RefreshSucceeded %v %d", e.Op, e.Attempt)
	case tokenactor.RefreshFailed:
		return fmtS("RefreshFailed %v %d", e.Op, e.Attempt)
	}
	return e.String()
}

// TestAtMostOneCallInFlight drives many callers, invalidations and expiries
// and checks the refresher never runs twice at once.
func TestAtMostOneCallInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var inFlight, maxInFlight atomic.Int32
		clk := fakeclock.New()
		r := funcRefresher(func(ctx context.Context) (tokenactor.Entry[string], error) {
			n := inFlight.Add(1)
			defer inFlight.Add(-1)
			if n > maxInFlight.Load() {
				maxInFlight.Store(n)
			}
			time.Sleep(100 * time.Millisecond) // bubble time: the call takes a while
			return tokenactor.Entry[string]{Value: "v", ExpiresAt: clk.Now().Add(2 * time.Second)}, nil
		})
		c := tokenactor.New[string](r, tokenactor.WithClock(clk), tokenactor.WithRefreshWindow(time.Second))
		defer c.Close()
		for round := range 50 {
			for i := range 40 {
				go func() {
					if i%7 == 0 {
						c.Invalidate()
					}
					c.Get(context.Background())
				}()
			}
			time.Sleep(50 * time.Millisecond)
			clk.Add(time.Duration(round%4) * 500 * time.Millisecond)
		}
		synctest.Wait()
		time.Sleep(time.Second)
		if m := maxInFlight.Load(); m != 1 {
			t.Fatalf("max calls in flight = %d, want 1", m)
		}
	})
}

// funcRefresher serves every Refresh call from one function.
func funcRefresher(f func(ctx context.Context) (tokenactor.Entry[string], error)) tokenactor.Refresher[string] {
	return tokenactor.RefresherFunc[string](func(ctx context.Context, _ *tokenactor.Entry[string]) (tokenactor.Entry[string], error) {
		return f(ctx)
	})
}

// TestRefresherPanicAfterTimeout: a refresher that panics once its context
// is cancelled by the refresh timeout is an ordinary failed attempt: the
// callers get the panic, marked as a timeout, and the loop itself is fine.
func TestRefresherPanicAfterTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var events []string
		clk := fakeclock.New()
		r := funcRefresher(func(ctx context.Context) (tokenactor.Entry[string], error) {
			<-ctx.Done()
			panic("nil response after timeout")
		})
		c := tokenactor.New[string](r, tokenactor.WithClock(clk), tokenactor.WithRefreshTimeout(time.Second),
			tokenactor.WithEventHook(func(e tokenactor.Event) { events = append(events, fmtS("%T", e)) }))
		defer c.Close()

		ch := goGet(context.Background(), c)
		synctest.Wait()
		clk.Add(time.Second)
		synctest.Wait()
		r1, ok := answered(ch)
		var pe *tokenactor.PanicError
		if !ok || !errors.As(r1.err, &pe) || !errors.Is(r1.err, tokenactor.ErrRefreshTimeout) {
			t.Fatalf("Get = %+v (answered %t), want a *PanicError marked ErrRefreshTimeout", r1, ok)
		}
		want := []string{"tokenactor.RefreshStarted", "tokenactor.RefreshFailed"}
		if diff := cmp.Diff(want, events); diff != "" {
			t.Fatalf("events (-want +got):\n%s", diff)
		}
	})
}
