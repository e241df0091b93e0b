package tokenactor_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/internal/benchkit"
)

// The performance benchmarks, with the lock-based baselines of
// baselines_test.go beside the engine. The real peers (x/oauth2, Google's
// auth, the AWS SDK, otter) run in the separate module benchmarks/. Run:
//
//	go test -run '^$' -bench . -benchtime 1s
//	TOKENACTOR_BENCH_FAILING=10s go test -run '^$' -bench FailingUpstream -benchtime 1x
//
// Every scenario is in package internal/benchkit, so each engine is
// measured by the same code.

var engines = []benchkit.Engine{
	benchkit.Tokenactor("tokenactor"),
	benchkit.Tokenactor("tokenactor-actor", tokenactor.WithoutFastPath()),
	{Name: "mutex", New: newMutexCache},
	{Name: "mutex-flag", New: newFlagCache},
}

// eachEngine runs scenario as one sub-benchmark per engine.
func eachEngine(b *testing.B, scenario func(*testing.B, benchkit.Engine)) {
	for _, e := range engines {
		b.Run("engine="+e.Name, func(b *testing.B) { scenario(b, e) })
	}
}

// BenchmarkGetFresh measures Get of a fresh token, serially and in
// parallel, through the benchkit.Cache interface like every engine. The
// reference rows show the floor: Get called directly on *tokenactor.Cache
// (inlined), a bare atomic.Pointer load, and time.Now, which the fast path
// does not call.
func BenchmarkGetFresh(b *testing.B) {
	b.Run("mode=serial", func(b *testing.B) {
		eachEngine(b, benchkit.FreshSerial)
		b.Run("engine=tokenactor-direct", func(b *testing.B) {
			c := newFreshTokenactor(b)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Get(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("ref=atomic-load", func(b *testing.B) {
			var p atomic.Pointer[string]
			p.Store(new(string))
			b.ReportAllocs()
			for b.Loop() {
				if p.Load() == nil {
					b.Fatal("nil")
				}
			}
		})
		b.Run("ref=time-now", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = time.Now()
			}
		})
	})
	b.Run("mode=parallel", func(b *testing.B) {
		eachEngine(b, benchkit.FreshParallel)
		b.Run("engine=tokenactor-direct", func(b *testing.B) {
			c := newFreshTokenactor(b)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := c.Get(ctx); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
		b.Run("ref=atomic-load", func(b *testing.B) {
			var p atomic.Pointer[string]
			p.Store(new(string))
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if p.Load() == nil {
						b.Error("nil")
						return
					}
				}
			})
		})
		b.Run("ref=time-now", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				var t time.Time
				for pb.Next() {
					t = time.Now()
				}
				_ = t
			})
		})
	})
}

// newFreshTokenactor returns a *tokenactor.Cache holding a fresh token,
// closed when b ends.
func newFreshTokenactor(b *testing.B) *tokenactor.Cache[string] {
	b.Helper()
	return benchkit.NewFresh(b, benchkit.Tokenactor("tokenactor")).(*tokenactor.Cache[string])
}

// BenchmarkCallerLatency releases bursts of 1,000 callers, each making one
// Get, on a fresh token (phase=fresh) and on a token in its refresh window
// while a 50 ms refresh is in flight (phase=window), and reports per-call
// p50/p99/max latency and the callers per burst blocked by the refresh.
func BenchmarkCallerLatency(b *testing.B) {
	b.Run("phase=fresh", func(b *testing.B) { eachEngine(b, benchkit.FreshLatency) })
	b.Run("phase=window", func(b *testing.B) { eachEngine(b, benchkit.WindowLatency) })
}

// BenchmarkParkedWake parks 10,000 callers on one refresh of a fully
// expired token and reports the time from the refresh returning to the last
// caller answered. The reference row is the runtime's floor: as many
// goroutines woken by closing one channel.
func BenchmarkParkedWake(b *testing.B) {
	eachEngine(b, benchkit.ParkedWake)
	b.Run("ref=close-channel", benchkit.WakeFloor)
}

// BenchmarkFailingUpstream has 1,000 callers call an expired token whose
// upstream always fails, for 500 ms or TOKENACTOR_BENCH_FAILING, and
// reports the upstream attempts.
func BenchmarkFailingUpstream(b *testing.B) {
	d, err := benchkit.FailingFor()
	if err != nil {
		b.Fatal(err)
	}
	b.Run(fmt.Sprintf("for=%v", d), func(b *testing.B) {
		eachEngine(b, func(b *testing.B, e benchkit.Engine) { benchkit.FailingUpstream(b, e, d) })
	})
}

// BenchmarkIdleFootprint holds 20,000 idle caches with a fresh token and
// reports heap+stack bytes and goroutines per cache.
func BenchmarkIdleFootprint(b *testing.B) { eachEngine(b, benchkit.IdleFootprint) }
