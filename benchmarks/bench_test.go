package benchmarks_test

import (
	"fmt"
	"testing"

	"github.com/tokenactor/tokenactor/benchmarks"
	"github.com/tokenactor/tokenactor/internal/benchkit"
)

// The scenarios of internal/benchkit (fresh reads, the refresh window,
// expiry, a failing upstream, parked callers, idle memory) with the real
// peers beside tokenactor, in the same run. Run from this folder:
//
//	go test -run '^$' -bench . -benchtime 1s
//	TOKENACTOR_BENCH_FAILING=10s go test -run '^$' -bench FailingUpstream -benchtime 1x

// eachEngine runs scenario as one sub-benchmark per engine.
func eachEngine(b *testing.B, scenario func(*testing.B, benchkit.Engine)) {
	for _, e := range benchmarks.Engines {
		b.Run("engine="+e.Name, func(b *testing.B) { scenario(b, e) })
	}
}

// BenchmarkGetFresh measures Get of a fresh token, serially and in
// parallel, for every engine and for tokenactor with its OpenTelemetry
// adapter installed (engine=tokenactor+otel), so the adapter's row compares
// with the peers' in the same run.
func BenchmarkGetFresh(b *testing.B) {
	otel := withTelemetry(b)
	for _, mode := range []struct {
		name     string
		scenario func(*testing.B, benchkit.Engine)
	}{{"serial", benchkit.FreshSerial}, {"parallel", benchkit.FreshParallel}} {
		b.Run("mode="+mode.name, func(b *testing.B) {
			eachEngine(b, mode.scenario)
			b.Run("engine="+otel.Name, func(b *testing.B) { mode.scenario(b, otel) })
		})
	}
}

// BenchmarkCallerLatency releases bursts of 1,000 callers on a fresh token
// and on a token in its refresh window while a 50 ms refresh is in flight.
func BenchmarkCallerLatency(b *testing.B) {
	b.Run("phase=fresh", func(b *testing.B) { eachEngine(b, benchkit.FreshLatency) })
	b.Run("phase=window", func(b *testing.B) { eachEngine(b, benchkit.WindowLatency) })
}

// BenchmarkParkedWake parks 10,000 callers on one refresh of a fully
// expired token. The reference row is the runtime's floor: as many
// goroutines woken by closing one channel.
func BenchmarkParkedWake(b *testing.B) {
	eachEngine(b, benchkit.ParkedWake)
	b.Run("ref=close-channel", benchkit.WakeFloor)
}

// BenchmarkFailingUpstream has 1,000 callers call an expired token whose
// upstream always fails, for 500 ms or TOKENACTOR_BENCH_FAILING.
func BenchmarkFailingUpstream(b *testing.B) {
	d, err := benchkit.FailingFor()
	if err != nil {
		b.Fatal(err)
	}
	b.Run(fmt.Sprintf("for=%v", d), func(b *testing.B) {
		eachEngine(b, func(b *testing.B, e benchkit.Engine) { benchkit.FailingUpstream(b, e, d) })
	})
}

// BenchmarkIdleFootprint holds 20,000 idle caches with a fresh token.
func BenchmarkIdleFootprint(b *testing.B) { eachEngine(b, benchkit.IdleFootprint) }
