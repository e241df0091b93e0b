package tokenotel_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tokenactor/tokenactor"
	tokenotel "github.com/tokenactor/tokenactor/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Caches that share a name are one series per gauge: the least validity,
// the most consecutive failures, the number in backoff.
func TestGaugesSummariseCachesOfOneName(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		now := time.Now()
		ok := func(hook *tokenotel.Hook, life time.Duration) {
			hook.Event(tokenactor.RefreshStarted{Op: tokenactor.OpAuthenticate, Attempt: 1})
			hook.Event(tokenactor.RefreshSucceeded{Op: tokenactor.OpAuthenticate, Attempt: 1, ExpiresAt: now.Add(life)})
		}
		fail := func(hook *tokenotel.Hook, attempt int, retry time.Duration) {
			hook.Event(tokenactor.RefreshStarted{Op: tokenactor.OpRefresh, Attempt: attempt, Background: true})
			hook.Event(tokenactor.RefreshFailed{Op: tokenactor.OpRefresh, Attempt: attempt, Err: errors.New("no"), NextRetry: now.Add(retry)})
		}
		t1, t2, t3 := h.tel.Hook("tenants"), h.tel.Hook("tenants"), h.tel.Hook("tenants")
		other := h.tel.Hook("other")
		ok(t1, time.Hour)
		ok(t2, 5*time.Minute)
		fail(t2, 1, time.Second)
		fail(t2, 2, 2*time.Second)
		ok(t3, 10*time.Minute)
		fail(t3, 1, time.Second)
		fail(other, 1, time.Second) // never had a value: no validity
		gauges := func() map[string]float64 {
			return without(h.metrics(t), "tokenactor.refreshes", "tokenactor.refresh.duration")
		}

		want := map[string]float64{
			"tokenactor.token.validity{tokenactor.cache.name=tenants}":               300,
			"tokenactor.refresh.consecutive_failures{tokenactor.cache.name=tenants}": 2,
			"tokenactor.cache.backoff{tokenactor.cache.name=tenants}":                2,
			"tokenactor.refresh.consecutive_failures{tokenactor.cache.name=other}":   1,
			"tokenactor.cache.backoff{tokenactor.cache.name=other}":                  1,
		}
		if diff := cmp.Diff(want, gauges()); diff != "" {
			t.Errorf("at first (-want +got):\n%s", diff)
		}

		time.Sleep(1500 * time.Millisecond) // t3's and other's backoff ended, t2's not
		t2.Close()                          // t2's cache is gone
		runtime.GC()                        // t1, t3 and other stay: they are kept alive below
		want = map[string]float64{
			"tokenactor.token.validity{tokenactor.cache.name=tenants}":               598.5, // t3's
			"tokenactor.refresh.consecutive_failures{tokenactor.cache.name=tenants}": 1,
			"tokenactor.cache.backoff{tokenactor.cache.name=tenants}":                0,
			"tokenactor.refresh.consecutive_failures{tokenactor.cache.name=other}":   1,
			"tokenactor.cache.backoff{tokenactor.cache.name=other}":                  0,
		}
		if diff := cmp.Diff(want, gauges()); diff != "" {
			t.Errorf("later (-want +got):\n%s", diff)
		}

		_ = h.tel.Close()
		if diff := cmp.Diff(map[string]float64{}, gauges()); diff != "" {
			t.Errorf("after Close (-want +got):\n%s", diff)
		}
		// The hooks are reachable only weakly from the Telemetry, as a
		// cache's are: a collection before the checks above would drop
		// them.
		runtime.KeepAlive([]*tokenotel.Hook{t1, t3, other})
	})
}

// A cache closed while its refresh is in flight reports no outcome; its
// last event, Closed, ends the span then, and takes the hook off the
// gauges. Hook.Close, for a hook whose cache is not closed, does the same.
func TestClosingEndsSpanInFlight(t *testing.T) {
	hang := tokenactor.RefresherFunc[string](func(ctx context.Context, _ *tokenactor.Entry[string]) (tokenactor.Entry[string], error) {
		<-ctx.Done()
		return tokenactor.Entry[string]{}, ctx.Err()
	})
	for _, tt := range []struct {
		name  string
		close func(c *tokenactor.Cache[string], hook *tokenotel.Hook)
	}{
		{"the cache's Close", func(c *tokenactor.Cache[string], _ *tokenotel.Hook) { _ = c.Close() }},
		{"the hook's Close", func(c *tokenactor.Cache[string], hook *tokenotel.Hook) {
			hook.Close()
			hook.Close() // idempotent
			time.Sleep(time.Second)
			_ = c.Close() // its Closed changes nothing
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				hook := h.tel.Hook("n")
				c := tokenactor.New(hang, tokenactor.WithEventHook(hook.Event))
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				if _, err := c.Get(ctx); !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("Get: %v; want the caller's deadline", err)
				}
				if n := len(h.ended()); n != 0 {
					t.Fatalf("%d spans ended while the call is in flight", n)
				}
				tt.close(c, hook)
				want := []span{{Name: "tokenactor.authenticate", Status: "Error: cache closed", Took: time.Second, Attrs: map[string]string{
					"tokenactor.cache.name":        "n",
					"tokenactor.refresh.operation": "authenticate", "tokenactor.refresh.attempt": "1", "tokenactor.refresh.background": "false",
				}}}
				if diff := cmp.Diff(want, h.ended()); diff != "" {
					t.Errorf("spans (-want +got):\n%s", diff)
				}
				if got := without(h.metrics(t), "tokenactor.refreshes", "tokenactor.refresh.duration"); len(got) != 0 {
					t.Errorf("gauges still report the closed cache: %v", got)
				}
				runtime.KeepAlive(hook)
			})
		})
	}
}

// ObserveGroup reports the number of caches in a Group until stopped.
func TestObserveGroup(t *testing.T) {
	h := newHarness(t)
	g := tokenactor.NewGroup(func(key string) (*tokenactor.Cache[string], error) {
		return tokenactor.New(scripted(t, step{life: time.Hour})), nil
	})
	defer g.Close()
	stop := h.tel.ObserveGroup("tenants", g)
	for _, key := range []string{"a", "b", "c", "a"} {
		if _, err := g.Get(context.Background(), key); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]float64{"tokenactor.group.caches{tokenactor.group.name=tenants}": 3}
	if diff := cmp.Diff(want, h.metrics(t)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	stop()
	stop()
	if diff := cmp.Diff(map[string]float64{}, h.metrics(t)); diff != "" {
		t.Errorf("after stop (-want +got):\n%s", diff)
	}
}

// Nil providers mean the global ones (no-op unless the program set them).
func TestNewWithGlobalProviders(t *testing.T) {
	tel, err := tokenotel.New(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Close()
	hook := tel.Hook("x")
	defer hook.Close()
	c := tokenactor.New(scripted(t, step{life: time.Hour}), tokenactor.WithEventHook(hook.Event))
	defer c.Close()
	mustGet(t, c, "secret-token-1")
}

// A hook nobody closed (its cache was dropped, as a Group's evicted caches
// are) leaves the gauges once garbage collected.
func TestDroppedHookLeavesGauges(t *testing.T) {
	h := newHarness(t)
	hook := h.tel.Hook("dropped")
	hook.Event(tokenactor.RefreshStarted{Op: tokenactor.OpAuthenticate, Attempt: 1})
	hook.Event(tokenactor.RefreshSucceeded{Op: tokenactor.OpAuthenticate, Attempt: 1, ExpiresAt: time.Now().Add(time.Hour)})
	if _, ok := h.metrics(t)["tokenactor.token.validity{tokenactor.cache.name=dropped}"]; !ok {
		t.Fatal("no validity while the hook is reachable")
	}
	runtime.KeepAlive(hook) // unreachable from here on
	runtime.GC()
	got := without(h.metrics(t), "tokenactor.refreshes", "tokenactor.refresh.duration")
	if diff := cmp.Diff(map[string]float64{}, got); diff != "" {
		t.Errorf("after collection (-want +got):\n%s", diff)
	}
}

// Hooks made by a Group's factory, used from many goroutines while the
// gauges are collected: the race detector checks the locking, and the
// counters add up.
func TestGroupHooksUnderConcurrentCollection(t *testing.T) {
	h := newHarness(t)
	g := tokenactor.NewGroup(func(key int) (*tokenactor.Cache[string], error) {
		hook := h.tel.Hook("tenants")
		return tokenactor.New(scripted(t, step{life: time.Hour}), tokenactor.WithEventHook(hook.Event)), nil
	})
	defer g.Close()
	stop := h.tel.ObserveGroup("tenants", g)
	defer stop()

	const keys, workers = 50, 4
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for k := range keys {
				if _, err := g.Get(context.Background(), (k+w*13)%keys); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			var rm metricdata.ResourceMetrics
			if err := h.reader.Collect(context.Background(), &rm); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()

	got := h.metrics(t)
	const ok = "{tokenactor.cache.name=tenants,tokenactor.refresh.background=false,tokenactor.refresh.operation=authenticate,tokenactor.refresh.outcome=success}"
	want := map[string]float64{
		"tokenactor.refreshes" + ok:                              keys,
		"tokenactor.group.caches{tokenactor.group.name=tenants}": keys,
	}
	for name := range want {
		if got[name] != want[name] {
			t.Errorf("%s = %v; want %v", name, got[name], want[name])
		}
	}
}

// Close while the gauges are being collected: a collection runs the
// gauges' callback under the provider's lock, and Close unregisters that
// callback, which needs the same lock. Neither may wait for the other.
func TestCloseDuringCollection(t *testing.T) {
	for range 20 {
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		tel, err := tokenotel.New(mp, nil)
		if err != nil {
			t.Fatal(err)
		}
		started, closed, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; i < 2000; i++ {
				var rm metricdata.ResourceMetrics
				if err := reader.Collect(context.Background(), &rm); err != nil {
					t.Error(err)
					return
				}
				if i == 0 {
					close(started)
				}
				select {
				case <-closed:
					return
				default:
				}
			}
		}()
		go func() {
			<-started
			if err := tel.Close(); err != nil {
				t.Error(err)
			}
			close(closed)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second): // guards against a hang only
			t.Fatal("collection and Close deadlocked")
		}
		<-closed
		if err := mp.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}
