package tokenotel

import (
	"context"
	"errors"
	"sync"
	"time"
	"weak"

	"github.com/benbjohnson/clock"
	"github.com/tokenactor/tokenactor"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// scope is the instrumentation scope of every instrument and span.
const scope = "github.com/tokenactor/tokenactor/otel"

// durationBuckets are the histogram boundaries of refresh durations, in
// seconds: token endpoints answer in milliseconds to seconds, and a call is
// cut off at the refresh timeout (30 s by default).
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// Telemetry records the metrics and traces of any number of caches: it
// holds the instruments, and makes a [Hook] for each cache.
//
// Make it with [New]; the zero value is not usable. A Telemetry is safe for
// concurrent use. Call [Telemetry.Close] to stop its observable gauges.
type Telemetry struct {
	tracer   trace.Tracer
	clock    clock.Clock // nil: time.Now
	storeKey bool

	refreshes    metric.Int64Counter
	duration     metric.Float64Histogram
	waiters      metric.Int64Counter
	waited       metric.Float64Counter
	adoptions    metric.Int64Counter
	publications metric.Int64Counter
	storeErrors  metric.Int64Counter
	fallbacks    metric.Int64Counter
	evictions    metric.Int64Counter
	factoryErrs  metric.Int64Counter

	failures metric.Int64ObservableGauge
	backoff  metric.Int64ObservableGauge
	validity metric.Float64ObservableGauge
	groups   metric.Int64ObservableGauge
	reg      metric.Registration

	mu sync.Mutex
	// hooks are the hooks the gauges report on. A hook is held weakly: one
	// whose cache was dropped (a Group evicted it, say) is forgotten once
	// collected, even if nobody called its Close. Guarded by mu.
	hooks map[weak.Pointer[Hook]]struct{}
	// observed are the Groups whose size is reported. Guarded by mu.
	observed map[*group]struct{}
	closed   bool // guarded by mu
}

// An Option configures a [Telemetry].
type Option interface {
	apply(*Telemetry)
}

type optionFunc func(*Telemetry)

func (f optionFunc) apply(t *Telemetry) { f(t) }

// WithClock sets the clock that stamps the start of refresh spans (their
// length is the call's duration as the cache measured it) and that the
// gauges measure validity and backoff against. Give it the clock
// the caches use (tokenactor.WithClock). The default is the system clock.
// A nil clock means the default.
func WithClock(c clock.Clock) Option {
	return optionFunc(func(t *Telemetry) { t.clock = c })
}

// WithStoreKey adds the store key of each store event (the key given to
// store.Wrap, often a tenant) as the attribute tokenactor.store.key. Off by
// default: each distinct key is a time series of its own, so turn it on
// only where the keys are few.
func WithStoreKey() Option {
	return optionFunc(func(t *Telemetry) { t.storeKey = true })
}

// New returns a Telemetry that records on meters of mp and tracers of tp,
// under the instrumentation scope "github.com/tokenactor/tokenactor/otel".
// A nil provider means the global one (otel.GetMeterProvider,
// otel.GetTracerProvider). It fails only if the provider refuses an
// instrument.
//
// Defaults: the system clock (see [WithClock]); no store key on store
// instruments (see [WithStoreKey]); refresh durations in buckets bounded at
// 5, 10, 25, 50, 100, 250 and 500 ms and 1, 2.5, 5, 10, 30 and 60 s (a
// view on the provider may change them).
func New(mp metric.MeterProvider, tp trace.TracerProvider, opts ...Option) (*Telemetry, error) {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	t := &Telemetry{
		tracer:   tp.Tracer(scope),
		hooks:    map[weak.Pointer[Hook]]struct{}{},
		observed: map[*group]struct{}{},
	}
	for _, opt := range opts {
		opt.apply(t)
	}
	m := mp.Meter(scope)
	var errs []error
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, err := m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	gauge := func(name, unit, desc string) metric.Int64ObservableGauge {
		g, err := m.Int64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return g
	}
	t.refreshes = counter("tokenactor.refreshes", "{refresh}", "Completed Authenticate and Refresh calls of a cache's Refresher.")
	t.waiters = counter("tokenactor.refresh.waiters", "{caller}", "Callers that waited for a refresh instead of being served the current value; each waited at most that refresh's duration, unless a Reset sent it on from an earlier call (see tokenactor.refresh.wait.time).")
	t.adoptions = counter("tokenactor.store.adoptions", "{adoption}", "Values taken from the fleet's store without calling the Refresher.")
	t.publications = counter("tokenactor.store.publications", "{publication}", "Values refreshed by this process under the lease and saved to the store.")
	t.storeErrors = counter("tokenactor.store.errors", "{error}", "Store operations that failed or timed out, and records that could not be read.")
	t.fallbacks = counter("tokenactor.store.fallbacks", "{fallback}", "Refreshes made without holding the fleet's lease.")
	t.evictions = counter("tokenactor.group.evictions", "{cache}", "Caches a Group evicted: idle, or past its bound.")
	t.factoryErrs = counter("tokenactor.group.factory.errors", "{error}", "Keys a Group's factory made no cache for.")
	var err error
	t.waited, err = m.Float64Counter("tokenactor.refresh.wait.time", metric.WithUnit("s"),
		metric.WithDescription("Time callers spent waiting for refreshes, added up: each until it was answered or its context ended. Divided by tokenactor.refresh.waiters, the mean wait."))
	errs = append(errs, err)
	t.duration, err = m.Float64Histogram("tokenactor.refresh.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of Authenticate and Refresh calls of a cache's Refresher."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	errs = append(errs, err)
	t.failures = gauge("tokenactor.refresh.consecutive_failures", "{failure}", "Failed calls since the last success; the most among the caches of a name.")
	t.backoff = gauge("tokenactor.cache.backoff", "{cache}", "Caches waiting out a backoff after a failed call.")
	t.groups = gauge("tokenactor.group.caches", "{cache}", "Caches a Group holds.")
	t.validity, err = m.Float64ObservableGauge("tokenactor.token.validity", metric.WithUnit("s"),
		metric.WithDescription("Time until the cached value expires, negative once expired; the least among the caches of a name that hold one."))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	t.reg, err = m.RegisterCallback(t.observe, t.failures, t.backoff, t.validity, t.groups)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// Close stops the observable gauges: later collections report none of
// them. Counters and histograms already recorded stay with the provider.
// Hooks keep working. Close is idempotent.
func (t *Telemetry) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	reg := t.reg
	t.mu.Unlock()
	// Not under mu: a collection holds the provider's lock while it runs
	// observe, which takes mu, and Unregister waits for that lock.
	return reg.Unregister()
}

// now reads the Telemetry's clock.
func (t *Telemetry) now() time.Time {
	if t.clock == nil {
		return time.Now()
	}
	return t.clock.Now()
}

// A Sizer is what [Telemetry.ObserveGroup] reads: a *tokenactor.Group of
// any key and value type.
type Sizer interface {
	Len() int
}

// group is one Group whose size is observed.
type group struct {
	g     Sizer
	attrs attribute.Set
}

// ObserveGroup reports g.Len() as tokenactor.group.caches, with
// tokenactor.group.name set to name (if not empty), at each collection
// until the returned function is called. That function is idempotent.
// [Telemetry.GroupEventHook] counts the group's evictions under the same
// name.
//
// Len takes the Group's lock briefly, once per collection.
func (t *Telemetry) ObserveGroup(name string, g Sizer) (stop func()) {
	o := &group{g: g, attrs: nameSet("tokenactor.group.name", name)}
	t.mu.Lock()
	t.observed[o] = struct{}{}
	t.mu.Unlock()
	return func() {
		t.mu.Lock()
		delete(t.observed, o)
		t.mu.Unlock()
	}
}

// GroupEventHook returns a hook for the events of one Group: pass it to
// tokenactor.WithGroupEventHook. It counts each cache the group evicts in
// tokenactor.group.evictions, with tokenactor.group.eviction.reason ("idle"
// or "max_caches"), and each key its factory made no cache for in
// tokenactor.group.factory.errors, with error.type. Both carry
// tokenactor.group.name set to name (if not empty): give it the name given
// to [Telemetry.ObserveGroup]. The key of the cache is never an attribute.
//
// The hook is safe for concurrent use, returns quickly and holds nothing
// to close: one hook may serve several groups of one name.
func (t *Telemetry) GroupEventHook(name string) func(tokenactor.GroupEvent) {
	g := &groupHook{t: t, name: name}
	for i, reason := range []tokenactor.EvictionReason{tokenactor.EvictedIdle, tokenactor.EvictedMaxCaches} {
		g.evicted[i] = metric.WithAttributeSet(groupSet(name, attribute.String("tokenactor.group.eviction.reason", evictionReason(reason))))
	}
	return g.event
}

// groupHook is what [Telemetry.GroupEventHook] returns the method of. Its
// fields are set once, before it is shared.
type groupHook struct {
	t       *Telemetry
	name    string
	evicted [2]metric.AddOption // by reason: idle, max caches
}

// groupSet is the attribute set of a group's instruments: kvs, and
// tokenactor.group.name if name is not empty.
func groupSet(name string, kvs ...attribute.KeyValue) attribute.Set {
	if name != "" {
		kvs = append(kvs, attribute.String("tokenactor.group.name", name))
	}
	return attribute.NewSet(kvs...)
}

// nameSet is the attribute set {key: name}, or the empty set if name is
// empty.
func nameSet(key, name string) attribute.Set {
	if name == "" {
		return *attribute.EmptySet()
	}
	return attribute.NewSet(attribute.String(key, name))
}

// observe is the callback of the gauges. Caches that share a name are one
// time series: the least validity, the most consecutive failures, the
// number in backoff.
func (t *Telemetry) observe(_ context.Context, o metric.Observer) error {
	now := t.now()
	type summary struct {
		attrs               attribute.Set
		hasValid            bool
		validity            time.Duration
		failures, inBackoff int64
	}
	byName := map[string]*summary{}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil // a collection that overlapped Close
	}
	for wp := range t.hooks {
		h := wp.Value()
		if h == nil {
			delete(t.hooks, wp)
			continue
		}
		st := h.gaugeState()
		s := byName[h.name]
		if s == nil {
			s = &summary{attrs: h.attrs}
			byName[h.name] = s
		}
		if st.holds && !st.expiresAt.IsZero() {
			if v := st.expiresAt.Sub(now); !s.hasValid || v < s.validity {
				s.validity, s.hasValid = v, true
			}
		}
		s.failures = max(s.failures, int64(st.failures))
		if st.failures > 0 && now.Before(st.retryAt) {
			s.inBackoff++
		}
	}
	for _, s := range byName {
		opt := metric.WithAttributeSet(s.attrs)
		o.ObserveInt64(t.failures, s.failures, opt)
		o.ObserveInt64(t.backoff, s.inBackoff, opt)
		if s.hasValid {
			o.ObserveFloat64(t.validity, s.validity.Seconds(), opt)
		}
	}
	for g := range t.observed {
		o.ObserveInt64(t.groups, int64(g.g.Len()), metric.WithAttributeSet(g.attrs))
	}
	return nil
}
