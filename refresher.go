package tokenactor

import (
	"context"
	"time"
)

// An Entry is a value the cache holds, with when it stops being usable.
type Entry[T any] struct {
	// Value is what Get returns.
	Value T
	// ExpiresAt is when Value stops being usable. The zero time means the
	// value never expires.
	ExpiresAt time.Time
	// Refreshable reports that the entry carries a refresh credential, so
	// Refresher.Refresh can renew it. A value that is not refreshable is
	// served until it expires and then reported as ErrTokenExpired.
	Refreshable bool
}

// A Refresher obtains and renews the value a [Cache] keeps fresh.
//
// The cache calls at most one of its methods at a time, from a goroutine of
// its own, with a context that ends when the refresh times out (see
// [WithRefreshTimeout]) or the cache is closed; never with a caller's context.
// Implementations must return soon after ctx ends: [Cache.Close] waits for
// them. A panic is recovered and reported as a [*PanicError].
type Refresher[T any] interface {
	// Authenticate obtains a value when none is cached. An error wrapping
	// ErrNotAuthenticated means no credentials are available.
	Authenticate(ctx context.Context) (Entry[T], error)
	// Refresh renews a cached entry whose Refreshable is true.
	Refresh(ctx context.Context, current Entry[T]) (Entry[T], error)
}
