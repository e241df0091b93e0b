package tokenactor_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	"weak"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/fakeclock"
)

// tenantRefresher issues "<tenant>-<n>" tokens living an hour. If gate is
// set, Refresh first waits for a value from it.
type tenantRefresher struct {
	tenant string
	gate   chan struct{}
	n      atomic.Int32
}

func (r *tenantRefresher) Refresh(ctx context.Context, _ *tokenactor.Entry[string]) (tokenactor.Entry[string], error) {
	if r.gate != nil {
		select {
		case <-r.gate:
		case <-ctx.Done():
			return tokenactor.Entry[string]{}, ctx.Err()
		}
	}
	n := r.n.Add(1)
	return tokenactor.Entry[string]{Value: fmt.Sprintf("%s-%d", r.tenant, n), ExpiresAt: time.Now().Add(time.Hour)}, nil
}

// tenantFactory makes caches of tenantRefreshers and counts them per key.
// Keys listed in gates get a refresher that waits on that gate.
type tenantFactory struct {
	opts  []tokenactor.Option
	gates map[string]chan struct{}
	wait  chan struct{} // if set, the factory itself waits on it

	mu   sync.Mutex
	made map[string]int
}

func (f *tenantFactory) make(key string) (*tokenactor.Cache[string], error) {
	if f.wait != nil {
		<-f.wait
	}
	f.mu.Lock()
	if f.made == nil {
		f.made = map[string]int{}
	}
	f.made[key]++
	f.mu.Unlock()
	return tokenactor.New[string](&tenantRefresher{tenant: key, gate: f.gates[key]}, f.opts...), nil
}

func (f *tenantFactory) count(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.made[key]
}

func TestGroupConcurrentFirstUseMakesOneCache(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &tenantFactory{wait: make(chan struct{})}
		g := tokenactor.NewGroup(f.make)
		defer g.Close()
		const callers = 100
		got := make([]string, callers)
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() {
				v, err := g.Get(context.Background(), "acme")
				if err != nil {
					t.Error(err)
				}
				got[i] = v
			})
		}
		synctest.Wait() // all callers are in: one in the factory, the rest waiting
		close(f.wait)
		wg.Wait()
		if n := f.count("acme"); n != 1 {
			t.Errorf("factory called %d times for one key, want 1", n)
		}
		for i, v := range got {
			if v != "acme-1" {
				t.Fatalf("caller %d got %q, want acme-1", i, v)
			}
		}
	})
}

func TestGroupIdleEviction(t *testing.T) {
	const idle = time.Minute
	synctest.Test(t, func(t *testing.T) {
		clk := fakeclock.New()
		f := &tenantFactory{}
		g := tokenactor.NewGroup(f.make, tokenactor.WithIdleEviction(idle), tokenactor.WithGroupClock(clk))
		defer g.Close()
		ctx := context.Background()
		if _, err := g.Get(ctx, "a"); err != nil { // used at 0
			t.Fatal(err)
		}
		clk.Add(idle / 2) // sweep 1
		synctest.Wait()
		if _, err := g.Get(ctx, "b"); err != nil { // used at idle/2
			t.Fatal(err)
		}
		lens := []int{g.Len()}
		for range 3 { // sweeps at idle, 1.5·idle, 2·idle
			clk.Add(idle / 2)
			synctest.Wait()
			lens = append(lens, g.Len())
		}
		// a goes between idle and 1.5·idle after its use, b likewise.
		if diff := cmp.Diff([]int{2, 2, 1, 0}, lens); diff != "" {
			t.Errorf("caches after each sweep (-want +got):\n%s", diff)
		}
		if v, err := g.Get(ctx, "a"); err != nil || v != "a-1" || f.count("a") != 2 {
			t.Errorf("Get after eviction = %q, %v with %d caches made; want a new cache", v, err, f.count("a"))
		}
	})
}

func TestGroupEvictionSparesParkedCallers(t *testing.T) {
	const idle = time.Minute
	synctest.Test(t, func(t *testing.T) {
		clk := fakeclock.New()
		gate := make(chan struct{})
		f := &tenantFactory{gates: map[string]chan struct{}{"busy": gate}, opts: []tokenactor.Option{tokenactor.WithRefreshTimeout(0)}}
		g := tokenactor.NewGroup(f.make, tokenactor.WithIdleEviction(idle), tokenactor.WithGroupClock(clk))
		defer g.Close()
		ctx := context.Background()
		var busy string
		var busyErr error
		var wg sync.WaitGroup
		wg.Go(func() { busy, busyErr = g.Get(ctx, "busy") })
		if _, err := g.Get(ctx, "idle"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the busy caller is parked on its cache's refresh
		for range 6 {   // three idle periods
			clk.Add(idle / 2)
			synctest.Wait()
		}
		if n := g.Len(); n != 1 {
			t.Errorf("%d caches after three idle periods, want 1 (the busy one)", n)
		}
		gate <- struct{}{}
		wg.Wait()
		if busy != "busy-1" || busyErr != nil {
			t.Errorf("parked caller got %q, %v; want busy-1", busy, busyErr)
		}
		// Its last use is when that Get ended, not when it began: the next
		// sweep must keep it.
		clk.Add(idle / 2)
		synctest.Wait()
		if n := g.Len(); n != 1 {
			t.Errorf("%d caches half an idle period after the busy Get returned, want 1", n)
		}
		for range 2 {
			clk.Add(idle / 2)
			synctest.Wait()
		}
		if n := g.Len(); n != 0 {
			t.Errorf("%d caches once the busy one went idle, want 0", n)
		}
	})
}

func TestGroupMaxCaches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := make(chan struct{})
		f := &tenantFactory{gates: map[string]chan struct{}{"busy": gate}}
		g := tokenactor.NewGroup(f.make, tokenactor.WithMaxCaches(2))
		defer g.Close()
		ctx := context.Background()
		for _, k := range []string{"a", "b", "a", "c"} { // b is least recently used when c comes
			if _, err := g.Get(ctx, k); err != nil {
				t.Fatal(err)
			}
		}
		_, _ = g.Get(ctx, "b") // made again: it was evicted
		made := map[string]int{"a": f.count("a"), "b": f.count("b"), "c": f.count("c")}
		if diff := cmp.Diff(map[string]int{"a": 1, "b": 2, "c": 1}, made); diff != "" {
			t.Errorf("caches made per key (-want +got):\n%s", diff)
		}
		// A cache a Get waits on is not evicted: the bound gives while it
		// waits, and the excess goes when the Gets that made it end.
		g1 := tokenactor.NewGroup(f.make, tokenactor.WithMaxCaches(1))
		defer g1.Close()
		var wg sync.WaitGroup
		wg.Go(func() { _, _ = g1.Get(ctx, "busy") })
		synctest.Wait()
		var lens []int
		for _, k := range []string{"d", "e"} {
			_, _ = g1.Get(ctx, k)
			lens = append(lens, g1.Len())
		}
		if diff := cmp.Diff([]int{1, 1}, lens); diff != "" {
			t.Errorf("caches with one waited on under a bound of 1 (-want +got):\n%s", diff)
		}
		gate <- struct{}{}
		wg.Wait()
		if n := f.count("busy"); n != 1 {
			t.Errorf("busy cache made %d times, want 1", n)
		}
		if n := g1.Len(); n != 1 {
			t.Errorf("%d caches once the waiting Get returned, want 1", n)
		}
	})
}

func TestGroupFactoryFailure(t *testing.T) {
	errNoTenant := errors.New("no such tenant")
	tests := []struct {
		name    string
		factory func(string) (*tokenactor.Cache[string], error)
		wantIs  error
		wantMsg string
	}{
		{"error", func(string) (*tokenactor.Cache[string], error) { return nil, errNoTenant }, errNoTenant,
			"tokenactor: group factory: no such tenant"},
		{"nil cache", func(string) (*tokenactor.Cache[string], error) { return nil, nil }, nil,
			"tokenactor: group factory returned a nil cache"},
		{"panic", func(string) (*tokenactor.Cache[string], error) { panic("boom") }, nil,
			"tokenactor: group factory: tokenactor: panic: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			g := tokenactor.NewGroup(func(k string) (*tokenactor.Cache[string], error) {
				calls++
				return tt.factory(k)
			})
			defer g.Close()
			for range 2 {
				_, err := g.Get(context.Background(), "x")
				if err == nil || (tt.wantIs != nil && !errors.Is(err, tt.wantIs)) {
					t.Fatalf("Get = %v, want an error matching %v", err, tt.wantIs)
				}
				if err.Error() != tt.wantMsg {
					t.Errorf("Get's error says %q, want %q", err, tt.wantMsg)
				}
			}
			if calls != 2 || g.Len() != 0 {
				t.Errorf("factory called %d times and %d caches kept; want a retry per Get and none kept", calls, g.Len())
			}
		})
	}
}

func TestGroupClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := make(chan struct{})
		f := &tenantFactory{gates: map[string]chan struct{}{"busy": gate}}
		g := tokenactor.NewGroup(f.make, tokenactor.WithIdleEviction(time.Minute))
		ctx := context.Background()
		if _, err := g.Get(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		var busyErr error
		var wg sync.WaitGroup
		wg.Go(func() { _, busyErr = g.Get(ctx, "busy") })
		synctest.Wait()
		if err := g.Close(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if !errors.Is(busyErr, tokenactor.ErrClosed) {
			t.Errorf("parked Get after Close: %v, want ErrClosed", busyErr)
		}
		if _, err := g.Get(ctx, "a"); !errors.Is(err, tokenactor.ErrClosed) {
			t.Errorf("Get after Close: %v, want ErrClosed", err)
		}
		if err := g.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
}

func TestGroupCloseWhileMakingCache(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &tenantFactory{wait: make(chan struct{})}
		g := tokenactor.NewGroup(f.make)
		var err1, err2 error
		var wg sync.WaitGroup
		wg.Go(func() { _, err1 = g.Get(context.Background(), "a") })
		synctest.Wait() // in the factory
		wg.Go(func() { _, err2 = g.Get(context.Background(), "a") })
		synctest.Wait() // waiting for the factory
		closed := make(chan struct{})
		go func() {
			_ = g.Close()
			close(closed)
		}()
		synctest.Wait()
		select {
		case <-closed:
			t.Fatal("Close returned while a cache was still being made")
		default:
		}
		close(f.wait)
		<-closed
		wg.Wait()
		if !errors.Is(err1, tokenactor.ErrClosed) || !errors.Is(err2, tokenactor.ErrClosed) {
			t.Errorf("Gets racing Close got %v and %v, want ErrClosed", err1, err2)
		}
	})
}

func TestGroupWaiterContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &tenantFactory{wait: make(chan struct{})}
		g := tokenactor.NewGroup(f.make)
		defer g.Close()
		var wg sync.WaitGroup
		wg.Go(func() { _, _ = g.Get(context.Background(), "a") })
		synctest.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := g.Get(ctx, "a"); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("waiting Get whose context ended: %v, want DeadlineExceeded", err)
		}
		close(f.wait)
		wg.Wait()
	})
}

func TestGroupInvalidate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &tenantFactory{}
		g := tokenactor.NewGroup(f.make)
		defer g.Close()
		ctx := context.Background()
		g.Invalidate("a") // no cache yet: nothing happens
		v1, _ := g.Get(ctx, "a")
		g.Invalidate("a")
		v2, _ := g.Get(ctx, "a")
		if v1 != "a-1" || v2 != "a-2" {
			t.Errorf("before and after Invalidate: %q, %q; want a-1, a-2", v1, v2)
		}
	})
}

// TestGroupInvalidateIf: only the value still held and rejected is dropped.
func TestGroupInvalidateIf(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &tenantFactory{}
		g := tokenactor.NewGroup(f.make)
		defer g.Close()
		ctx := context.Background()
		is := func(v string) func(string) bool { return func(cur string) bool { return cur == v } }
		g.InvalidateIf("a", is("a-1")) // no cache yet: nothing happens
		v1, _ := g.Get(ctx, "a")
		g.InvalidateIf("a", is("a-0")) // not the value held: kept
		if v, _ := g.Get(ctx, "a"); v != v1 {
			t.Fatalf("after rejecting another value: %q, want %q kept", v, v1)
		}
		g.InvalidateIf("a", is(v1))
		v2, _ := g.Get(ctx, "a")
		g.InvalidateIf("a", is(v1)) // late: v1 was replaced
		v3, _ := g.Get(ctx, "a")
		if v1 != "a-1" || v2 != "a-2" || v3 != "a-2" {
			t.Errorf("got %q, %q, %q; want a-1, a-2, a-2", v1, v2, v3)
		}
	})
}

func TestGroupInvalidOptionsPanic(t *testing.T) {
	tests := map[string]func(){
		"nil factory":       func() { tokenactor.NewGroup[string, string](nil) },
		"negative idle":     func() { tokenactor.WithIdleEviction(-1) },
		"negative max":      func() { tokenactor.WithMaxCaches(-1) },
		"nil clock (group)": func() { tokenactor.WithGroupClock(nil) },
		"nil event hook":    func() { tokenactor.WithGroupEventHook(nil) },
	}
	for name, f := range tests {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("did not panic")
				}
			}()
			f()
		})
	}
}

func ExampleGroup() {
	// One cache per tenant, made on first use, closed after 10 idle minutes.
	g := tokenactor.NewGroup(func(tenant string) (*tokenactor.Cache[string], error) {
		return tokenactor.New[string](&tenantRefresher{tenant: tenant}), nil
	}, tokenactor.WithIdleEviction(10*time.Minute))
	defer g.Close()

	for _, tenant := range []string{"acme", "globex", "acme"} {
		tok, err := g.Get(context.Background(), tenant)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(tok)
	}
	fmt.Println("caches:", g.Len())
	// Output:
	// acme-1
	// globex-1
	// acme-1
	// caches: 2
}

// TestGroupChurn has callers hammer a small group while both kinds of
// eviction run as fast as they can: no Get ever meets a cache closed under
// it, and the bound holds once the callers are gone.
func TestGroupChurn(t *testing.T) {
	f := &tenantFactory{}
	g := tokenactor.NewGroup(f.make, tokenactor.WithMaxCaches(4), tokenactor.WithIdleEviction(time.Millisecond))
	defer g.Close()
	var wg sync.WaitGroup
	var failures atomic.Int32
	for w := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				key := strconv.Itoa((w*7 + i*13) % 32)
				if v, err := g.Get(context.Background(), key); err != nil || !strings.HasPrefix(v, key+"-") {
					failures.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := failures.Load(); n != 0 {
		t.Errorf("%d of 16000 Gets failed or got another key's value", n)
	}
	if n := g.Len(); n > 4 {
		t.Errorf("%d caches with nobody using them and a bound of 4", n)
	}
}

// A Get on a key whose cache holds a fresh value allocates nothing, for
// string and integer keys alike.
func TestGroupGetOfFreshValueDoesNotAllocate(t *testing.T) {
	ctx := context.Background()
	byName := tokenactor.NewGroup((&tenantFactory{}).make)
	defer byName.Close()
	byNumber := tokenactor.NewGroup(func(k int) (*tokenactor.Cache[string], error) {
		return (&tenantFactory{}).make(strconv.Itoa(k))
	})
	defer byNumber.Close()
	for i := range 100 {
		if _, err := byName.Get(ctx, strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
		if _, err := byNumber.Get(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	key := "42"
	allocs := map[string]float64{
		"string key": testing.AllocsPerRun(1000, func() { _, _ = byName.Get(ctx, key) }),
		"int key":    testing.AllocsPerRun(1000, func() { _, _ = byNumber.Get(ctx, 42) }),
	}
	if diff := cmp.Diff(map[string]float64{"string key": 0, "int key": 0}, allocs); diff != "" {
		t.Errorf("allocations per Get (-want +got):\n%s", diff)
	}
}

// A factory that panics or calls runtime.Goexit fails its key like one that
// returns an error: the Gets waiting for the cache are answered, the next Get
// calls the factory again, and Close returns.
func TestGroupFactoryPanicOrGoexitAnswersWaiters(t *testing.T) {
	tests := []struct {
		name   string
		fail   func()
		wantAs bool // the waiters' error is a *PanicError
	}{
		{"panic", func() { panic("boom") }, true},
		{"goexit", runtime.Goexit, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				var calls atomic.Int32
				g := tokenactor.NewGroup(func(k string) (*tokenactor.Cache[string], error) {
					if calls.Add(1) == 1 {
						<-release
						tt.fail()
					}
					return tokenactor.New[string](&tenantRefresher{tenant: k}), nil
				})
				const waiters = 3
				errs := make([]error, waiters)
				var wg sync.WaitGroup
				wg.Go(func() { _, _ = g.Get(context.Background(), "a") }) // calls the factory
				synctest.Wait()
				for i := range errs {
					wg.Go(func() { _, errs[i] = g.Get(context.Background(), "a") })
				}
				synctest.Wait() // the waiters wait for the factory
				close(release)
				wg.Wait()
				for i, err := range errs {
					var pe *tokenactor.PanicError
					if err == nil || errors.As(err, &pe) != tt.wantAs {
						t.Errorf("waiter %d got %v; want an error, a *PanicError: %v", i, err, tt.wantAs)
					}
				}
				if v, err := g.Get(context.Background(), "a"); v != "a-1" || err != nil || calls.Load() != 2 {
					t.Errorf("next Get = %q, %v after %d factory calls; want a-1 from a second call", v, err, calls.Load())
				}
				if err := g.Close(); err != nil {
					t.Error(err)
				}
			})
		})
	}
}

// The size bound evicts caches nobody used lately: keys used between every
// two caches made stay while a thousand others come and go.
func TestGroupMaxCachesKeepsRecentlyUsed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const bound, hot, cold = 100, 10, 1000
		f := &tenantFactory{}
		g := tokenactor.NewGroup(f.make, tokenactor.WithMaxCaches(bound))
		defer g.Close()
		ctx := context.Background()
		for i := range cold {
			for h := range hot {
				if _, err := g.Get(ctx, "hot"+strconv.Itoa(h)); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := g.Get(ctx, "cold"+strconv.Itoa(i)); err != nil {
				t.Fatal(err)
			}
		}
		var remade []string
		for h := range hot {
			if k := "hot" + strconv.Itoa(h); f.count(k) != 1 {
				remade = append(remade, k)
			}
		}
		if len(remade) > 0 || g.Len() != bound {
			t.Errorf("keys in use evicted and made again: %v; %d caches held; want none, %d", remade, g.Len(), bound)
		}
	})
}

// TestGroupChurnManyKeys drives many callers over more keys than the bound
// allows, so caches are made and evicted all the time (the table grows,
// fills with tombstones and is rebuilt): every Get gets its own key's value.
func TestGroupChurnManyKeys(t *testing.T) {
	f := &tenantFactory{}
	g := tokenactor.NewGroup(f.make, tokenactor.WithMaxCaches(64))
	defer g.Close()
	var wg sync.WaitGroup
	var failures atomic.Int32
	for w := range 8 {
		wg.Go(func() {
			for i := range 3000 {
				key := strconv.Itoa((w*7919 + i*104729) % 1000)
				if v, err := g.Get(context.Background(), key); err != nil || !strings.HasPrefix(v, key+"-") {
					failures.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := failures.Load(); n != 0 {
		t.Errorf("%d of 24000 Gets failed or got another key's value", n)
	}
	if n := g.Len(); n > 64 {
		t.Errorf("%d caches with nobody using them and a bound of 64", n)
	}
}

// A cache the Group evicted is garbage once its callers are done with it:
// the tombstone left in its slot does not keep it (and its refresher, its
// hook, its last value) alive until the table is rebuilt.
func TestEvictedCacheIsCollected(t *testing.T) {
	var made []weak.Pointer[tokenactor.Cache[string]]
	g := tokenactor.NewGroup(func(key string) (*tokenactor.Cache[string], error) {
		c := tokenactor.New[string](&tenantRefresher{tenant: key})
		made = append(made, weak.Make(c))
		return c, nil
	}, tokenactor.WithMaxCaches(1))
	defer g.Close()
	for _, key := range []string{"a", "b", "c", "d"} {
		if _, err := g.Get(t.Context(), key); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 {
		runtime.GC()
	}
	for i, w := range made[:3] {
		if w.Value() != nil {
			t.Errorf("cache %d, evicted, is still reachable", i)
		}
	}
	if made[3].Value() == nil {
		t.Error("the cache the group holds was collected: the test proves nothing")
	}
}
