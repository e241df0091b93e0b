package tokenactor

import (
	"errors"
	"fmt"
	"time"
)

var (
	// ErrNotAuthenticated reports that no credentials are available.
	// Refreshers wrap it; the cache passes it through so errors.Is finds it.
	ErrNotAuthenticated = errors.New("tokenactor: not authenticated")

	// ErrTokenExpired reports that the cached value is no longer usable and
	// could not be renewed. When a refresh failed, the error returned also
	// wraps the refresher's error, so errors.Is and errors.As find both.
	ErrTokenExpired = errors.New("tokenactor: token expired")

	// ErrClosed is returned by Get after Close, and to callers still waiting
	// when Close is called.
	ErrClosed = errors.New("tokenactor: cache closed")

	// ErrRefreshTimeout is wrapped into the error of a refresh that ran past
	// the limit set by WithRefreshTimeout.
	ErrRefreshTimeout = errors.New("tokenactor: refresh timed out")

	// ErrLoopFailed is returned by every call once the cache's loop has
	// panicked more often than its restart limit allows (see supervisor.go).
	// The cache does not recover from it; Close still works.
	ErrLoopFailed = errors.New("tokenactor: cache stopped after repeated internal panics")
)

// A PanicError reports that a Refresher (or the engine itself) panicked. The
// cache recovers the panic, keeps working, and hands this error to the
// callers that were waiting.
type PanicError struct {
	// Value is the value passed to panic.
	Value any
	// Stack is the stack of the goroutine that panicked.
	Stack []byte
}

// Error describes the panic value. It leaves the stack out so one-line logs
// stay one line; the stack is in the Stack field.
func (e *PanicError) Error() string {
	return fmt.Sprintf("tokenactor: panic: %v", e.Value)
}

// Unwrap returns the panic value if it is an error, so errors.Is and
// errors.As see through a panic(err).
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// retryAfter returns the server-requested delay carried by err, if any: an
// error in the chain with a method RetryAfter() time.Duration that returns a
// positive duration (a strategy's answer to HTTP 429 or 503 with a
// Retry-After header).
func retryAfter(err error) time.Duration {
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) {
		if d := ra.RetryAfter(); d > 0 {
			return d
		}
	}
	return 0
}
