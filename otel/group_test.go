package tokenotel_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/fakeclock"
)

// A Group's evictions are counted by reason, under the group's name, as
// its clock moves: idle caches go once the idle period has passed, and a
// cache past the bound goes when the next one is made. Factory failures
// are counted by error type. No key becomes an attribute.
func TestGroupEventHookCountsEvictions(t *testing.T) {
	const idle = time.Minute
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		clk := fakeclock.New()
		errNoTenant := errors.New("no such tenant")
		g := tokenactor.NewGroup(func(key string) (*tokenactor.Cache[string], error) {
			switch key {
			case "tenant-unknown":
				return nil, errNoTenant
			case "tenant-panics":
				panic("factory")
			}
			return tokenactor.New(scripted(t, step{life: time.Hour})), nil
		}, tokenactor.WithIdleEviction(idle), tokenactor.WithMaxCaches(2), tokenactor.WithGroupClock(clk),
			tokenactor.WithGroupEventHook(h.tel.GroupEventHook("tenants")))
		defer g.Close()
		stop := h.tel.ObserveGroup("tenants", g)
		defer stop()
		get := func(keys ...string) {
			t.Helper()
			for _, k := range keys {
				_, _ = g.Get(context.Background(), k)
			}
			synctest.Wait() // the hook has seen the events
		}
		const (
			idleSeries = "tokenactor.group.evictions{tokenactor.group.eviction.reason=idle,tokenactor.group.name=tenants}"
			maxSeries  = "tokenactor.group.evictions{tokenactor.group.eviction.reason=max_caches,tokenactor.group.name=tenants}"
			size       = "tokenactor.group.caches{tokenactor.group.name=tenants}"
		)
		groupMetrics := func() map[string]float64 {
			return without(h.metrics(t), "tokenactor.refreshes", "tokenactor.refresh.duration")
		}

		get("tenant-a", "tenant-b", "tenant-c") // c evicts a: the bound is 2
		if diff := cmp.Diff(map[string]float64{maxSeries: 1, size: 2}, groupMetrics()); diff != "" {
			t.Errorf("past the bound (-want +got):\n%s", diff)
		}

		clk.Add(idle / 2)
		synctest.Wait()
		get("tenant-c") // b idle since 0, c used at idle/2
		for range 2 {   // sweeps at idle and 1.5·idle: b goes at the second
			clk.Add(idle / 2)
			synctest.Wait()
		}
		if diff := cmp.Diff(map[string]float64{maxSeries: 1, idleSeries: 1, size: 1}, groupMetrics()); diff != "" {
			t.Errorf("an idle period later (-want +got):\n%s", diff)
		}
		clk.Add(idle / 2) // 2·idle: c goes
		synctest.Wait()
		if diff := cmp.Diff(map[string]float64{maxSeries: 1, idleSeries: 2, size: 0}, groupMetrics()); diff != "" {
			t.Errorf("once every cache is idle (-want +got):\n%s", diff)
		}

		get("tenant-unknown", "tenant-unknown", "tenant-panics")
		want := map[string]float64{
			maxSeries: 1, idleSeries: 2, size: 0,
			"tokenactor.group.factory.errors{error.type=_OTHER,tokenactor.group.name=tenants}": 2,
			"tokenactor.group.factory.errors{error.type=panic,tokenactor.group.name=tenants}":  1,
		}
		got := groupMetrics()
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("after factory failures (-want +got):\n%s", diff)
		}
		for series := range got {
			if strings.Contains(series, "tenant-") {
				t.Errorf("a key became an attribute: %s", series)
			}
		}
	})
}

// A hook made with no name counts without tokenactor.group.name; an
// eviction reason it does not know is _OTHER.
func TestGroupEventHookWithoutName(t *testing.T) {
	h := newHarness(t)
	hook := h.tel.GroupEventHook("")
	hook(tokenactor.CacheEvicted{Key: "a", Reason: tokenactor.EvictedMaxCaches})
	hook(tokenactor.CacheEvicted{Key: "a", Reason: tokenactor.EvictionReason(99)})
	hook(tokenactor.FactoryFailed{Key: "a", Err: &tokenactor.PanicError{Value: "boom"}})
	want := map[string]float64{
		"tokenactor.group.evictions{tokenactor.group.eviction.reason=max_caches}": 1,
		"tokenactor.group.evictions{tokenactor.group.eviction.reason=_OTHER}":     1,
		"tokenactor.group.factory.errors{error.type=panic}":                       1,
	}
	if diff := cmp.Diff(want, h.metrics(t)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// A Group member it evicts leaves the gauges at once (its cache's Closed
// event closes its hook), and the span of a refresh it had in flight ends.
func TestEvictedMemberLeavesGaugesAndEndsSpan(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		steps := map[string]step{"a": {life: time.Minute}, "b": {life: time.Hour}, "c": {took: time.Hour}, "d": {life: time.Hour}}
		g := tokenactor.NewGroup(func(key string) (*tokenactor.Cache[string], error) {
			hook := h.tel.Hook("tenants")
			return tokenactor.New(scripted(t, steps[key]), tokenactor.WithEventHook(hook.Event)), nil
		}, tokenactor.WithMaxCaches(1))
		defer g.Close()
		const validity = "tokenactor.token.validity{tokenactor.cache.name=tenants}"

		if _, err := g.Get(t.Context(), "a"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Second)
		if _, err := g.Get(t.Context(), "b"); err != nil { // evicts a, whose token has 10 s left
			t.Fatal(err)
		}
		if got := h.metrics(t)[validity]; got != 3600 {
			t.Errorf("validity after a's eviction: %v s, want b's 3600", got)
		}

		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if _, err := g.Get(ctx, "c"); !errors.Is(err, context.DeadlineExceeded) { // evicts b; c's call hangs
			t.Fatalf("Get c: %v, want the caller's deadline", err)
		}
		if _, err := g.Get(t.Context(), "d"); err != nil { // evicts c, mid-call
			t.Fatal(err)
		}
		var abandoned []span
		for _, s := range h.ended() {
			if s.Status == "Error: cache closed" {
				abandoned = append(abandoned, s)
			}
		}
		if len(abandoned) != 1 || abandoned[0].Took != time.Second {
			t.Errorf("spans ended by a close: %+v; want c's, after 1 s", abandoned)
		}
	})
}
