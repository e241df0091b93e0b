package benchkit

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// IdleCaches is how many caches [IdleFootprint] holds at once.
const IdleCaches = 20000

// IdleFootprint makes IdleCaches caches, each holding a fresh token,
// leaves them idle, and reports what each holds: heap and stack bytes
// (B/cache, from runtime.MemStats after a GC) and goroutines
// (goroutines/cache). Every cache shares one upstream and one token string,
// so the figures are the caches' own.
func IdleFootprint(b *testing.B, e Engine) {
	u := freshUpstream()
	ctx := context.Background()
	var bytes, goroutines float64
	for range b.N {
		caches := make([]Cache, IdleCaches)
		before, g0 := memory()
		for i := range caches {
			caches[i] = e.New(u, Window)
			if _, err := caches[i].Get(ctx); err != nil {
				b.Fatalf("%s: Get: %v", e.Name, err)
			}
		}
		// Let goroutines that exit when idle do so; an engine that keeps
		// goroutines is measured with them.
		_ = waitFor(2*time.Second, func() bool { return runtime.NumGoroutine() <= g0 })
		after, g1 := memory()
		runtime.KeepAlive(caches)
		bytes += float64(after-before) / IdleCaches
		goroutines += float64(g1-g0) / IdleCaches
		for _, c := range caches {
			Release(c)
		}
	}
	b.ReportMetric(bytes/float64(b.N), "B/cache")
	b.ReportMetric(goroutines/float64(b.N), "goroutines/cache")
}

// memory returns the heap and stack bytes in use after a full collection,
// and the number of goroutines.
func memory() (int64, int) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc + m.StackInuse), runtime.NumGoroutine()
}

// waitFor polls cond every millisecond for at most d and reports whether
// it held.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}
