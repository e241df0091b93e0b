package tokenotel

import (
	"runtime"
	"testing"

	"go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// Hooks collected without being closed leave the set the gauges read even
// when no collection runs to sweep it (a no-op MeterProvider, or after
// Close); a closed Telemetry does not take new ones.
func TestUnclosedHooksLeaveTheSet(t *testing.T) {
	for _, closed := range []bool{false, true} {
		tel, err := New(noop.NewMeterProvider(), tracenoop.NewTracerProvider())
		if err != nil {
			t.Fatal(err)
		}
		if closed {
			_ = tel.Close()
		}
		for range 1000 {
			_ = tel.Hook("tenants") // a cache's hook, the cache dropped unclosed
		}
		kept := tel.Hook("kept")
		for range 3 {
			runtime.GC()
		}
		want := 1
		if closed {
			want = 0
		}
		// Cleanups run on their own goroutine after a collection: wait for
		// them, boundedly.
		n := -1
		for range 100 {
			tel.mu.Lock()
			n = len(tel.hooks)
			tel.mu.Unlock()
			if n == want {
				break
			}
			runtime.GC()
			runtime.Gosched()
		}
		if n != want {
			t.Errorf("closed=%t: %d hooks in the set, want %d", closed, n, want)
		}
		runtime.KeepAlive(kept)
		_ = tel.Close()
	}
}
