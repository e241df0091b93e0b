package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/actor"
)

// A Shared is a [tokenactor.Refresher] that shares its values with the other
// replicas through a [Store] (see the package doc for the protocol). Make one
// with [Wrap] per cache; the zero value is not usable. It is safe for
// concurrent use, though a cache calls it one method at a time.
//
// No entry a Shared returns is Final, whatever the inner refresher said, so
// the cache calls Refresh when the entry turns stale and the Shared can look
// in the store. It then calls the inner refresher with the value it renews,
// or with none if that value was Final.
type Shared[T any] struct {
	inner tokenactor.Refresher[T]
	store Store
	key   string
	codec Codec[T]
	seal  sealer
	o     options

	mu   sync.Mutex
	held held // what the cache holds, as last returned; guarded by mu
}

// held describes the value a Shared last returned to its cache.
type held struct {
	id    string // record id; "" before the first value
	final bool   // the inner refresher's Final flag
}

// Wrap returns a Shared that keeps the value of inner under key in st,
// encoded by codec. Wrap panics on a nil inner (a nil RefresherFunc
// included), st, codec or Option, or an empty key. The key names the token
// in the store, so the replicas that share a token must use the same key;
// it must not contain a secret.
func Wrap[T any](inner tokenactor.Refresher[T], st Store, key string, codec Codec[T], opts ...Option) *Shared[T] {
	f, isFunc := inner.(tokenactor.RefresherFunc[T])
	switch {
	case inner == nil, isFunc && f == nil:
		invalid("Wrap: nil Refresher")
	case st == nil:
		invalid("Wrap: nil Store")
	case key == "":
		invalid("Wrap: empty key")
	case codec == nil:
		invalid("Wrap: nil Codec")
	}
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			invalid("Wrap: nil Option")
		}
		opt.apply(&o)
	}
	if o.clock == nil {
		o.clock = clock.New()
	}
	seal, _ := newSealer(o.key) // WithEncryption checked the key
	return &Shared[T]{inner: inner, store: st, key: key, codec: codec, seal: seal, o: o}
}

// Refresh returns a fresh value from the store other than previous, or
// renews previous (see the package doc). It returns when it has a value,
// when the inner refresher failed, or when ctx ends.
func (s *Shared[T]) Refresh(ctx context.Context, previous *tokenactor.Entry[T]) (tokenactor.Entry[T], error) {
	return s.obtain(ctx, previous)
}

// loaded is a record read from the store, with its value decoded.
type loaded[T any] struct {
	raw   []byte // as stored
	rec   record
	value T
}

// obtain is the protocol of the package doc. current is the cache's value,
// nil if it has none.
func (s *Shared[T]) obtain(ctx context.Context, current *tokenactor.Entry[T]) (tokenactor.Entry[T], error) {
	var mine held
	if current != nil {
		s.mu.Lock()
		mine = s.held
		s.mu.Unlock()
	}
	saved, stop := s.watch(ctx)
	defer stop()
	owner := newID()
	deadline := s.o.clock.Now().Add(s.o.leaseWait)
	poll := s.o.pollMin
	if saved != nil {
		// The save is heard at once; looking only covers a lost message,
		// or a lease given up without a save (the inner refresher failed).
		poll = s.o.pollMax
	}
	for {
		l, err := s.load(ctx)
		if err != nil {
			return s.fallback(ctx, StoreUnavailable, current, mine, nil)
		}
		if s.adoptable(l, mine) {
			return s.adopt(l), nil
		}
		asked := s.o.clock.Now() // a lease taken now lasts until at least asked+TTL
		err = s.call(ctx, OpAcquire, func(ctx context.Context) error {
			return s.store.Acquire(ctx, s.key, owner, s.o.leaseTTL)
		})
		switch {
		case err == nil:
			return s.renew(ctx, owner, asked, current, mine, l)
		case ctx.Err() != nil:
			return tokenactor.Entry[T]{}, ctx.Err()
		case !errors.Is(err, ErrLeaseHeld):
			return s.fallback(ctx, StoreUnavailable, current, mine, l)
		}
		if l, err := s.await(ctx, saved, mine, deadline, poll); err != nil || l != nil {
			if err != nil {
				return tokenactor.Entry[T]{}, err
			}
			return s.adopt(l), nil
		}
		if !s.o.clock.Now().Before(deadline) {
			return s.fallback(ctx, LeaseWaitTimedOut, current, mine, l)
		}
		poll = min(2*poll, s.o.pollMax)
	}
}

// watch starts hearing the records the other replicas save, if the store
// is a Watcher. It returns a nil channel (which never delivers) otherwise,
// or if the store cannot watch now: polling then does the job alone.
func (s *Shared[T]) watch(ctx context.Context) (<-chan []byte, func()) {
	w, ok := s.store.(Watcher)
	if !ok {
		return nil, func() {}
	}
	var (
		saved <-chan []byte
		stop  func()
	)
	err := s.call(ctx, OpWatch, func(ctx context.Context) error {
		var err error
		saved, stop, err = w.Watch(ctx, s.key)
		return err
	})
	if err != nil {
		return nil, func() {}
	}
	return saved, stop
}

// await waits for the next look in the store: poll (or until deadline), or
// a record saved by the lease holder, which it returns if it is adoptable.
// It returns nil when it is time to look again, and ctx's error if it ends.
func (s *Shared[T]) await(ctx context.Context, saved <-chan []byte, mine held, deadline time.Time, poll time.Duration) (*loaded[T], error) {
	now := s.o.clock.Now()
	if !now.Before(deadline) {
		return nil, nil
	}
	t := s.o.clock.Timer(min(poll, deadline.Sub(now)))
	defer t.Stop()
	for {
		select {
		case b := <-saved:
			if l := s.read(b); s.adoptable(l, mine) {
				return l, nil
			}
		case <-t.C:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// adoptable reports whether l may be handed to the cache: it is usable and
// is not the value the cache already holds (which it asked to replace: it
// turned stale, or a server rejected it). When the adopted value turns
// stale is the cache's decision, by its own window.
func (s *Shared[T]) adoptable(l *loaded[T], mine held) bool {
	return l != nil && l.rec.id != mine.id && l.rec.usable(s.o.clock.Now())
}

func (s *Shared[T]) adopt(l *loaded[T]) tokenactor.Entry[T] {
	s.emit(Adopted{Key: s.key, ExpiresAt: l.rec.expiresAt})
	return s.hand(l.rec.id, tokenactor.Entry[T]{Value: l.value, ExpiresAt: l.rec.expiresAt, RefreshAt: l.rec.refreshAt, Final: l.rec.final})
}

// renew runs under the lease owned by owner, taken at asked or later: look
// once more, else call the inner refresher and publish. l is what the last
// look before the lease found, kept if this look fails. If the store still
// holds the value the cache asks to replace (stale, or rejected by a
// server), renew deletes it first, so no replica adopts it while the inner
// refresher runs: a value rejected here is not handed to the rest of the
// fleet.
func (s *Shared[T]) renew(ctx context.Context, owner string, asked time.Time, current *tokenactor.Entry[T], mine held, l *loaded[T]) (tokenactor.Entry[T], error) {
	defer s.release(ctx, owner)
	if again, err := s.load(ctx); err == nil { // a sibling may have published and released just now
		if s.adoptable(again, mine) {
			return s.adopt(again), nil
		}
		l = again
	}
	if l != nil && mine.id != "" && l.rec.id == mine.id {
		_ = s.call(ctx, OpDelete, func(ctx context.Context) error {
			return s.store.Delete(ctx, s.key, l.raw)
		})
	}
	stop := s.keep(ctx, owner, asked)
	defer stop() // if the inner refresher panics or ends the goroutine
	e, err := s.callInner(ctx, current, mine, l)
	held := stop()
	if err != nil {
		return tokenactor.Entry[T]{}, err
	}
	if !s.mayPublish(ctx, owner, held, l) {
		return s.hand(newID(), e), nil
	}
	id, saved := s.publish(ctx, e)
	if saved {
		s.emit(Published{Key: s.key, ExpiresAt: e.ExpiresAt})
	}
	return s.hand(id, e), nil
}

// keep extends the lease owned by owner every third of its time to live,
// if the store is an [Extender], so that a refresh longer than the lease
// does not let a sibling take it and refresh alongside. It stops once the
// lease is lost, when ctx ends (a holder whose refresh timed out frees the
// lease one time to live later, even if its inner refresher never returns)
// or when stop is called; stop returns once it has stopped, with the
// instant the lease was last known to start a full time to live (asked, the
// time of the Acquire, if never extended). A store that fails is tried
// again at the next tick: the lease may still be ours. stop may be called
// more than once; every call returns the same instant.
func (s *Shared[T]) keep(ctx context.Context, owner string, asked time.Time) (stop func() (held time.Time)) {
	ext, ok := s.store.(Extender)
	if !ok {
		return func() time.Time { return asked }
	}
	done := make(chan struct{})
	held := asked // written by the goroutine below, read by stop after it exits
	var wg sync.WaitGroup
	wg.Go(func() {
		t := s.o.clock.Ticker(max(s.o.leaseTTL/3, 1))
		defer t.Stop()
		for {
			select {
			case <-t.C:
			case <-done:
				return
			case <-ctx.Done():
				return
			}
			at := s.o.clock.Now()
			err := s.call(ctx, OpExtend, func(ctx context.Context) error {
				return ext.Extend(ctx, s.key, owner, s.o.leaseTTL)
			})
			switch {
			case err == nil:
				held = at
			case errors.Is(err, ErrLeaseLost):
				return // reported by mayPublish, once the refresh is done
			}
		}
	})
	return sync.OnceValue(func() time.Time {
		close(done)
		wg.Wait()
		return held
	})
}

// mayPublish reports whether the value the inner refresher returned under
// the lease owned by owner may be saved for the other replicas. It may if
// the lease is still owner's: one last extension, checked, covers the save
// (if the store fails to extend it, the save is still covered while the
// lease last extended at held lasts, less a store timeout for the save).
// If the lease was lost meanwhile (the store failed to extend it for a whole
// time to live, or the refresh outlived its context), another replica may
// have taken it and published a newer value, which must not be overwritten
// with one renewed from an older credential: the value is saved only if
// owner can take the lease back and the store still holds base (what the
// refresh started from) or nothing. A value not saved is still handed to
// the cache; at its next refresh the cache adopts whatever the store then
// holds. Over a store that is not an Extender it always may (the lease
// cannot be kept, so it cannot be checked either).
func (s *Shared[T]) mayPublish(ctx context.Context, owner string, held time.Time, base *loaded[T]) bool {
	ext, ok := s.store.(Extender)
	if !ok {
		return true
	}
	// Run even if ctx has ended, as publish does.
	ctx = context.WithoutCancel(ctx)
	err := s.call(ctx, OpExtend, func(ctx context.Context) error {
		return ext.Extend(ctx, s.key, owner, s.o.leaseTTL)
	})
	switch {
	case err == nil:
		return true
	case errors.Is(err, ErrLeaseLost):
		s.emit(Failed{Key: s.key, Op: OpExtend, Err: err})
	default:
		// The store fails. While the lease surely lasts, no sibling can
		// have published; after that, one may have, and this store could
		// not say.
		return s.o.clock.Now().Before(held.Add(s.o.leaseTTL - s.o.storeTimeout))
	}
	err = s.call(ctx, OpAcquire, func(ctx context.Context) error {
		return s.store.Acquire(ctx, s.key, owner, s.o.leaseTTL)
	})
	if err != nil {
		return false
	}
	now, err := s.load(ctx)
	return err == nil && (now == nil || base != nil && now.rec.id == base.rec.id)
}

// fallback obtains a value without the lease. After a lease wait timed out
// the store still answers, so the value is published for the others.
func (s *Shared[T]) fallback(ctx context.Context, why FallbackReason, current *tokenactor.Entry[T], mine held, l *loaded[T]) (tokenactor.Entry[T], error) {
	if err := ctx.Err(); err != nil {
		return tokenactor.Entry[T]{}, err
	}
	s.emit(LocalFallback{Key: s.key, Reason: why})
	e, err := s.callInner(ctx, current, mine, l)
	if err != nil {
		return tokenactor.Entry[T]{}, err
	}
	id := newID()
	if why == LeaseWaitTimedOut {
		id, _ = s.publish(ctx, e)
	}
	return s.hand(id, e), nil
}

// callInner renews the newest value known, the cache's or the store's (a
// sibling may have rotated a refresh token), with the inner refresher:
// with that value unless it is Final, else with none.
func (s *Shared[T]) callInner(ctx context.Context, current *tokenactor.Entry[T], mine held, l *loaded[T]) (tokenactor.Entry[T], error) {
	var base *tokenactor.Entry[T]
	if current != nil {
		base = &tokenactor.Entry[T]{Value: current.Value, ExpiresAt: current.ExpiresAt, Final: mine.final}
	}
	if l != nil && (base == nil || !l.rec.expiresAt.Before(base.ExpiresAt)) {
		base = &tokenactor.Entry[T]{Value: l.value, ExpiresAt: l.rec.expiresAt, Final: l.rec.final}
	}
	if base != nil && base.Final {
		base = nil
	}
	return s.inner.Refresh(ctx, base)
}

// hand records what the cache is about to hold and returns it marked
// renewable (see Shared).
func (s *Shared[T]) hand(id string, e tokenactor.Entry[T]) tokenactor.Entry[T] {
	s.mu.Lock()
	s.held = held{id: id, final: e.Final}
	s.mu.Unlock()
	e.Final = false
	return e
}

// load reads and decodes the record. It returns nil without error if there
// is none or it cannot be read (reported; a publish will replace it), and an
// error if the store failed.
func (s *Shared[T]) load(ctx context.Context) (*loaded[T], error) {
	var b []byte
	found := false
	err := s.call(ctx, OpLoad, func(ctx context.Context) error {
		var err error
		b, err = s.store.Load(ctx, s.key)
		found = err == nil
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrCorrupt) {
			if errors.Is(err, ErrCorrupt) {
				s.emit(Failed{Key: s.key, Op: OpDecode, Err: err})
			}
			err = nil
		}
		return err
	})
	if err != nil || !found {
		return nil, err
	}
	return s.read(b), nil
}

// read decodes a stored record. It returns nil if it cannot (reported).
func (s *Shared[T]) read(b []byte) *loaded[T] {
	rec, err := s.seal.decode(s.key, b)
	if err != nil {
		s.emit(Failed{Key: s.key, Op: OpDecode, Err: err})
		return nil
	}
	var v T
	if p := actor.Isolate(func() { v, err = s.codec.Decode(rec.value) }); p != nil || err != nil {
		// The codec's error (or panic) is not shown: it may quote the value.
		s.emit(Failed{Key: s.key, Op: OpDecode, Err: fmt.Errorf("%w: the codec cannot decode the value", ErrCorrupt)})
		return nil
	}
	return &loaded[T]{raw: b, rec: rec, value: v}
}

// publish saves e for the other replicas, for no longer than it lives,
// and returns its record id and whether it was saved. A failure is
// reported and otherwise ignored. It runs even if ctx has ended.
func (s *Shared[T]) publish(ctx context.Context, e tokenactor.Entry[T]) (id string, saved bool) {
	now := s.o.clock.Now()
	rec := record{id: newID(), issuedAt: now, expiresAt: e.ExpiresAt, final: e.Final}
	// The cache's rule for a RefreshAt (see tokenactor.Entry): one not
	// between now and ExpiresAt is ignored. Kept, a past one would make the
	// record unadoptable, and every replica would refresh on its own.
	if e.RefreshAt.After(now) && e.RefreshAt.Before(e.ExpiresAt) {
		rec.refreshAt = e.RefreshAt
	}
	ttl := s.o.noExpiryTTL
	if !e.ExpiresAt.IsZero() {
		ttl = e.ExpiresAt.Sub(now)
	}
	if ttl <= 0 {
		return rec.id, false
	}
	var v []byte
	var err error
	if p := actor.Isolate(func() { v, err = s.codec.Encode(e.Value) }); p != nil || err != nil {
		s.emit(Failed{Key: s.key, Op: OpSave, Err: errors.New("store: the codec cannot encode the value")})
		return rec.id, false
	}
	rec.value = v
	b, err := s.seal.encode(s.key, rec)
	if err != nil {
		s.emit(Failed{Key: s.key, Op: OpSave, Err: err})
		return rec.id, false
	}
	// Saved even if ctx has ended (the refresh timed out, the cache
	// closed): the server has issued e, and may have rotated a refresh
	// token with it, so a sibling renewing the value e replaces would
	// replay a superseded credential. The store timeout bounds the call.
	err = s.call(context.WithoutCancel(ctx), OpSave, func(ctx context.Context) error {
		return s.store.Save(ctx, s.key, b, ttl)
	})
	return rec.id, err == nil
}

// release gives the lease back. It runs even if ctx has ended (the cache
// closed mid-refresh), under a context of its own bounded by the store
// timeout, so the lease does not linger for its whole TTL.
func (s *Shared[T]) release(ctx context.Context, owner string) {
	_ = s.call(context.WithoutCancel(ctx), OpRelease, func(ctx context.Context) error {
		return s.store.Release(ctx, s.key, owner)
	})
}

// call runs one store operation under the store timeout and reports its
// failure, unless the failure is ctx's own end, a lease held (the normal
// answer of a busy lease) or a lease lost (reported by mayPublish).
func (s *Shared[T]) call(ctx context.Context, op Op, f func(context.Context) error) error {
	cctx, cancel := context.WithTimeout(ctx, s.o.storeTimeout)
	defer cancel()
	var err error
	if p := actor.Recover(func() { err = f(cctx) }); p != nil {
		err = errStorePanic // a broken store, like one that fails
	}
	if err != nil && ctx.Err() == nil && !errors.Is(err, ErrLeaseHeld) && !errors.Is(err, ErrLeaseLost) {
		s.emit(Failed{Key: s.key, Op: op, Err: err})
	}
	return err
}

// errStorePanic is the failure of a store call that panicked. The panic's
// value is not shown: a store may hold records in it.
var errStorePanic = errors.New("store: the store panicked")

// emit reports e to the hook, if any. The hook runs isolated, as the
// cache's does: if it panics or calls runtime.Goexit, that event is lost to
// it and the refresh carries on.
func (s *Shared[T]) emit(e Event) {
	if hook := s.o.hook; hook != nil {
		_ = actor.Isolate(func() { hook(e) })
	}
}
