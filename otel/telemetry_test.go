package tokenotel_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/strategy"
)

// A step is what one Refresher call of a scripted run does.
type step struct {
	took  time.Duration // how long the call runs
	life  time.Duration // the new value's lifetime
	err   error         // returned instead of a value, if set
	panic bool          // panic instead of returning
}

// scripted returns a Refresher that makes the calls of steps in turn. The
// n-th call's value is "secret-token-n".
func scripted(t *testing.T, steps ...step) tokenactor.Refresher[string] {
	var calls atomic.Int32
	return tokenactor.RefresherFunc[string](func(ctx context.Context, _ *tokenactor.Entry[string]) (tokenactor.Entry[string], error) {
		n := int(calls.Add(1))
		if n > len(steps) {
			t.Errorf("call %d: the script has %d steps", n, len(steps))
			return tokenactor.Entry[string]{}, errors.New("script ended")
		}
		s := steps[n-1]
		time.Sleep(s.took)
		switch {
		case s.panic:
			panic("refresher broke")
		case s.err != nil:
			return tokenactor.Entry[string]{}, s.err
		}
		return tokenactor.Entry[string]{Value: fmt.Sprintf("secret-token-%d", n), ExpiresAt: time.Now().Add(s.life)}, nil
	})
}

// mustGet fails t unless c.Get returns want.
func mustGet(t *testing.T, c *tokenactor.Cache[string], want string) {
	t.Helper()
	got, err := c.Get(context.Background())
	if err != nil || got != want {
		t.Fatalf("Get = %q, %v; want %q", got, err, want)
	}
}

const (
	authOK    = "{tokenactor.cache.name=billing,tokenactor.refresh.background=false,tokenactor.refresh.operation=authenticate,tokenactor.refresh.outcome=success}"
	refreshNo = "{error.type=temporary,tokenactor.cache.name=billing,tokenactor.refresh.background=true,tokenactor.refresh.operation=refresh,tokenactor.refresh.outcome=failure}"
	refreshOK = "{tokenactor.cache.name=billing,tokenactor.refresh.background=true,tokenactor.refresh.operation=refresh,tokenactor.refresh.outcome=success}"
	billing   = "{tokenactor.cache.name=billing}"
)

// A scripted run: a first Get that waits 2 s for the token, a background
// refresh in the window that fails after 1 s, a retry after the backoff that
// succeeds after 0.5 s, then fresh Gets. The instruments and spans report
// exactly that.
func TestScriptedRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		hook := h.tel.Hook("billing")
		c := tokenactor.New(scripted(t,
			step{took: 2 * time.Second, life: 10 * time.Minute},
			step{took: time.Second, err: fmt.Errorf("token endpoint: %w", strategy.ErrTemporary)},
			step{took: 500 * time.Millisecond, life: 10 * time.Minute},
		), tokenactor.WithEventHook(hook.Event))
		defer hook.Close()
		defer c.Close()

		mustGet(t, c, "secret-token-1") // waits for the first call
		time.Sleep(9 * time.Minute)     // into the 90 s refresh window
		mustGet(t, c, "secret-token-1") // served; starts a background refresh
		time.Sleep(time.Second)
		synctest.Wait() // the refresh failed

		want := map[string]float64{
			"tokenactor.refreshes" + authOK:                      1,
			"tokenactor.refreshes" + refreshNo:                   1,
			"tokenactor.refresh.duration" + authOK + " count":    1,
			"tokenactor.refresh.duration" + authOK + " sum":      2,
			"tokenactor.refresh.waiters" + authOK:                1, // the first Get; background refreshes have none
			"tokenactor.refresh.wait.time" + authOK:              2, // for the whole call
			"tokenactor.refresh.duration" + refreshNo + " count": 1,
			"tokenactor.refresh.duration" + refreshNo + " sum":   1,
			"tokenactor.refresh.consecutive_failures" + billing:  1,
			"tokenactor.cache.backoff" + billing:                 1,
			// Issued at 2 s for 10 min; now is 2 s + 9 min + 1 s.
			"tokenactor.token.validity" + billing: 59,
		}
		if diff := cmp.Diff(want, h.metrics(t)); diff != "" {
			t.Errorf("after the failure (-want +got):\n%s", diff)
		}

		time.Sleep(2 * time.Second)     // past the first backoff (1 s ±20%)
		mustGet(t, c, "secret-token-1") // served; retries in the background
		time.Sleep(500 * time.Millisecond)
		synctest.Wait()
		for range 100 {
			mustGet(t, c, "secret-token-3") // fresh: no event, no span
		}

		want["tokenactor.refreshes"+refreshOK] = 1
		want["tokenactor.refresh.duration"+refreshOK+" count"] = 1
		want["tokenactor.refresh.duration"+refreshOK+" sum"] = 0.5
		want["tokenactor.refresh.consecutive_failures"+billing] = 0
		want["tokenactor.cache.backoff"+billing] = 0
		want["tokenactor.token.validity"+billing] = 600
		if diff := cmp.Diff(want, h.metrics(t)); diff != "" {
			t.Errorf("at the end (-want +got):\n%s", diff)
		}

		wantSpans := []span{
			{Name: "tokenactor.authenticate", Status: "Unset", Took: 2 * time.Second, Attrs: map[string]string{
				"tokenactor.cache.name": "billing", "tokenactor.refresh.operation": "authenticate",
				"tokenactor.refresh.attempt": "1", "tokenactor.refresh.background": "false",
				"tokenactor.refresh.waiters": "1", "tokenactor.refresh.wait.time": "2",
			}},
			{Name: "tokenactor.refresh", Status: "Error: temporary", Took: time.Second, Attrs: map[string]string{
				"tokenactor.cache.name": "billing", "tokenactor.refresh.operation": "refresh",
				"tokenactor.refresh.attempt": "1", "tokenactor.refresh.background": "true",
				"tokenactor.refresh.waiters": "0", "tokenactor.refresh.wait.time": "0", "error.type": "temporary",
			}, Events: []string{"exception"}},
			{Name: "tokenactor.refresh", Status: "Unset", Took: 500 * time.Millisecond, Attrs: map[string]string{
				"tokenactor.cache.name": "billing", "tokenactor.refresh.operation": "refresh",
				"tokenactor.refresh.attempt": "2", "tokenactor.refresh.background": "true",
				"tokenactor.refresh.waiters": "0", "tokenactor.refresh.wait.time": "0",
			}},
		}
		if diff := cmp.Diff(wantSpans, h.ended()); diff != "" {
			t.Errorf("spans (-want +got):\n%s", diff)
		}
		if out := h.dump(t); strings.Contains(out, "secret-token") {
			t.Errorf("a value reached the telemetry:\n%s", out)
		}
	})
}

// brokenError is an error whose methods panic, as a Refresher's own error
// type may.
type brokenError struct{}

func (brokenError) Error() string { panic("Error broke") }
func (brokenError) Unwrap() error { panic("Unwrap broke") }

// A failure whose error panics when read is still counted, as error.type
// _OTHER, and its span still ends.
func TestFailureWithPanickingError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		hook := h.tel.Hook("billing")
		c := tokenactor.New(scripted(t, step{err: brokenError{}}), tokenactor.WithEventHook(hook.Event))
		defer c.Close()
		if _, err := c.Get(t.Context()); err == nil {
			t.Fatal("Get: no error")
		}
		const failed = "tokenactor.refreshes{error.type=_OTHER,tokenactor.cache.name=billing,tokenactor.refresh.background=false,tokenactor.refresh.operation=authenticate,tokenactor.refresh.outcome=failure}"
		if got := h.metrics(t)[failed]; got != 1 {
			t.Errorf("%s = %v, want 1", failed, got)
		}
		ended := h.ended()
		if len(ended) != 1 || ended[0].Status != "Error: _OTHER" {
			t.Errorf("spans ended: %+v; want the call's, with status Error: _OTHER", ended)
		}
	})
}
