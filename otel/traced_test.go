package tokenotel_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tokenactor/tokenactor"
	tokenotel "github.com/tokenactor/tokenactor/otel"
	"go.opentelemetry.io/otel/trace"
)

// The Refresher's own spans (its HTTP request, say) are children of the
// refresh span when it is wrapped by Traced.
func TestTracedRefresherSpansAreChildren(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		hook := h.tel.Hook("billing")
		tracer := h.tp.Tracer("test")
		inner := tokenactor.RefresherFunc[string](func(ctx context.Context, _ *tokenactor.Entry[string]) (tokenactor.Entry[string], error) {
			_, s := tracer.Start(ctx, "token request")
			time.Sleep(time.Second)
			s.End()
			return tokenactor.Entry[string]{Value: "secret-token-1", ExpiresAt: time.Now().Add(time.Hour)}, nil
		})
		c := tokenactor.New(tokenotel.Traced(hook, inner), tokenactor.WithEventHook(hook.Event))
		defer hook.Close()
		defer c.Close()
		mustGet(t, c, "secret-token-1")

		ended := h.spans.Ended()
		if len(ended) != 2 {
			t.Fatalf("%d spans; want the request's and the refresh's", len(ended))
		}
		request, refresh := ended[0], ended[1]
		if request.Name() != "token request" || refresh.Name() != "tokenactor.authenticate" {
			t.Fatalf("spans %q, %q", request.Name(), refresh.Name())
		}
		if got, want := request.Parent().SpanID(), refresh.SpanContext().SpanID(); got != want {
			t.Errorf("request's parent = %v; want the refresh span %v", got, want)
		}
		if refresh.Parent().IsValid() {
			t.Errorf("the refresh span has a parent %v; want a root", refresh.Parent())
		}
	})
}

// Without a span in flight (the hook is not installed on the cache), the
// Refresher gets the context unchanged.
func TestTracedWithoutSpan(t *testing.T) {
	h := newHarness(t)
	hook := h.tel.Hook("")
	var got trace.SpanContext
	inner := tokenactor.RefresherFunc[string](func(ctx context.Context, _ *tokenactor.Entry[string]) (tokenactor.Entry[string], error) {
		got = trace.SpanContextFromContext(ctx)
		return tokenactor.Entry[string]{Value: "v", ExpiresAt: time.Now().Add(time.Hour)}, nil
	})
	if _, err := tokenotel.Traced(hook, inner).Refresh(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if got.IsValid() {
		t.Errorf("the Refresher got span %v; want none", got)
	}
}
