// Package fakeclock is a clock that tests move by hand, for code that takes
// a github.com/benbjohnson/clock Clock: give it to a cache with
// tokenactor.WithClock (and to a strategy's config Clock, or store.WithClock),
// then move it to a refresh window or past an expiry and assert on what Get
// does, without sleeping.
//
// A [Clock] starts at [Start] and moves only when the test moves it. Timers
// fire in order as it moves. [Clock.Jump] moves the wall clock without firing
// timers, the way a wall-clock step or a suspended machine looks to a
// program whose timers measure elapsed time.
//
// Inside a testing/synctest bubble, create the clock within the bubble and
// call synctest.Wait after moving it: every goroutine woken by a timer has
// then run as far as it can, and the test can assert on a settled state.
package fakeclock

import (
	"fmt"
	"sync"
	"time"

	"github.com/benbjohnson/clock"
)

// Start is the instant a new Clock reads: 2000-01-01 00:00:00 UTC, the same
// instant a testing/synctest bubble starts at.
var Start = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// A Clock is a fake clock.Clock. It builds on *clock.Mock, whose timers are
// the only ones clock.Clock's concrete *clock.Timer can stop and reset.
//
// Create one with [New]; the zero value is not usable. Reading the time and
// making timers is safe for concurrent use; moving the clock (Add, Set,
// AdvanceTo, Jump) must be done by one goroutine at a time.
type Clock struct {
	*clock.Mock

	mu   sync.Mutex
	skew time.Duration // how far Now is ahead of the timers' time; guarded by mu
}

var _ clock.Clock = (*Clock)(nil)

// New returns a Clock reading [Start].
func New() *Clock {
	m := clock.NewMock()
	m.Set(Start)
	return &Clock{Mock: m}
}

// At returns Start + d, for writing instants in tests as offsets.
func At(d time.Duration) time.Time { return Start.Add(d) }

// Now returns the current fake wall time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	skew := c.skew
	c.mu.Unlock()
	return c.Mock.Now().Add(skew)
}

// Since returns the fake time elapsed since t.
func (c *Clock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

// Until returns the fake time until t.
func (c *Clock) Until(t time.Time) time.Duration { return t.Sub(c.Now()) }

// AdvanceTo moves the clock forward until Now reads t, firing in order every
// timer due by then. It panics if t is before Now: time does not run
// backwards here (use Jump for a wall-clock step).
func (c *Clock) AdvanceTo(t time.Time) {
	now := c.Now()
	if t.Before(now) {
		panic(fmt.Sprintf("fakeclock: AdvanceTo(%v) is before now (%v)", t, now))
	}
	c.Add(t.Sub(now))
}

// Jump moves the wall clock (Now, Since, Until) by d, forward or back,
// without moving the timers: a timer due in a minute is still due in a
// minute. It models a wall-clock step, or a machine that slept while its
// elapsed-time timers stood still.
func (c *Clock) Jump(d time.Duration) {
	c.mu.Lock()
	c.skew += d
	c.mu.Unlock()
}
