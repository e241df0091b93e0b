package tokenactor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tokenactor/tokenactor/actor"
)

// supervisor owns the goroutines of a cache: the loop, started on demand by
// the mailbox, and the worker that runs a Refresher call. Close waits on wg
// for all of them.
//
// # Panics
//
// A panic in the Refresher is recovered in the worker (see Cache.work) and
// becomes that attempt's *PanicError; the loop's state is untouched by it.
//
// A panic in the loop itself (a bug in the engine or in an event hook) is
// recovered here. The state the loop was changing cannot be trusted, so the
// supervisor answers every waiting caller (and the request being handled)
// with a *PanicError, drops the cached value and the backoff state, and runs
// the loop again on the same mailbox; a call still in flight is kept and its
// outcome installed when it arrives, so there is still at most one.
//
// runtime.Goexit in the loop (an event hook calling t.FailNow, say) cannot
// be recovered: the goroutine ends whatever happens. The supervisor then
// stops the cache for good, as below, so no message waits for a loop that
// is gone.
//
// # Restart intensity
//
// More than restartLimit restarts within restartPeriod (defaults: 5 per
// minute, see WithRestartLimit) mean the loop is failing on every message.
// Rather than spin, the supervisor then stops the cache for good: the
// mailbox is closed with ErrLoopFailed, every queued and waiting caller gets
// it, the call in flight is cancelled, and every later call fails with it at
// once. Close still works and returns when the goroutines have exited.
type supervisor struct {
	wg sync.WaitGroup

	// Owned by the loop goroutine.
	restarts *restarts // nil until the loop first panics
}

// restarts counts the loop's restarts within one restart period.
type restarts struct {
	n           int       // restarts since periodStart
	periodStart time.Time // start of the current restart period
}

// starter is the Cache seen as the mailbox's actor.Starter; a conversion,
// not an allocation, and StartLoop stays out of the Cache's API.
type starter[T any] Cache[T]

// StartLoop runs with the mailbox's lock held, so the Add happens before
// Close can observe the mailbox closed.
func (s *starter[T]) StartLoop() {
	c := (*Cache[T])(s)
	c.sup.wg.Add(1)
	go c.run()
}

// run is the loop goroutine: the loop under supervision.
func (c *Cache[T]) run() {
	var current message // the message being handled, answered if the loop panics
	returned := false
	defer func() {
		if !returned {
			// runtime.Goexit (an event hook calling t.FailNow, say) is
			// not a panic and cannot be recovered: the goroutine ends
			// whatever we do. Stop the cache for good rather than leave
			// a mailbox that believes its loop still runs.
			c.giveUp(current, &PanicError{Value: errLoopGoexit})
		}
		c.sup.wg.Done()
	}()
	for {
		p := actor.Recover(func() { c.loop(&current) })
		if p == nil {
			returned = true
			return
		}
		pe := &PanicError{Value: p.Value, Stack: p.Stack}
		if !c.sup.allowRestart(c.now(), c.o.restartLimit, c.o.restartPeriod) {
			c.giveUp(current, pe)
			returned = true
			return
		}
		c.recoverLoop(current, pe)
		current = nil
		c.emitSafely(LoopRestarted{Err: pe, Restarts: c.sup.restarts.n})
	}
}

// errLoopGoexit is the cause of a cache stopped because its loop goroutine
// called runtime.Goexit.
var errLoopGoexit = errors.New("tokenactor: runtime.Goexit called in the cache loop")

// allowRestart counts a restart at now and reports whether it is within the
// limit.
func (s *supervisor) allowRestart(now time.Time, limit int, period time.Duration) bool {
	r := s.restarts
	if r == nil {
		r = &restarts{periodStart: now}
		s.restarts = r
	}
	if now.Sub(r.periodStart) >= period {
		r.periodStart, r.n = now, 0
	}
	r.n++
	return r.n <= limit
}

// recoverLoop resets the state after the loop panicked.
func (c *Cache[T]) recoverLoop(current message, pe *PanicError) {
	var zero T
	// Withdraw the value before answering anyone: a caller answered (an
	// Invalidate above all) must not be served it afterwards. The timer's
	// bookkeeping may be torn too; publish arms it afresh.
	c.fast.Store(nil)
	c.timer.stop()
	err := fmt.Errorf("tokenactor: request dropped by a panic in the cache loop: %w", pe)
	answer(current, err)
	if job := c.job; job != nil {
		for _, req := range job.parked {
			req.reply(zero, err)
		}
		job.parked = nil
		if _, ok := current.(*refreshDone[T]); ok {
			// The worker already reported: the call is over even though
			// its outcome was lost with the panic.
			if job.timeout != nil {
				job.timeout.Stop()
			}
			job.cancel(context.Canceled)
			c.job = nil
			c.st.op = 0
		}
	}
	// Keep only what is known for sure: whether a call is in flight (its
	// worker will report) and whether the cache was closed.
	c.st = state[T]{op: c.st.op, closed: c.st.closed}
	c.held.Store(nil)
	if _, ok := current.(closeRequest); ok {
		// Close's request was lost with the panic and the mailbox is
		// closed: nothing else would finish the shutdown.
		c.shutdown(ErrClosed)
	}
}

// giveUp stops the cache for good after too many restarts.
func (c *Cache[T]) giveUp(current message, pe *PanicError) {
	c.fast.Store(nil)
	answer(current, ErrLoopFailed)
	c.mb.Close(ErrLoopFailed, closeRequest{})
	c.shutdown(ErrLoopFailed)
	c.mb.Exit()
	c.emitSafely(LoopFailed{Err: pe})
}

// answer answers the message the loop was handling when it panicked, if it
// expects an answer.
func answer(current message, err error) {
	switch m := current.(type) {
	case interface{ fail(error) }:
		m.fail(err)
	case interface{ answer() }:
		m.answer()
	}
}

// emitSafely reports an event from the supervisor, where a panicking hook
// must not take the goroutine down with it.
func (c *Cache[T]) emitSafely(e Event) {
	_ = actor.Recover(func() { c.emit(e) })
}
