package tokenotel_test

import (
	"context"
	"testing"
	"time"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/internal/benchkit"
	tokenotel "github.com/tokenactor/tokenactor/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// BenchmarkGetFresh measures a fresh Get with and without the adapter
// installed, in one run, so the two rows compare directly. The hook is not
// called on a fresh Get, so the rows should not differ. Run:
//
//	go test -run '^$' -bench GetFresh -count 5
func BenchmarkGetFresh(b *testing.B) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tracetest.NewSpanRecorder()))
	b.Cleanup(func() {
		_ = mp.Shutdown(context.Background())
		_ = tp.Shutdown(context.Background())
	})
	tel, err := tokenotel.New(mp, tp)
	if err != nil {
		b.Fatal(err)
	}
	defer tel.Close()
	plain := benchkit.Tokenactor("tokenactor")
	withOtel := benchkit.Engine{
		Name: "tokenactor+otel",
		New: func(u *benchkit.Upstream, window time.Duration) benchkit.Cache {
			hook := tel.Hook("bench") // one per cache; dropped with it
			return benchkit.Tokenactor("", tokenactor.WithEventHook(hook.Event)).New(u, window)
		},
	}
	for _, mode := range []struct {
		name     string
		scenario func(*testing.B, benchkit.Engine)
	}{{"serial", benchkit.FreshSerial}, {"parallel", benchkit.FreshParallel}} {
		b.Run("mode="+mode.name, func(b *testing.B) {
			for _, e := range []benchkit.Engine{plain, withOtel} {
				b.Run("engine="+e.Name, func(b *testing.B) { mode.scenario(b, e) })
			}
		})
	}
}

// A fresh Get with the adapter installed allocates nothing: the hook is
// not called.
func TestFreshGetAllocatesNothing(t *testing.T) {
	h := newHarness(t)
	hook := h.tel.Hook("billing")
	defer hook.Close()
	c := tokenactor.New(scripted(t, step{life: time.Hour}), tokenactor.WithEventHook(hook.Event))
	defer c.Close()
	mustGet(t, c, "secret-token-1")
	ctx := context.Background()
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := c.Get(ctx); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("fresh Get allocates %v times per call with the adapter installed", allocs)
	}
}
