package tokenotel_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tokenactor/tokenactor"
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
