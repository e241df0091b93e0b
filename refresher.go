package tokenactor

import (
	"context"
	"time"
)

// An Entry is a value the cache holds, with when it stops being usable.
//
// The zero value of every field but Value is the common case: a plain
// Entry{Value: v, ExpiresAt: t} is served until t and renewed before then,
// across every expiry, like any other. A zero Entry holds the zero value,
// never expiring. An Entry is a plain value; the cache never changes one it
// has stored, and hands the Refresher a copy.
type Entry[T any] struct {
	// Value is what Get returns.
	Value T
	// ExpiresAt is when Value stops being usable. The zero time means the
	// value never expires. Only its wall-clock reading counts: the cache
	// strips the monotonic reading, so a machine that slept past ExpiresAt
	// sees the value as expired.
	ExpiresAt time.Time
	// RefreshAt, if set, is when the cache starts renewing the value in
	// the background, instead of ExpiresAt minus the refresh window (see
	// [WithRefreshWindow]). A server's hint (an OAuth "refresh_in", say)
	// goes here. A RefreshAt at or after ExpiresAt, not after the moment
	// the entry is stored (a server's refresh_in of 0 would otherwise
	// start a refresh on every Get), or on an entry that never expires, is
	// ignored.
	RefreshAt time.Time
	// Final reports that the value cannot be renewed (it carries no refresh
	// credential): it is served until ExpiresAt, and after that Get returns
	// ErrTokenExpired without calling the Refresher. The zero value, false,
	// means the Refresher renews it.
	Final bool
}

// A Refresher obtains and renews the value a [Cache] keeps fresh.
//
// Refresh is called with the entry cached now as previous, or with nil when
// there is none: on the first Get, and after a rejected Final entry. It
// returns the new entry, or an error; an error wrapping ErrNotAuthenticated
// means no credentials are available.
//
// The cache makes at most one call at a time, from a goroutine of its own,
// with a context that ends when the refresh times out (see
// [WithRefreshTimeout]) or the cache is closed; never with a caller's context.
// Implementations must return soon after ctx ends: [Cache.Close] waits for
// them. So a Refresher must not call Close on its own cache, nor
// Invalidate, InvalidateIf or Reset (once the cache is closed, those wait
// for Close); and a Get it makes on its own cache waits for itself until
// the context given to that Get ends. previous points to a copy: the Refresher may keep it. A panic is
// recovered and reported as a [*PanicError]; so is runtime.Goexit, as an
// error.
//
// Since calls never overlap, an implementation used by one cache needs no
// locking of its own; one shared by several caches must be safe for
// concurrent use.
type Refresher[T any] interface {
	Refresh(ctx context.Context, previous *Entry[T]) (Entry[T], error)
}

// RefresherFunc adapts a function to a [Refresher], so a cache is one line:
//
//	c := tokenactor.New(tokenactor.RefresherFunc[string](fetch))
//
// A nil RefresherFunc is not usable: [New] panics on one.
type RefresherFunc[T any] func(ctx context.Context, previous *Entry[T]) (Entry[T], error)

// Refresh calls f(ctx, previous).
func (f RefresherFunc[T]) Refresh(ctx context.Context, previous *Entry[T]) (Entry[T], error) {
	return f(ctx, previous)
}
