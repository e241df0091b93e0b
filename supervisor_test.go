package tokenactor

// Tests of the supervisor (supervisor.go): a panic in the loop itself,
// injected through Cache.testHook, must answer every caller involved, restart
// the loop, and, past the restart limit, stop the cache so that every call
// fails at once with ErrLoopFailed. These tests live in package tokenactor
// because the hook is unexported: no public input can make the loop panic
// except a panicking event hook, which is tested too.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// errLoopBoom is the value the injected loop panics carry.
var errLoopBoom = errors.New("injected loop panic")

// supRefresher hands out entries numbered 1, 2, ... living for life. If gate
// is non-nil, each call first waits for a value on it or for its ctx to end.
type supRefresher struct {
	life  time.Duration
	gate  chan struct{}
	calls atomic.Int32
	ended atomic.Int32 // calls that returned because their ctx ended
}

func (r *supRefresher) Refresh(ctx context.Context, _ *Entry[int]) (Entry[int], error) {
	return r.call(ctx)
}

func (r *supRefresher) call(ctx context.Context) (Entry[int], error) {
	n := r.calls.Add(1)
	if r.gate != nil {
		select {
		case <-r.gate:
		case <-ctx.Done():
			r.ended.Add(1)
			return Entry[int]{}, context.Cause(ctx)
		}
	}
	return Entry[int]{Value: int(n), ExpiresAt: time.Now().Add(r.life)}, nil
}

// supervisorEvents records the supervisor's events, in order, as strings.
type supervisorEvents struct {
	mu  sync.Mutex
	got []string
}

func (l *supervisorEvents) hook(e Event) {
	var s string
	switch e := e.(type) {
	case LoopRestarted:
		s = fmt.Sprintf("restarted %d: %v", e.Restarts, e.Err.Value)
	case LoopFailed:
		s = fmt.Sprintf("failed: %v", e.Err.Value)
	default:
		return
	}
	l.mu.Lock()
	l.got = append(l.got, s)
	l.mu.Unlock()
}

func (l *supervisorEvents) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.got...)
}

// supPanicOn returns a testHook that panics with errLoopBoom on every message
// for which match reports true while armed is set, and counts the messages
// it saw.
func supPanicOn(armed *atomic.Bool, seen *atomic.Int32, match func(message) bool) func(message) {
	return func(m message) {
		seen.Add(1)
		if armed.Load() && match(m) {
			panic(errLoopBoom)
		}
	}
}

func supIsGet(m message) bool { _, ok := m.(getRequest[int]); return ok }

func supIsDone(m message) bool { _, ok := m.(*refreshDone[int]); return ok }

func supIsInvalidate(m message) bool { _, ok := m.(invalidateRequest[int]); return ok }

func supIsTimer(m message) bool { _, ok := m.(timerFired); return ok }

// supResult is the outcome of a Get run in its own goroutine.
type supResult struct {
	value int
	err   error
}

// supGo runs Get in a new goroutine; the result arrives on the channel
// (buffer 1, never closed).
func supGo(c *Cache[int], ctx context.Context) <-chan supResult {
	ch := make(chan supResult, 1)
	go func() {
		v, err := c.Get(ctx)
		ch <- supResult{value: v, err: err}
	}()
	return ch
}

// supWantLoopPanic fails unless err reports the injected loop panic.
func supWantLoopPanic(t *testing.T, what string, err error) {
	t.Helper()
	var pe *PanicError
	if !errors.As(err, &pe) || !errors.Is(err, errLoopBoom) {
		t.Errorf("%s: got error %v, want a *PanicError wrapping %v", what, err, errLoopBoom)
	}
}

// supReceived returns the result waiting on ch, failing if there is none: in a
// bubble after synctest.Wait, a result not there yet will never come.
func supReceived(t *testing.T, what string, ch <-chan supResult) supResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	default:
		t.Fatalf("%s: Get has not returned", what)
		return supResult{}
	}
}

func TestLoopPanicAnswersCallersAndKeepsCallInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &supRefresher{life: time.Hour, gate: make(chan struct{})}
		var events supervisorEvents
		var armed atomic.Bool
		var seen atomic.Int32
		c := New[int](r, WithEventHook(events.hook))
		c.testHook = supPanicOn(&armed, &seen, supIsGet)
		defer c.Close()
		ctx := t.Context()

		parked := supGo(c, ctx)
		synctest.Wait() // parked waits for the Authenticate call in flight
		armed.Store(true)
		_, err := c.Get(ctx) // the request the loop panics on
		armed.Store(false)
		supWantLoopPanic(t, "request being handled", err)
		synctest.Wait()
		supWantLoopPanic(t, "parked caller", supReceived(t, "parked caller", parked).err)

		// The call in flight survived the restart: a new caller waits for
		// it instead of starting another one.
		later := supGo(c, ctx)
		synctest.Wait()
		r.gate <- struct{}{}
		synctest.Wait()
		got := supReceived(t, "caller after restart", later)
		if got.err != nil || got.value != 1 {
			t.Errorf("Get after restart = %d, %v; want 1, nil", got.value, got.err)
		}
		if v, err := c.Get(ctx); err != nil || v != 1 {
			t.Errorf("second Get after restart = %d, %v; want 1, nil", v, err)
		}
		if n := r.calls.Load(); n != 1 {
			t.Errorf("refresher called %d times, want 1", n)
		}
		want := []string{"restarted 1: injected loop panic"}
		if diff := cmp.Diff(want, events.list()); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})
}

func TestLoopPanicAnswersEveryParkedCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const callers = 200
		r := &supRefresher{life: time.Hour, gate: make(chan struct{})}
		var armed atomic.Bool
		var seen atomic.Int32
		c := New[int](r)
		c.testHook = supPanicOn(&armed, &seen, supIsGet)
		defer c.Close()
		ctx := t.Context()

		results := make([]<-chan supResult, callers)
		for i := range results {
			results[i] = supGo(c, ctx)
		}
		synctest.Wait()
		armed.Store(true)
		_, err := c.Get(ctx)
		armed.Store(false)
		supWantLoopPanic(t, "request being handled", err)
		synctest.Wait()
		failed := 0
		for i, ch := range results {
			got := supReceived(t, fmt.Sprintf("parked caller %d", i), ch)
			if errors.Is(got.err, errLoopBoom) {
				failed++
			}
		}
		if failed != callers {
			t.Errorf("%d of %d parked callers got the loop's panic", failed, callers)
		}
		r.gate <- struct{}{}
		synctest.Wait()
		if v, err := c.Get(ctx); err != nil || v != 1 {
			t.Errorf("Get after restart = %d, %v; want 1, nil", v, err)
		}
	})
}

func TestLoopPanicOnRefreshOutcomeStartsAnewNextTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &supRefresher{life: time.Hour, gate: make(chan struct{})}
		var armed atomic.Bool
		var seen atomic.Int32
		c := New[int](r)
		c.testHook = supPanicOn(&armed, &seen, supIsDone)
		defer c.Close()
		ctx := t.Context()

		parked := supGo(c, ctx)
		synctest.Wait()
		armed.Store(true)
		r.gate <- struct{}{} // its outcome is lost with the panic
		synctest.Wait()
		armed.Store(false)
		supWantLoopPanic(t, "parked caller", supReceived(t, "parked caller", parked).err)

		// Nothing is in flight any more: the next Get starts a new call.
		next := supGo(c, ctx)
		synctest.Wait()
		r.gate <- struct{}{}
		synctest.Wait()
		got := supReceived(t, "next caller", next)
		if got.err != nil || got.value != 2 {
			t.Errorf("Get after restart = %d, %v; want 2, nil", got.value, got.err)
		}
	})
}

func TestLoopPanicOnInvalidateReturnsAndDropsValue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &supRefresher{life: time.Hour}
		var armed atomic.Bool
		var seen atomic.Int32
		c := New[int](r)
		c.testHook = supPanicOn(&armed, &seen, supIsInvalidate)
		defer c.Close()
		ctx := t.Context()

		if v, err := c.Get(ctx); err != nil || v != 1 {
			t.Fatalf("first Get = %d, %v; want 1, nil", v, err)
		}
		armed.Store(true)
		c.Invalidate() // returns although the loop panics on it
		armed.Store(false)
		synctest.Wait() // see TestInvalidateAnsweredByRestartIsFinal for without
		if v, err := c.Get(ctx); err != nil || v != 2 {
			t.Errorf("Get after the panic = %d, %v; want the new value 2, nil", v, err)
		}
	})
}

func TestLoopRestartsSpreadOverPeriodsAreAllowed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &supRefresher{life: time.Hour}
		var events supervisorEvents
		var armed atomic.Bool
		var seen atomic.Int32
		c := New[int](r, WithEventHook(events.hook), WithRestartLimit(1, time.Minute), WithoutFastPath())
		c.testHook = supPanicOn(&armed, &seen, supIsGet)
		defer c.Close()
		ctx := t.Context()

		for i := range 3 {
			armed.Store(true)
			_, err := c.Get(ctx)
			armed.Store(false)
			supWantLoopPanic(t, fmt.Sprintf("panic %d", i+1), err)
			if _, err := c.Get(ctx); err != nil {
				t.Errorf("Get after restart %d: %v", i+1, err)
			}
			time.Sleep(time.Minute) // a new restart period
		}
		want := []string{
			"restarted 1: injected loop panic",
			"restarted 1: injected loop panic",
			"restarted 1: injected loop panic",
		}
		if diff := cmp.Diff(want, events.list()); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})
}

func TestRestartLimitFailsEveryCallAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const limit = 3
		r := &supRefresher{life: time.Hour}
		var events supervisorEvents
		var armed atomic.Bool
		var seen atomic.Int32
		c := New[int](r, WithEventHook(events.hook), WithRestartLimit(limit, time.Minute))
		c.testHook = supPanicOn(&armed, &seen, supIsGet)
		armed.Store(true)
		ctx := t.Context()

		for i := range limit {
			_, err := c.Get(ctx)
			supWantLoopPanic(t, fmt.Sprintf("Get %d", i+1), err)
		}
		if _, err := c.Get(ctx); !errors.Is(err, ErrLoopFailed) {
			t.Errorf("Get past the limit: got %v, want ErrLoopFailed", err)
		}
		handled := seen.Load()

		// From now on every call fails at once, without the loop.
		start := time.Now()
		const callers = 500
		results := make([]<-chan supResult, callers)
		for i := range results {
			results[i] = supGo(c, ctx)
		}
		c.Invalidate()
		synctest.Wait()
		for i, ch := range results {
			if got := supReceived(t, fmt.Sprintf("caller %d", i), ch); !errors.Is(got.err, ErrLoopFailed) {
				t.Errorf("caller %d: got %v, want ErrLoopFailed", i, got.err)
			}
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("failing calls took %v of fake time, want 0", d)
		}
		if n := seen.Load(); n != handled {
			t.Errorf("the loop handled %d more messages after it failed, want 0", n-handled)
		}
		if n := r.calls.Load(); n != 0 {
			t.Errorf("refresher called %d times, want 0", n)
		}

		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := c.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if _, err := c.Get(ctx); !errors.Is(err, ErrLoopFailed) {
			t.Errorf("Get after Close: got %v, want ErrLoopFailed", err)
		}
		want := []string{
			"restarted 1: injected loop panic",
			"restarted 2: injected loop panic",
			"restarted 3: injected loop panic",
			"failed: injected loop panic",
		}
		if diff := cmp.Diff(want, events.list()); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})
}

func TestRestartLimitCancelsCallInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &supRefresher{life: time.Hour, gate: make(chan struct{})}
		var armed atomic.Bool
		var seen atomic.Int32
		c := New[int](r, WithRestartLimit(0, time.Minute), WithRefreshTimeout(0))
		c.testHook = supPanicOn(&armed, &seen, supIsGet)
		ctx := t.Context()

		parked := supGo(c, ctx)
		synctest.Wait() // parked waits for a call that only ends with its ctx
		armed.Store(true)
		if _, err := c.Get(ctx); !errors.Is(err, ErrLoopFailed) {
			t.Errorf("request being handled: got %v, want ErrLoopFailed", err)
		}
		synctest.Wait()
		if got := supReceived(t, "parked caller", parked); !errors.Is(got.err, ErrLoopFailed) {
			t.Errorf("parked caller: got %v, want ErrLoopFailed", got.err)
		}
		if n := r.ended.Load(); n != 1 {
			t.Errorf("%d calls saw their ctx end, want the one in flight cancelled", n)
		}
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}

func TestPanickingEventHookRestartsLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &supRefresher{life: time.Hour}
		var events supervisorEvents
		var armed atomic.Bool
		armed.Store(true)
		hook := func(e Event) {
			events.hook(e)
			if _, ok := e.(RefreshSucceeded); ok && armed.CompareAndSwap(true, false) {
				panic(errLoopBoom)
			}
		}
		c := New[int](r, WithEventHook(hook))
		defer c.Close()
		ctx := t.Context()

		_, err := c.Get(ctx) // parked on the call whose success the hook panics on
		supWantLoopPanic(t, "caller", err)
		if v, err := c.Get(ctx); err != nil || v != 2 {
			t.Errorf("Get after restart = %d, %v; want 2, nil", v, err)
		}
		want := []string{"restarted 1: injected loop panic"}
		if diff := cmp.Diff(want, events.list()); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})
}

// The tests below pin engine bugs this suite found, now fixed.

// A panic in the event hook while it reports RefreshStarted happens after
// Cache.start registered the call but before it started the worker. The
// restarted loop keeps the "call in flight" state, no worker will ever
// report, and every later Get waits until its ctx ends: a refresh flag stuck
// true. Fix: emit RefreshStarted first in Cache.start, before c.job and
// c.st.op are set.
func TestPanicInRefreshStartedHookDoesNotStrandCallers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &supRefresher{life: time.Hour}
		var armed atomic.Bool
		armed.Store(true)
		hook := func(e Event) {
			if _, ok := e.(RefreshStarted); ok && armed.CompareAndSwap(true, false) {
				panic(errLoopBoom)
			}
		}
		c := New[int](r, WithEventHook(hook))
		defer c.Close()

		_, err := c.Get(t.Context())
		supWantLoopPanic(t, "caller", err)
		ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
		defer cancel()
		if v, err := c.Get(ctx); err != nil || v != 1 {
			t.Errorf("Get after restart = %d, %v; want 1, nil (a new Authenticate)", v, err)
		}
	})
}

// A panic while the loop handles timerFired leaves c.timer.pending set for a
// moment in the past, and recoverLoop keeps c.timer. armTimer then never arms
// the timer again, so the fast path keeps serving a value past its expiry.
// Fix: recoverLoop resets the timer with c.timer.stop().
func TestLoopPanicOnTimerKeepsFastPathHonest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const life = 10 * time.Minute
		r := &supRefresher{life: life}
		var armed atomic.Bool
		var seen atomic.Int32
		c := New[int](r)
		c.testHook = supPanicOn(&armed, &seen, supIsTimer)
		defer c.Close()
		ctx := t.Context()

		if _, err := c.Get(ctx); err != nil {
			t.Fatal(err)
		}
		armed.Store(true)
		time.Sleep(life - DefaultRefreshWindow) // the timer fires; the loop panics on it
		synctest.Wait()
		armed.Store(false)
		if _, err := c.Get(ctx); err != nil { // a new value after the restart
			t.Fatal(err)
		}
		time.Sleep(life + time.Second)
		v, err := c.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v != 3 {
			t.Errorf("Get past the expiry of value 2 returned %d, want the new value 3", v)
		}
	})
}

// recoverLoop answers the request being handled (and the parked callers)
// before it clears the fast path. An Invalidate the loop panicked on thus
// returns while Get may still be served the rejected value, breaking
// Invalidate's promise. The window is a few instructions wide, so this test
// tries many times. Fix: in recoverLoop, c.fast.Store(nil) before anyone is
// answered.
func TestInvalidateAnsweredByRestartIsFinal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const tries = 5000
		r := &supRefresher{life: time.Hour}
		var armed atomic.Bool
		var seen atomic.Int32
		c := New[int](r, WithRestartLimit(tries, time.Minute))
		c.testHook = supPanicOn(&armed, &seen, supIsInvalidate)
		defer c.Close()
		ctx := t.Context()

		stale := 0
		for range tries {
			before, err := c.Get(ctx)
			if err != nil {
				t.Fatal(err)
			}
			armed.Store(true)
			c.Invalidate()
			armed.Store(false)
			if after, err := c.Get(ctx); err == nil && after == before {
				stale++
			}
			synctest.Wait()
		}
		if stale > 0 {
			t.Errorf("%d of %d Gets after Invalidate returned were served the rejected value", stale, tries)
		}
	})
}

// A panic while the loop handles closeRequest loses that request: the
// restarted loop never shuts down, so the call in flight is not cancelled
// and, once it ends, its report is refused by the closed mailbox. The loop
// then waits for a report that never comes and Close never returns. Fix:
// recoverLoop finishes the shutdown when the lost request was closeRequest.
// On the engine as it is, this test ends in a bubble deadlock.
func TestLoopPanicOnCloseStillCloses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &supRefresher{life: time.Hour, gate: make(chan struct{})}
		var armed atomic.Bool
		var seen atomic.Int32
		c := New[int](r, WithRefreshTimeout(0))
		c.testHook = supPanicOn(&armed, &seen, func(m message) bool { _, ok := m.(closeRequest); return ok })
		ctx := t.Context()

		parked := supGo(c, ctx)
		synctest.Wait() // a call is in flight; it ends only when cancelled
		armed.Store(true)
		closed := make(chan error, 1)
		go func() { closed <- c.Close() }()
		synctest.Wait()
		select {
		case err := <-closed:
			if err != nil {
				t.Errorf("Close: %v", err)
			}
		default:
			t.Fatal("Close has not returned")
		}
		if got := supReceived(t, "parked caller", parked); got.err == nil {
			t.Errorf("parked caller got %d, want an error", got.value)
		}
		if n := r.ended.Load(); n != 1 {
			t.Errorf("%d calls saw their ctx end, want the one in flight cancelled", n)
		}
	})
}
