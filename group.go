package tokenactor

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"
)

// A Group is a keyed set of caches, one per key (a tenant, an audience, a
// client): the cache of a key is made by a factory on the key's first use,
// and closed when the group evicts it or is closed.
//
// Get on a key whose cache holds a fresh value takes no lock, allocates
// nothing and writes no memory shared with other keys: it looks the key up in
// a hash table that readers load through an atomic pointer, then reads the
// cache's fast path. Making, evicting and closing caches take the group's
// lock (see docs/performance.md, "The keyed path").
//
// A Group holds no goroutine per cache: an idle [Cache] holds none, and the
// group adds at most one of its own, to evict idle caches (see
// [WithIdleEviction]). A cache is never closed by eviction while a Get waits
// on it, so callers waiting for its refresh are not cut off; a Get that finds
// its key's cache evicted just before it could use it makes a new one.
// [WithGroupEventHook] reports each eviction and each failure of the
// factory.
//
// Make a Group with [NewGroup]; the zero value is not usable. A Group is safe
// for concurrent use.
type Group[K comparable, T any] struct {
	// Read by every Get; written only under mu, and rarely.
	table atomic.Pointer[table[K, T]] // the members by key; replaced, or written slot by slot, under mu
	clock atomic.Uint64               // recency clock: advanced under mu by each cache made and each sweep
	seed  maphash.Seed
	tomb  *member[K, T] // marks a slot whose member was removed; never a real member

	factory func(K) (*Cache[T], error)
	o       groupOptions

	// The rest is written by the Gets that make caches, by the sweeper and by
	// Close. The pad keeps those writes off the cache line the readers load.
	_       [64]byte
	mu      sync.Mutex
	list    []*member[K, T] // every member in the table, for sweeps and samples; guarded by mu
	marks   [3]uint64       // the clock at the last three sweeps, newest first; guarded by mu
	closed  atomic.Bool     // written under mu by Close; read anywhere
	over    atomic.Bool     // more caches than the bound could be evicted down to; written under mu
	sweeps  atomic.Uint64   // sweeps so far; written by the sweeper
	sweeper *sweeper        // the eviction goroutine; nil until needed; guarded by mu
	pending sync.WaitGroup  // caches being made, or evicted by a Get outside mu; Close waits for them
	events  *groupEvents    // delivers events to the hook; nil without one
}

// A member is one key's cache and its bookkeeping.
type member[K comparable, T any] struct {
	key  K      // the key it is stored under; immutable
	hash uint64 // the hash of key; immutable

	// cache is set once the factory has returned it; never changed after.
	cache atomic.Pointer[Cache[T]]
	// making is the factory call's outcome while it runs, and after it
	// failed; nil once cache is set.
	making atomic.Pointer[making]
	// state counts the Gets holding the member (those that may wait on its
	// cache), plus evicted once the group has evicted it. Eviction sets
	// evicted only when the count is zero; a Get that finds it set lets go
	// and looks the key up again.
	state atomic.Int64
	// seen is the group's clock at the member's last use. Gets raise it only
	// when the clock has moved, so a hot key is written once per tick, not
	// once per Get.
	seen atomic.Uint64

	index int // position in the group's list; guarded by the group's lock
}

// evicted is the bit of member.state set by eviction.
const evicted = 1 << 62

// making is the factory call for a member.
type making struct {
	done chan struct{} // closed when the factory has returned (or panicked, or exited)
	err  error         // why no cache was made; written before done is closed
}

// errFactoryGoexit is the outcome of a factory that called runtime.Goexit.
var errFactoryGoexit = errors.New("tokenactor: group factory called runtime.Goexit")

// errNilCache is the outcome of a factory that returned neither a cache
// nor an error.
var errNilCache = errors.New("tokenactor: group factory returned a nil cache")

// A GroupOption configures a [Group]. Options are made by [WithIdleEviction],
// [WithMaxCaches], [WithGroupClock] and [WithGroupEventHook].
type GroupOption interface {
	applyGroup(*groupOptions)
}

type groupOptions struct {
	idle  time.Duration
	max   int
	clock clock.Clock
	hook  func(GroupEvent)
}

type groupOptionFunc func(*groupOptions)

func (f groupOptionFunc) applyGroup(o *groupOptions) { f(o) }

// WithIdleEviction closes and forgets a key's cache once no Get has used it
// for d: it is evicted between d and 1.5·d after its last use, by one
// goroutine of the group that wakes every d/2 (started on first use,
// stopped by Close). A later Get makes a new cache. Zero, the default,
// never evicts for idleness. A negative d panics.
//
// A Get marks its key's cache used by raising a per-cache stamp once per
// half period at most; the group keeps no list ordered by use.
func WithIdleEviction(d time.Duration) GroupOption {
	if d < 0 {
		invalid("WithIdleEviction: negative duration %v", d)
	}
	return groupOptionFunc(func(o *groupOptions) { o.idle = d })
}

// WithMaxCaches bounds the number of caches: making one more evicts another,
// the least recently used of a sample of 16 (of all of them while the group
// holds at most 17). The count is exact, the choice approximate: uses
// between two caches made (or two idle sweeps) count as simultaneous, and
// in a larger group the cache evicted is the oldest of the sample, not of
// the group.
//
// The bound is soft: caches a Get is waiting on are not evicted, so while
// more than n keys are waited on at once the group holds more than n
// caches; the excess is evicted when those Gets end. Zero, the default,
// means no bound; a negative n panics.
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

// WithGroupEventHook sets a function that receives every [GroupEvent] the
// group reports: each cache it evicts, and each key its factory failed to
// make a cache for. The default is none. A nil hook panics.
//
// The hook runs in a goroutine of the group's, one event at a time, in
// the order the events were posted: an eviction once the evicted cache's
// Close has returned, a factory failure once the Gets waiting for that
// cache have been answered. Events posted by different goroutines at about
// the same time may come in either order, even for one key. No Get waits
// for the hook, nor does the group hold its lock while it runs: the hook
// may call the group's Get, Len or Invalidate, but not Close (Close waits
// for the hook). Events wait for a slow hook in a queue without bound; a
// hook that never returns keeps them all, and Close waits for it.
//
// A panic or runtime.Goexit in the hook ends that one call: the group
// carries on, and the event is lost to the hook. [Group.Close] reports
// nothing for the caches it closes, and returns once the hook has returned
// for every event posted before.
func WithGroupEventHook(hook func(GroupEvent)) GroupOption {
	if hook == nil {
		invalid("WithGroupEventHook: nil hook")
	}
	return groupOptionFunc(func(o *groupOptions) { o.hook = hook })
}

// NewGroup returns an empty Group whose caches are made by factory. The
// factory is called once per key at a time, outside the group's lock, on
// the first Get of a key that has no cache; if it fails, panics or calls
// runtime.Goexit, that Get (and any waiting for the same key) returns an
// error and the next Get calls it again. It must not call the group. A nil
// factory panics.
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
	g := &Group[K, T]{
		seed:    maphash.MakeSeed(),
		tomb:    new(member[K, T]),
		factory: factory,
		o:       o,
	}
	if o.hook != nil {
		g.events = newGroupEvents(o.hook)
	}
	g.table.Store(newTable[K, T](0))
	return g
}

// Get returns the value of key's cache, making the cache first if key has
// none. It returns when [Cache.Get] does, or when ctx ends while another Get
// is making the cache. Errors: the factory's, the cache's (see Cache.Get),
// ErrClosed after Close.
//
// Get of a fresh value on a key that has a cache takes no lock and does not
// allocate, for keys that hold no pointers other than strings (a key with
// other pointers is moved to the heap to be hashed).
func (g *Group[K, T]) Get(ctx context.Context, key K) (T, error) {
	h := maphash.Comparable(g.seed, key)
	s, m := g.table.Load().lookup(key, h, g.tomb)
	if s != nil {
		// Everything but the cache's snapshot is read from the slot: the
		// member's own memory is written and read only when the clock moves.
		if c := s.c.Load(); c != nil {
			if e := c.l.fast.Load(); e != nil {
				if now := g.clock.Load(); s.seen.Load() != uint32(now) {
					s.seen.Store(uint32(now))
					raise(&m.seen, now)
				}
				return e.Value, nil
			}
		}
	}
	return g.get(ctx, key, h, m)
}

// touch records a use of m: it raises m.seen to the group's clock.
func (g *Group[K, T]) touch(m *member[K, T]) {
	raise(&m.seen, g.clock.Load())
}

// raise sets *stamp to now unless it is already as late, writing it only if
// it changes.
func raise(stamp *atomic.Uint64, now uint64) {
	for {
		seen := stamp.Load()
		if seen >= now || stamp.CompareAndSwap(seen, now) {
			return
		}
	}
}

// get is the slow path of Get, given what the fast path found (nil if
// nothing): hold key's member (making it if there is none), wait for its
// cache if it is being made, and ask the cache.
func (g *Group[K, T]) get(ctx context.Context, key K, h uint64, found *member[K, T]) (T, error) {
	m, created, err := g.hold(key, h, found)
	if err != nil {
		var zero T
		return zero, err
	}
	return g.use(ctx, m, created)
}

// hold holds found, key's member as the fast path saw it (counts a Get on
// it), or else finds or adds key's member under the lock and holds it; the
// caller must make the cache of a member created. A member evicted before it
// could be held is gone from the table once the lock is taken, so a Get
// racing eviction makes a new cache.
func (g *Group[K, T]) hold(key K, h uint64, found *member[K, T]) (_ *member[K, T], created bool, err error) {
	if found != nil {
		if found.state.Add(1)&evicted == 0 {
			return found, false, nil
		}
		found.state.Add(-1)
	}
	var m *member[K, T]
	g.mu.Lock()
	if g.closed.Load() {
		g.mu.Unlock()
		return nil, false, ErrClosed
	}
	if m = g.table.Load().find(key, h, g.tomb); m != nil {
		// Members in the table are never evicted: eviction removes them
		// under mu.
		m.state.Add(1)
		g.mu.Unlock()
		return m, false, nil
	}
	m = &member[K, T]{key: key, hash: h}
	m.making.Store(&making{done: make(chan struct{})})
	m.state.Store(1)
	// The clock moves after the stamp: a Get of another key from now on is
	// later than this cache's making.
	m.seen.Store(g.clock.Add(1) - 1)
	g.insert(m)
	g.pending.Add(1) // done by create
	g.startSweeper()
	victims := g.enforceBound()
	if victims != nil {
		g.pending.Add(1) // done below, once they are closed
	}
	g.mu.Unlock()
	if victims != nil {
		g.dispose(victims, EvictedMaxCaches)
		g.pending.Done()
	}
	return m, true, nil
}

// use runs a Get on m, which it holds, and lets go of it when done: it makes
// the cache if created, or waits for it to be made, and asks it for the value.
func (g *Group[K, T]) use(ctx context.Context, m *member[K, T], created bool) (T, error) {
	var zero T
	defer g.release(m, created, g.sweeps.Load())
	if created {
		g.create(m)
	}
	c := m.cache.Load()
	if c == nil {
		mk := m.making.Load()
		if mk != nil {
			select {
			case <-mk.done:
			case <-ctx.Done():
				return zero, ctx.Err()
			}
		}
		if c = m.cache.Load(); c == nil {
			return zero, mk.err // the cache is set before making is cleared, so mk is not nil
		}
	}
	return c.Get(ctx)
}

// release lets go of m at the end of a Get that began at sweep. The end of
// a Get counts as a use of m, so a Get that waited long keeps its cache from
// idle eviction for the full period after it returns; the Get that made m
// stamped it already, unless a sweep came meanwhile. If the group holds more
// caches than its bound, release evicts down to it.
func (g *Group[K, T]) release(m *member[K, T], created bool, sweep uint64) {
	if !created || g.sweeps.Load() != sweep {
		g.touch(m)
	}
	m.state.Add(-1)
	if !g.over.Load() {
		return
	}
	g.mu.Lock()
	var victims []*member[K, T]
	if !g.closed.Load() {
		victims = g.enforceBound()
	}
	if victims == nil {
		g.mu.Unlock()
		return
	}
	g.pending.Add(1) // so Close waits for them
	g.mu.Unlock()
	g.dispose(victims, EvictedMaxCaches)
	g.pending.Done()
}

// create calls the factory for m and publishes the outcome to the Gets
// waiting for it. A factory that panics or calls runtime.Goexit fails
// the member like one that returns an error; Goexit then goes on ending the
// calling goroutine.
func (g *Group[K, T]) create(m *member[K, T]) {
	defer g.pending.Done()
	var c *Cache[T]
	err := errFactoryGoexit // unless the factory returns
	defer func() { g.publish(m, c, err) }()
	c, err = g.callFactory(m.key)
}

// publish records the cache made for m, or err, and answers the Gets
// waiting for it. A failed member leaves the group, so the next Get of its
// key calls the factory again; the failure is reported, but not a cache
// made while Close ran (Close discards it).
func (g *Group[K, T]) publish(m *member[K, T], c *Cache[T], err error) {
	mk := m.making.Load()
	failed := err
	g.mu.Lock()
	if err == nil && g.closed.Load() {
		err = ErrClosed // Close ran meanwhile and could not see this cache
	}
	if err != nil {
		if !g.closed.Load() {
			g.remove(m)
		}
		mk.err = err
	} else {
		m.cache.Store(c)
		g.table.Load().setCache(m, c)
	}
	g.mu.Unlock()
	close(mk.done)
	if failed != nil && g.events != nil {
		g.events.post(FactoryFailed{Key: m.key, Err: failed})
	}
	if err != nil {
		if c != nil {
			_ = c.Close()
		}
		return
	}
	m.making.Store(nil)
}

// callFactory calls the factory, turning a panic or a nil cache into an
// error so the Gets waiting for the key are answered.
func (g *Group[K, T]) callFactory(key K) (c *Cache[T], err error) {
	defer func() {
		if v := recover(); v != nil {
			c, err = nil, fmt.Errorf("tokenactor: group factory: %w", &PanicError{Value: v, Stack: debug.Stack()})
		}
	}()
	c, err = g.factory(key)
	switch {
	case err != nil:
		return nil, fmt.Errorf("tokenactor: group factory: %w", err)
	case c == nil:
		return nil, errNilCache
	}
	return c, nil
}

// Invalidate calls [Cache.Invalidate] on key's cache, if it has one.
func (g *Group[K, T]) Invalidate(key K) {
	if c := g.cache(key); c != nil {
		c.Invalidate()
	}
}

// InvalidateIf calls [Cache.InvalidateIf] on key's cache, if it has one:
// the value is dropped only if rejected reports true for it and it is
// still the one held.
func (g *Group[K, T]) InvalidateIf(key K, rejected func(current T) bool) {
	if c := g.cache(key); c != nil {
		c.InvalidateIf(rejected)
	}
}

// cache returns key's cache, or nil if it has none (yet).
func (g *Group[K, T]) cache(key K) *Cache[T] {
	m := g.table.Load().find(key, maphash.Comparable(g.seed, key), g.tomb)
	if m == nil {
		return nil
	}
	return m.cache.Load()
}

// Len returns the number of caches the group holds (including any being
// made).
func (g *Group[K, T]) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.list)
}

// Close closes every cache of the group and stops its eviction goroutine.
// Gets in progress return ErrClosed (see Cache.Close), and so do later
// ones. Close returns when all caches are closed, including those still
// being made (it waits for their factory) or being evicted by a Get, and
// the event hook, if any, has returned for every event (see
// [WithGroupEventHook]); it reports no event for the caches it closes. It is
// idempotent and always returns nil.
func (g *Group[K, T]) Close() error {
	g.mu.Lock()
	if g.closed.Load() {
		g.mu.Unlock()
		return nil
	}
	g.closed.Store(true)
	var caches []*Cache[T]
	for _, m := range g.list {
		if c := m.cache.Load(); c != nil {
			caches = append(caches, c)
		} // else being made: publish sees closed and closes it
	}
	g.list = nil
	g.table.Store(newTable[K, T](0))
	sw := g.sweeper
	g.mu.Unlock()
	if sw != nil {
		close(sw.stop)
		<-sw.done
	}
	closeCaches(caches)
	g.pending.Wait() // caches still being made, or evicted by a Get, are closed by their Get
	if g.events != nil {
		// Every event was posted before its poster's pending.Done, or by
		// the sweeper, which has exited: none can come now.
		g.events.wait()
	}
	return nil
}

func closeCaches[T any](cs []*Cache[T]) {
	for _, c := range cs {
		_ = c.Close()
	}
}

// dispose closes the caches of members the group evicted for reason, and
// reports each eviction once its cache is closed. mu must not be held.
func (g *Group[K, T]) dispose(victims []*member[K, T], reason EvictionReason) {
	for _, m := range victims {
		_ = m.cache.Load().Close() // set: evicted members were made
		if g.events != nil {
			g.events.post(CacheEvicted{Key: m.key, Reason: reason})
		}
	}
}

// insert adds m, a member for a key the group does not hold, to the table
// and the list. mu must be held.
func (g *Group[K, T]) insert(m *member[K, T]) {
	t := g.table.Load()
	if (t.used+1)*4 > len(t.slots)*3 {
		t = newTable[K, T](len(g.list) + 1)
		for _, o := range g.list {
			t.put(o)
		}
		g.table.Store(t) // publishes the slots written above
	}
	t.put(m)
	m.index = len(g.list)
	g.list = append(g.list, m)
}

// remove takes m out of the table and the list. mu must be held, and m must
// be in the group.
func (g *Group[K, T]) remove(m *member[K, T]) {
	g.table.Load().clear(m, g.tomb)
	last := g.list[len(g.list)-1]
	g.list[m.index] = last
	last.index = m.index
	g.list[len(g.list)-1] = nil
	g.list = g.list[:len(g.list)-1]
}

// evict evicts m if no Get holds it, and returns its cache for the caller to
// close outside mu; else it returns nil. mu must be held.
func (g *Group[K, T]) evict(m *member[K, T]) *Cache[T] {
	if !m.state.CompareAndSwap(0, evicted) {
		return nil
	}
	g.remove(m)
	return m.cache.Load() // set: a member nobody holds has been made, or has left the group
}

// sampleSize is how many members the size bound compares to pick the one to
// evict.
const sampleSize = 16

// enforceBound evicts idle members while the group holds more than its
// bound, each the least recently used of a sample, and returns them for the
// caller to dispose of outside mu. It records whether the bound is still
// exceeded (every member is held). mu must be held.
func (g *Group[K, T]) enforceBound() []*member[K, T] {
	if g.o.max <= 0 {
		return nil
	}
	type candidate struct {
		seen uint64
		m    *member[K, T]
	}
	var out []*member[K, T]
	var sample [sampleSize + 1]candidate
	for len(g.list) > g.o.max {
		s := sample[:0]
		if len(g.list) <= len(sample) {
			for _, m := range g.list {
				s = append(s, candidate{m.seen.Load(), m})
			}
		} else {
			for range sampleSize {
				m := g.list[rand.IntN(len(g.list))]
				s = append(s, candidate{m.seen.Load(), m})
			}
		}
		slices.SortStableFunc(s, func(a, b candidate) int { return cmp.Compare(a.seen, b.seen) })
		var victim *member[K, T]
		for _, x := range s {
			if g.evict(x.m) != nil {
				victim = x.m
				break
			}
		}
		if victim == nil && len(g.list) > len(sample) {
			victim = g.evictOldest() // every member sampled is held: look at them all
		}
		if victim == nil {
			break // every member is held
		}
		out = append(out, victim)
	}
	g.over.Store(len(g.list) > g.o.max)
	return out
}

// evictOldest evicts the least recently used member no Get holds, if there
// is one, and returns it. mu must be held.
func (g *Group[K, T]) evictOldest() *member[K, T] {
	for {
		var oldest *member[K, T]
		for _, m := range g.list {
			if m.state.Load() == 0 && (oldest == nil || m.seen.Load() < oldest.seen.Load()) {
				oldest = m
			}
		}
		if oldest == nil {
			return nil
		}
		if g.evict(oldest) != nil {
			return oldest
		}
	}
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

// sweep advances the clock and evicts the members not used since the sweep
// before last. Sweeps come every idle/2, so a member last used between
// sweeps e and e+1 is evicted at sweep e+3: after at least idle and at most
// 1.5·idle without a Get.
func (g *Group[K, T]) sweep() {
	g.mu.Lock()
	if g.closed.Load() {
		g.mu.Unlock()
		return
	}
	g.sweeps.Add(1)
	g.marks = [3]uint64{g.clock.Add(1), g.marks[0], g.marks[1]}
	var victims []*member[K, T]
	for i := 0; i < len(g.list); {
		m := g.list[i]
		if m.seen.Load() < g.marks[2] {
			if g.evict(m) != nil {
				victims = append(victims, m)
				continue // the last member moved into i
			}
		}
		i++
	}
	g.mu.Unlock()
	g.dispose(victims, EvictedIdle)
}

// A table is an open-addressing hash table (linear probing) of members that
// readers search without a lock. Writers hold the group's lock. A slot is
// filled once: its key and hash are written before its member is stored
// (atomically, which publishes them) and never change after, and a removed
// member leaves a tombstone that is not reused; when three quarters of the
// slots are used the writer builds a new table of the members left and
// publishes it with one atomic store. A reader may miss a member being
// added, which sends it to the locked path; it never finds a member under
// another key.
type table[K comparable, T any] struct {
	slots []slot[K, T]
	mask  uint64
	used  int // slots filled (members and tombstones); guarded by the group's lock
}

// A slot holds what a Get of a fresh value needs, so that it reads one
// slot and the cache's snapshot and not the member: the key and its hash,
// the member's cache once made, and a copy of the member's use stamp.
type slot[K comparable, T any] struct {
	m    atomic.Pointer[member[K, T]] // nil if never filled; the table's tombstone once removed
	c    atomic.Pointer[Cache[T]]     // m's cache, once made
	seen atomic.Uint32                // the low bits of m.seen; a Get that finds them unlike the clock's raises m.seen
	hash uint32                       // the high bits of the key's hash (the low ones place the slot); written before m is stored, never after
	key  K                            // written before m is stored, never after
}

// newTable returns a table that holds n members at most half full.
func newTable[K comparable, T any](n int) *table[K, T] {
	size := 8
	for size < 2*n {
		size *= 2
	}
	return &table[K, T]{slots: make([]slot[K, T], size), mask: uint64(size - 1)}
}

// find returns key's member, or nil.
func (t *table[K, T]) find(key K, h uint64, tomb *member[K, T]) *member[K, T] {
	_, m := t.lookup(key, h, tomb)
	return m
}

// lookup returns key's slot and member, or nil, nil.
func (t *table[K, T]) lookup(key K, h uint64, tomb *member[K, T]) (*slot[K, T], *member[K, T]) {
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		m := s.m.Load()
		if m == nil {
			return nil, nil
		}
		if s.hash == uint32(h>>32) && m != tomb && s.key == key {
			return s, m
		}
	}
}

// slotOf returns m's slot, or nil if m is not in the table.
func (t *table[K, T]) slotOf(m *member[K, T]) *slot[K, T] {
	for i := m.hash & t.mask; ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		switch s.m.Load() {
		case nil:
			return nil
		case m:
			return s
		}
	}
}

// setCache records m's cache in its slot. m must be in the table.
func (t *table[K, T]) setCache(m *member[K, T], c *Cache[T]) {
	t.slotOf(m).c.Store(c)
}

// put stores m, whose key the table does not hold, in the first slot never
// filled of its probe sequence. The table must stay a quarter empty.
func (t *table[K, T]) put(m *member[K, T]) {
	for i := m.hash & t.mask; ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		if s.m.Load() != nil {
			continue
		}
		t.used++
		s.hash, s.key = uint32(m.hash>>32), m.key
		s.seen.Store(uint32(m.seen.Load()))
		s.c.Store(m.cache.Load())
		s.m.Store(m) // publishes the fields above
		return
	}
}

// clear turns m's slot into a tombstone, so probes for other keys go on
// past it, and lets go of m's cache: a tombstone lives until the table is
// rebuilt, and must not keep the closed cache (its refresher, its hook,
// its last value) alive that long. A Get that read the slot before finds
// the cache closed and goes to the locked path.
func (t *table[K, T]) clear(m, tomb *member[K, T]) {
	if s := t.slotOf(m); s != nil {
		s.m.Store(tomb)
		s.c.Store(nil)
	}
}
