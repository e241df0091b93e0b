package tokenotel_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	tokenotel "github.com/tokenactor/tokenactor/otel"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// harness is a Telemetry recording into memory: a manual metric reader
// and a span recorder.
type harness struct {
	tel    *tokenotel.Telemetry
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
}

func newHarness(t *testing.T, opts ...tokenotel.Option) *harness {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	tel, err := tokenotel.New(mp, tp, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = tel.Close()
		_ = mp.Shutdown(context.Background())
		_ = tp.Shutdown(context.Background())
	})
	return &harness{tel: tel, reader: reader, spans: spans, tp: tp}
}

// metrics collects every data point as "name{k=v,...}" → value. A
// histogram point gives two entries, " count" and " sum" appended.
func (h *harness) metrics(t *testing.T) map[string]float64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := h.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					got[series(m.Name, p.Attributes)] = float64(p.Value)
				}
			case metricdata.Sum[float64]:
				for _, p := range d.DataPoints {
					got[series(m.Name, p.Attributes)] = p.Value
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					got[series(m.Name, p.Attributes)] = float64(p.Value)
				}
			case metricdata.Gauge[float64]:
				for _, p := range d.DataPoints {
					got[series(m.Name, p.Attributes)] = p.Value
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					got[series(m.Name, p.Attributes)+" count"] = float64(p.Count)
					got[series(m.Name, p.Attributes)+" sum"] = p.Sum
				}
			default:
				t.Fatalf("%s: unexpected aggregation %T", m.Name, m.Data)
			}
		}
	}
	return got
}

func series(name string, attrs attribute.Set) string {
	kvs := attrs.ToSlice() // sorted by key
	parts := make([]string, len(kvs))
	for i, kv := range kvs {
		parts[i] = string(kv.Key) + "=" + kv.Value.Emit()
	}
	return name + "{" + strings.Join(parts, ",") + "}"
}

// span is what a test checks of a recorded span.
type span struct {
	Name   string
	Status string
	Took   time.Duration
	Parent bool
	Attrs  map[string]string
	Events []string
}

// ended returns the ended spans, oldest first.
func (h *harness) ended() []span {
	var out []span
	for _, s := range h.spans.Ended() {
		attrs := map[string]string{}
		for _, kv := range s.Attributes() {
			attrs[string(kv.Key)] = kv.Value.Emit()
		}
		var events []string
		for _, e := range s.Events() {
			events = append(events, e.Name)
		}
		status := s.Status().Code.String()
		if d := s.Status().Description; d != "" {
			status += ": " + d
		}
		out = append(out, span{
			Name: s.Name(), Status: status, Took: s.EndTime().Sub(s.StartTime()),
			Parent: s.Parent().IsValid(), Attrs: attrs, Events: events,
		})
	}
	return out
}

// dump renders every recorded metric and span, attributes, events and
// status included, for a test that searches it for a secret.
func (h *harness) dump(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	var rm metricdata.ResourceMetrics
	if err := h.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "%+v\n", rm)
	for _, s := range h.spans.Ended() {
		fmt.Fprintf(&b, "%s %+v %+v %+v\n", s.Name(), s.Attributes(), s.Status(), s.Events())
	}
	return b.String()
}

// without returns m without the series of the named metrics.
func without(m map[string]float64, names ...string) map[string]float64 {
	out := map[string]float64{}
	for k, v := range m {
		if !slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(k, n+"{") }) {
			out[k] = v
		}
	}
	return out
}
