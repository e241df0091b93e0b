package tokenotel_test

import (
	"context"
	"fmt"
	"time"

	"github.com/tokenactor/tokenactor"
	tokenotel "github.com/tokenactor/tokenactor/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// A cache reporting to OpenTelemetry. In a service the providers are the
// ones the program set up with its exporters (OTLP, Prometheus); here they
// keep what they get in memory, to print it.
func ExampleNew() {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer mp.Shutdown(context.Background())
	defer tp.Shutdown(context.Background())

	tel, err := tokenotel.New(mp, tp)
	if err != nil {
		panic(err)
	}
	defer tel.Close()
	hook := tel.Hook("orders-api")
	defer hook.Close()
	fetch := tokenactor.RefresherFunc[string](func(context.Context, *tokenactor.Entry[string]) (tokenactor.Entry[string], error) {
		return tokenactor.Entry[string]{Value: "token", ExpiresAt: time.Now().Add(time.Hour)}, nil
	})
	c := tokenactor.New(fetch, tokenactor.WithEventHook(hook.Event))
	defer c.Close()

	for range 3 {
		_, _ = c.Get(context.Background()) // one refresh; then fresh Gets, which report nothing
	}

	var rm metricdata.ResourceMetrics
	_ = reader.Collect(context.Background(), &rm)
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name == "tokenactor.refreshes" {
				for _, p := range sum.DataPoints {
					op, _ := p.Attributes.Value("tokenactor.refresh.operation")
					outcome, _ := p.Attributes.Value("tokenactor.refresh.outcome")
					fmt.Printf("%s operation=%s outcome=%s: %d %s\n", m.Name, op.Emit(), outcome.Emit(), p.Value, m.Unit)
				}
			}
		}
	}
	for _, s := range spans.Ended() {
		fmt.Println("span:", s.Name())
	}
	// Output:
	// tokenactor.refreshes operation=authenticate outcome=success: 1 {refresh}
	// span: tokenactor.authenticate
}

// Traced puts the refresh span into the Refresher's context, so the spans
// it starts (an instrumented HTTP client's, for one) nest under it.
func ExampleTraced() {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer tp.Shutdown(context.Background())
	tel, err := tokenotel.New(nil, tp) // metrics to the global provider
	if err != nil {
		panic(err)
	}
	defer tel.Close()

	fetch := tokenactor.RefresherFunc[string](func(ctx context.Context, _ *tokenactor.Entry[string]) (tokenactor.Entry[string], error) {
		_, request := tp.Tracer("client").Start(ctx, "POST /token")
		defer request.End()
		return tokenactor.Entry[string]{Value: "token", ExpiresAt: time.Now().Add(time.Hour)}, nil
	})
	hook := tel.Hook("orders-api")
	defer hook.Close()
	c := tokenactor.New(tokenotel.Traced(hook, fetch), tokenactor.WithEventHook(hook.Event))
	defer c.Close()
	_, _ = c.Get(context.Background())

	ended := spans.Ended()
	request, refresh := ended[0], ended[1]
	fmt.Println(refresh.Name(), "is a root:", !refresh.Parent().IsValid())
	fmt.Println(request.Name(), "is its child:", request.Parent().SpanID() == refresh.SpanContext().SpanID())
	// Output:
	// tokenactor.authenticate is a root: true
	// POST /token is its child: true
}

// A Group's evictions counted by reason. Group.Close returns once the hook
// has seen every event, so the count is complete when it is collected.
func ExampleTelemetry_GroupEventHook() {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	tel, err := tokenotel.New(mp, nil)
	if err != nil {
		panic(err)
	}
	defer tel.Close()

	fetch := tokenactor.RefresherFunc[string](func(context.Context, *tokenactor.Entry[string]) (tokenactor.Entry[string], error) {
		return tokenactor.Entry[string]{Value: "token", ExpiresAt: time.Now().Add(time.Hour)}, nil
	})
	g := tokenactor.NewGroup(func(tenant string) (*tokenactor.Cache[string], error) {
		return tokenactor.New(fetch), nil
	}, tokenactor.WithMaxCaches(2), tokenactor.WithGroupEventHook(tel.GroupEventHook("tenants")))
	for _, tenant := range []string{"acme", "globex", "initech", "umbrella"} {
		_, _ = g.Get(context.Background(), tenant) // the third and fourth each evict one
	}
	_ = g.Close()

	var rm metricdata.ResourceMetrics
	_ = reader.Collect(context.Background(), &rm)
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name == "tokenactor.group.evictions" {
				for _, p := range sum.DataPoints {
					reason, _ := p.Attributes.Value("tokenactor.group.eviction.reason")
					fmt.Printf("%s reason=%s: %d %s\n", m.Name, reason.Emit(), p.Value, m.Unit)
				}
			}
		}
	}
	// Output:
	// tokenactor.group.evictions reason=max_caches: 2 {cache}
}
