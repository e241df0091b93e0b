package store

import (
	"fmt"
	"time"

	"github.com/benbjohnson/clock"
)

// Defaults of the options of [Wrap]; each option's doc states its own.
const (
	defaultLeaseTTL     = 10 * time.Second
	defaultLeaseWait    = 40 * time.Second // above the cache's refresh timeout (30 s); see WithLease
	defaultPollMin      = 20 * time.Millisecond
	defaultPollMax      = 500 * time.Millisecond
	defaultStoreTimeout = 1 * time.Second
	defaultNoExpiryTTL  = 1 * time.Hour
)

// An Option configures [Wrap]. Options are made by the With functions of
// this package; an Option is an immutable value, safe for concurrent use
// and for reuse. Its zero value (a nil Option) is not usable: Wrap panics on
// one.
type Option interface {
	apply(*options)
}

type options struct {
	leaseTTL     time.Duration
	leaseWait    time.Duration
	pollMin      time.Duration
	pollMax      time.Duration
	storeTimeout time.Duration
	noExpiryTTL  time.Duration
	key          []byte
	clock        clock.Clock
	hook         func(Event)
}

func defaultOptions() options {
	return options{
		leaseTTL:     defaultLeaseTTL,
		leaseWait:    defaultLeaseWait,
		pollMin:      defaultPollMin,
		pollMax:      defaultPollMax,
		storeTimeout: defaultStoreTimeout,
		noExpiryTTL:  defaultNoExpiryTTL,
	}
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

func invalid(format string, args ...any) {
	panic(fmt.Sprintf("store: "+format, args...))
}

// WithLease sets how long a lease lasts (ttl) and how long a replica waits
// for the lease holder to publish before refreshing on its own (wait).
//
// Over a store that is an [Extender] (Memory and redisstore.Store are), the
// lease holder extends its lease every ttl/3 for as long as its inner
// refresher runs, so a refresh may take many times ttl without a sibling
// taking the lease. It stops when its refresh returns or its context ends
// (the cache's refresh timeout, [tokenactor.WithRefreshTimeout], 30 s by
// default), so a holder that died, or whose refresh outlived that timeout,
// frees the lease within ttl of its last extension, and a waiting replica
// then takes it. ttl should exceed a few store timeouts: the holder makes
// two store calls under the lease before its first extension. Over a store
// that is not an Extender the lease simply ends after ttl, which must then
// exceed the longest refresh.
//
// A waiting replica refreshes on its own after wait even if the holder is
// alive and still refreshing. With rotating refresh tokens (RFC 6749
// §10.4, RFC 9700 §4.14) that replays the token the holder is
// rotating, which a server detecting reuse answers by revoking the whole
// grant. So keep wait above the cache's refresh timeout: the holder's
// refresh then ends before any waiter gives up on it, and a waiter whose
// own timeout comes first fails that attempt (the cache retries) rather
// than refresh alongside. Lower it only where a second token request does
// no harm (client credentials) and a faster fallback matters more.
//
// The defaults are 10 s and 40 s. Both must be positive, or WithLease
// panics.
func WithLease(ttl, wait time.Duration) Option {
	if ttl <= 0 || wait <= 0 {
		invalid("WithLease: need positive ttl and wait, got ttl=%v wait=%v", ttl, wait)
	}
	return optionFunc(func(o *options) { o.leaseTTL, o.leaseWait = ttl, wait })
}

// WithPollInterval sets how often a waiting replica looks in the store: first
// after min, then at doubling intervals up to max. Over a [Watcher] the
// replica adopts a record the moment it is saved, and looks every max only,
// to cover a lost message or a lease holder that gave up without saving.
// The defaults are 20 ms and 500 ms. It panics unless 0 < min <= max.
func WithPollInterval(min, max time.Duration) Option {
	if min <= 0 || max < min {
		invalid("WithPollInterval: need 0 < min <= max, got min=%v max=%v", min, max)
	}
	return optionFunc(func(o *options) { o.pollMin, o.pollMax = min, max })
}

// WithStoreTimeout bounds each store call, so a slow store costs at most
// this much before the replica carries on without it. The default is 1 s.
// It must be positive, or WithStoreTimeout panics.
func WithStoreTimeout(d time.Duration) Option {
	if d <= 0 {
		invalid("WithStoreTimeout: need a positive timeout, got %v", d)
	}
	return optionFunc(func(o *options) { o.storeTimeout = d })
}

// WithNoExpiryTTL sets how long the store keeps a value that never expires
// (a zero ExpiresAt). The default is 1 h. It must be positive, or
// WithNoExpiryTTL panics.
func WithNoExpiryTTL(d time.Duration) Option {
	if d <= 0 {
		invalid("WithNoExpiryTTL: need a positive duration, got %v", d)
	}
	return optionFunc(func(o *options) { o.noExpiryTTL = d })
}

// WithEncryption seals every record with AES-GCM under key (16, 24 or 32
// bytes: AES-128, -192 or -256), with a random nonce per record and the
// store key as additional data. Records that are not sealed, or sealed under
// another key, are then refused as corrupt. Every replica needs the same
// key. Another length panics. The default is no encryption.
func WithEncryption(key []byte) Option {
	if _, err := newSealer(key); err != nil || key == nil {
		invalid("WithEncryption: need a 16, 24 or 32 byte key, got %d bytes", len(key))
	}
	k := append([]byte(nil), key...)
	return optionFunc(func(o *options) { o.key = k })
}

// WithClock sets the clock that decides whether a stored value is still
// usable and paces polling. The
// default is clock.New(). Give the cache the same clock. A nil clock panics.
func WithClock(c clock.Clock) Option {
	if c == nil {
		invalid("WithClock: nil clock")
	}
	return optionFunc(func(o *options) { o.clock = c })
}

// WithEventHook sets a function that receives every [Event]. The refresh
// calls it one event at a time, in a goroutine of its own, and waits for it
// to return, so it must return quickly. A panic or runtime.Goexit in the
// hook ends that one call: the refresh carries on, and the event is lost
// to the hook. The default is none. A nil hook panics.
func WithEventHook(hook func(Event)) Option {
	if hook == nil {
		invalid("WithEventHook: nil hook")
	}
	return optionFunc(func(o *options) { o.hook = hook })
}
