package tokenactor

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// A message is one request to the cache's loop. The set is sealed: only the
// types in this file implement it. Messages are plain data: each request
// that needs an answer carries its own channel, which the loop closes once
// the answer is set, so the loop never blocks on a caller that has gone
// away.
type message interface {
	isMessage()
}

// getRequest asks for the value on behalf of one Get. The loop answers it
// exactly once, at once: it sets reply (the value or an error, or, if a
// refresh must finish first, the wake of that refresh, on which the caller
// then waits) and then closes answered. The caller reads reply only after
// answered is closed, so the close orders the write before the read; a
// caller whose context ended has stopped waiting and never reads it.
type getRequest[T any] struct {
	// caller is the Get's context. The loop only hands it to the event
	// hook, in the RefreshStarted of a call this Get made necessary; it
	// never watches it, and the Refresher never runs under it.
	caller   context.Context
	answered chan struct{} // unbuffered; closed once, by the loop goroutine, when reply is set
	reply    getReply[T]   // written by the loop goroutine before answered is closed
}

// getReply is the answer to a getRequest: value and err, or, if wake is not
// nil, the refresh to wait for.
type getReply[T any] struct {
	value T
	err   error
	wake  *wake[T]
}

// answer answers the request with an outcome. It never blocks.
func (r *getRequest[T]) answer(value T, err error) {
	r.reply = getReply[T]{value: value, err: err}
	close(r.answered)
}

// park answers the request with the wake to wait on. It never blocks.
func (r *getRequest[T]) park(w *wake[T]) {
	r.reply = getReply[T]{wake: w}
	close(r.answered)
}

// A wake is the outcome of one refresh, shared by every caller waiting for
// it: the loop answers them all by closing one channel rather than sending
// to each. It is data, not a request: the loop never reads what a caller
// does with it, only how many waited and for how long.
//
// The loop goroutine writes value and err once, and then closes done; a
// caller reads them only after done is closed, so the close orders the
// writes before the reads.
type wake[T any] struct {
	done  chan struct{} // unbuffered; closed once, by the loop goroutine, when the outcome is set
	value T             // written by the loop goroutine before done is closed
	err   error         // written by the loop goroutine before done is closed
	// start is when the loop made the wake, and now reads the cache's
	// clock; both set before the wake is published, then only read.
	start time.Time
	now   func() time.Time

	// What callers add as they wait, read by the loop for events (see
	// waited). Times are nanoseconds after start, so that the sums of
	// many callers' stay far from overflow.
	waiters atomic.Int32 // callers that began to wait
	arrived atomic.Int64 // the sum of their arrivals
	left    atomic.Int32 // callers whose context ended before the outcome
	leftAt  atomic.Int64 // the sum of their departures
}

// wait returns the outcome once done is closed, or ctx's error at once if
// ctx ends first (context.Canceled if a broken ctx closed Done without
// one); the loop is not told, and the refresh goes on for the
// others. A ctx that can never end (Done is nil, as for
// context.Background) is not watched: waking from a plain receive costs
// the runtime less than waking from a select.
func (w *wake[T]) wait(ctx context.Context) (T, error) {
	w.waiters.Add(1)
	w.arrived.Add(w.since(w.now()))
	if ctxDone := ctx.Done(); ctxDone == nil {
		<-w.done
	} else {
		select {
		case <-w.done:
		case <-ctxDone:
			w.leftAt.Add(w.since(w.now()))
			w.left.Add(1)
			var zero T
			err := ctx.Err()
			if err == nil { // a Context that breaks its contract: still an error, never a zero outcome
				err = context.Canceled
			}
			return zero, err
		}
	}
	return w.value, w.err
}

// since returns the nanoseconds from start to t, or 0 if t is earlier (the
// wall clock stepped back).
func (w *wake[T]) since(t time.Time) int64 {
	return int64(max(t.Sub(w.start), 0))
}

// waited returns the time callers spent waiting on w, added up, as of end:
// the callers still waiting at end waited until then, those that left
// until they left. A caller that arrives or leaves at the very moment the
// loop reads this may be counted as the other kind, or not at all; the sum
// is never negative.
func (w *wake[T]) waited(end time.Time) time.Duration {
	stayed := int64(w.waiters.Load() - w.left.Load())
	total := stayed*w.since(end) - w.arrived.Load() + w.leftAt.Load()
	return time.Duration(max(total, 0))
}

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

func (*getRequest[T]) isMessage()       {}
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
