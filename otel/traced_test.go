package tokenotel_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tokenactor/tokenactor"
	tokenotel "github.com/tokenactor/tokenactor/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
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

// Each refresh span links to the span of the Get that made the call
// necessary: the first request, and later the request that found the value
// stale, whose refresh ran in the background. A Get without a span makes a
// span without links. The refresh span is never the caller's child.
func TestRefreshSpanLinksTheTriggeringCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		hook := h.tel.Hook("billing")
		tracer := h.tp.Tracer("test")
		n := 0
		r := tokenactor.RefresherFunc[string](func(ctx context.Context, _ *tokenactor.Entry[string]) (tokenactor.Entry[string], error) {
			n++
			return tokenactor.Entry[string]{Value: fmt.Sprintf("secret-token-%d", n), ExpiresAt: time.Now().Add(time.Hour)}, nil
		})
		c := tokenactor.New(r, tokenactor.WithEventHook(hook.Event))
		defer hook.Close()
		defer c.Close()

		get := func(name string) trace.SpanContext {
			ctx := context.Background()
			var s trace.Span
			if name != "" {
				ctx, s = tracer.Start(ctx, name)
				defer s.End()
			}
			if _, err := c.Get(ctx); err != nil {
				t.Fatalf("Get for %q: %v", name, err)
			}
			synctest.Wait() // the background refresh, if one started
			return trace.SpanContextFromContext(ctx)
		}
		first := get("GET /orders")
		time.Sleep(time.Hour - time.Minute) // into the refresh window
		stale := get("GET /invoices")
		c.Invalidate()
		get("")

		var refreshes []sdktrace.ReadOnlySpan
		for _, s := range h.spans.Ended() {
			if strings.HasPrefix(s.Name(), "tokenactor.") {
				refreshes = append(refreshes, s)
			}
		}
		want := []struct {
			name string
			link trace.SpanContext // zero: no link
		}{
			{"tokenactor.authenticate", first},
			{"tokenactor.refresh", stale},
			{"tokenactor.refresh", trace.SpanContext{}},
		}
		if len(refreshes) != len(want) {
			t.Fatalf("%d refresh spans; want %d", len(refreshes), len(want))
		}
		for i, w := range want {
			s := refreshes[i]
			var links []trace.SpanContext
			for _, l := range s.Links() {
				links = append(links, l.SpanContext)
			}
			switch {
			case s.Name() != w.name:
				t.Errorf("span %d is %q; want %q", i, s.Name(), w.name)
			case s.Parent().IsValid():
				t.Errorf("%s %d has parent %v; want a root", s.Name(), i, s.Parent().SpanID())
			case !w.link.IsValid() && len(links) != 0:
				t.Errorf("%s %d links %v; want none", s.Name(), i, links)
			case w.link.IsValid() && (len(links) != 1 || !links[0].Equal(w.link)):
				t.Errorf("%s %d links %v; want the caller's span %v", s.Name(), i, links, w.link.SpanID())
			}
		}
	})
}
