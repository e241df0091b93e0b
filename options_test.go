package tokenactor

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tokenactor/tokenactor/fakeclock"
)

func TestConfigureSharesEqualConfigurations(t *testing.T) {
	a := configure([]Option{WithRefreshWindow(10 * time.Second)})
	b := configure([]Option{WithRefreshWindow(10 * time.Second)})
	if a != b {
		t.Error("two caches with the same options got separate configurations")
	}
	if c := configure([]Option{WithRefreshWindow(20 * time.Second)}); c == a || c.window != 20*time.Second {
		t.Errorf("a different window shared the configuration (window %v)", c.window)
	}
	hook := func(Event) {}
	if h1, h2 := configure([]Option{WithEventHook(hook)}), configure([]Option{WithEventHook(hook)}); h1 == h2 || h1.hook == nil {
		t.Error("configurations with a hook must not be shared")
	}
	clk := fakeclock.New()
	if c := configure([]Option{WithClock(clk)}); c.clock != clk {
		t.Error("WithClock lost")
	}
	if configure(nil) != &defaults {
		t.Error("no options: want the shared defaults")
	}
}

func TestOptionsPanicOnInvalidValues(t *testing.T) {
	tests := []struct {
		name string
		give func()
	}{
		{"nil clock", func() { WithClock(nil) }},
		{"negative window", func() { WithRefreshWindow(-1) }},
		{"negative timeout", func() { WithRefreshTimeout(-1) }},
		{"zero initial backoff", func() { WithBackoff(0, time.Second) }},
		{"max below initial", func() { WithBackoff(time.Second, time.Millisecond) }},
		{"negative jitter", func() { WithRefreshJitter(-0.1) }},
		{"jitter above 1", func() { WithRefreshJitter(1.1) }},
		{"NaN jitter", func() { WithRefreshJitter(math.NaN()) }},
		{"nil hook", func() { WithEventHook(nil) }},
		{"nil refresher", func() { New[string](nil) }},
		{"nil RefresherFunc", func() { New[string](RefresherFunc[string](nil)) }},
		{"nil Option", func() { New[string](&stringRefresher{}, nil) }},
		{"nil Option after a valid one", func() { configure([]Option{WithRefreshWindow(time.Second), nil}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				// A message naming what is wrong, not a nil dereference.
				if msg, ok := recover().(string); !ok || !strings.HasPrefix(msg, "tokenactor: ") {
					t.Errorf("panicked with %v, want a message starting %q", msg, "tokenactor: ")
				}
			}()
			tt.give()
		})
	}
}

// stringRefresher hands out the empty string, never expiring.
type stringRefresher struct{}

func (*stringRefresher) Refresh(context.Context, *Entry[string]) (Entry[string], error) {
	return Entry[string]{}, nil
}
