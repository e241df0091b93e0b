package tokenactor

import (
	"errors"
	"fmt"
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
)

// A PanicError reports that a Refresher panicked. The cache recovers the
// panic, counts the attempt as failed, keeps working, and hands this error
// to the callers that were waiting and to the [RefreshFailed] event.
//
// A PanicError is made by the cache; a zero PanicError describes a nil
// panic value. It is not changed after it is made, so it is safe for
// concurrent use.
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
