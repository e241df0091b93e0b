// Package benchkit runs tokenactor's performance scenarios against any token
// cache, so that every engine in a comparison is measured by the same code.
//
// An [Engine] builds a [Cache] over an [Upstream], the fake token server
// whose behaviour each scenario sets. The scenarios are functions of a
// *testing.B and an Engine; they report their figures with b.ReportMetric.
// Times are real: the scenarios sleep to let tokens turn stale, which is
// fine for benchmarks and why none of this belongs in unit tests.
package benchkit

import (
	"context"
	"io"
	"sync/atomic"
	"time"
)

// Window is the refresh window every engine is given: a token counts as
// expired (due for a refresh) Window before it stops being usable.
const Window = time.Minute

// A Token is what the upstream issues.
type Token struct {
	Value     string
	ExpiresAt time.Time
}

// An Upstream is the token server the caches call. It counts every call.
// It is safe for concurrent use.
type Upstream struct {
	calls atomic.Int64
	issue func(ctx context.Context, n int64) (Token, error)
}

// NewUpstream returns an upstream whose n-th call (from 1) is answered by
// issue(ctx, n).
func NewUpstream(issue func(ctx context.Context, n int64) (Token, error)) *Upstream {
	return &Upstream{issue: issue}
}

// Fetch makes one call to the upstream.
func (u *Upstream) Fetch(ctx context.Context) (Token, error) {
	return u.issue(ctx, u.calls.Add(1))
}

// Calls returns how many calls the upstream has had.
func (u *Upstream) Calls() int64 { return u.calls.Load() }

// A Cache is the one call a service makes on every request: get the current
// token. A cache that holds resources (goroutines, timers) also implements
// io.Closer; see [Release].
type Cache interface {
	Get(ctx context.Context) (string, error)
}

// Release closes c if it is an io.Closer. It exists so that releasing a
// cache costs no closure per cache, which IdleFootprint would count.
func Release(c Cache) {
	if cl, ok := c.(io.Closer); ok {
		_ = cl.Close()
	}
}

// An Engine is a token cache under test.
type Engine struct {
	// Name is the sub-benchmark name, after "engine=".
	Name string
	// New returns a cache that obtains tokens from u and refreshes them
	// window before they expire (where the engine has such a setting).
	New func(u *Upstream, window time.Duration) Cache
}
