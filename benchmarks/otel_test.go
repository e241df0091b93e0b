package benchmarks_test

import (
	"context"
	"testing"
	"time"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/internal/benchkit"
	tokenotel "github.com/tokenactor/tokenactor/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// withTelemetry is tokenactor with the OpenTelemetry adapter installed on
// each cache, recording into an in-memory meter provider and a tracer
// provider with no exporter, both shut down when b ends.
func withTelemetry(b *testing.B) benchkit.Engine {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	tp := sdktrace.NewTracerProvider()
	tel, err := tokenotel.New(mp, tp)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = tel.Close()
		_ = mp.Shutdown(context.Background())
		_ = tp.Shutdown(context.Background())
	})
	return benchkit.Engine{
		Name: "tokenactor+otel",
		New: func(u *benchkit.Upstream, window time.Duration) benchkit.Cache {
			hook := tel.Hook("bench") // one per cache; dropped with it
			return benchkit.Tokenactor("", tokenactor.WithEventHook(hook.Event)).New(u, window)
		},
	}
}
