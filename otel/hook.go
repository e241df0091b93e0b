package tokenotel

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"
	"weak"

	"github.com/tokenactor/tokenactor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// A Hook records the events of one cache (and of its shared refresher, if
// it has one). Install [Hook.Event] with tokenactor.WithEventHook and
// [Hook.StoreEvent] with store.WithEventHook.
//
// Give each cache a Hook of its own: a Hook follows one refresh at a time,
// as a cache makes them. Caches may share a name; their metrics are then
// added up (see [Telemetry.Hook]).
//
// Make a Hook with [Telemetry.Hook]; the zero value is not usable. Its
// methods are safe for concurrent use.
type Hook struct {
	t     *Telemetry
	name  string
	attrs attribute.Set // tokenactor.cache.name, or empty
	self  weak.Pointer[Hook]

	mu sync.Mutex
	// The refresh in flight, from RefreshStarted to its outcome. Guarded
	// by mu.
	span       trace.Span // nil if none is in flight
	started    time.Time  // on the Telemetry's clock
	background bool
	// What the cache holds, as far as its events tell. Guarded by mu.
	holds     bool      // a value was installed and not dropped since
	expiresAt time.Time // its expiry; zero if it never expires
	failures  int       // failed calls since the last success
	retryAt   time.Time // the earliest next attempt after the last failure
	closed    bool
}

// Hook returns a new Hook for one cache. name becomes the attribute
// tokenactor.cache.name of everything the hook records (left out if
// empty); use a small, fixed set of names, one per kind of cache ("billing",
// "github"), not one per tenant. Caches of one name are summed in the
// counters and summarised in the gauges: the least validity, the most
// consecutive failures, the number in backoff.
//
// The gauges report the hook until its cache closes (or [Hook.Close] is
// called), or the hook and its cache are garbage collected.
func (t *Telemetry) Hook(name string) *Hook {
	h := &Hook{t: t, name: name, attrs: nameSet("tokenactor.cache.name", name)}
	h.self = weak.Make(h)
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.closed { // a closed Telemetry reports no gauges: nothing to register
		t.hooks[h.self] = struct{}{}
		// A hook collected without being closed leaves the set even if no
		// collection ever runs to sweep it.
		runtime.AddCleanup(h, t.forget, h.self)
	}
	return h
}

// forget removes a hook from the set the gauges read.
func (t *Telemetry) forget(self weak.Pointer[Hook]) {
	t.mu.Lock()
	delete(t.hooks, self)
	t.mu.Unlock()
}

// Close stops the gauges reporting on the hook's cache, and ends the span
// of a refresh still in flight (a cache closed during a refresh reports no
// outcome) with status Error. The cache's Close does it through
// [Hook.Event], which gets the cache's last event, tokenactor.Closed; call
// Close for a hook whose cache is not closed, or that is not installed.
// Events that arrive later still count in the counters. Close is
// idempotent.
func (h *Hook) Close() {
	h.t.forget(h.self)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	if h.span != nil {
		h.span.SetStatus(codes.Error, "cache closed")
		h.span.End(trace.WithTimestamp(h.t.now()))
		h.span = nil
	}
}

// Event records e. Pass it to tokenactor.WithEventHook. It returns quickly:
// it updates instruments and spans, and never blocks on export. The
// cache's last event, tokenactor.Closed, closes the hook (see
// [Hook.Close]).
func (h *Hook) Event(e tokenactor.Event) {
	if _, ok := e.(tokenactor.Closed); ok {
		h.Close()
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.record(e)
}

// gaugeSnapshot is what the gauges read of a hook.
type gaugeSnapshot struct {
	holds     bool
	expiresAt time.Time
	failures  int
	retryAt   time.Time
}

func (h *Hook) gaugeState() gaugeSnapshot {
	h.mu.Lock()
	defer h.mu.Unlock()
	return gaugeSnapshot{holds: h.holds && !h.closed, expiresAt: h.expiresAt, failures: h.failures, retryAt: h.retryAt}
}

// start opens the span of a call that just began, linked to the span of
// caller, the context of the Get that made the call necessary, if it has
// one. Called with mu held.
//
// A link, not a parent: the call serves every caller that waits for it or
// comes later, not only the one that happened to find the value stale, so
// it is not part of that caller's trace; and a background refresh outlives
// the request that started it.
func (h *Hook) start(op tokenactor.Op, attempt int, background bool, caller context.Context) {
	now := h.t.now()
	if h.span != nil {
		// A call whose outcome never came: the cache discarded it (a
		// Reset during the call), the hook is shared by two caches, or
		// a panic in an earlier hook call lost the outcome.
		h.span.SetStatus(codes.Error, "no outcome reported")
		h.span.End(trace.WithTimestamp(now))
	}
	var links []trace.Link
	if caller != nil {
		if sc := trace.SpanContextFromContext(caller); sc.IsValid() {
			links = []trace.Link{{SpanContext: sc}}
		}
	}
	_, h.span = h.t.tracer.Start(context.Background(), "tokenactor."+op.String(),
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithLinks(links...),
		trace.WithTimestamp(now),
		trace.WithAttributes(h.attrs.ToSlice()...),
		trace.WithAttributes(
			attribute.String("tokenactor.refresh.operation", op.String()),
			attribute.Int("tokenactor.refresh.attempt", attempt),
			attribute.Bool("tokenactor.refresh.background", background),
		))
	h.started, h.background = now, background
}

// finish records the outcome of the call in flight: err is nil on success.
// took is the call's duration, waiters the callers that waited for it and
// waited their waits added up, all as the cache reported them. The span
// ends took after it started. Called with mu held.
func (h *Hook) finish(op tokenactor.Op, took time.Duration, waiters int, waited time.Duration, err error) {
	outcome, errType, errText := "success", "", ""
	if err != nil {
		// Before anything changes: the error's methods are the
		// Refresher's code and may panic (see describe).
		outcome = "failure"
		errType, errText = describe(err)
	}
	span, background := h.span, h.background
	h.span = nil
	attrs := append(h.attrs.ToSlice(),
		attribute.String("tokenactor.refresh.operation", op.String()),
		attribute.String("tokenactor.refresh.outcome", outcome),
		attribute.Bool("tokenactor.refresh.background", background),
	)
	if err != nil {
		attrs = append(attrs, attribute.String("error.type", errType))
	}
	opts := metric.WithAttributes(attrs...)
	ctx := context.Background()
	h.t.refreshes.Add(ctx, 1, opts)
	h.t.duration.Record(ctx, took.Seconds(), opts)
	if waiters > 0 {
		h.t.waiters.Add(ctx, int64(waiters), opts)
		h.t.waited.Add(ctx, waited.Seconds(), opts)
	}
	if span == nil {
		return
	}
	span.SetAttributes(attribute.Int("tokenactor.refresh.waiters", waiters), attribute.Float64("tokenactor.refresh.wait.time", waited.Seconds()))
	if err != nil {
		span.SetAttributes(attribute.String("error.type", errType))
		span.AddEvent("exception", trace.WithTimestamp(h.started.Add(took)), trace.WithAttributes(
			attribute.String("exception.type", fmt.Sprintf("%T", err)),
			attribute.String("exception.message", errText),
		))
		span.SetStatus(codes.Error, errType)
	}
	span.End(trace.WithTimestamp(h.started.Add(took)))
}

// spanEvent adds an event to the span of the call in flight, if any.
// Called with mu held.
func (h *Hook) spanEvent(name string, attrs ...attribute.KeyValue) {
	if h.span != nil {
		h.span.AddEvent(name, trace.WithAttributes(attrs...), trace.WithTimestamp(h.t.now()))
	}
}
