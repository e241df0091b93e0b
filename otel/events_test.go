package tokenotel_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/google/go-cmp/cmp"
	"github.com/tokenactor/tokenactor"
	tokenotel "github.com/tokenactor/tokenactor/otel"
	"github.com/tokenactor/tokenactor/strategy"
)

// Each failure is classified into one of a few error.type values, whatever
// its message: the attribute stays bounded.
func TestFailureErrorType(t *testing.T) {
	tests := []struct {
		name string
		give error
		want string
	}{
		{"panic", &tokenactor.PanicError{Value: "boom"}, "panic"},
		{"panic wrapping an error", &tokenactor.PanicError{Value: strategy.ErrTemporary}, "panic"},
		{"timeout", fmt.Errorf("%w: %w", tokenactor.ErrRefreshTimeout, context.Canceled), "timeout"},
		{"not authenticated", fmt.Errorf("no key: %w", tokenactor.ErrNotAuthenticated), "not_authenticated"},
		{"refused for good", &strategy.OAuthError{StatusCode: 400, Code: "invalid_grant"}, "login_required"},
		{"temporary", &strategy.OAuthError{StatusCode: 503, Code: "temporarily_unavailable"}, "temporary"},
		{"network", &strategy.NetworkError{Err: errors.New("connection refused")}, "temporary"},
		{"anything else", errors.New("tokens: unexpected 418 from https://idp.example/tenant-42"), "_OTHER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			hook := h.tel.Hook("")
			hook.Event(tokenactor.RefreshStarted{Op: tokenactor.OpRefresh, Attempt: 1})
			hook.Event(tokenactor.RefreshFailed{Op: tokenactor.OpRefresh, Attempt: 1, Err: tt.give})
			key := "tokenactor.refreshes{error.type=" + tt.want +
				",tokenactor.refresh.background=false,tokenactor.refresh.operation=refresh,tokenactor.refresh.outcome=failure}"
			got := without(h.metrics(t), "tokenactor.refresh.duration", "tokenactor.refresh.consecutive_failures", "tokenactor.cache.backoff")
			if diff := cmp.Diff(map[string]float64{key: 1}, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// A Refresher that panics: the call is a failure of type panic.
func TestRefresherPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		hook := h.tel.Hook("billing")
		c := tokenactor.New(scripted(t, step{took: time.Second, panic: true}), tokenactor.WithEventHook(hook.Event))
		defer hook.Close()
		defer c.Close()

		var pe *tokenactor.PanicError
		if _, err := c.Get(context.Background()); !errors.As(err, &pe) {
			t.Fatalf("Get: %v; want a *PanicError", err)
		}
		const failed = "{error.type=panic,tokenactor.cache.name=billing,tokenactor.refresh.background=false,tokenactor.refresh.operation=authenticate,tokenactor.refresh.outcome=failure}"
		got := without(h.metrics(t), "tokenactor.refresh.duration", "tokenactor.cache.backoff")
		want := map[string]float64{
			"tokenactor.refreshes" + failed:                     1,
			"tokenactor.refresh.waiters" + failed:               1, // the Get
			"tokenactor.refresh.wait.time" + failed:             1, // for the whole call
			"tokenactor.refresh.consecutive_failures" + billing: 1,
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("metrics (-want +got):\n%s", diff)
		}
		spans := h.ended()
		if len(spans) != 1 {
			t.Fatalf("%d spans; want 1", len(spans))
		}
		if diff := cmp.Diff([]string{"exception"}, spans[0].Events); diff != "" {
			t.Errorf("span events (-want +got):\n%s", diff)
		}
	})
}

// A call cut off by the refresh timeout is a failure of type timeout, and
// its duration is the timeout.
func TestRefreshTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		hook := h.tel.Hook("")
		hang := tokenactor.RefresherFunc[string](func(ctx context.Context, _ *tokenactor.Entry[string]) (tokenactor.Entry[string], error) {
			<-ctx.Done()
			return tokenactor.Entry[string]{}, ctx.Err()
		})
		c := tokenactor.New(hang, tokenactor.WithRefreshTimeout(3*time.Second), tokenactor.WithEventHook(hook.Event))
		defer hook.Close()
		defer c.Close()

		if _, err := c.Get(context.Background()); !errors.Is(err, tokenactor.ErrRefreshTimeout) {
			t.Fatalf("Get: %v; want ErrRefreshTimeout", err)
		}
		const failed = "{error.type=timeout,tokenactor.refresh.background=false,tokenactor.refresh.operation=authenticate,tokenactor.refresh.outcome=failure}"
		got := without(h.metrics(t), "tokenactor.refresh.consecutive_failures", "tokenactor.cache.backoff")
		want := map[string]float64{
			"tokenactor.refreshes" + failed:                   1,
			"tokenactor.refresh.duration" + failed + " count": 1,
			"tokenactor.refresh.duration" + failed + " sum":   3,
			"tokenactor.refresh.waiters" + failed:             1, // the Get
			"tokenactor.refresh.wait.time" + failed:           3, // until the timeout
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}

// A Reset during a call makes the cache discard the call's outcome without
// an event: the span ends when the next call starts, uncounted.
func TestResetDuringCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		hook := h.tel.Hook("")
		c := tokenactor.New(scripted(t,
			step{took: 2 * time.Second, life: time.Hour},
			step{took: time.Second, life: time.Hour},
		), tokenactor.WithEventHook(hook.Event))
		defer hook.Close()
		defer c.Close()

		done := make(chan struct{})
		go func() {
			defer close(done)
			// The first call's value is discarded.
			if got, err := c.Get(context.Background()); err != nil || got != "secret-token-2" {
				t.Errorf("Get = %q, %v; want the second call's value", got, err)
			}
		}()
		time.Sleep(time.Second)
		c.Reset()
		<-done

		var got []string
		for _, s := range h.ended() {
			got = append(got, fmt.Sprintf("%s %s %v", s.Name, s.Status, s.Took))
		}
		want := []string{
			"tokenactor.authenticate Error: no outcome reported 2s",
			"tokenactor.authenticate Unset 1s",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("spans (-want +got):\n%s", diff)
		}
	})
}

// Callers parked on one call are counted on its outcome, failure or
// success, as a counter and as a span attribute.
func TestWaitersCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		hook := h.tel.Hook("billing")
		c := tokenactor.New(scripted(t,
			step{took: time.Second, err: fmt.Errorf("token endpoint: %w", strategy.ErrTemporary)},
			step{took: time.Second, life: time.Hour},
		), tokenactor.WithEventHook(hook.Event))
		defer hook.Close()
		defer c.Close()

		gets := func(n int, wantErr bool) {
			var wg sync.WaitGroup
			for range n {
				wg.Go(func() {
					if _, err := c.Get(context.Background()); (err != nil) != wantErr {
						t.Errorf("Get: %v; want an error: %v", err, wantErr)
					}
				})
			}
			wg.Wait()
		}
		gets(5, true)           // all park on the first call before it ends
		time.Sleep(time.Minute) // past the backoff
		gets(3, false)

		const authNo = "{error.type=temporary,tokenactor.cache.name=billing,tokenactor.refresh.background=false,tokenactor.refresh.operation=authenticate,tokenactor.refresh.outcome=failure}"
		got := without(h.metrics(t), "tokenactor.refresh.consecutive_failures", "tokenactor.cache.backoff", "tokenactor.token.validity")
		want := map[string]float64{
			"tokenactor.refreshes" + authNo:                   1,
			"tokenactor.refreshes" + authOK:                   1,
			"tokenactor.refresh.duration" + authNo + " count": 1,
			"tokenactor.refresh.duration" + authNo + " sum":   1,
			"tokenactor.refresh.duration" + authOK + " count": 1,
			"tokenactor.refresh.duration" + authOK + " sum":   1,
			"tokenactor.refresh.waiters" + authNo:             5,
			"tokenactor.refresh.waiters" + authOK:             3,
			"tokenactor.refresh.wait.time" + authNo:           5, // each waited the whole call, 1 s
			"tokenactor.refresh.wait.time" + authOK:           3,
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("metrics (-want +got):\n%s", diff)
		}
		var waiters []string
		for _, s := range h.ended() {
			waiters = append(waiters, s.Attrs["tokenactor.refresh.waiters"])
		}
		if diff := cmp.Diff([]string{"5", "3"}, waiters); diff != "" {
			t.Errorf("span attribute tokenactor.refresh.waiters (-want +got):\n%s", diff)
		}
	})
}

// A call's duration is the cache's measure, failure or success, even when
// the hook's clock tells otherwise (here: it ran on while the cache's
// stood still).
func TestDurationIsTheCaches(t *testing.T) {
	clk := clock.NewMock()
	h := newHarness(t, tokenotel.WithClock(clk))
	hook := h.tel.Hook("")
	defer hook.Close()

	hook.Event(tokenactor.RefreshStarted{Op: tokenactor.OpAuthenticate, Attempt: 1})
	clk.Add(5 * time.Second)
	hook.Event(tokenactor.RefreshFailed{Op: tokenactor.OpAuthenticate, Attempt: 1, Err: errors.New("no"), Took: 2 * time.Second})
	hook.Event(tokenactor.RefreshStarted{Op: tokenactor.OpAuthenticate, Attempt: 2})
	clk.Add(5 * time.Second)
	hook.Event(tokenactor.RefreshSucceeded{Op: tokenactor.OpAuthenticate, Attempt: 2, ExpiresAt: clk.Now().Add(time.Hour), Took: 0})

	const (
		failed = "{error.type=_OTHER,tokenactor.refresh.background=false,tokenactor.refresh.operation=authenticate,tokenactor.refresh.outcome=failure}"
		ok     = "{tokenactor.refresh.background=false,tokenactor.refresh.operation=authenticate,tokenactor.refresh.outcome=success}"
	)
	got := without(h.metrics(t), "tokenactor.refreshes", "tokenactor.refresh.consecutive_failures", "tokenactor.cache.backoff", "tokenactor.token.validity")
	want := map[string]float64{
		"tokenactor.refresh.duration" + failed + " count": 1,
		"tokenactor.refresh.duration" + failed + " sum":   2,
		"tokenactor.refresh.duration" + ok + " count":     1,
		"tokenactor.refresh.duration" + ok + " sum":       0,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
	var took []time.Duration
	for _, s := range h.ended() {
		took = append(took, s.Took)
	}
	if diff := cmp.Diff([]time.Duration{2 * time.Second, 0}, took); diff != "" {
		t.Errorf("span lengths (-want +got):\n%s", diff)
	}
}
