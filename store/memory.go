package store

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/benbjohnson/clock"
)

// A Memory is a [Store] in the memory of one process: the caches of a
// process share a token through it, and tests use it in place of Redis. It
// forgets records and leases when their time to live ends on its clock.
//
// A Memory is a [Watcher]: a replica waiting for a sibling's refresh hears
// the record the moment it is saved. It is an [Extender]: a lease holder
// keeps its lease through a slow refresh. It starts no goroutine and needs no
// Close. Formatting or logging a Memory shows no record (see
// [Memory.Format]).
//
// Make one with [NewMemory]; the zero value is not usable. A Memory is safe
// for concurrent use; its calls never block on I/O.
type Memory struct {
	clock clock.Clock

	mu       sync.Mutex
	items    map[string]memItem                // records by key; guarded by mu
	leases   map[string]memItem                // leases by key, value = owner; guarded by mu
	watchers map[string]map[*memWatch]struct{} // by key; guarded by mu
}

// memWatch is one Watch call's delivery channel.
type memWatch struct {
	ch chan []byte // buffer 1: a new record replaces the one waiting; sent to under mu
}

type memItem struct {
	value []byte
	until time.Time
}

var (
	_ Watcher  = (*Memory)(nil)
	_ Extender = (*Memory)(nil)
)

// NewMemory returns an empty Memory that reads time from c (nil: the system
// clock).
func NewMemory(c clock.Clock) *Memory {
	if c == nil {
		c = clock.New()
	}
	return &Memory{clock: c, items: map[string]memItem{}, leases: map[string]memItem{}, watchers: map[string]map[*memWatch]struct{}{}}
}

// live returns the item under key in m if its time to live has not ended,
// and forgets it otherwise. mu must be held.
func (s *Memory) live(m map[string]memItem, key string) (memItem, bool) {
	it, ok := m[key]
	if ok && !s.clock.Now().Before(it.until) {
		delete(m, key)
		return memItem{}, false
	}
	return it, ok
}

// Load returns a copy of the record under key, or ErrNotFound.
func (s *Memory) Load(_ context.Context, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.live(s.items, key)
	if !ok {
		return nil, ErrNotFound
	}
	return append([]byte{}, it.value...), nil
}

// Save stores a copy of record under key for ttl.
func (s *Memory) Save(_ context.Context, key string, record []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("store: Memory.Save: ttl must be positive, got %v", ttl)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := append([]byte(nil), record...)
	s.items[key] = memItem{value: b, until: s.clock.Now().Add(ttl)}
	for w := range s.watchers[key] {
		select { // the newest record replaces the one waiting
		case <-w.ch:
		default:
		}
		w.ch <- b
	}
	return nil
}

// Delete forgets the record under key if it is still record.
func (s *Memory) Delete(_ context.Context, key string, record []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if it, ok := s.live(s.items, key); ok && bytes.Equal(it.value, record) {
		delete(s.items, key)
	}
	return nil
}

// Watch delivers the records saved under key from now until stop is
// called; see [Watcher].
func (s *Memory) Watch(_ context.Context, key string) (<-chan []byte, func(), error) {
	w := &memWatch{ch: make(chan []byte, 1)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.watchers[key] == nil {
		s.watchers[key] = map[*memWatch]struct{}{}
	}
	s.watchers[key][w] = struct{}{}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			delete(s.watchers[key], w)
			if len(s.watchers[key]) == 0 {
				delete(s.watchers, key)
			}
		})
	}
	return w.ch, stop, nil
}

// Acquire takes the lease for owner, or returns ErrLeaseHeld; a lease held
// with more than ttl left is cut to ttl (see [Extender]).
func (s *Memory) Acquire(_ context.Context, key, owner string, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("store: Memory.Acquire: ttl must be positive, got %v", ttl)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	until := s.clock.Now().Add(ttl)
	if it, held := s.live(s.leases, key); held {
		if it.until.After(until) {
			s.leases[key] = memItem{value: it.value, until: until}
		}
		return ErrLeaseHeld
	}
	s.leases[key] = memItem{value: []byte(owner), until: until}
	return nil
}

// Extend makes the lease end ttl from now if owner holds it, or returns
// ErrLeaseLost.
func (s *Memory) Extend(_ context.Context, key, owner string, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("store: Memory.Extend: ttl must be positive, got %v", ttl)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.live(s.leases, key)
	if !ok || string(it.value) != owner {
		return ErrLeaseLost
	}
	s.leases[key] = memItem{value: it.value, until: s.clock.Now().Add(ttl)}
	return nil
}

// Release gives up the lease if owner holds it.
func (s *Memory) Release(_ context.Context, key, owner string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if it, ok := s.live(s.leases, key); ok && string(it.value) == owner {
		delete(s.leases, key)
	}
	return nil
}
