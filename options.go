package tokenactor

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"
)

// DefaultRefreshWindow is the refresh window of a cache made without
// [WithRefreshWindow]. A store shared by a fleet (package store) must use
// the same window as its caches, and defaults to this one.
const DefaultRefreshWindow = 90 * time.Second

// An Option configures a [Cache]. Options are made by the With functions of
// this package; an Option is an immutable value, safe for concurrent use and
// for reuse across caches. Its zero value (a nil Option) is not usable:
// [New] panics on one.
type Option interface {
	apply(*options)
}

// options is the cache's configuration. It is written once by New and read
// only afterwards, by any goroutine.
type options struct {
	clock          clock.Clock // nil: the system clock, called directly
	window         time.Duration
	jitter         float64 // the largest fraction of the window a refresh point moves earlier
	refreshTimeout time.Duration
	backoff        backoff
	hook           func(Event)
	noFastPath     bool
}

// defaults is the configuration of a cache made without options. It is never
// written after package initialisation.
var defaults = options{
	window:         DefaultRefreshWindow,
	refreshTimeout: 30 * time.Second,
	backoff:        backoff{initial: time.Second, max: time.Minute},
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
// A value is never refreshed ahead in the first half of its lifetime
// (ExpiresAt minus the moment it was stored): one that lives less than
// twice the window gets half its lifetime as its window instead, so a 60 s
// token under the 90 s default is refreshed after 30 s and a 100 s token
// after 50 s, not on every call. An entry's RefreshAt overrides this.
func WithRefreshWindow(d time.Duration) Option {
	if d < 0 {
		invalid("WithRefreshWindow: negative window %v", d)
	}
	return optionFunc(func(o *options) { o.window = d })
}

// WithRefreshTimeout bounds each Refresher call: its context is
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
	return optionFunc(func(o *options) { o.backoff = backoff{initial: initial, max: max} })
}

// WithRefreshJitter moves each entry's refresh point earlier by a random
// fraction of its refresh window, up to frac: with the 90 s default window
// and frac 0.5, an entry is refreshed between 135 s and 90 s before it
// expires, picked anew for each entry. A thousand processes that fetched
// their tokens in the same second then spread their refreshes instead of
// hitting the token endpoint together. Jitter moves the refresh point by
// at most half the time the entry would otherwise stay fresh, so a value
// whose lifetime is short beside the window still stays fresh for at least
// a quarter of it.
//
// The default is 0: no jitter. Processes that share a store (see package
// store) need none, since the fleet makes one refresh per expiry. frac must
// be between 0 and 1, or WithRefreshJitter panics.
func WithRefreshJitter(frac float64) Option {
	if !(frac >= 0 && frac <= 1) {
		invalid("WithRefreshJitter: need 0 <= frac <= 1, got %v", frac)
	}
	return optionFunc(func(o *options) { o.jitter = frac })
}

// WithEventHook sets a function that receives every [Event] the cache
// reports. The loop calls it one event at a time and waits for it to return,
// so it must return quickly, and must not call the cache (a call that needs
// the loop would wait for itself). A panic or runtime.Goexit in
// the hook ends that one call: the cache carries on, and the event is lost
// to the hook. The default is none. A nil hook panics. [LogEvents] adapts a
// *slog.Logger.
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
		if opt == nil {
			invalid("New: nil Option")
		}
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
	jitter         float64
	refreshTimeout time.Duration
	backoff        backoff
	noFastPath     bool
}

func (o *options) key() optionsKey {
	return optionsKey{
		window: o.window, jitter: o.jitter, refreshTimeout: o.refreshTimeout,
		backoff: o.backoff, noFastPath: o.noFastPath,
	}
}
