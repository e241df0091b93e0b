// Package tokenotel reports what tokenactor caches do as OpenTelemetry
// metrics and traces: an adapter over the caches' event hooks.
//
// It is a module of its own (github.com/tokenactor/tokenactor/otel), so
// programs that do not use OpenTelemetry do not pull it in. Import it as
//
//	import tokenotel "github.com/tokenactor/tokenactor/otel"
//
// # Use
//
// Make one [Telemetry] per process (or per meter and tracer provider), then
// one [Hook] per cache, and install the hook's methods where the caches
// report:
//
//	tel, err := tokenotel.New(meterProvider, tracerProvider)
//	h := tel.Hook("billing-api")
//	c := tokenactor.New(r, tokenactor.WithEventHook(h.Event))
//	defer c.Close() // its last event closes h
//
// A shared refresher (package store) reports through the same hook:
// store.WithEventHook(h.StoreEvent). A Group's size is observed with
// [Telemetry.ObserveGroup], and its evictions and factory failures are
// counted by the hook [Telemetry.GroupEventHook] returns:
//
//	g := tokenactor.NewGroup(factory, tokenactor.WithGroupEventHook(tel.GroupEventHook("tenants")))
//	stop := tel.ObserveGroup("tenants", g)
//
// The hooks run only when a cache starts or ends a refresh; a Get served
// from a fresh value calls nothing, so the fast path stays as fast, and
// allocation-free, as without them.
//
// # Instruments
//
// Names and units follow the OpenTelemetry semantic conventions' style
// (dot-separated namespaces, seconds for durations, annotations such as
// {refresh} for counts). Every instrument but the last three carries
// tokenactor.cache.name, the name given to [Telemetry.Hook], when it is not
// empty; the tokenactor.group instruments carry tokenactor.group.name.
//
//	tokenactor.refreshes                     counter    {refresh}      completed Refresher calls
//	tokenactor.refresh.duration              histogram  s              how long each call ran
//	tokenactor.refresh.waiters               counter    {caller}       callers that waited for a call (each at most its duration)
//	tokenactor.refresh.wait.time             counter    s              time those callers waited, added up (over waiters: the mean wait)
//	tokenactor.refresh.consecutive_failures  gauge      {failure}      failed calls since the last success (the most among caches of a name)
//	tokenactor.cache.backoff                 gauge      {cache}        caches waiting out a backoff after a failure
//	tokenactor.token.validity                gauge      s              time until the cached value expires (the least among caches of a name)
//	tokenactor.store.adoptions               counter    {adoption}     values taken from the fleet's store
//	tokenactor.store.publications            counter    {publication}  values refreshed here and saved for the fleet
//	tokenactor.store.errors                  counter    {error}        failed store operations
//	tokenactor.store.fallbacks               counter    {fallback}     refreshes made without the fleet's lease
//	tokenactor.group.caches                  gauge      {cache}        caches a Group holds
//	tokenactor.group.evictions               counter    {cache}        caches a Group evicted
//	tokenactor.group.factory.errors          counter    {error}        keys a Group's factory made no cache for
//
// The refresh instruments carry tokenactor.refresh.operation
// ("authenticate" or "refresh"), tokenactor.refresh.outcome ("success" or
// "failure"), tokenactor.refresh.background (true when callers are served
// the current value meanwhile) and, on failure, error.type: "panic",
// "timeout", "not_authenticated", "login_required", "temporary", or
// "_OTHER".
// tokenactor.store.errors carries tokenactor.store.operation (load, decode,
// save, delete, acquire, release, extend, watch);
// tokenactor.store.fallbacks carries tokenactor.store.fallback.reason
// ("store_unavailable" or "lease_wait_timed_out");
// tokenactor.group.evictions carries tokenactor.group.eviction.reason
// ("idle" or "max_caches"), and tokenactor.group.factory.errors carries
// error.type, as above.
//
// # Cardinality
//
// Every attribute takes a bounded set of values: the cache names a program
// chooses, the fixed strings above, and a store operation or fallback
// reason. No value, token or error message becomes a metric attribute.
// The store key (often a tenant) is left out unless [WithStoreKey] asks for
// it; with it, each tenant is a time series of its own. A Group's key is
// never an attribute.
//
// # Traces
//
// Each Refresher call is a span, "tokenactor.authenticate" or
// "tokenactor.refresh", of kind internal, from the moment the cache decided
// to call to the moment it installed the outcome; its attribute
// tokenactor.refresh.waiters counts the callers that waited for it and
// tokenactor.refresh.wait.time adds up their waits, in seconds. A
// failed call's span has status Error and the error recorded as an
// exception event; store events during the call become span events. A
// fresh Get makes no span.
//
// The span is a root with a link to the span of the Get that made the call
// necessary (tokenactor.RefreshStarted.Caller), if that Get's context
// carried one: the refresh points to the request that found the token
// stale or expired. The link goes one way: the request's own span is not
// changed, so from its trace the refresh is found only where a backend
// shows the links that point to a span. It is a link rather than a child
// because the call serves every caller, not only the first, and a
// background refresh outlives the request that started it. Callers that
// joined the refresh later are counted (tokenactor.refresh.waiters), not
// linked.
//
// The event hook does not see the context the Refresher runs with: wrap the
// Refresher with [Traced] to make the spans it starts (its HTTP request's)
// children of the refresh span.
package tokenotel
