package tokenactor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// An Event is something the cache reports through the hook set with
// [WithEventHook]. The set is closed: it is one of [RefreshStarted],
// [RefreshSucceeded], [RefreshFailed] and [Closed], each a plain value,
// never changed after it is sent, so safe for concurrent use; the zero
// value of each but Closed describes nothing that happened. No event holds
// a value (a token); the one thing in an event that may hold a secret,
// [RefreshStarted.Caller], is never printed.
type Event interface {
	event()
	fmt.Stringer
}

// RefreshStarted reports that a Refresher call began. Like every event, it
// is a plain value the cache never changes after sending; its zero value
// describes nothing that happened.
type RefreshStarted struct {
	Op Op
	// Attempt counts attempts since the last success, from 1.
	Attempt int
	// Background reports that callers are served the current value meanwhile.
	Background bool
	// Caller is the context of the Get that made the call necessary (after
	// a Reset discarded a call, the Get that made that one necessary). A
	// hook may read its values: a trace's span context, to link the
	// refresh to the request that caused it, as the otel module does.
	// The call does not run under it: the Refresher gets a context of the
	// cache's own, which neither this caller's deadline nor its
	// cancellation reaches, since the call serves every caller. It may
	// be nil in an event a hook makes itself; the cache always sets it.
	//
	// A context may hold the caller's secrets (a request's credentials), so
	// printing the event never shows it: every fmt verb but %#v writes
	// what String does, %#v names only its type, and encoding/json leaves
	// it out.
	Caller context.Context `json:"-"`
}

// RefreshSucceeded reports a new value.
type RefreshSucceeded struct {
	Op      Op
	Attempt int
	// ExpiresAt is the new value's expiry; zero if it never expires.
	ExpiresAt time.Time
	// Took is how long the call ran, on the cache's clock.
	Took time.Duration
	// Waiters counts the callers that waited for the call rather than
	// being served the current value meanwhile. Each waited at most Took,
	// unless a Reset sent them on from an earlier call to this one: their
	// wait counts from when they came.
	Waiters int
	// Waited is the time those callers spent waiting, added up (each
	// until it was answered, or until its context ended): Waited/Waiters
	// is the mean wait.
	Waited time.Duration
}

// RefreshFailed reports a failed Refresher call. If the Refresher
// panicked, Err is a *PanicError (errors.As finds it) holding the panic's
// value and stack; the cache recovered and keeps working.
type RefreshFailed struct {
	Op      Op
	Attempt int
	Err     error
	// NextRetry is the earliest time of the next attempt.
	NextRetry time.Time
	// Took is how long the call ran, on the cache's clock.
	Took time.Duration
	// Waiters counts the callers that waited for the call and got its
	// error; each waited at most Took, unless a Reset sent them on from an
	// earlier call, as in RefreshSucceeded.
	Waiters int
	// Waited is the time those callers spent waiting, added up, as in
	// RefreshSucceeded.
	Waited time.Duration
}

// Closed reports that the cache closed: its Close was called, by its owner
// or by a [Group] evicting it. It is the last event the cache sends, and
// it arrives before Close returns. A hook that keeps state per cache (a
// metrics adapter) can let go of it here.
type Closed struct {
	// Abandoned reports that a Refresher call was in flight: its context
	// was cancelled, its callers got ErrClosed, and it reports no outcome.
	Abandoned bool
}

func (RefreshStarted) event()   {}
func (RefreshSucceeded) event() {}
func (RefreshFailed) event()    {}
func (Closed) event()           {}

// String describes the event.
func (e Closed) String() string {
	if e.Abandoned {
		return "closed, a call in flight abandoned"
	}
	return "closed"
}

// String describes the event, without any secret.
func (e RefreshStarted) String() string {
	return fmt.Sprintf("%v started (attempt %d, background %t)", e.Op, e.Attempt, e.Background)
}

// Format writes what String does, or for %#v what GoString does, so that no
// verb prints the caller's context (see [RefreshStarted.Caller]).
func (e RefreshStarted) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, e.GoString())
		return
	}
	_, _ = io.WriteString(f, e.String())
}

// GoString returns the event in Go syntax, the caller's context shown by
// its type only.
func (e RefreshStarted) GoString() string {
	caller := "nil"
	if e.Caller != nil {
		caller = fmt.Sprintf("%T(...)", e.Caller)
	}
	return fmt.Sprintf("tokenactor.RefreshStarted{Op:%#v, Attempt:%d, Background:%t, Caller:%s}", e.Op, e.Attempt, e.Background, caller)
}

// String describes the event, without any secret.
func (e RefreshSucceeded) String() string {
	return fmt.Sprintf("%v succeeded (attempt %d, took %v, %d waited %v in all, expires %v)", e.Op, e.Attempt, e.Took, e.Waiters, e.Waited, e.ExpiresAt.Format(time.RFC3339))
}

// String describes the event, without any secret.
func (e RefreshFailed) String() string {
	return fmt.Sprintf("%v failed (attempt %d, took %v, %d waited %v in all, next retry %v): %v", e.Op, e.Attempt, e.Took, e.Waiters, e.Waited, e.NextRetry.Format(time.RFC3339), e.Err)
}

// LogEvents returns an event hook that writes each event to logger: failures at
// Warn level (Error if the Refresher panicked), the rest at Debug. Use it as
// WithEventHook(tokenactor.LogEvents(logger)).
func LogEvents(logger *slog.Logger) func(Event) {
	return func(e Event) {
		ctx := context.Background()
		switch e := e.(type) {
		case RefreshStarted:
			logger.LogAttrs(ctx, slog.LevelDebug, "tokenactor: refresh started",
				slog.String("op", e.Op.String()), slog.Int("attempt", e.Attempt), slog.Bool("background", e.Background))
		case RefreshSucceeded:
			logger.LogAttrs(ctx, slog.LevelDebug, "tokenactor: refresh succeeded",
				slog.String("op", e.Op.String()), slog.Int("attempt", e.Attempt),
				slog.Time("expires_at", e.ExpiresAt), slog.Duration("took", e.Took), slog.Int("waiters", e.Waiters),
				slog.Duration("waited", e.Waited))
		case RefreshFailed:
			level := slog.LevelWarn
			var pe *PanicError
			if errors.As(e.Err, &pe) {
				level = slog.LevelError
			}
			logger.LogAttrs(ctx, level, "tokenactor: refresh failed",
				slog.String("op", e.Op.String()), slog.Int("attempt", e.Attempt),
				slog.Duration("took", e.Took), slog.Int("waiters", e.Waiters), slog.Duration("waited", e.Waited),
				slog.Time("next_retry", e.NextRetry), slog.String("error", e.Err.Error()))
		case Closed:
			logger.LogAttrs(ctx, slog.LevelDebug, "tokenactor: closed", slog.Bool("abandoned", e.Abandoned))
		}
	}
}
