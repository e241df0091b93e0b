package tokenactor

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tokenactor/tokenactor/actor"
)

// loop is the cache's actor: the state, the one refresh job, and the
// goroutines that run them. A [Cache] is a handle on one loop; the loop
// never calls back into the handle.
//
// # Goroutines and user code
//
// A loop has at most two goroutines: the loop goroutine, started by the
// mailbox when a message finds none running and ended once the cache is
// idle, and the worker of the refresh job in flight. wg counts both; Close
// waits on it.
//
// User code never runs unguarded in the loop goroutine. The Refresher runs
// in the worker, which reports its outcome even if it panics or calls
// runtime.Goexit; so do the methods of the error it returns, which the
// loop never calls. The event hook runs through actor.Isolate, in a goroutine
// of its own the loop waits for: a panic or Goexit there ends that one call
// and nothing else.
//
// The loop goroutine itself does not recover panics. A panic there is a bug
// in the engine: it crashes the program, loudly, rather than carry on with
// state it was half-way through changing. (A supervisor that restarts the
// loop is the obvious alternative; it is not used because, to restart, it
// must guess which part of the state survived the panic.)
type loop[T any] struct {
	// fast is the entry Get may return without asking the loop, or nil
	// when the loop must decide. Only the loop goroutine stores into it;
	// any goroutine loads it.
	fast atomic.Pointer[Entry[T]]
	// held is the entry the loop holds, servable or not, or nil: what
	// InvalidateIf tests. Only the loop goroutine stores into it.
	held atomic.Pointer[Entry[T]]
	// parked is the wake of the refresh in flight once a caller waits for
	// it, or nil: a Get that finds it waits on it without asking the loop.
	// Only the loop goroutine stores into it; any goroutine loads it.
	//
	// It is published while every Get the loop would handle would be told
	// to wait for that refresh: from the first caller told so until the
	// refresh ends. Nothing in between makes the value usable again: only
	// the refresh's end installs a value, a Reset keeps the callers waiting
	// (for a fresh call, see retry), and time moves forward. (Should the
	// wall clock step back meanwhile, a caller waits for the refresh where
	// the loop might have served the old value.)
	parked atomic.Pointer[wake[T]]

	// Set by init, then only read.
	r Refresher[T]
	o *options

	// mb is the mailbox: senders post to it from any goroutine; its lock
	// guards only the queue and whether a loop goroutine runs (see
	// actor.Mailbox), never the state below.
	mb actor.Mailbox[message]
	wg sync.WaitGroup // the loop goroutine and the worker

	// Owned by the loop goroutine: it alone reads or writes them, in
	// whichever goroutine the mailbox last started.
	st    state[T]
	timer timer          // wakes the loop at the next boundary
	job   *refreshJob[T] // the Refresher call in flight; nil if none
}

// init prepares l to obtain its value from r.
func (l *loop[T]) init(r Refresher[T], o *options) {
	l.r, l.o = r, o
	l.mb.Init(l)
}

// StartLoop implements actor.Starter. It runs with the mailbox's lock held,
// so the Add happens before Close can observe the mailbox closed.
func (l *loop[T]) StartLoop() {
	l.wg.Add(1)
	go l.run()
}

// run is the loop goroutine. It takes messages from the mailbox until the
// cache is idle (no call in flight, or closed) and then exits. The next
// message starts a new one; all state lives in l, so nothing is lost in
// between.
func (l *loop[T]) run() {
	defer l.wg.Done()
	for {
		msg, ok := l.mb.Next()
		if ok {
			l.handle(msg)
			continue
		}
		if l.idle() && l.mb.Exit() {
			return
		}
		if !l.idle() {
			l.mb.Wait()
		}
	}
}

// idle reports whether the loop goroutine may exit: once closed, or when
// no call is in flight (so nobody waits). A closed cache's worker reports
// to a closed mailbox, so the loop need not wait for it; Close waits for
// it instead.
func (l *loop[T]) idle() bool {
	return l.st.closed || l.job == nil
}

// handle processes one message and then publishes what the fast path may
// serve.
func (l *loop[T]) handle(msg message) {
	now := l.now()
	switch m := msg.(type) {
	case *getRequest[T]:
		l.answer(m, now)
	case invalidateRequest[T]:
		if l.st.entry != nil && (m.entry == nil || m.entry == l.st.entry) {
			l.st.invalid = true
			l.fast.Store(nil)
		}
		if m.reset {
			l.st.failure = nil
			if l.job != nil {
				l.job.stale = true
			}
		}
		close(m.done)
	case timerFired:
		l.timer.fired()
	case *refreshDone[T]:
		l.finish(m, now)
	case closeRequest:
		l.shutdown()
	}
	if !l.st.closed {
		l.publish(now)
	}
}

// answer applies the refresh model to one Get.
func (l *loop[T]) answer(req *getRequest[T], now time.Time) {
	var zero T
	if l.st.closed {
		req.answer(zero, ErrClosed)
		return
	}
	switch decide(&l.st, now) {
	case serve:
		req.answer(l.st.entry.Value, nil)
	case serveAndRefresh:
		l.start(OpRefresh, true, req.caller, now)
		req.answer(l.st.entry.Value, nil)
	case wait:
		l.wait(l.job, req)
	case authenticateAndWait:
		l.wait(l.start(OpAuthenticate, false, req.caller, now), req)
	case refreshAndWait:
		l.wait(l.start(OpRefresh, false, req.caller, now), req)
	case fail:
		req.answer(zero, l.st.err())
	}
}

// A refreshJob is the Refresher call in flight, and the wake its callers
// wait on: callers wait only while a call is in flight, so an idle cache
// keeps neither. Owned by the loop goroutine.
//
// Its whole life is written once, below: the loop starts it (start), parks
// callers on it (wait, adopt), ends it when the worker reports or the cache
// closes (end), and answers its waiters (answer).
type refreshJob[T any] struct {
	op      Op
	wake    *wake[T] // what its callers wait on; nil until one does
	cancel  context.CancelCauseFunc
	timeout stopper // cancels the call after the refresh timeout; nil without one
	started time.Time
	stale   bool            // a Reset came while the call ran: its outcome is discarded
	caller  context.Context // the context of the Get that made the call necessary
}

// start runs one Refresher call, made necessary by the Get whose context is
// caller, in a worker goroutine and returns its job. The call gets a context
// of its own, never the caller's: it serves every caller, so no one
// caller's deadline or values shape it; it ends at the refresh timeout or
// when the job ends. The event hook is told of caller (RefreshStarted).
func (l *loop[T]) start(op Op, background bool, caller context.Context, now time.Time) *refreshJob[T] {
	l.emit(RefreshStarted{Op: op, Attempt: l.st.attempts() + 1, Background: background, Caller: caller})
	ctx, cancel := context.WithCancelCause(context.Background())
	job := &refreshJob[T]{op: op, cancel: cancel, started: now, caller: caller}
	if d := l.o.refreshTimeout; d > 0 {
		job.timeout = l.afterFunc(d, func() { cancel(ErrRefreshTimeout) })
	}
	l.job, l.st.busy = job, true
	var previous *Entry[T]
	if op == OpRefresh {
		e := *l.st.entry // a copy: the refresher may keep or change it
		previous = &e
	}
	l.wg.Add(1) // the loop goroutine holds a count, so this Add cannot race with Close's Wait
	go l.work(ctx, previous)
	return job
}

// errGoexit is the outcome of a Refresher that called runtime.Goexit.
var errGoexit = errors.New("tokenactor: refresher called runtime.Goexit")

// work is the worker goroutine: it makes one Refresher call and reports the
// outcome to the loop, even if the refresher panics or calls
// runtime.Goexit.
func (l *loop[T]) work(ctx context.Context, previous *Entry[T]) {
	defer l.wg.Done()
	done := &refreshDone[T]{err: errGoexit}
	defer func() { _ = l.mb.Post(done) }() // fails only after Close, when nobody needs it
	if p := actor.Recover(func() { done.entry, done.err = l.r.Refresh(ctx, previous) }); p != nil {
		done.err = &PanicError{Value: p.Value, Stack: p.Stack}
	}
	if done.err == nil {
		return
	}
	// The error's methods (Error, Is, As, Unwrap, RetryAfter) are user
	// code as well. They are called here, where a panic is contained and a
	// Goexit only ends the worker, and never in the loop goroutine: the
	// loop reads done.retryAfter, and callers' errors build their message
	// when asked (see refreshError). If inspecting panics, the error goes
	// to the loop as it is, asking for no delay.
	_ = actor.Recover(func() {
		if errors.Is(context.Cause(ctx), ErrRefreshTimeout) && !errors.Is(done.err, ErrRefreshTimeout) {
			done.err = fmt.Errorf("%w: %w", ErrRefreshTimeout, done.err)
		}
		done.retryAfter = retryAfter(done.err)
	})
}

// end ends the job in flight, if any, and returns it: its timeout is
// stopped, its context cancelled with cause, and the loop no longer counts
// a call in flight. Its waiters are still to be answered.
func (l *loop[T]) end(cause error) *refreshJob[T] {
	job := l.job
	if job == nil {
		return nil
	}
	if job.timeout != nil {
		job.timeout.Stop()
	}
	job.cancel(cause)
	if job.wake != nil {
		l.parked.Store(nil)
	}
	l.job, l.st.busy = nil, false
	return job
}

// wait parks req until job ends: it answers req with job's wake, made for
// the first caller that waits.
func (l *loop[T]) wait(job *refreshJob[T], req *getRequest[T]) {
	if job.wake == nil {
		l.adopt(job, &wake[T]{done: make(chan struct{}), start: l.now(), now: l.now})
	}
	req.park(job.wake)
}

// adopt makes w the wake of job and publishes it, so that later callers
// wait on it without asking the loop (but not WithoutFastPath, which
// sends every Get through the mailbox).
func (l *loop[T]) adopt(job *refreshJob[T], w *wake[T]) {
	job.wake = w
	if !l.o.noFastPath {
		l.parked.Store(w)
	}
}

// answer gives every caller that waited for the job the same outcome: it
// sets the outcome in the job's wake and closes it, which wakes them all at
// once. Closing never blocks, so no caller is left behind; a caller whose
// context ended has stopped waiting and is not told.
func (j *refreshJob[T]) answer(value T, err error) {
	if w := j.wake; w != nil {
		w.value, w.err = value, err
		close(w.done)
	}
}

// waiters returns how many callers began to wait for the job so far, and
// the time they spent waiting, added up, as of now.
func (j *refreshJob[T]) waiters(now time.Time) (int, time.Duration) {
	if j.wake == nil {
		return 0, 0
	}
	return int(j.wake.waiters.Load()), j.wake.waited(now)
}

// errExpiredEntry is the outcome of a call that returned a value already
// unusable: serving it would break the model's promise.
var errExpiredEntry = errors.New("tokenactor: refresher returned a value that is already expired")

// finish ends the job whose worker reported d, installs the outcome, and
// answers the job's waiters: the new value (fresh, since a value is stored
// with a window that leaves it fresh), or the error (a new attempt is not
// due during backoff).
func (l *loop[T]) finish(d *refreshDone[T], now time.Time) {
	job := l.end(context.Canceled)
	if job.stale {
		l.retry(job, now)
		return
	}
	// Expiry is a wall-clock instant: without the monotonic reading, a
	// machine that slept past ExpiresAt compares it as passed.
	d.entry.ExpiresAt, d.entry.RefreshAt = d.entry.ExpiresAt.Round(0), d.entry.RefreshAt.Round(0)
	if d.err == nil && !d.entry.ExpiresAt.IsZero() && !now.Before(d.entry.ExpiresAt) {
		d.err = errExpiredEntry
	}
	s := &l.st
	attempt := s.attempts() + 1
	if d.err != nil {
		retryAt := now.Add(l.o.backoff.delay(attempt, d.retryAfter, rand.Float64()))
		s.failure = &failure{attempt: attempt, retryAt: retryAt, err: d.err}
		waiters, waited := job.waiters(now)
		l.emit(RefreshFailed{Op: job.op, Attempt: attempt, Err: d.err, NextRetry: retryAt, Took: now.Sub(job.started), Waiters: waiters, Waited: waited})
		var zero T
		job.answer(zero, s.err())
		return
	}
	e := d.entry
	s.entry, s.invalid, s.failure = &e, false, nil
	s.window = windowFor(&e, now, l.o.window, l.o.jitter*rand.Float64())
	l.held.Store(s.entry)
	waiters, waited := job.waiters(now)
	l.emit(RefreshSucceeded{Op: job.op, Attempt: attempt, ExpiresAt: e.ExpiresAt, Took: now.Sub(job.started), Waiters: waiters, Waited: waited})
	job.answer(e.Value, nil)
}

// retry discards the outcome of a call made stale by a Reset (it ran with
// the old credentials) and starts a fresh call for the callers that waited
// for it, if any.
func (l *loop[T]) retry(stale *refreshJob[T], now time.Time) {
	if stale.wake == nil {
		return
	}
	op := OpRefresh
	if l.st.entry == nil || (l.st.invalid && l.st.entry.Final) {
		op = OpAuthenticate
	}
	l.adopt(l.start(op, false, stale.caller, now), stale.wake)
}

// shutdown stops the cache for good: the call in flight is cancelled,
// waiting callers and queued requests get ErrClosed, the fast path is
// cleared, and Closed is the last event. It leaves the mailbox closed, so
// the loop goroutine exits next.
func (l *loop[T]) shutdown() {
	var zero T
	l.st.closed = true
	l.fast.Store(nil)
	l.timer.stop()
	job := l.end(ErrClosed)
	if job != nil {
		job.answer(zero, ErrClosed)
	}
	l.st.entry = nil
	l.held.Store(nil)
	for _, msg := range l.mb.Drain() {
		switch m := msg.(type) {
		case *getRequest[T]:
			m.answer(zero, ErrClosed)
		case invalidateRequest[T]:
			close(m.done)
		}
	}
	l.emit(Closed{Abandoned: job != nil})
}

// publish stores what the fast path may serve now, and arms the timer for
// the moment that may change.
func (l *loop[T]) publish(now time.Time) {
	var want *Entry[T]
	if !l.o.noFastPath && fastServable(&l.st, now) {
		want = l.st.entry
	}
	if l.fast.Load() != want {
		l.fast.Store(want)
	}
	if want != nil {
		l.armTimer(now, nextBoundary(&l.st, now, recheckInterval))
	}
}

// emit reports an event to the hook, if any. The hook runs isolated (see
// loop): if it panics or calls runtime.Goexit, that event is lost to it
// and the loop carries on; the hook cannot be told, since it is what
// failed.
func (l *loop[T]) emit(e Event) {
	if hook := l.o.hook; hook != nil {
		_ = actor.Isolate(func() { hook(e) })
	}
}

// timer is the loop's one wake-up timer. Firing posts timerFired; a wake-up
// that comes early or twice is harmless, since the loop re-decides from the
// clock. Owned by the loop goroutine.
type timer struct {
	t stopper // created on first use, then reused
	// at is when the pending wake-up fires; zero if none is pending. It is
	// a time.Time, not Unix nanoseconds: those wrap past April 2262, where
	// an earlier wake-up would look later and never be armed.
	at time.Time
}

// armTimer makes sure the loop is woken no later than at (zero: no need).
func (l *loop[T]) armTimer(now, at time.Time) {
	t := &l.timer
	if at.IsZero() || (!t.at.IsZero() && !at.Before(t.at)) {
		return
	}
	// Count from the clock's present, not from now: now was read when the
	// message arrived, and a timer counted from it fires late by however
	// long the loop took since.
	d := at.Sub(l.now())
	if t.t == nil {
		t.t = l.afterFunc(d, l.wake)
	} else {
		t.t.Reset(d)
	}
	t.at = at
}

// wake is the timer's callback. It runs on a goroutine of the clock's; after
// Close the post fails and it returns at once.
func (l *loop[T]) wake() { _ = l.mb.Post(timerFired{}) }

func (t *timer) fired() { t.at = time.Time{} }

func (t *timer) stop() {
	if t.t != nil {
		t.t.Stop()
	}
	t.at = time.Time{}
}

// A stopper is a timer from either clock: *time.Timer or *clock.Timer.
type stopper interface {
	Stop() bool
	Reset(d time.Duration) bool
}

// now reads the cache's clock. Without WithClock it calls time.Now directly,
// which keeps the loop's hot spots free of an interface call.
func (l *loop[T]) now() time.Time {
	if l.o.clock == nil {
		return time.Now()
	}
	return l.o.clock.Now()
}

// afterFunc arms a timer on the cache's clock. Without WithClock it uses
// time.AfterFunc, whose timer is smaller than the clock package's wrapper.
func (l *loop[T]) afterFunc(d time.Duration, f func()) stopper {
	if l.o.clock == nil {
		return time.AfterFunc(d, f)
	}
	return l.o.clock.AfterFunc(d, f)
}
