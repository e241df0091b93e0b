package tokenactor

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// An Event is something the cache reports through the hook set with
// [WithEventHook]. The set is closed: it is one of [RefreshStarted],
// [RefreshSucceeded], [RefreshFailed], [PanicRecovered], [LoopRestarted] and
// [LoopFailed]. No event holds a secret: values are never included.
type Event interface {
	event()
	fmt.Stringer
}

// An Op names the Refresher method an event is about.
type Op uint8

const (
	// OpAuthenticate is a call to Refresher.Authenticate.
	OpAuthenticate Op = iota + 1
	// OpRefresh is a call to Refresher.Refresh.
	OpRefresh
)

// String returns "authenticate" or "refresh".
func (op Op) String() string {
	switch op {
	case OpAuthenticate:
		return "authenticate"
	case OpRefresh:
		return "refresh"
	}
	return fmt.Sprintf("Op(%d)", int(op))
}

// RefreshStarted reports that an Authenticate or Refresh call began.
type RefreshStarted struct {
	Op Op
	// Attempt counts attempts since the last success, from 1.
	Attempt int
	// Background reports that callers are served the current value meanwhile.
	Background bool
}

// RefreshSucceeded reports a new value.
type RefreshSucceeded struct {
	Op      Op
	Attempt int
	// ExpiresAt is the new value's expiry; zero if it never expires.
	ExpiresAt time.Time
	// Took is how long the call ran, on the cache's clock.
	Took time.Duration
}

// RefreshFailed reports a failed Authenticate or Refresh call.
type RefreshFailed struct {
	Op      Op
	Attempt int
	Err     error
	// NextRetry is the earliest time of the next attempt.
	NextRetry time.Time
}

// PanicRecovered reports that a Refresher panicked. The attempt counts as
// failed (a RefreshFailed follows) and the cache keeps working.
type PanicRecovered struct {
	Op  Op
	Err *PanicError
}

// LoopRestarted reports that the cache's own loop panicked and was restarted.
// Callers waiting at that moment got an error; the cached value was dropped.
type LoopRestarted struct {
	Err *PanicError
	// Restarts counts restarts within the current restart period.
	Restarts int
}

// LoopFailed reports that the loop panicked past its restart limit; every
// call now fails with ErrLoopFailed.
type LoopFailed struct {
	Err *PanicError
}

func (RefreshStarted) event()   {}
func (RefreshSucceeded) event() {}
func (RefreshFailed) event()    {}
func (PanicRecovered) event()   {}
func (LoopRestarted) event()    {}
func (LoopFailed) event()       {}

// String describes the event, without any secret.
func (e RefreshStarted) String() string {
	return fmt.Sprintf("%v started (attempt %d, background %t)", e.Op, e.Attempt, e.Background)
}

// String describes the event, without any secret.
func (e RefreshSucceeded) String() string {
	return fmt.Sprintf("%v succeeded (attempt %d, took %v, expires %v)", e.Op, e.Attempt, e.Took, e.ExpiresAt.Format(time.RFC3339))
}

// String describes the event, without any secret.
func (e RefreshFailed) String() string {
	return fmt.Sprintf("%v failed (attempt %d, next retry %v): %v", e.Op, e.Attempt, e.NextRetry.Format(time.RFC3339), e.Err)
}

// String describes the event, without any secret.
func (e PanicRecovered) String() string {
	return fmt.Sprintf("%v panicked: %v", e.Op, e.Err)
}

// String describes the event, without any secret.
func (e LoopRestarted) String() string {
	return fmt.Sprintf("loop restarted (restart %d): %v", e.Restarts, e.Err)
}

// String describes the event, without any secret.
func (e LoopFailed) String() string {
	return fmt.Sprintf("loop failed: %v", e.Err)
}

// LogEvents returns an event hook that writes each event to logger: failures,
// panics and restarts at Warn or Error level, the rest at Debug. Use it as
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
				slog.Time("expires_at", e.ExpiresAt), slog.Duration("took", e.Took))
		case RefreshFailed:
			logger.LogAttrs(ctx, slog.LevelWarn, "tokenactor: refresh failed",
				slog.String("op", e.Op.String()), slog.Int("attempt", e.Attempt),
				slog.Time("next_retry", e.NextRetry), slog.String("error", e.Err.Error()))
		case PanicRecovered:
			logger.LogAttrs(ctx, slog.LevelError, "tokenactor: refresher panicked",
				slog.String("op", e.Op.String()), slog.String("error", e.Err.Error()))
		case LoopRestarted:
			logger.LogAttrs(ctx, slog.LevelError, "tokenactor: loop restarted",
				slog.Int("restarts", e.Restarts), slog.String("error", e.Err.Error()))
		case LoopFailed:
			logger.LogAttrs(ctx, slog.LevelError, "tokenactor: loop failed",
				slog.String("error", e.Err.Error()))
		}
	}
}
