package tokenactor_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tokenactor/tokenactor"
)

// hostileErr is a refresher's error with every method the cache might call
// on an error (Error, Unwrap, Is, As and RetryAfter). The one named by
// method panics; with " Goexit" appended, it calls runtime.Goexit.
type hostileErr struct{ method string }

func (e *hostileErr) misbehave(method string) {
	if e.method == method {
		panic("hostile " + method)
	}
	if e.method == method+" Goexit" {
		runtime.Goexit()
	}
}

func (e *hostileErr) Error() string             { e.misbehave("Error"); return "hostile error" }
func (e *hostileErr) Unwrap() error             { e.misbehave("Unwrap"); return nil }
func (e *hostileErr) Is(error) bool             { e.misbehave("Is"); return false }
func (e *hostileErr) As(any) bool               { e.misbehave("As"); return false }
func (e *hostileErr) RetryAfter() time.Duration { e.misbehave("RetryAfter"); return 0 }

// TestRefresherErrorMethodsAreContained: the error a Refresher returns is
// user code too. Whatever its methods do (panic, runtime.Goexit), the
// cache answers the caller, keeps working and closes: none of them runs
// unguarded in the loop.
func TestRefresherErrorMethodsAreContained(t *testing.T) {
	type test struct {
		method  string
		timeout bool // the refresher returns the error once its call timed out
	}
	var tests []test
	for _, m := range []string{"Error", "Unwrap", "Is", "As", "RetryAfter"} {
		for _, timeout := range []bool{false, true} {
			tests = append(tests, test{m, timeout}, test{m + " Goexit", timeout})
		}
	}
	for _, tt := range tests {
		t.Run(fmtS("%s/timeout=%t", tt.method, tt.timeout), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				calls := 0
				c := tokenactor.New(tokenactor.RefresherFunc[string](func(ctx context.Context, _ *tokenactor.Entry[string]) (tokenactor.Entry[string], error) {
					calls++
					if calls == 1 {
						if tt.timeout {
							<-ctx.Done()
						}
						return tokenactor.Entry[string]{}, &hostileErr{method: tt.method}
					}
					return tokenactor.Entry[string]{Value: "v", ExpiresAt: time.Now().Add(time.Hour)}, nil
				}), tokenactor.WithRefreshTimeout(time.Second))
				defer c.Close()

				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
				defer cancel()
				// The test itself calls no method of the error: they are
				// the caller's to call, in the caller's goroutine.
				if _, err := c.Get(ctx); err == nil || ctx.Err() != nil {
					t.Fatal("first Get succeeded or waited for its context; want the refresher's failure")
				}
				time.Sleep(time.Minute) // past any backoff
				if v, err := c.Get(ctx); err != nil || v != "v" {
					t.Fatalf("Get after the backoff = %q, %v; want v", v, err)
				}
			})
		})
	}
}

// TestValueStaysFreshForAQuarterOfItsLife: however the window and jitter
// compare with a value's lifetime, a value the cache stores stays fresh
// (served without a refresh) for at least a quarter of that lifetime. A
// lifetime just above the window, or within reach of the jitter, must not
// make each value stale at once and the cache refresh on every Get.
func TestValueStaysFreshForAQuarterOfItsLife(t *testing.T) {
	tests := []struct {
		name   string
		life   time.Duration
		jitter float64
	}{
		{"just above the window", 91 * time.Second, 0},
		{"above the window, within the jitter", 100 * time.Second, 0.5},
		{"full jitter", 150 * time.Second, 1},
		{"shorter than the window, full jitter", 60 * time.Second, 1},
		{"long life", time.Hour, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				calls := 0 // the cache makes one call at a time
				c := tokenactor.New(tokenactor.RefresherFunc[int](func(context.Context, *tokenactor.Entry[int]) (tokenactor.Entry[int], error) {
					calls++
					return tokenactor.Entry[int]{Value: calls, ExpiresAt: time.Now().Add(tt.life)}, nil
				}), tokenactor.WithRefreshJitter(tt.jitter))
				defer c.Close()
				const span = 20 * time.Minute
				for end := time.Now().Add(span); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
					if _, err := c.Get(t.Context()); err != nil {
						t.Fatal(err)
					}
					synctest.Wait() // a background refresh it started has finished
				}
				if most := int(span/(tt.life/4)) + 1; calls > most {
					t.Errorf("%d Refresher calls in %v of Gets every 100 ms, want at most %d", calls, span, most)
				}
			})
		})
	}
}

// brokenCtx breaks the context.Context contract: Done is closed but Err
// says nothing went wrong.
type brokenCtx struct{ context.Context }

func (brokenCtx) Done() <-chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}

func (brokenCtx) Err() error { return nil }

// TestBrokenContextGetsAnError: a Get whose context says it is done but
// gives no error must not come back with the zero value and no error,
// which a caller would send on as a credential.
func TestBrokenContextGetsAnError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s, _ := newCache()
		defer c.Close()
		ch := goGet(brokenCtx{context.Background()}, c)
		synctest.Wait()
		if r, ok := answered(ch); !ok || r.err == nil {
			t.Fatalf("Get with a broken context = %+v (answered %t), want an error", r, ok)
		}
		s.next(t).ok("v", at(time.Hour), true) // the refresh carries on for the others
		synctest.Wait()
		mustGet(t, c, "v")
	})
}

// TestInvalidateIfPredicateMisbehaves: InvalidateIf's predicate runs in the
// caller's goroutine with nothing of the cache held. What it does (panic,
// runtime.Goexit, calling the cache again, closing it) happens to that
// caller alone: the cache keeps serving, and nothing is invalidated by a
// predicate that never returned true.
func TestInvalidateIfPredicateMisbehaves(t *testing.T) {
	tests := []struct {
		name string
		give func(c *tokenactor.Cache[string]) func(string) bool
		want string // "" for ErrClosed
	}{
		{"panics", func(*tokenactor.Cache[string]) func(string) bool {
			return func(string) bool { panic("predicate") }
		}, "v1"},
		{"calls Goexit", func(*tokenactor.Cache[string]) func(string) bool {
			return func(string) bool { runtime.Goexit(); return true }
		}, "v1"},
		{"calls Get and Invalidate, then rejects", func(c *tokenactor.Cache[string]) func(string) bool {
			return func(string) bool {
				if v, err := c.Get(context.Background()); v != "v1" || err != nil {
					panic(fmtS("Get in the predicate = %q, %v", v, err))
				}
				c.InvalidateIf(func(string) bool { return false })
				return true
			}
		}, "v2"},
		{"closes the cache", func(c *tokenactor.Cache[string]) func(string) bool {
			return func(string) bool { c.Close(); return true }
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c, s, _ := newCache()
				defer c.Close()
				prime(t, c, s, "v1", at(time.Hour), true)
				done := make(chan struct{})
				go func() {
					defer close(done)
					defer func() { _ = recover() }()
					c.InvalidateIf(tt.give(c))
				}()
				<-done
				ch := goGet(context.Background(), c)
				synctest.Wait()
				if tt.want == "v2" {
					s.next(t).ok("v2", at(time.Hour), true)
					synctest.Wait()
				}
				s.none(t)
				r, ok := answered(ch)
				if tt.want == "" {
					if !ok || !errors.Is(r.err, tokenactor.ErrClosed) {
						t.Fatalf("Get = %+v (answered %t), want ErrClosed", r, ok)
					}
					return
				}
				if !ok || r != (result{value: tt.want}) {
					t.Fatalf("Get = %+v (answered %t), want %s", r, ok, tt.want)
				}
			})
		})
	}
}

// TestOddExpiries: whatever instant a Refresher gives as ExpiresAt (long
// past, the first instant after the zero time, a past instant carrying a
// monotonic reading, centuries ahead), a value is served only while it is
// usable: a past one is an error, never a value that never expires.
func TestOddExpiries(t *testing.T) {
	year9999 := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		give      func(now time.Time) time.Time
		wantValue bool
	}{
		{"1970", func(time.Time) time.Time { return time.Unix(0, 0) }, false},
		{"year 1, 1 ns after the zero time", func(time.Time) time.Time { return time.Time{}.Add(time.Nanosecond) }, false},
		{"a second ago, monotonic", func(now time.Time) time.Time { return now.Add(-time.Second) }, false},
		{"now, monotonic", func(now time.Time) time.Time { return now }, false},
		{"year 9999", func(time.Time) time.Time { return year9999 }, true},
		{"year 9999 in another zone", func(time.Time) time.Time { return year9999.In(time.FixedZone("x", -12*3600)) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := tokenactor.New(tokenactor.RefresherFunc[string](func(context.Context, *tokenactor.Entry[string]) (tokenactor.Entry[string], error) {
					return tokenactor.Entry[string]{Value: "v", ExpiresAt: tt.give(time.Now())}, nil
				}))
				defer c.Close()
				v, err := c.Get(t.Context())
				if got := err == nil && v == "v"; got != tt.wantValue {
					t.Fatalf("Get = %q, %v; want a value: %t", v, err, tt.wantValue)
				}
				if tt.wantValue {
					time.Sleep(24 * time.Hour)
					if v, err := c.Get(t.Context()); err != nil || v != "v" {
						t.Fatalf("Get a day later = %q, %v; want v", v, err)
					}
				}
			})
		})
	}
}

// credRefresher is a Refresher held by value, with a credential in it,
// as users write them.
type credRefresher struct {
	ClientSecret string
}

func (r credRefresher) Refresh(context.Context, *tokenactor.Entry[string]) (tokenactor.Entry[string], error) {
	return tokenactor.Entry[string]{Value: "value-" + r.ClientSecret, ExpiresAt: time.Now().Add(time.Hour)}, nil
}

// TestCacheFormatsNoSecret: a Cache holds a secret value and a Refresher
// that may hold credentials. Printing or logging the Cache, with any verb,
// shows neither.
func TestCacheFormatsNoSecret(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := tokenactor.New[string](credRefresher{ClientSecret: "s3cr3t"})
		defer c.Close()
		if _, err := c.Get(t.Context()); err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X"} {
			fmt.Fprintf(&out, verb+"\n", c)
		}
		slog.New(slog.NewTextHandler(&out, nil)).Info("m", "cache", c)
		slog.New(slog.NewJSONHandler(&out, nil)).Info("m", "cache", c)
		b, _ := json.Marshal(c)
		out.Write(b)
		if s := out.String(); strings.Contains(s, "s3cr3t") || strings.Contains(s, hex.EncodeToString([]byte("s3cr3t"))) || strings.Contains(s, strings.ToUpper(hex.EncodeToString([]byte("s3cr3t")))) {
			t.Errorf("formatting a Cache shows its secrets:\n%s", s)
		}
	})
}
