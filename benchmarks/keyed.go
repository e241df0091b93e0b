package benchmarks

import (
	"context"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/internal/benchkit"
)

// A KeyedCache holds one token per key (a tenant).
type KeyedCache interface {
	Get(ctx context.Context, key string) (string, error)
	Close() error
}

// A KeyedEngine is a keyed token cache under test.
type KeyedEngine struct {
	// Name is the sub-benchmark name, after "engine=".
	Name string
	// New returns a keyed cache whose tokens come from u, refreshed window
	// before they expire, holding at most max keys (0: no bound).
	New func(u *benchkit.Upstream, window time.Duration, max int) KeyedCache
}

// KeyedEngines are the keyed caches compared: tokenactor's Group of caches
// and otter with a loader, an ExpiryCalculator and a RefreshCalculator.
var KeyedEngines = []KeyedEngine{
	{Name: "tokenactor", New: newGroup},
	{Name: "otter", New: newOtterKeyed},
}

// group is a tokenactor.Group whose caches all call u.
type group struct {
	*tokenactor.Group[string, string]
}

func newGroup(u *benchkit.Upstream, window time.Duration, max int) KeyedCache {
	engine := benchkit.Tokenactor("tokenactor")
	g := tokenactor.NewGroup(func(string) (*tokenactor.Cache[string], error) {
		return engine.New(u, window).(*tokenactor.Cache[string]), nil
	}, tokenactor.WithMaxCaches(max))
	return group{g}
}

// otterKeyed is an otter.Cache with a token per key: each expires with its
// token and is reloaded in the background from window before.
type otterKeyed struct {
	c      *otter.Cache[string, otterToken]
	loader otter.Loader[string, otterToken]
}

func newOtterKeyed(u *benchkit.Upstream, window time.Duration, max int) KeyedCache {
	c, loader := newOtterParts(u, window, max)
	return otterKeyed{c: c, loader: loader}
}

func (c otterKeyed) Get(ctx context.Context, key string) (string, error) {
	t, err := c.c.Get(ctx, key, c.loader)
	if err != nil {
		return "", err
	}
	return t.value, nil
}

// Close stops the cache's maintenance goroutine.
func (c otterKeyed) Close() error {
	c.c.StopAllGoroutines()
	return nil
}
