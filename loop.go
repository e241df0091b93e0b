package tokenactor

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/tokenactor/tokenactor/actor"
)

// loop takes messages from the mailbox until the cache is idle (no call in
// flight, nobody waiting, nothing queued) and then exits. The next message
// starts a new loop; all state lives in c.st, so nothing is lost in between.
//
// The loop records the message it is handling in *current, so the
// supervisor can answer it if the loop panics.
func (c *Cache[T]) loop(current *message) {
	for {
		msg, ok := c.mb.Next()
		if ok {
			*current = msg
			c.handle(msg)
			*current = nil
			continue
		}
		if c.idle() && c.mb.Exit() {
			return
		}
		if !c.idle() {
			c.mb.Wait()
		}
	}
}

// idle reports whether the loop may exit: once closed, or when nothing is
// in flight and nobody waits. A closed cache's worker reports to a closed
// mailbox, so the loop need not wait for it; Close waits for it instead.
func (c *Cache[T]) idle() bool {
	return c.st.closed || c.job == nil
}

// handle processes one message and then publishes what the fast path may
// serve.
func (c *Cache[T]) handle(msg message) {
	if c.testHook != nil {
		c.testHook(msg)
	}
	now := c.now()
	switch m := msg.(type) {
	case getRequest[T]:
		c.answer(m, now)
	case invalidateRequest[T]:
		if c.st.entry != nil && (m.entry == nil || m.entry == c.st.entry) {
			c.st.invalid = true
			c.fast.Store(nil)
		}
		m.answer()
	case timerFired:
		c.timer.fired()
	case *refreshDone[T]:
		c.finish(m, now)
	case closeRequest:
		c.shutdown(ErrClosed)
	}
	if !c.st.closed {
		c.publish(now)
	}
}

// answer applies the refresh model to one Get.
func (c *Cache[T]) answer(req getRequest[T], now time.Time) {
	var zero T
	if c.st.closed {
		req.reply(zero, ErrClosed)
		return
	}
	switch decide(&c.st, now) {
	case serve:
		req.reply(c.st.entry.Value, nil)
	case serveAndRefresh:
		c.start(OpRefresh, true, now)
		req.reply(c.st.entry.Value, nil)
	case wait:
		c.job.parked = append(c.job.parked, req)
	case authenticate:
		c.start(OpAuthenticate, false, now)
		c.job.parked = append(c.job.parked, req)
	case refresh:
		c.start(OpRefresh, false, now)
		c.job.parked = append(c.job.parked, req)
	case fail:
		req.reply(zero, c.st.err())
	}
}

// A refreshJob is the Refresher call in flight, and the callers waiting for
// it: callers wait only while a call is in flight, so an idle cache keeps
// neither. The loop owns it.
type refreshJob[T any] struct {
	parked  []getRequest[T]
	cancel  context.CancelCauseFunc
	timeout stopper // cancels the call after the refresh timeout; nil without one
	started time.Time
}

// errGoexit is the outcome of a Refresher that called runtime.Goexit.
var errGoexit = errors.New("tokenactor: refresher called runtime.Goexit")

// start runs one Authenticate or Refresh call in a worker goroutine. The
// call gets a context of its own, never a caller's: it ends at the refresh
// timeout or at Close.
func (c *Cache[T]) start(op Op, background bool, now time.Time) {
	// Report first: if the hook panics, no call is left registered without
	// a worker to report its outcome.
	c.emit(RefreshStarted{Op: op, Attempt: c.st.attempts() + 1, Background: background})
	ctx, cancel := context.WithCancelCause(context.Background())
	job := &refreshJob[T]{cancel: cancel, started: now}
	if d := c.o.refreshTimeout; d > 0 {
		job.timeout = c.afterFunc(d, func() { cancel(ErrRefreshTimeout) })
	}
	c.job = job
	c.st.op = op
	var previous *Entry[T]
	if op == OpRefresh {
		e := *c.st.entry // a copy: the refresher may keep or change it
		previous = &e
	}
	c.sup.wg.Add(1) // the loop holds a count, so this Add cannot race with Close's Wait
	go c.work(ctx, op, previous)
}

// work is the worker goroutine: it makes one Refresher call and reports
// the outcome to the loop, even if the refresher panics or calls
// runtime.Goexit.
func (c *Cache[T]) work(ctx context.Context, op Op, previous *Entry[T]) {
	defer c.sup.wg.Done()
	done := &refreshDone[T]{op: op, err: errGoexit}
	defer func() { _ = c.mb.Post(done) }() // fails only after Close, when nobody needs it
	p := actor.Recover(func() {
		done.entry, done.err = c.r.Refresh(ctx, previous)
	})
	if p != nil {
		done.panic = p
		done.err = &PanicError{Value: p.Value, Stack: p.Stack}
	}
	if done.err != nil && errors.Is(context.Cause(ctx), ErrRefreshTimeout) && !errors.Is(done.err, ErrRefreshTimeout) {
		done.err = fmt.Errorf("%w: %w", ErrRefreshTimeout, done.err)
	}
}

// errExpiredEntry is the outcome of a call that returned a value already
// unusable: serving it would break the model's promise.
var errExpiredEntry = errors.New("tokenactor: refresher returned a value that is already expired")

// finish installs the outcome of the call in flight and answers the callers
// that waited for it.
func (c *Cache[T]) finish(d *refreshDone[T], now time.Time) {
	job := c.job
	if job != nil {
		if job.timeout != nil {
			job.timeout.Stop()
		}
		job.cancel(context.Canceled)
		d.took = now.Sub(job.started)
	}
	// Expiry is a wall-clock instant: without the monotonic reading, a
	// machine that slept past ExpiresAt compares it as passed.
	d.entry.ExpiresAt, d.entry.RefreshAt = d.entry.ExpiresAt.Round(0), d.entry.RefreshAt.Round(0)
	if d.err == nil && !d.entry.ExpiresAt.IsZero() && !now.Before(d.entry.ExpiresAt) {
		d.err = errExpiredEntry
	}
	// The job stays registered while the hook runs: if it panics, the
	// supervisor still finds the waiting callers and answers them.
	if d.panic != nil {
		c.emit(PanicRecovered{Op: d.op, Err: &PanicError{Value: d.panic.Value, Stack: d.panic.Stack}})
	}
	s := &c.st
	if d.err == nil {
		e := d.entry
		attempt := s.attempts() + 1
		s.entry, s.window, s.invalid, s.failure = &e, windowFor(&e, now, c.o.window), false, nil
		c.held.Store(s.entry)
		c.emit(RefreshSucceeded{Op: d.op, Attempt: attempt, ExpiresAt: e.ExpiresAt, Took: d.took})
	} else {
		attempt := s.attempts() + 1
		retryAt := now.Add(backoffDelay(c.o.backoffInitial, c.o.backoffMax, attempt, d.err, rand.Float64()))
		s.failure = &failure{attempt: attempt, retryAt: retryAt, err: d.err}
		c.emit(RefreshFailed{Op: d.op, Attempt: attempt, Err: d.err, NextRetry: retryAt})
	}
	c.job, s.op = nil, 0
	if job == nil {
		return
	}
	// Everyone who waited gets the outcome: the new value (fresh, since a
	// value is stored with a window that leaves it fresh), or the error
	// (a new attempt is not due during backoff). Replies cannot block or
	// call out, so no caller is left behind.
	var zero T
	for _, req := range job.parked {
		if d.err == nil {
			req.reply(s.entry.Value, nil)
		} else {
			req.reply(zero, s.err())
		}
	}
}

// shutdown stops the cache for good: the call in flight is cancelled,
// waiting callers and queued requests get err, and the fast path is
// cleared. It leaves the mailbox closed, so the loop exits next.
func (c *Cache[T]) shutdown(err error) {
	var zero T
	c.st.closed = true
	c.fast.Store(nil)
	c.timer.stop()
	if job := c.job; job != nil {
		if job.timeout != nil {
			job.timeout.Stop()
		}
		job.cancel(err)
		for _, req := range job.parked {
			req.reply(zero, err)
		}
		job.parked = nil
	}
	c.st.entry = nil
	c.held.Store(nil)
	for _, msg := range c.mb.Drain() {
		switch m := msg.(type) {
		case getRequest[T]:
			m.reply(zero, err)
		case invalidateRequest[T]:
			m.answer()
		}
	}
}

// publish stores what the fast path may serve now, and arms the timer for
// the moment that may change.
func (c *Cache[T]) publish(now time.Time) {
	var want *Entry[T]
	if !c.o.noFastPath && !c.st.closed && fastServable(&c.st, now) {
		want = c.st.entry
	}
	if c.fast.Load() != want {
		c.fast.Store(want)
	}
	if want != nil {
		c.armTimer(now, nextBoundary(&c.st, now, c.o.recheck))
	}
}

// emit reports an event to the hook, if any.
func (c *Cache[T]) emit(e Event) {
	if c.o.hook != nil {
		c.o.hook(e)
	}
}

// timer is the loop's one wake-up timer. Firing posts timerFired; a wake-up
// that comes early or twice is harmless, since the loop re-decides from the
// clock. Owned by the loop.
type timer struct {
	t  stopper // created on first use, then reused
	at int64   // when the pending wake-up fires, in Unix nanoseconds; 0 if none is pending
}

// armTimer makes sure the loop is woken no later than at (zero: no need).
func (c *Cache[T]) armTimer(now, at time.Time) {
	t := &c.timer
	if at.IsZero() || (t.at != 0 && t.at <= at.UnixNano()) {
		return
	}
	// Count from the clock's present, not from now: now was read when the
	// message arrived, and a timer counted from it fires late by however
	// long the loop took since.
	d := at.Sub(c.now())
	if t.t == nil {
		t.t = c.afterFunc(d, c.wake)
	} else {
		t.t.Reset(d)
	}
	t.at = at.UnixNano()
}

// wake is the timer's callback. It runs on a goroutine of the clock's; after
// Close the post fails and it returns at once.
func (c *Cache[T]) wake() { _ = c.mb.Post(timerFired{}) }

func (t *timer) fired() { t.at = 0 }

// A stopper is a timer from either clock: *time.Timer or *clock.Timer.
type stopper interface {
	Stop() bool
	Reset(d time.Duration) bool
}

// now reads the cache's clock. Without WithClock it calls time.Now directly,
// which keeps the loop's hot spots free of an interface call.
func (c *Cache[T]) now() time.Time {
	if c.o.clock == nil {
		return time.Now()
	}
	return c.o.clock.Now()
}

// afterFunc arms a timer on the cache's clock. Without WithClock it uses
// time.AfterFunc, whose timer is smaller than the clock package's wrapper.
func (c *Cache[T]) afterFunc(d time.Duration, f func()) stopper {
	if c.o.clock == nil {
		return time.AfterFunc(d, f)
	}
	return c.o.clock.AfterFunc(d, f)
}

func (t *timer) stop() {
	if t.t != nil {
		t.t.Stop()
	}
	t.at = 0
}
