package tokenactor

import (
	"time"

	"github.com/tokenactor/tokenactor/actor"
)

// A message is one request to the cache's loop. The set is sealed: only the
// types in this file implement it. Each request that needs an answer carries
// its own reply channel with a buffer of one, so the loop never blocks on a
// caller that has gone away.
type message interface {
	isMessage()
}

// getRequest asks for the value. The loop answers it exactly once, either at
// once or, if a refresh must finish first, when it does. Buffer 1; never
// closed.
type getRequest[T any] chan getReply[T]

// getReply is the answer to a getRequest.
type getReply[T any] struct {
	value T
	err   error
}

// reply answers the request without blocking. A second answer (possible only
// when the loop panicked after answering) is dropped.
func (r getRequest[T]) reply(value T, err error) {
	select {
	case r <- getReply[T]{value: value, err: err}:
	default:
	}
}

// fail answers the request with err.
func (r getRequest[T]) fail(err error) {
	var zero T
	r.reply(zero, err)
}

// invalidateRequest marks a value as rejected: the one in entry if it is
// still the current one, or the current one whatever it is if entry is nil.
// The loop closes done once no Get can be served that value any more.
type invalidateRequest[T any] struct {
	entry *Entry[T]
	done  chan struct{}
}

// answer closes done. Only the loop calls it, so checking before closing is
// safe; the check makes a second answer (after a panic) harmless.
func (r invalidateRequest[T]) answer() {
	select {
	case <-r.done:
	default:
		close(r.done)
	}
}

// timerFired tells the loop that a moment it asked to be woken at has come:
// the value may have become stale or unusable, or a backoff ended.
type timerFired struct{}

// refreshDone carries the outcome of an Authenticate or Refresh call from the
// worker that ran it.
type refreshDone[T any] struct {
	op    Op
	entry Entry[T]
	err   error
	panic *actor.Panic // non-nil if the refresher panicked; err is then its *PanicError
	took  time.Duration
}

// closeRequest is the last message of a closed cache's mailbox.
type closeRequest struct{}

func (getRequest[T]) isMessage()        {}
func (invalidateRequest[T]) isMessage() {}
func (timerFired) isMessage()           {}
func (*refreshDone[T]) isMessage()      {}
func (closeRequest) isMessage()         {}
