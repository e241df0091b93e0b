package tokenactor_test

import (
	"context"
	"runtime"
	"strconv"
	"testing"

	"github.com/tokenactor/tokenactor"
)

// BenchmarkGroupTenants fills a Group with 100,000 tenants' caches, each
// holding a value (a short string, so the figure is the engine's own cost),
// and reports the heap they hold and the goroutines left running once they
// are idle. Run it once:
//
//	go test -run '^$' -bench GroupTenants -benchtime 1x .
func BenchmarkGroupTenants(b *testing.B) {
	const tenants = 100_000
	keys := make([]string, tenants)
	for i := range keys {
		keys[i] = "tenant-" + strconv.Itoa(i)
	}
	var perTenant, goroutines float64
	for b.Loop() {
		before, g0 := heap(), runtime.NumGoroutine()
		g := tokenactor.NewGroup(func(k string) (*tokenactor.Cache[string], error) {
			return tokenactor.New[string](&tenantRefresher{tenant: k}), nil
		})
		ctx := context.Background()
		for _, k := range keys {
			if _, err := g.Get(ctx, k); err != nil {
				b.Fatal(err)
			}
		}
		after := heap()
		goroutines = float64(runtime.NumGoroutine() - g0)
		perTenant = float64(after-before) / tenants
		if g.Len() != tenants {
			b.Fatalf("group holds %d caches, want %d", g.Len(), tenants)
		}
		_ = g.Close()
	}
	b.ReportMetric(perTenant, "B/tenant")
	b.ReportMetric(perTenant*tenants/(1<<20), "MiB/100k")
	b.ReportMetric(goroutines, "goroutines")
}

// heap returns the bytes of live heap after a full collection.
func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkGroupGet measures a Get of a fresh value through a Group of
// 1,000 tenants, from parallel callers: the group's table lookup and use
// stamp on top of the cache's fast path. benchmarks/ has the keyed
// scenarios beside otter.
func BenchmarkGroupGet(b *testing.B) {
	const tenants = 1000
	g := tokenactor.NewGroup(func(k int) (*tokenactor.Cache[string], error) {
		return tokenactor.New[string](&tenantRefresher{tenant: strconv.Itoa(k)}), nil
	})
	defer g.Close()
	ctx := context.Background()
	for k := range tenants {
		if _, err := g.Get(ctx, k); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		k := 0
		for pb.Next() {
			if _, err := g.Get(ctx, k%tenants); err != nil {
				b.Error(err)
				return
			}
			k += 7
		}
	})
}
