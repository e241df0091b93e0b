package tokenactor_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenactor/tokenactor"
)

// The event hook is user code that runs on behalf of the loop. Whatever it
// does on every call (panic, runtime.Goexit), the cache keeps its promises:
// callers are answered with the refresher's outcome, the next Get makes a
// fresh attempt, and Close returns.
func TestMisbehavingHookIsContained(t *testing.T) {
	tests := []struct {
		name string
		give func()
	}{
		{name: "panic", give: func() { panic("hook panic") }},
		{name: "Goexit", give: runtime.Goexit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var seen []string // written by the hook, one call at a time; read after synctest.Wait
				c, s, clk := newCache(tokenactor.WithEventHook(func(e tokenactor.Event) {
					seen = append(seen, fmtS("%T", e))
					tt.give()
				}))

				// RefreshStarted and RefreshFailed: both waiters get the
				// refresher's error, not the hook's.
				waiters := goGets(c, 2)
				synctest.Wait()
				s.next(t).fail(&errUpstream{code: "down"})
				synctest.Wait()
				for i, ch := range waiters {
					r, ok := answered(ch)
					var up *errUpstream
					if !ok || !errors.As(r.err, &up) {
						t.Fatalf("waiter %d got %+v (answered %t), want the refresher's error", i, r, ok)
					}
				}

				// The next Get after the backoff is a fresh attempt, and
				// RefreshSucceeded reaches its waiter.
				clk.Add(2 * time.Second) // past the backoff: 1 s ±20%
				ch := goGet(context.Background(), c)
				synctest.Wait()
				s.next(t).ok("v1", at(time.Hour), true)
				synctest.Wait()
				if r, ok := answered(ch); !ok || r != (result{value: "v1"}) {
					t.Fatalf("Get after the failure got %+v (answered %t), want v1", r, ok)
				}
				mustGet(t, c, "v1")

				// Close with a call in flight returns, and its waiter is
				// answered.
				c.Invalidate()
				ch = goGet(context.Background(), c)
				synctest.Wait()
				s.next(t) // in flight, never answered: Close cancels it
				c.Close()
				synctest.Wait() // the waiter's goroutine hands on its answer
				if r, ok := answered(ch); !ok || !errors.Is(r.err, tokenactor.ErrClosed) {
					t.Fatalf("waiter at Close got %+v (answered %t), want ErrClosed", r, ok)
				}

				want := []string{
					"tokenactor.RefreshStarted", "tokenactor.RefreshFailed",
					"tokenactor.RefreshStarted", "tokenactor.RefreshSucceeded",
					"tokenactor.RefreshStarted", "tokenactor.Closed",
				}
				if diff := cmp.Diff(want, seen); diff != "" {
					t.Errorf("events the hook was called with (-want +got):\n%s", diff)
				}
			})
		})
	}
}

// Closed is the last event, sent before Close returns, saying whether a
// call in flight was abandoned; a second Close sends nothing.
func TestClosedIsTheLastEvent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var seen []tokenactor.Event // written by the hook, one call at a time
		c, s, _ := newCache(tokenactor.WithEventHook(func(e tokenactor.Event) {
			if _, ok := e.(tokenactor.RefreshStarted); !ok { // its Caller is a live context
				seen = append(seen, e)
			}
		}))
		idle, _, _ := newCache(tokenactor.WithEventHook(func(e tokenactor.Event) { seen = append(seen, e) }))
		idle.Close()
		if diff := cmp.Diff([]tokenactor.Event{tokenactor.Closed{}}, seen); diff != "" {
			t.Errorf("a cache closed unused (-want +got):\n%s", diff)
		}

		seen = nil
		ch := goGet(context.Background(), c)
		synctest.Wait()
		s.next(t) // in flight, never answered
		c.Close()
		c.Close()
		synctest.Wait()
		if r, ok := answered(ch); !ok || !errors.Is(r.err, tokenactor.ErrClosed) {
			t.Fatalf("waiter at Close got %+v (answered %t), want ErrClosed", r, ok)
		}
		if diff := cmp.Diff([]tokenactor.Event{tokenactor.Closed{Abandoned: true}}, seen); diff != "" {
			t.Errorf("a cache closed during a call (-want +got):\n%s", diff)
		}
	})
}
