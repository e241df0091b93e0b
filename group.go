package tokenactor

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"
)

// A Group is a keyed set of caches, one per key (a tenant, an audience, a
// client): the cache of a key is made by a factory on the key's first use,
// and closed when the group evicts it or is closed.
//
// A Group holds no goroutine per cache: an idle [Cache] holds none, and the
// group adds at most one of its own, to evict idle caches (see
// [WithIdleEviction]). A cache is never evicted while a Get on it is in
// progress, so callers waiting for its refresh are not cut off.
//
// Make a Group with [NewGroup]; the zero value is not usable. A Group is safe
// for concurrent use.
type Group[K comparable, T any] struct {
	factory func(K) (*Cache[T], error)
	o       groupOptions

	mu      sync.Mutex
	members map[K]*member[K, T] // guarded by mu
	lru     lruList[K, T]       // members, most recently used first; guarded by mu
	epoch   atomic.Uint64       // sweeps so far; written under mu, read by Gets without it
	closed  bool                // guarded by mu
	sweeper *sweeper            // the eviction goroutine; nil until needed; guarded by mu
	pending sync.WaitGroup      // caches being made or evicted outside mu; Close waits for them
}

// A member is one key's cache and its bookkeeping.
type member[K comparable, T any] struct {
	key K // the key it is stored under
	// ready is closed once cache or err is set; readers copy it under the
	// group's lock, since it is swapped for the shared closed channel then.
	ready chan struct{}
	cache *Cache[T] // set before ready is closed; nil if the factory failed
	err   error     // the factory's error; set before ready is closed

	inUse      atomic.Int32  // Gets in progress; incremented under the group's lock
	epoch      uint64        // the group's epoch at the last Get; guarded by the group's lock
	prev, next *member[K, T] // the LRU list; guarded by the group's lock
}

// closedReady is the ready channel of every member once created, so a
// member keeps no channel of its own.
var closedReady = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// A GroupOption configures a [Group]. Options are made by [WithIdleEviction],
// [WithMaxCaches] and [WithGroupClock].
type GroupOption interface {
	applyGroup(*groupOptions)
}

type groupOptions struct {
	idle  time.Duration
	max   int
	clock clock.Clock
}

type groupOptionFunc func(*groupOptions)

func (f groupOptionFunc) applyGroup(o *groupOptions) { f(o) }

// WithIdleEviction closes and forgets a key's cache once no Get has used it
// for d: it is evicted between d and 1.5·d after its last use, by one
// goroutine of the group that wakes every d/2 (started on first use,
// stopped by Close). A later Get makes a new cache. Zero, the default,
// never evicts for idleness. A negative d panics.
func WithIdleEviction(d time.Duration) GroupOption {
	if d < 0 {
		invalid("WithIdleEviction: negative duration %v", d)
	}
	return groupOptionFunc(func(o *groupOptions) { o.idle = d })
}

// WithMaxCaches bounds the number of caches: making one more evicts the
// least recently used idle cache. The bound is soft: caches with a Get in
// progress are not evicted, so while more than n keys are in use at once the
// group holds more than n caches. Zero, the default, means no bound; a
// negative n panics.
func WithMaxCaches(n int) GroupOption {
	if n < 0 {
		invalid("WithMaxCaches: negative bound %d", n)
	}
	return groupOptionFunc(func(o *groupOptions) { o.max = n })
}

// WithGroupClock sets the clock that paces idle eviction. The default is
// clock.New(); tests pass a fake clock (see package fakeclock). A nil clock
// panics.
func WithGroupClock(c clock.Clock) GroupOption {
	if c == nil {
		invalid("WithGroupClock: nil clock")
	}
	return groupOptionFunc(func(o *groupOptions) { o.clock = c })
}

// NewGroup returns an empty Group whose caches are made by factory. The
// factory is called once per key at a time, outside the group's lock, on
// the first Get of a key that has no cache; if it fails, that Get (and any
// waiting for the same key) returns its error and the next Get calls it
// again. It must not call the group. A nil factory panics.
func NewGroup[K comparable, T any](factory func(key K) (*Cache[T], error), opts ...GroupOption) *Group[K, T] {
	if factory == nil {
		invalid("NewGroup: nil factory")
	}
	var o groupOptions
	for _, opt := range opts {
		opt.applyGroup(&o)
	}
	if o.clock == nil {
		o.clock = clock.New()
	}
	return &Group[K, T]{factory: factory, o: o, members: map[K]*member[K, T]{}}
}

// Get returns the value of key's cache, making the cache first if key has
// none. It returns when [Cache.Get] does, or when ctx ends while another Get
// is making the cache. Errors: the factory's, the cache's (see Cache.Get),
// ErrClosed after Close.
func (g *Group[K, T]) Get(ctx context.Context, key K) (T, error) {
	var zero T
	m, ready, created, victims, epoch, err := g.use(key)
	if err != nil {
		return zero, err
	}
	defer g.release(m, epoch)
	if victims != nil {
		closeCaches(victims)
		g.pending.Done()
	}
	var c *Cache[T]
	switch {
	case created:
		if c, err = g.create(key, m); err != nil {
			return zero, err
		}
	case ready != nil: // another Get is making the cache
		select {
		case <-ready:
		case <-ctx.Done():
			return zero, ctx.Err()
		}
		if c, err = m.cache, m.err; c == nil {
			return zero, err
		}
	default:
		c = m.cache
	}
	return c.Get(ctx)
}

// use finds or adds key's member and counts a Get on it, all under the
// lock, so the sweeper never evicts a member between lookup and use. It
// returns the channel to wait on if the member's cache is being made (nil
// once made, when m.cache may be read without waiting), and the caches
// evicted to make room, for the caller to close outside the lock.
func (g *Group[K, T]) use(key K) (m *member[K, T], ready chan struct{}, created bool, victims []*Cache[T], epoch uint64, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, nil, false, nil, 0, ErrClosed
	}
	m = g.members[key]
	if m == nil {
		m = &member[K, T]{key: key, ready: make(chan struct{})}
		g.members[key] = m
		g.lru.pushFront(m)
		created = true
		g.pending.Add(1) // done by create
		g.startSweeper()
	} else {
		g.lru.moveToFront(m)
	}
	m.inUse.Add(1) // before evicting: m itself is now in use
	epoch = g.epoch.Load()
	m.epoch = epoch
	if created && g.o.max > 0 && len(g.members) > g.o.max {
		victims = g.evict(func(*member[K, T]) bool { return len(g.members) > g.o.max })
		if victims != nil {
			g.pending.Add(1) // done by Get once it has closed them
		}
	}
	if m.ready != closedReady {
		ready = m.ready
	}
	return m, ready, created, victims, epoch, nil
}

// release ends a Get on m that started in epoch. A Get that outlived a
// sweep (one that waited for a refresh) counts as a use when it ends, so the
// member is not evicted sooner than idle after its last use.
func (g *Group[K, T]) release(m *member[K, T], epoch uint64) {
	if g.epoch.Load() != epoch {
		g.mu.Lock()
		if !g.closed && g.members[m.key] == m {
			m.epoch = g.epoch.Load()
			g.lru.moveToFront(m)
		}
		g.mu.Unlock()
	}
	m.inUse.Add(-1)
}

// create runs the factory for a member just added, publishes the outcome
// to the Gets waiting for it, and returns the cache.
func (g *Group[K, T]) create(key K, m *member[K, T]) (*Cache[T], error) {
	defer g.pending.Done()
	c, err := g.callFactory(key)
	g.mu.Lock()
	if err == nil && g.closed {
		err = ErrClosed // Close ran meanwhile and could not see this cache
	}
	if err != nil && g.members[key] == m {
		delete(g.members, key)
		g.lru.remove(m)
	}
	m.err = err
	if err == nil {
		m.cache = c
	}
	close(m.ready)
	m.ready = closedReady
	g.mu.Unlock()
	if err != nil {
		if c != nil {
			_ = c.Close()
		}
		return nil, err
	}
	return c, nil
}

// callFactory calls the factory, turning a panic or a nil cache into an
// error so the Gets waiting for the key are answered.
func (g *Group[K, T]) callFactory(key K) (c *Cache[T], err error) {
	defer func() {
		if v := recover(); v != nil {
			c, err = nil, fmt.Errorf("tokenactor: group factory panicked: %v", v)
		}
	}()
	c, err = g.factory(key)
	if err == nil && c == nil {
		err = fmt.Errorf("tokenactor: group factory returned a nil cache")
	}
	if err != nil {
		return nil, fmt.Errorf("tokenactor: group factory: %w", err)
	}
	return c, nil
}

// Invalidate calls [Cache.Invalidate] on key's cache, if it has one.
func (g *Group[K, T]) Invalidate(key K) {
	g.mu.Lock()
	m := g.members[key]
	var c *Cache[T]
	if m != nil {
		select {
		case <-m.ready:
			c = m.cache
		default:
		}
	}
	g.mu.Unlock()
	if c != nil {
		c.Invalidate()
	}
}

// Len returns the number of caches the group holds (including any being
// made).
func (g *Group[K, T]) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.members)
}

// Close closes every cache of the group and stops its eviction goroutine.
// Gets in progress return ErrClosed (see Cache.Close), and so do later
// ones. Close returns when all caches are closed, including those still
// being made (it waits for their factory) or being evicted by a Get; it is
// idempotent and always returns nil.
func (g *Group[K, T]) Close() error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	var caches []*Cache[T]
	for _, m := range g.members {
		select {
		case <-m.ready:
			if m.cache != nil {
				caches = append(caches, m.cache)
			}
		default: // being made: create sees closed and closes it
		}
	}
	g.members = nil
	g.lru = lruList[K, T]{}
	sw := g.sweeper
	g.mu.Unlock()
	if sw != nil {
		close(sw.stop)
		<-sw.done
	}
	closeCaches(caches)
	g.pending.Wait() // caches still being made, or evicted by a Get, are closed by their Get
	return nil
}

func closeCaches[T any](cs []*Cache[T]) {
	for _, c := range cs {
		_ = c.Close()
	}
}

// evict removes idle members from the least recently used end while more
// returns true, skipping members in use, and returns their caches. mu must
// be held.
func (g *Group[K, T]) evict(more func(*member[K, T]) bool) []*Cache[T] {
	var out []*Cache[T]
	for m := g.lru.tail; m != nil; {
		prev := m.prev
		if !more(m) {
			break
		}
		if m.inUse.Load() == 0 {
			out = append(out, g.drop(m))
		}
		m = prev
	}
	return out
}

// drop removes m from the group and returns its cache. Only members not in
// use are dropped, and those are always ready. mu must be held.
func (g *Group[K, T]) drop(m *member[K, T]) *Cache[T] {
	g.lru.remove(m)
	delete(g.members, m.key)
	return m.cache
}

// A sweeper is the group's eviction goroutine.
type sweeper struct {
	stop chan struct{} // closed by Close
	done chan struct{} // closed when the goroutine exits
}

// startSweeper starts the eviction goroutine if idle eviction is on and it
// is not running. mu must be held.
func (g *Group[K, T]) startSweeper() {
	if g.o.idle <= 0 || g.sweeper != nil {
		return
	}
	sw := &sweeper{stop: make(chan struct{}), done: make(chan struct{})}
	g.sweeper = sw
	every := g.o.idle / 2
	if every <= 0 {
		every = g.o.idle // idle of 1 ns: a ticker needs a positive period
	}
	tick := g.o.clock.Ticker(every)
	go func() {
		defer close(sw.done)
		defer tick.Stop()
		for {
			select {
			case <-sw.stop:
				return
			case <-tick.C:
				g.sweep()
			}
		}
	}()
}

// sweep advances the epoch and evicts the members not used in the last
// three epochs. Sweeps come every idle/2, so a member last used in epoch e
// (between sweeps e and e+1) is evicted at sweep e+3: after at least idle
// and at most 1.5·idle without a Get.
func (g *Group[K, T]) sweep() {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return
	}
	epoch := g.epoch.Add(1)
	victims := g.evict(func(m *member[K, T]) bool { return m.epoch+3 <= epoch })
	g.mu.Unlock()
	closeCaches(victims)
}

// lruList is an intrusive doubly linked list of members.
type lruList[K comparable, T any] struct {
	head, tail *member[K, T]
}

func (l *lruList[K, T]) pushFront(m *member[K, T]) {
	m.prev, m.next = nil, l.head
	if l.head != nil {
		l.head.prev = m
	} else {
		l.tail = m
	}
	l.head = m
}

func (l *lruList[K, T]) remove(m *member[K, T]) {
	if m.prev != nil {
		m.prev.next = m.next
	} else {
		l.head = m.next
	}
	if m.next != nil {
		m.next.prev = m.prev
	} else {
		l.tail = m.prev
	}
	m.prev, m.next = nil, nil
}

func (l *lruList[K, T]) moveToFront(m *member[K, T]) {
	if l.head == m {
		return
	}
	l.remove(m)
	l.pushFront(m)
}
