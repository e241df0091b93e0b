package tokenactor

import (
	"fmt"
	"time"
)

// A message is one request to the cache's loop. The set is sealed: only the
// types in this file implement it. Messages are plain data: each request
// that needs an answer carries its own reply channel, so the loop never
// blocks on a caller that has gone away.
type message interface {
	isMessage()
}

// getRequest asks for the value. The loop answers it exactly once, either at
// once or, if a refresh must finish first, when it does. Buffer 1; never
// closed. A caller that stops waiting (its context ended) fills the buffer
// itself as it leaves (see leave), so a full buffer tells the loop that
// nobody waits for the answer any more.
type getRequest[T any] chan getReply[T]

// getReply is the answer to a getRequest.
type getReply[T any] struct {
	value T
	err   error
}

// reply answers the request. It never blocks: the buffer holds one answer,
// and if it is full the caller has left.
func (r getRequest[T]) reply(value T, err error) {
	select {
	case r <- getReply[T]{value: value, err: err}:
	default:
	}
}

// leave marks the request as abandoned by its caller, unless it was
// answered already. Only the caller calls it, once it stopped waiting.
func (r getRequest[T]) leave() {
	select {
	case r <- getReply[T]{}:
	default:
	}
}

// left reports whether the caller has gone without an answer. Only the
// loop calls it, before answering.
func (r getRequest[T]) left() bool { return len(r) > 0 }

// invalidateRequest marks a value as rejected: the one in entry if it is
// still the current one, or the current one whatever it is if entry is nil.
// With reset, it also forgets failures and backoff and makes the call in
// flight stale (see [Cache.Reset]). The loop closes done once no Get can be
// served that value any more.
type invalidateRequest[T any] struct {
	entry *Entry[T]
	reset bool
	done  chan struct{}
}

// timerFired tells the loop that a moment it asked to be woken at has come:
// the value may have become stale or unusable, or a backoff ended.
type timerFired struct{}

// refreshDone carries the outcome of a Refresher call from the worker that
// ran it. A panic in the Refresher arrives as err, a *PanicError.
type refreshDone[T any] struct {
	entry      Entry[T]
	err        error
	retryAfter time.Duration // the delay err asks for (see retryAfter); read by the worker, never by the loop
}

// closeRequest is the last message of a closed cache's mailbox.
type closeRequest struct{}

func (getRequest[T]) isMessage()        {}
func (invalidateRequest[T]) isMessage() {}
func (timerFired) isMessage()           {}
func (*refreshDone[T]) isMessage()      {}
func (closeRequest) isMessage()         {}

// An Op says what a Refresher call was for; events carry it. The zero Op
// is not used by the cache. An Op is a plain value.
type Op uint8

const (
	// OpAuthenticate is a call with no previous entry: the first, or one
	// after a rejected Final entry.
	OpAuthenticate Op = iota + 1
	// OpRefresh is a call that renews the entry passed as previous.
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
