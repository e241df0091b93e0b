package tokenactor

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"
)

// Defaults of the engine's options.
const (
	DefaultRefreshWindow   = 90 * time.Second
	DefaultRefreshTimeout  = 30 * time.Second
	DefaultBackoffInitial  = 1 * time.Second
	DefaultBackoffMax      = 60 * time.Second
	DefaultRecheckInterval = 30 * time.Second
	DefaultRestartLimit    = 5
	DefaultRestartPeriod   = 1 * time.Minute

	// maxRetryAfter bounds a server-requested delay, so a hostile or
	// mistaken Retry-After cannot stop a cache for days.
	maxRetryAfter = 10 * time.Minute
	// backoffJitter is the fraction by which each backoff delay varies at
	// random (±20%), so a fleet of caches does not retry in lockstep.
	backoffJitter = 0.2
)

// An Option configures a [Cache]. Options are made by the With functions of
// this package.
type Option interface {
	apply(*options)
}

// options is the cache's configuration. It is written once by New and read
// only afterwards, by any goroutine.
type options struct {
	clock          clock.Clock // nil: the system clock, called directly
	window         time.Duration
	refreshTimeout time.Duration
	backoffInitial time.Duration
	backoffMax     time.Duration
	recheck        time.Duration
	restartLimit   int
	restartPeriod  time.Duration
	hook           func(Event)
	noFastPath     bool
}

// defaults is the configuration of a cache made without options. It is never
// written after package initialisation.
var defaults = options{
	window:         DefaultRefreshWindow,
	refreshTimeout: DefaultRefreshTimeout,
	backoffInitial: DefaultBackoffInitial,
	backoffMax:     DefaultBackoffMax,
	recheck:        DefaultRecheckInterval,
	restartLimit:   DefaultRestartLimit,
	restartPeriod:  DefaultRestartPeriod,
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// invalid panics with a message naming the option: a misconfigured cache is
// a programming error, found on the first run.
func invalid(format string, args ...any) {
	panic(fmt.Sprintf("tokenactor: "+format, args...))
}

// WithClock sets the clock the cache reads time from and arms its timers on.
// The default is clock.New(), the system clock. Tests pass a fake clock (see
// package fakeclock). A nil clock panics.
func WithClock(c clock.Clock) Option {
	if c == nil {
		invalid("WithClock: nil clock")
	}
	return optionFunc(func(o *options) { o.clock = c })
}

// WithRefreshWindow sets how long before ExpiresAt a value counts as expired
// and is refreshed in the background while still served. The default is 90 s.
// Zero disables refreshing ahead: a value is renewed only once unusable, and
// callers wait for it. A negative window panics.
//
// A value whose whole lifetime (ExpiresAt minus the moment it was stored) is
// not longer than the window gets half its lifetime as its window instead, so
// a 60 s token under the 90 s default is refreshed after 30 s, not on every
// call.
func WithRefreshWindow(d time.Duration) Option {
	if d < 0 {
		invalid("WithRefreshWindow: negative window %v", d)
	}
	return optionFunc(func(o *options) { o.window = d })
}

// WithRefreshTimeout bounds each Authenticate or Refresh call: its context is
// cancelled after d (measured on the cache's clock) and the attempt fails
// with an error wrapping ErrRefreshTimeout. The default is 30 s. Zero means
// no limit; a negative value panics.
func WithRefreshTimeout(d time.Duration) Option {
	if d < 0 {
		invalid("WithRefreshTimeout: negative timeout %v", d)
	}
	return optionFunc(func(o *options) { o.refreshTimeout = d })
}

// WithBackoff sets the delay between failed attempts. After the n-th
// consecutive failure the next attempt waits initial·2ⁿ⁻¹, capped at max,
// varied at random by ±20%. If the error asks for a longer delay (an error in
// its chain has a method RetryAfter() time.Duration, as HTTP 429 and 503
// answers do), that delay is used instead, up to 10 minutes. While waiting, a
// usable value is still served; callers of an unusable one get the last error
// at once. The defaults are 1 s and 60 s. initial must be positive and max
// at least initial, or WithBackoff panics.
func WithBackoff(initial, max time.Duration) Option {
	if initial <= 0 || max < initial {
		invalid("WithBackoff: need 0 < initial <= max, got initial=%v max=%v", initial, max)
	}
	return optionFunc(func(o *options) { o.backoffInitial, o.backoffMax = initial, max })
}

// WithRecheckInterval sets the longest time the cache trusts a decision made
// from the clock without reading it again. Timers drive the lock-free fast
// path of Get; they measure elapsed time, so a wall-clock step or a machine
// that slept is noticed at the latest after d. The default is 30 s. It must
// be positive, or WithRecheckInterval panics.
func WithRecheckInterval(d time.Duration) Option {
	if d <= 0 {
		invalid("WithRecheckInterval: need a positive interval, got %v", d)
	}
	return optionFunc(func(o *options) { o.recheck = d })
}

// WithRestartLimit sets how often the cache's loop may panic and restart:
// more than n restarts within period stop the cache for good with
// ErrLoopFailed instead of spinning. The defaults are 5 restarts per minute.
// n must not be negative and period must be positive, or WithRestartLimit
// panics; n = 0 stops the cache at the first panic of its loop.
func WithRestartLimit(n int, period time.Duration) Option {
	if n < 0 || period <= 0 {
		invalid("WithRestartLimit: need n >= 0 and period > 0, got n=%d period=%v", n, period)
	}
	return optionFunc(func(o *options) { o.restartLimit, o.restartPeriod = n, period })
}

// WithEventHook sets a function that receives every [Event] the cache
// reports. It is called from the cache's loop goroutine, one event at a time:
// it must return quickly and must not call the cache. The default is none.
// A nil hook panics. [LogEvents] adapts a *slog.Logger.
func WithEventHook(hook func(Event)) Option {
	if hook == nil {
		invalid("WithEventHook: nil hook")
	}
	return optionFunc(func(o *options) { o.hook = hook })
}

// WithoutFastPath sends every Get through the loop's mailbox, even for a
// fresh value. It exists to measure what the actor costs and what the
// lock-free fast path buys; behaviour is otherwise the same.
func WithoutFastPath() Option {
	return optionFunc(func(o *options) { o.noFastPath = true })
}

// ClockOf returns the clock a Cache made with opts reads: the one given by
// WithClock, or the system clock. Strategies use it to turn a relative
// lifetime into ExpiresAt on the cache's own clock.
func ClockOf(opts ...Option) clock.Clock {
	o := defaults
	for _, opt := range opts {
		opt.apply(&o)
	}
	if o.clock == nil {
		return clock.New()
	}
	return o.clock
}

// configure applies opts to the defaults and returns the configuration.
//
// Options are read-only once made, so caches configured alike share one
// value: a process with many caches (one per tenant, say) made with the same
// options keeps one copy, not one per cache. Only configurations on the
// system clock and without a hook are shared (functions, and clocks of any
// type, cannot always be compared), and at most maxSharedOptions distinct
// ones, so the table cannot grow without bound.
func configure(opts []Option) *options {
	if len(opts) == 0 {
		return &defaults
	}
	o := defaults
	for _, opt := range opts {
		opt.apply(&o)
	}
	if o.hook != nil || o.clock != nil {
		return &o
	}
	key := o.key()
	if shared, ok := sharedOptions.Load(key); ok {
		return shared.(*options)
	}
	if sharedCount.Add(1) > maxSharedOptions {
		return &o
	}
	shared, _ := sharedOptions.LoadOrStore(key, &o)
	return shared.(*options)
}

// maxSharedOptions bounds the table of shared configurations.
const maxSharedOptions = 256

var (
	sharedOptions sync.Map     // optionsKey -> *options; entries are never removed or changed
	sharedCount   atomic.Int32 // attempts to add to sharedOptions
)

// optionsKey is what a shared configuration may differ in.
type optionsKey struct {
	window         time.Duration
	refreshTimeout time.Duration
	backoffInitial time.Duration
	backoffMax     time.Duration
	recheck        time.Duration
	restartLimit   int
	restartPeriod  time.Duration
	noFastPath     bool
}

func (o *options) key() optionsKey {
	return optionsKey{
		window: o.window, refreshTimeout: o.refreshTimeout,
		backoffInitial: o.backoffInitial, backoffMax: o.backoffMax, recheck: o.recheck,
		restartLimit: o.restartLimit, restartPeriod: o.restartPeriod, noFastPath: o.noFastPath,
	}
}
