package tokenotel

import (
	"context"

	"github.com/tokenactor/tokenactor"
	"go.opentelemetry.io/otel/trace"
)

// Traced returns a Refresher that calls r with the refresh span of h in its
// context, so spans that r starts (an instrumented HTTP client's, a
// store's) are children of the refresh span. Install h on the cache that
// calls the result:
//
//	hook := tel.Hook("billing-api")
//	c := tokenactor.New(tokenotel.Traced(hook, r), tokenactor.WithEventHook(hook.Event))
//
// The cache reports the start of a call before it makes the call, so the
// span is there when r runs. Without one (the hook is installed elsewhere,
// or not at all) r gets the context unchanged. Traced panics on a nil h or
// r. The result is safe for concurrent use if r is.
func Traced[T any](h *Hook, r tokenactor.Refresher[T]) tokenactor.Refresher[T] {
	if h == nil || r == nil {
		panic("tokenotel: Traced: nil Hook or Refresher")
	}
	return tokenactor.RefresherFunc[T](func(ctx context.Context, previous *tokenactor.Entry[T]) (tokenactor.Entry[T], error) {
		if span := h.current(); span != nil {
			ctx = trace.ContextWithSpan(ctx, span)
		}
		return r.Refresh(ctx, previous)
	})
}

// current returns the span of the call in flight, or nil.
func (h *Hook) current() trace.Span {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.span
}
