package store

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// An Event is something a shared refresher reports through the hook set
// with [WithEventHook]. The set is closed: [Adopted], [Published],
// [Failed] and [LocalFallback]. No event holds a secret.
//
// Each event is a plain value that is never changed after it is sent, so
// safe for concurrent use; its zero value describes nothing that happened.
type Event interface {
	event()
	fmt.Stringer
}

// Adopted reports a fresh value taken from the store, with no call to the
// inner refresher.
type Adopted struct {
	Key       string
	ExpiresAt time.Time // zero: never expires
}

// Published reports a value obtained from the inner refresher under the
// lease and saved to the store for the other replicas. (A value the store
// failed to save is reported by a Failed instead.)
type Published struct {
	Key       string
	ExpiresAt time.Time
}

// An Op names the store operation a [Failed] is about. The zero Op names
// none. An Op is a plain value.
type Op string

// The store operations.
const (
	OpLoad    Op = "load"
	OpDecode  Op = "decode" // the record loaded could not be read; see ErrCorrupt
	OpSave    Op = "save"
	OpDelete  Op = "delete"
	OpAcquire Op = "acquire"
	OpRelease Op = "release"
	OpExtend  Op = "extend" // Err wraps ErrLeaseLost if the lease ran out during the refresh
	OpWatch   Op = "watch"
)

// Failed reports a store call that failed or timed out, a record that
// could not be read (Op is OpDecode, Err wraps ErrCorrupt; the next
// refresh replaces it), or a lease that ran out while its holder refreshed
// (Op is OpExtend, Err wraps ErrLeaseLost; the value is saved only if no
// other replica published meanwhile). The shared refresher carries on
// without it.
type Failed struct {
	Key string
	Op  Op
	Err error
}

// A FallbackReason says why a replica refreshed without the lease. The zero
// FallbackReason is not used. A FallbackReason is a plain value.
type FallbackReason int

const (
	// StoreUnavailable: a store call failed or timed out.
	StoreUnavailable FallbackReason = iota + 1
	// LeaseWaitTimedOut: another replica held the lease and published
	// nothing fresh within the wait timeout (it died, stalls, or is slow).
	LeaseWaitTimedOut
)

// String returns "store unavailable" or "lease wait timed out".
func (r FallbackReason) String() string {
	switch r {
	case StoreUnavailable:
		return "store unavailable"
	case LeaseWaitTimedOut:
		return "lease wait timed out"
	}
	return fmt.Sprintf("FallbackReason(%d)", int(r))
}

// LocalFallback reports that this replica called the inner refresher
// without holding the lease. Each one may cost the authorization server a
// request that the store would have saved.
type LocalFallback struct {
	Key    string
	Reason FallbackReason
}

func (Adopted) event()       {}
func (Published) event()     {}
func (Failed) event()        {}
func (LocalFallback) event() {}

// String describes the event, without any secret.
func (e Adopted) String() string {
	return fmt.Sprintf("store: %q adopted from the store (expires %v)", e.Key, e.ExpiresAt.Format(time.RFC3339))
}

// String describes the event, without any secret.
func (e Published) String() string {
	return fmt.Sprintf("store: %q refreshed and published (expires %v)", e.Key, e.ExpiresAt.Format(time.RFC3339))
}

// String describes the event, without any secret.
func (e Failed) String() string {
	return fmt.Sprintf("store: %q %s failed: %v", e.Key, e.Op, e.Err)
}

// String describes the event, without any secret.
func (e LocalFallback) String() string {
	return fmt.Sprintf("store: %q refreshing locally: %v", e.Key, e.Reason)
}

// LogEvents returns an event hook that writes each event to logger:
// failures and fallbacks at Warn level, the rest at Debug. Use it as
// WithEventHook(store.LogEvents(logger)).
func LogEvents(logger *slog.Logger) func(Event) {
	return func(e Event) {
		ctx := context.Background()
		switch e := e.(type) {
		case Adopted:
			logger.LogAttrs(ctx, slog.LevelDebug, "store: adopted", slog.String("key", e.Key), slog.Time("expires_at", e.ExpiresAt))
		case Published:
			logger.LogAttrs(ctx, slog.LevelDebug, "store: published", slog.String("key", e.Key), slog.Time("expires_at", e.ExpiresAt))
		case Failed:
			logger.LogAttrs(ctx, slog.LevelWarn, "store: operation failed", slog.String("key", e.Key), slog.String("op", string(e.Op)), slog.String("error", e.Err.Error()))
		case LocalFallback:
			logger.LogAttrs(ctx, slog.LevelWarn, "store: refreshing locally", slog.String("key", e.Key), slog.String("reason", e.Reason.String()))
		}
	}
}
