package tokenactor_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/fakeclock"
)

// requestKey marks a caller's context with the request it serves.
type requestKey struct{}

func withRequest(name string) (context.Context, context.CancelFunc) {
	return context.WithCancel(context.WithValue(context.Background(), requestKey{}, name))
}

// requestOf names the request a context serves, or "" if none.
func requestOf(ctx context.Context) string {
	if ctx == nil {
		return "<nil>"
	}
	name, _ := ctx.Value(requestKey{}).(string)
	return name
}

// Each RefreshStarted names, through Caller, the Get that made the call
// necessary: the first Get, the Get that found the value stale, the Get
// after an invalidation, and (for the fresh call after a Reset) the Get the
// discarded call was made for. The Refresher never runs under a caller's
// context: it sees none of its values, and the caller leaving does not end
// the call.
func TestRefreshStartedNamesTheCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var started []string // written by the hook; read after synctest.Wait
		c, s, clk := newCache(tokenactor.WithEventHook(func(e tokenactor.Event) {
			if e, ok := e.(tokenactor.RefreshStarted); ok {
				started = append(started, e.Op.String()+" for "+requestOf(e.Caller))
			}
		}))
		defer c.Close()

		// The first Get authenticates; its caller leaves before the
		// answer, and the call carries on.
		ctx, cancel := withRequest("first")
		ch := goGet(ctx, c)
		synctest.Wait()
		call := s.next(t)
		if got := requestOf(call.ctx); got != "" {
			t.Fatalf("Refresher's context serves request %q, want none", got)
		}
		cancel()
		synctest.Wait()
		if call.ctx.Err() != nil {
			t.Fatalf("the caller leaving ended the call: %v", call.ctx.Err())
		}
		call.ok("v1", at(time.Hour), true)
		synctest.Wait()
		<-ch

		// A Get in the refresh window starts a background refresh and is
		// served at once.
		clk.Add(time.Hour - time.Minute)
		ctx, cancel = withRequest("stale")
		mustGetCtx(t, ctx, c, "v1")
		cancel()
		synctest.Wait()
		call = s.next(t)
		if call.ctx.Err() != nil || requestOf(call.ctx) != "" {
			t.Fatalf("background call: context err %v, request %q; want a live context of its own", call.ctx.Err(), requestOf(call.ctx))
		}
		call.ok("v2", at(3*time.Hour), true)
		synctest.Wait()
		mustGet(t, c, "v2")

		// After an invalidation the next Get waits; a Reset discards that
		// call, and the fresh call is made for the same Get.
		c.Invalidate()
		ctx, cancel = withRequest("after-401")
		defer cancel()
		ch = goGet(ctx, c)
		synctest.Wait()
		discarded := s.next(t)
		c.Reset()
		discarded.ok("made with the old credentials", at(4*time.Hour), true)
		synctest.Wait()
		s.next(t).ok("v3", at(4*time.Hour), true)
		synctest.Wait()
		if r, ok := answered(ch); !ok || r != (result{value: "v3"}) {
			t.Fatalf("Get after the Reset got %+v (answered %t), want v3", r, ok)
		}

		want := []string{
			"authenticate for first",
			"refresh for stale",
			"refresh for after-401",
			"refresh for after-401",
		}
		if diff := cmp.Diff(want, started); diff != "" {
			t.Errorf("RefreshStarted callers (-want +got):\n%s", diff)
		}
	})
}

func mustGetCtx(t *testing.T, ctx context.Context, c *tokenactor.Cache[string], want string) {
	t.Helper()
	if v, err := c.Get(ctx); err != nil || v != want {
		t.Fatalf("Get = %q, %v; want %q", v, err, want)
	}
}

// A caller's context may hold secrets of its own (a request's credentials,
// in a value or in a field of a framework's context type): no way of
// printing or encoding the event shows them, whatever the fmt verb (a
// wrong one included), log/slog handler or encoding/json. (%p is left out:
// fmt prints a struct's fields for it without asking the struct, whatever
// its methods.)
func TestRefreshStartedPrintsNoCallerValues(t *testing.T) {
	ctx := context.WithValue(context.Background(), requestKey{}, "Bearer caller-secret")
	for name, caller := range map[string]context.Context{
		"a value":             ctx,
		"an exported field":   frameworkContext{Context: ctx, Authorization: "Bearer caller-secret"},
		"a field, by pointer": &frameworkContext{Context: ctx, Authorization: "Bearer caller-secret"},
	} {
		e := tokenactor.RefreshStarted{Op: tokenactor.OpRefresh, Attempt: 1, Caller: caller}
		var outs []string
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d", "%t"} {
			outs = append(outs, fmtS(verb, e), fmtS(verb, &e), fmtS(verb, []tokenactor.Event{e}))
		}
		b, err := json.Marshal(e)
		if err != nil {
			t.Errorf("%s: json.Marshal: %v", name, err)
		}
		var logged strings.Builder
		slog.New(slog.NewJSONHandler(&logged, nil)).Info("event", "e", e)
		slog.New(slog.NewTextHandler(&logged, nil)).Info("event", "e", e)
		for _, out := range append(outs, string(b), logged.String()) {
			if strings.Contains(out, "caller-secret") {
				t.Errorf("%s: printed the caller's secret: %s", name, out)
			}
		}
		if got, want := fmtS("%v", e), "refresh started (attempt 1, background false)"; got != want {
			t.Errorf("%s: %%v = %q, want %q", name, got, want)
		}
	}
}

// frameworkContext is a web framework's request context: a context.Context
// with exported fields, some of them credentials.
type frameworkContext struct {
	context.Context
	Authorization string
}

// primedRecordingSuccesses returns a cache holding "v1", with its script
// and clock, and the RefreshSucceeded events it reports from then on
// (written by the hook; read them after synctest.Wait).
func primedRecordingSuccesses(t *testing.T) (*tokenactor.Cache[string], *stubRefresher, *fakeclock.Clock, *[]tokenactor.RefreshSucceeded) {
	var done []tokenactor.RefreshSucceeded
	c, s, clk := newCache(tokenactor.WithEventHook(func(e tokenactor.Event) {
		if e, ok := e.(tokenactor.RefreshSucceeded); ok {
			done = append(done, e)
		}
	}))
	prime(t, c, s, "v1", at(time.Hour), true)
	done = nil
	return c, s, clk, &done
}

// RefreshSucceeded says how long its callers waited, added up: each until
// it was answered, or until its context ended.
func TestRefreshReportsTimeWaited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s, clk, done := primedRecordingSuccesses(t)
		defer c.Close()

		c.Invalidate()
		first := goGet(context.Background(), c) // waits from 0 s to 5 s
		synctest.Wait()
		call := s.next(t)
		clk.Add(time.Second)
		second := goGet(context.Background(), c) // from 1 s to 5 s
		synctest.Wait()
		clk.Add(time.Second)
		ctx, cancel := context.WithCancel(context.Background())
		leaver := goGet(ctx, c) // from 2 s until it leaves at 3 s
		synctest.Wait()
		clk.Add(time.Second)
		cancel()
		synctest.Wait()
		if r, ok := answered(leaver); !ok || r.err == nil {
			t.Fatalf("the caller that left got %+v (answered %t), want its context's error", r, ok)
		}
		clk.Add(2 * time.Second)
		call.ok("v2", at(2*time.Hour), true)
		synctest.Wait()
		wantAll(t, []<-chan result{first, second}, "v2")

		if len(*done) != 1 {
			t.Fatalf("%d RefreshSucceeded events, want 1", len(*done))
		}
		e := (*done)[0]
		if e.Waiters != 3 || e.Waited != 10*time.Second || e.Took != 5*time.Second {
			t.Errorf("RefreshSucceeded: %d waiters waited %v in all, call took %v; want 3 waiters, 10s (5+4+1), 5s", e.Waiters, e.Waited, e.Took)
		}
	})
}

// A Reset sends the callers of the call in flight on to a fresh call; the
// fresh call's RefreshSucceeded counts their whole wait, which can be
// longer than the fresh call took.
func TestWaitCountedAcrossAReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s, clk, done := primedRecordingSuccesses(t)
		defer c.Close()

		c.Invalidate()
		waiter := goGet(context.Background(), c) // waits from 0 s to 5 s
		synctest.Wait()
		stale := s.next(t)
		clk.Add(time.Second)
		c.Reset()
		clk.Add(2 * time.Second)
		stale.ok("old", at(2*time.Hour), true) // at 3 s: discarded, a fresh call starts
		synctest.Wait()
		fresh := s.next(t)
		clk.Add(2 * time.Second)
		fresh.ok("v2", at(2*time.Hour), true)
		synctest.Wait()
		wantAll(t, []<-chan result{waiter}, "v2")

		if len(*done) != 1 {
			t.Fatalf("%d RefreshSucceeded events, want 1 (the stale call's outcome is discarded)", len(*done))
		}
		e := (*done)[0]
		if e.Waiters != 1 || e.Waited != 5*time.Second || e.Took != 2*time.Second {
			t.Errorf("RefreshSucceeded: %d waiters waited %v in all, call took %v; want 1 waiter, 5s, 2s", e.Waiters, e.Waited, e.Took)
		}
	})
}
