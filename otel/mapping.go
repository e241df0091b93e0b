package tokenotel

import (
	"context"
	"errors"
	"time"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/store"
	"github.com/tokenactor/tokenactor/strategy"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// This file maps the engine's events to instruments, in one place per event
// set: a new or changed event needs a change here only.

// record maps one cache event. Called with h.mu held.
func (h *Hook) record(e tokenactor.Event) {
	switch e := e.(type) {
	case tokenactor.RefreshStarted:
		h.start(e.Op, e.Attempt, e.Background, e.Caller)
	case tokenactor.RefreshSucceeded:
		h.finish(e.Op, e.Took, e.Waiters, e.Waited, nil)
		h.holds, h.expiresAt = true, e.ExpiresAt
		h.failures, h.retryAt = 0, time.Time{}
	case tokenactor.RefreshFailed:
		// A Refresher that panicked is a failure too: Err is a
		// *PanicError, and error.type says "panic".
		h.finish(e.Op, e.Took, e.Waiters, e.Waited, e.Err)
		h.failures, h.retryAt = e.Attempt, e.NextRetry
	}
}

// StoreEvent records e, an event of the shared refresher (store.Wrap) that
// this hook's cache calls. Pass it to store.WithEventHook. It returns
// quickly.
func (h *Hook) StoreEvent(e store.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recordStore(e)
}

// recordStore maps one store event. Called with h.mu held.
func (h *Hook) recordStore(e store.Event) {
	ctx := context.Background()
	attrs := h.attrs.ToSlice()
	withKey := func(key string) []attribute.KeyValue {
		if h.t.storeKey {
			return append(attrs, attribute.String("tokenactor.store.key", key))
		}
		return attrs
	}
	switch e := e.(type) {
	case store.Adopted:
		h.t.adoptions.Add(ctx, 1, metric.WithAttributes(withKey(e.Key)...))
		h.spanEvent("tokenactor.store.adopted")
	case store.Published:
		h.t.publications.Add(ctx, 1, metric.WithAttributes(withKey(e.Key)...))
		h.spanEvent("tokenactor.store.published")
	case store.Failed:
		op := attribute.String("tokenactor.store.operation", string(e.Op))
		h.t.storeErrors.Add(ctx, 1, metric.WithAttributes(append(withKey(e.Key), op)...))
		h.spanEvent("tokenactor.store.error", op)
	case store.LocalFallback:
		reason := attribute.String("tokenactor.store.fallback.reason", fallbackReason(e.Reason))
		h.t.fallbacks.Add(ctx, 1, metric.WithAttributes(append(withKey(e.Key), reason)...))
		h.spanEvent("tokenactor.store.fallback", reason)
	}
}

// event maps one Group event.
func (g *groupHook) event(e tokenactor.GroupEvent) {
	ctx := context.Background()
	switch e := e.(type) {
	case tokenactor.CacheEvicted:
		var opt metric.AddOption
		switch e.Reason {
		case tokenactor.EvictedIdle:
			opt = g.evicted[0]
		case tokenactor.EvictedMaxCaches:
			opt = g.evicted[1]
		default:
			opt = metric.WithAttributeSet(groupSet(g.name, attribute.String("tokenactor.group.eviction.reason", evictionReason(e.Reason))))
		}
		g.t.evictions.Add(ctx, 1, opt)
	case tokenactor.FactoryFailed:
		errType, _ := describe(e.Err)
		g.t.factoryErrs.Add(ctx, 1, metric.WithAttributeSet(groupSet(g.name, attribute.String("error.type", errType))))
	}
}

// evictionReason names r in the attribute's vocabulary.
func evictionReason(r tokenactor.EvictionReason) string {
	switch r {
	case tokenactor.EvictedIdle:
		return "idle"
	case tokenactor.EvictedMaxCaches:
		return "max_caches"
	}
	return "_OTHER"
}

// fallbackReason names r in the attribute's vocabulary.
func fallbackReason(r store.FallbackReason) string {
	switch r {
	case store.StoreUnavailable:
		return "store_unavailable"
	case store.LeaseWaitTimedOut:
		return "lease_wait_timed_out"
	}
	return "_OTHER"
}

// describe returns err's error.type and its text. An error's methods
// (Error, Unwrap, Is, As) are code of the Refresher or the factory that
// returned it, and may panic; describe then says "_OTHER" and that the
// text could not be read, so that the hook records the failure anyway.
func describe(err error) (errType, text string) {
	defer func() {
		if recover() != nil {
			if errType == "" {
				errType = "_OTHER"
			}
			text = "(the error's Error method panicked)"
		}
	}()
	errType = errorType(err)
	return errType, err.Error()
}

// errorType classifies a Refresher's error into a fixed, small set: the
// error.type attribute of a failed call. The first match wins.
func errorType(err error) string {
	var pe *tokenactor.PanicError
	switch {
	case errors.As(err, &pe):
		return "panic"
	case errors.Is(err, tokenactor.ErrRefreshTimeout):
		return "timeout"
	case errors.Is(err, tokenactor.ErrNotAuthenticated):
		return "not_authenticated"
	case errors.Is(err, strategy.ErrLoginRequired):
		return "login_required"
	case errors.Is(err, strategy.ErrTemporary):
		return "temporary"
	}
	return "_OTHER"
}
