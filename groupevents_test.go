package tokenactor_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/fakeclock"
)

// groupEventLog records the events a Group's hook receives, each as
// "<kind> <key> <detail>".
type groupEventLog struct {
	mu     sync.Mutex
	events []string
}

func (l *groupEventLog) hook(e tokenactor.GroupEvent) {
	var s string
	switch e := e.(type) {
	case tokenactor.CacheEvicted:
		s = fmt.Sprintf("evicted %v %v", e.Key, e.Reason)
	case tokenactor.FactoryFailed:
		s = fmt.Sprintf("failed %v %v", e.Key, e.Err)
	default:
		s = fmt.Sprintf("unknown %T", e)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, s)
}

// take returns the events recorded since the last take.
func (l *groupEventLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.events
	l.events = nil
	return out
}

// An idle cache's eviction is reported with the reason idle, once, when the
// sweep evicts it.
func TestGroupEventIdleEviction(t *testing.T) {
	const idle = time.Minute
	synctest.Test(t, func(t *testing.T) {
		clk := fakeclock.New()
		var log groupEventLog
		f := &tenantFactory{}
		g := tokenactor.NewGroup(f.make, tokenactor.WithIdleEviction(idle), tokenactor.WithGroupClock(clk),
			tokenactor.WithGroupEventHook(log.hook))
		defer g.Close()
		ctx := context.Background()
		if _, err := g.Get(ctx, "a"); err != nil { // used at 0
			t.Fatal(err)
		}
		clk.Add(idle / 2)
		synctest.Wait()
		if _, err := g.Get(ctx, "b"); err != nil { // used at idle/2
			t.Fatal(err)
		}
		var got [][]string
		for range 3 { // sweeps at idle, 1.5·idle, 2·idle
			clk.Add(idle / 2)
			synctest.Wait()
			got = append(got, log.take())
		}
		want := [][]string{nil, {"evicted a idle"}, {"evicted b idle"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("events after each sweep (-want +got):\n%s", diff)
		}
	})
}

// Making a cache past WithMaxCaches reports the least recently used one's
// eviction with the reason max caches, whether the Get that made the new
// cache evicted it or, when every cache was waited on then, the end of a
// Get did.
func TestGroupEventMaxCaches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log groupEventLog
		f := &tenantFactory{}
		g := tokenactor.NewGroup(f.make, tokenactor.WithMaxCaches(2), tokenactor.WithGroupEventHook(log.hook))
		defer g.Close()
		ctx := context.Background()
		for _, k := range []string{"a", "b", "a", "c", "b"} { // b is least recently used when c comes, a when b comes back
			if _, err := g.Get(ctx, k); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		if diff := cmp.Diff([]string{"evicted b max caches", "evicted a max caches"}, log.take()); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}

		// Under a bound of 1 with a Get parked on busy, each new cache is
		// evicted when the Get that made it ends.
		gate := make(chan struct{})
		f1 := &tenantFactory{gates: map[string]chan struct{}{"busy": gate}}
		g1 := tokenactor.NewGroup(f1.make, tokenactor.WithMaxCaches(1), tokenactor.WithGroupEventHook(log.hook))
		defer g1.Close()
		var wg sync.WaitGroup
		wg.Go(func() { _, _ = g1.Get(ctx, "busy") })
		synctest.Wait()
		for _, k := range []string{"d", "e"} {
			if _, err := g1.Get(ctx, k); err != nil {
				t.Fatal(err)
			}
		}
		gate <- struct{}{}
		wg.Wait()
		synctest.Wait()
		if diff := cmp.Diff([]string{"evicted d max caches", "evicted e max caches"}, log.take()); diff != "" {
			t.Errorf("events with a parked Get (-want +got):\n%s", diff)
		}
	})
}

// A factory that fails, returns a nil cache, panics or calls
// runtime.Goexit is reported with the error the Gets got; a cache that
// Close discarded while it was being made is not a failure.
func TestGroupEventFactoryFailed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errNoTenant := errors.New("no such tenant")
		var mu sync.Mutex
		var events []tokenactor.GroupEvent
		hook := func(e tokenactor.GroupEvent) {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, e)
		}
		g := tokenactor.NewGroup(func(k string) (*tokenactor.Cache[string], error) {
			switch k {
			case "error":
				return nil, errNoTenant
			case "nil":
				return nil, nil
			case "panic":
				panic("boom")
			case "goexit":
				runtime.Goexit()
			}
			return tokenactor.New[string](&tenantRefresher{tenant: k}), nil
		}, tokenactor.WithGroupEventHook(hook))
		keys := []string{"error", "nil", "panic", "goexit", "ok"}
		errs := map[string]error{}
		for _, k := range keys {
			var wg sync.WaitGroup // a goroutine of its own: the factory may end it
			wg.Go(func() { _, errs[k] = g.Get(context.Background(), k) })
			wg.Wait()
			synctest.Wait()
		}
		if err := g.Close(); err != nil {
			t.Fatal(err)
		}
		var got []string
		for i, e := range events {
			f, ok := e.(tokenactor.FactoryFailed)
			if !ok {
				t.Fatalf("event %d is %T, want FactoryFailed", i, e)
			}
			k := f.Key.(string)
			switch {
			case k == "goexit": // the Get's goroutine ended with the factory
				if f.Err == nil || !strings.Contains(f.Err.Error(), "Goexit") {
					t.Errorf("%s: event's error %v, want one naming Goexit", k, f.Err)
				}
			case f.Err == nil || f.Err != errs[k]:
				t.Errorf("%s: event's error %v, the Get's %v; want the same error", k, f.Err, errs[k])
			}
			got = append(got, k)
		}
		if diff := cmp.Diff(keys[:4], got); diff != "" {
			t.Errorf("keys reported (-want +got):\n%s", diff)
		}
		var pe *tokenactor.PanicError
		if e := events[2].(tokenactor.FactoryFailed); !errors.As(e.Err, &pe) || !errors.Is(events[0].(tokenactor.FactoryFailed).Err, errNoTenant) {
			t.Errorf("errors reported: %v and %v; want the factory's and a *PanicError", events[0], e)
		}

		// Close while the factory runs: the cache it returns is closed,
		// and nothing failed.
		var log groupEventLog
		f := &tenantFactory{wait: make(chan struct{})}
		g2 := tokenactor.NewGroup(f.make, tokenactor.WithGroupEventHook(log.hook))
		var wg sync.WaitGroup
		wg.Go(func() { _, _ = g2.Get(context.Background(), "a") })
		synctest.Wait()
		wg.Go(func() { _ = g2.Close() })
		synctest.Wait()
		close(f.wait)
		wg.Wait()
		if got := log.take(); got != nil {
			t.Errorf("events when Close discarded a cache being made: %q, want none", got)
		}
	})
}

// Close closes every cache but reports no eviction.
func TestGroupEventNoneForClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log groupEventLog
		f := &tenantFactory{}
		g := tokenactor.NewGroup(f.make, tokenactor.WithIdleEviction(time.Minute), tokenactor.WithMaxCaches(10),
			tokenactor.WithGroupEventHook(log.hook))
		for _, k := range []string{"a", "b", "c"} {
			if _, err := g.Get(context.Background(), k); err != nil {
				t.Fatal(err)
			}
		}
		if err := g.Close(); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := log.take(); got != nil {
			t.Errorf("events at Close: %q, want none", got)
		}
	})
}

// The hook is user code: a panic or runtime.Goexit in it ends that one
// call. The group keeps evicting, making caches and reporting.
func TestGroupEventHookMisbehaving(t *testing.T) {
	const idle = time.Minute
	synctest.Test(t, func(t *testing.T) {
		clk := fakeclock.New()
		var calls []string // written by the hook, one call at a time; read after synctest.Wait
		hook := func(e tokenactor.GroupEvent) {
			calls = append(calls, fmt.Sprint(e.(tokenactor.CacheEvicted).Key))
			switch len(calls) {
			case 1:
				panic("hook panic")
			case 2:
				runtime.Goexit()
			}
		}
		f := &tenantFactory{}
		g := tokenactor.NewGroup(f.make, tokenactor.WithIdleEviction(idle), tokenactor.WithGroupClock(clk),
			tokenactor.WithGroupEventHook(hook))
		ctx := context.Background()
		evictAll := func(keys ...string) {
			t.Helper()
			for _, k := range keys {
				if _, err := g.Get(ctx, k); err != nil {
					t.Fatal(err)
				}
			}
			for range 3 {
				clk.Add(idle / 2)
				synctest.Wait()
			}
			if n := g.Len(); n != 0 {
				t.Fatalf("%d caches after three idle periods, want 0", n)
			}
		}
		evictAll("a")
		evictAll("b")
		evictAll("c", "a")
		if v, err := g.Get(ctx, "a"); err != nil || v != "a-1" || f.count("a") != 3 {
			t.Errorf("Get after the hook failed = %q, %v with %d caches made; want a new cache", v, err, f.count("a"))
		}
		if err := g.Close(); err != nil {
			t.Fatal(err)
		}
		if len(calls) == 4 {
			slices.Sort(calls[2:]) // c and a went in one sweep, in no set order
		}
		if diff := cmp.Diff([]string{"a", "b", "a", "c"}, calls); diff != "" {
			t.Errorf("hook calls (-want +got):\n%s", diff)
		}
	})
}

// The hook runs without the group's lock and in no Get's goroutine: a hook
// that calls Len and Get (here, to make the evicted cache again) does not
// deadlock, and the Gets it calls work. (Were the hook called with the lock
// held, Len would wait for it forever; a goroutine blocked on a mutex is
// not durably blocked, so a synctest bubble would hang rather than fail:
// this test runs outside one, with a guard against that hang.)
func TestGroupEventHookCallsGroup(t *testing.T) {
	type call struct {
		key   string
		held  int
		value string
		err   error
	}
	calls := make(chan call, 1)
	var once sync.Once
	var g *tokenactor.Group[string, string]
	hook := func(e tokenactor.GroupEvent) {
		once.Do(func() { // the Get below evicts b: that event is left alone
			key := e.(tokenactor.CacheEvicted).Key.(string)
			held := g.Len()
			v, err := g.Get(context.Background(), key)
			calls <- call{key, held, v, err}
		})
	}
	f := &tenantFactory{}
	g = tokenactor.NewGroup(f.make, tokenactor.WithMaxCaches(1), tokenactor.WithGroupEventHook(hook))
	gets := make(chan error, 2)
	go func() {
		for _, k := range []string{"a", "b"} { // b evicts a
			_, err := g.Get(context.Background(), k)
			gets <- err
		}
	}()
	select {
	case c := <-calls:
		if c != (call{key: "a", held: 1, value: "a-1"}) {
			t.Errorf("the hook saw %+v; want a evicted, b held, and a new cache for a", c)
		}
	case <-time.After(10 * time.Second): // guards against a hang only
		t.Fatal("the hook never returned from Len and Get: was it called with the group's lock held?")
	}
	for range 2 {
		if err := <-gets; err != nil {
			t.Error(err)
		}
	}
	if n := g.Len(); n != 1 || f.count("a") != 2 {
		t.Errorf("%d caches held, %d made for a; want 1 (the bound) and 2", n, f.count("a"))
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
}

// A hook that blocks holds up no Get, on existing keys or new ones, nor
// the evictions: its events wait, in order, and Close waits for them.
func TestGroupEventSlowHookStallsNoGet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		unblock := make(chan struct{})
		var log groupEventLog
		hook := func(e tokenactor.GroupEvent) {
			<-unblock
			log.hook(e)
		}
		f := &tenantFactory{}
		g := tokenactor.NewGroup(f.make, tokenactor.WithMaxCaches(2), tokenactor.WithGroupEventHook(hook))
		ctx := context.Background()
		keys := []string{"a", "b", "c", "b", "d", "e", "e", "b"}
		for _, k := range keys { // evicts a, c, d in turn: b and the newest stay
			if _, err := g.Get(ctx, k); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait() // the hook is blocked on its first event
		if n := g.Len(); n != 2 {
			t.Errorf("%d caches held, want 2: evictions went on", n)
		}
		closed := make(chan struct{})
		go func() {
			_ = g.Close()
			close(closed)
		}()
		synctest.Wait()
		select {
		case <-closed:
			t.Fatal("Close returned before the hook had seen every event")
		default:
		}
		close(unblock)
		<-closed
		want := []string{"evicted a max caches", "evicted c max caches", "evicted d max caches"}
		if diff := cmp.Diff(want, log.take()); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})
}

// Printing an event in any way shows no key: a key may be a secret.
func TestGroupEventPrintingHidesKey(t *testing.T) {
	const key = "subject-token-SECRETKEY"
	events := []tokenactor.GroupEvent{
		tokenactor.CacheEvicted{Key: key, Reason: tokenactor.EvictedIdle},
		tokenactor.CacheEvicted{Key: struct{ Token string }{key}, Reason: tokenactor.EvictedMaxCaches},
		tokenactor.FactoryFailed{Key: key, Err: errors.New("tenant unknown")},
		tokenactor.FactoryFailed{Key: key},
	}
	var logged strings.Builder
	logger := slog.New(slog.NewJSONHandler(&logged, nil))
	text := slog.New(slog.NewTextHandler(&logged, nil))
	for _, e := range events {
		var outs []string
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
			outs = append(outs, fmt.Sprintf(verb, e))
		}
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, string(b))
		logger.Info("event", "e", e)
		text.Info("event", "e", e)
		for _, out := range append(outs, logged.String()) {
			if strings.Contains(out, "SECRETKEY") {
				t.Errorf("%T printed its key: %s", e, out)
			}
		}
	}
	want := []string{
		"group: cache evicted (idle)",
		"group: cache evicted (max caches)",
		"group: no cache made: tenant unknown",
		"group: no cache made: <nil>",
	}
	var got []string
	for _, e := range events {
		got = append(got, e.String())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("String (-want +got):\n%s", diff)
	}
	if s := tokenactor.EvictionReason(0).String(); s != "EvictionReason(0)" {
		t.Errorf("zero reason: %q", s)
	}
}

// Evictions reported to a hook, read once Close has returned: by then the
// hook has seen every event.
func ExampleWithGroupEventHook() {
	var evicted []string // written by the hook, one event at a time
	g := tokenactor.NewGroup(func(tenant string) (*tokenactor.Cache[string], error) {
		return tokenactor.New[string](&tenantRefresher{tenant: tenant}), nil
	}, tokenactor.WithMaxCaches(2), tokenactor.WithGroupEventHook(func(e tokenactor.GroupEvent) {
		if e, ok := e.(tokenactor.CacheEvicted); ok {
			// The key is left out of printed events; print it where it is safe.
			evicted = append(evicted, fmt.Sprintf("%v (tenant %v)", e, e.Key))
		}
	}))
	for _, tenant := range []string{"acme", "globex", "acme", "initech"} {
		if _, err := g.Get(context.Background(), tenant); err != nil {
			fmt.Println(err)
			return
		}
	}
	_ = g.Close()
	fmt.Println(strings.Join(evicted, "\n"))
	// Output:
	// group: cache evicted (max caches) (tenant globex)
}
