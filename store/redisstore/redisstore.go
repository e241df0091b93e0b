// Package redisstore is a [store.Store] on Redis, through
// github.com/redis/go-redis/v9.
//
// # Key names
//
// For a logical key K (the key given to store.Wrap) and the prefix P
// ("tokenactor:" unless set with [WithPrefix]):
//
//	P + "{" + K + "}:token"   the record: a string, written with a TTL
//	P + "{" + K + "}:lease"   the lease: a random owner id, always with a TTL
//	P + "{" + K + "}:saved"   the pub/sub channel each saved record is sent on
//
// The braces are a Redis Cluster hash tag: a record and its lease live in
// one hash slot, so the scripts that touch both run on one node. Neither name
// nor the lease's value holds a secret; the record does (seal it with
// store.WithEncryption).
//
// # Healing
//
// Redis may hold what this package did not write there. A value of another
// type, or a string too large to be a record, under a record's name is
// reported by Load as store.ErrCorrupt, and the next save replaces it. A
// lease without a TTL (left by a PERSIST, a manual SET, a restore) is taken
// over by the next Acquire, with a TTL: a replica never waits on a lease that
// cannot end. A lease with more time left than the TTL of the Acquire asking
// for it (left by a manual SET, or a replica configured with a far longer
// lease that died) is cut to that TTL: live holders extend theirs every
// third of it, so only a lease left behind ends sooner.
//
// # Keeping a lease
//
// A Store is a [store.Extender]: a replica refreshing under the lease
// extends it with a Lua compare-and-extend (PEXPIRE only if the lease still
// holds its owner id), so a slow token request never lets the lease pass to
// a sibling, while a replica that dies frees it one lease TTL later.
//
// # Hearing a save
//
// A Store is a [store.Watcher]: Save publishes the record on the key's
// channel in the same script that writes it, and a replica waiting for a
// sibling's refresh adopts it from the message, with no further command.
// Plain pub/sub is used rather than keyspace notifications: those need a
// server setting that managed Redis services often refuse, carry only the
// key name (each replica would then GET the record), and in a cluster are
// delivered only by the node that holds the key.
package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tokenactor/tokenactor/store"
)

// A Store keeps records and leases in Redis. Make one with [New]; the zero
// value is not usable. It is safe for concurrent use.
//
// The first [Store.Watch] opens one pub/sub connection, read by a goroutine
// the Store owns until [Store.Close]; each key watched stays subscribed until
// then. A Store never watched starts no goroutine.
type Store struct {
	c      redis.UniversalClient
	prefix string

	mu     sync.Mutex
	ps     *redis.PubSub     // nil until the first Watch; guarded by mu
	topics map[string]*topic // by channel name; guarded by mu
	closed bool              // guarded by mu
	// stopping is closed by Close; done, when the goroutine reading ps
	// exits. Both are made with ps.
	stopping, done chan struct{}
}

// topic is one subscribed channel and the Watch calls listening to it.
type topic struct {
	ready   chan struct{} // closed when Redis confirms the subscription
	watches map[*watch]struct{}
}

// watch is one Watch call's delivery channel.
type watch struct {
	ch chan []byte // buffer 1: a new record replaces the one waiting
}

var (
	_ store.Watcher  = (*Store)(nil)
	_ store.Extender = (*Store)(nil)
)

// An Option configures [New]. It is made by [WithPrefix], immutable and safe
// for concurrent use. Its zero value (a nil Option) is not usable: New
// panics on one.
type Option interface {
	apply(*Store)
}

type optionFunc func(*Store)

func (f optionFunc) apply(s *Store) { f(s) }

// WithPrefix sets the prefix of every key name, to keep several
// applications or environments apart in one Redis. The default is
// "tokenactor:". An empty prefix is allowed.
func WithPrefix(p string) Option {
	return optionFunc(func(s *Store) { s.prefix = p })
}

// healthCheck is how long the pub/sub connection may stay silent before it
// is pinged (and reconnected if the ping fails). A message lost meanwhile
// costs a waiting replica one poll interval, not a refresh.
const healthCheck = 10 * time.Second

// New returns a Store that uses c (a *redis.Client, *redis.ClusterClient or
// any UniversalClient). The caller keeps ownership of c and closes it after
// the Store. A nil c or Option panics.
//
// Each call runs under the context the shared refresher gives it, bounded by
// its store timeout (store.WithStoreTimeout). go-redis ignores context
// deadlines on the network unless the client is made with
// ContextTimeoutEnabled: true; set it, or a slow Redis holds each call for
// the client's ReadTimeout (3 s by default) times its retries instead.
func New(c redis.UniversalClient, opts ...Option) *Store {
	if c == nil {
		panic("redisstore: New: nil client")
	}
	s := &Store{c: c, prefix: "tokenactor:", topics: map[string]*topic{}}
	for _, o := range opts {
		if o == nil {
			panic("redisstore: New: nil Option")
		}
		o.apply(s)
	}
	return s
}

// RecordKey returns the Redis key name of the record for key.
func (s *Store) RecordKey(key string) string { return s.prefix + "{" + key + "}:token" }

// LeaseKey returns the Redis key name of the lease for key.
func (s *Store) LeaseKey(key string) string { return s.prefix + "{" + key + "}:lease" }

// channel returns the pub/sub channel of key.
func (s *Store) channel(key string) string { return s.prefix + "{" + key + "}:saved" }

// Load returns the record under key, or an error wrapping
// store.ErrNotFound if there is none, or store.ErrCorrupt if the key holds
// something that is not a record (another type, or a string longer than
// store.MaxRecordSize, of which at most one byte more is read).
func (s *Store) Load(ctx context.Context, key string) ([]byte, error) {
	b, err := s.c.GetRange(ctx, s.RecordKey(key), 0, store.MaxRecordSize).Bytes()
	switch {
	case wrongType(err):
		return nil, fmt.Errorf("%w: redisstore: the record key holds another type", store.ErrCorrupt)
	case err != nil:
		return nil, fmt.Errorf("redisstore: load: %w", err)
	case len(b) == 0: // GETRANGE answers "" for a missing key
		return nil, store.ErrNotFound
	case len(b) > store.MaxRecordSize:
		return nil, fmt.Errorf("%w: redisstore: the record exceeds MaxRecordSize", store.ErrCorrupt)
	}
	return b, nil
}

func wrongType(err error) bool {
	var re redis.Error
	return errors.As(err, &re) && strings.HasPrefix(re.Error(), "WRONGTYPE")
}

// saveScript writes the record with its TTL, replacing whatever the key
// held (of any type), and publishes it to the replicas watching.
var saveScript = redis.NewScript(`
redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
redis.call("PUBLISH", ARGV[3], ARGV[1])
return 1
`)

// Save stores record under key for ttl and publishes it (one script: SET
// PX, then PUBLISH).
func (s *Store) Save(ctx context.Context, key string, record []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("redisstore: save: ttl must be positive, got %v", ttl)
	}
	err := saveScript.Run(ctx, s.c, []string{s.RecordKey(key)}, record, millis(ttl), s.channel(key)).Err()
	if err != nil {
		return fmt.Errorf("redisstore: save: %w", err)
	}
	return nil
}

// millis returns d in whole milliseconds, at least 1.
func millis(d time.Duration) int64 { return max(int64(d/time.Millisecond), 1) }

// acquireScript takes the lease if it is free, or if it has no TTL (it
// would otherwise never end), always setting the TTL with the key. A lease
// held with more than ARGV[2] ms left is cut to that (see store.Extender).
var acquireScript = redis.NewScript(`
if redis.call("SET", KEYS[1], ARGV[1], "NX", "PX", ARGV[2]) then
	return 1
end
local left = redis.call("PTTL", KEYS[1])
if left == -1 then
	redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
	return 1
end
if left > tonumber(ARGV[2]) then
	redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0
`)

// Acquire takes the lease for owner, or returns an error wrapping
// store.ErrLeaseHeld. A lease without a TTL is taken over; one held with
// more than ttl left is cut to ttl.
func (s *Store) Acquire(ctx context.Context, key, owner string, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("redisstore: acquire: ttl must be positive, got %v", ttl)
	}
	n, err := acquireScript.Run(ctx, s.c, []string{s.LeaseKey(key)}, owner, millis(ttl)).Int()
	switch {
	case err != nil:
		return fmt.Errorf("redisstore: acquire: %w", err)
	case n == 0:
		return store.ErrLeaseHeld
	}
	return nil
}

// extendScript sets the TTL of the lease to ARGV[2] ms if it holds the
// owner ARGV[1], atomically: a GET then PEXPIRE from the client could extend
// a lease another replica took in between. A key of another type is not
// anyone's lease.
var extendScript = redis.NewScript(`
if redis.call("TYPE", KEYS[1]).ok == "string" and redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0
`)

// Extend makes the lease end ttl from now if owner holds it (a Lua
// compare-and-extend), or returns an error wrapping store.ErrLeaseLost.
func (s *Store) Extend(ctx context.Context, key, owner string, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("redisstore: extend: ttl must be positive, got %v", ttl)
	}
	n, err := extendScript.Run(ctx, s.c, []string{s.LeaseKey(key)}, owner, millis(ttl)).Int()
	switch {
	case err != nil:
		return fmt.Errorf("redisstore: extend: %w", err)
	case n == 0:
		return fmt.Errorf("redisstore: extend: %w", store.ErrLeaseLost)
	}
	return nil
}

// deleteScript deletes a key only if it holds the string ARGV[1],
// atomically: a GET then DEL from the client could delete a value written
// in between by another replica. A key of another type is left alone.
var deleteScript = redis.NewScript(`
if redis.call("TYPE", KEYS[1]).ok == "string" and redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("DEL", KEYS[1])
end
return 0
`)

// Delete deletes the record under key if it still is record (a Lua
// compare-and-delete).
func (s *Store) Delete(ctx context.Context, key string, record []byte) error {
	if err := deleteScript.Run(ctx, s.c, []string{s.RecordKey(key)}, record).Err(); err != nil {
		return fmt.Errorf("redisstore: delete: %w", err)
	}
	return nil
}

// Release deletes the lease if owner holds it (a Lua compare-and-delete).
func (s *Store) Release(ctx context.Context, key, owner string) error {
	if err := deleteScript.Run(ctx, s.c, []string{s.LeaseKey(key)}, owner).Err(); err != nil {
		return fmt.Errorf("redisstore: release: %w", err)
	}
	return nil
}

var errClosed = errors.New("redisstore: store closed")

// Watch delivers the records saved under key, from when it returns until
// stop is called; see [store.Watcher]. The first Watch of a key subscribes
// to its channel and returns once Redis confirms it (or ctx ends); later
// ones return at once, even before Redis confirmed it (a Redis that slow
// costs each waiting replica one poll interval, not a store timeout per
// refresh). After Close it returns an error.
func (s *Store) Watch(ctx context.Context, key string) (<-chan []byte, func(), error) {
	name := s.channel(key)
	w := &watch{ch: make(chan []byte, 1)}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, nil, errClosed
	}
	if s.ps == nil {
		s.ps = s.c.Subscribe(context.WithoutCancel(ctx))
		s.stopping, s.done = make(chan struct{}), make(chan struct{})
		go s.read(s.ps, s.stopping, s.done)
	}
	t, subscribed := s.topics[name]
	if !subscribed {
		t = &topic{ready: make(chan struct{}), watches: map[*watch]struct{}{}}
		s.topics[name] = t
	}
	t.watches[w] = struct{}{}
	ps := s.ps
	s.mu.Unlock()

	var once sync.Once
	stop := func() {
		once.Do(func() {
			s.mu.Lock()
			delete(t.watches, w)
			s.mu.Unlock()
		})
	}
	if !subscribed {
		if err := ps.Subscribe(ctx, name); err != nil {
			stop()
			s.mu.Lock()
			if s.topics[name] == t { // let the next Watch try again
				delete(s.topics, name)
			}
			s.mu.Unlock()
			return nil, nil, fmt.Errorf("redisstore: watch: %w", err)
		}
	}
	if subscribed {
		// Confirmed, or still waiting for Redis to confirm: a Watch that
		// waited for it already paid for a slow Redis once.
		return w.ch, stop, nil
	}
	select {
	case <-t.ready:
		return w.ch, stop, nil
	case <-ctx.Done():
		stop()
		return nil, nil, fmt.Errorf("redisstore: watch: %w", ctx.Err())
	}
}

// read hands each message of the pub/sub connection to the watches of its
// channel, until Close closes the connection. A connection silent for
// healthCheck is pinged, so a dead one is noticed and replaced; go-redis
// reconnects and subscribes again on the next receive.
func (s *Store) read(ps *redis.PubSub, stopping, done chan struct{}) {
	defer close(done)
	ctx := context.Background()
	for {
		m, err := ps.ReceiveTimeout(ctx, healthCheck)
		var ne net.Error
		switch {
		case errors.Is(err, redis.ErrClosed):
			return
		case errors.As(err, &ne) && ne.Timeout():
			_ = ps.Ping(ctx)
			continue
		case err != nil: // Redis is down or the connection dropped
			t := time.NewTimer(retryPause)
			select {
			case <-t.C:
			case <-stopping:
				t.Stop()
				return
			}
			continue
		}
		s.deliver(m)
	}
}

// offer puts b on ch, replacing the record waiting there if it is full: a
// watcher wants the newest record. Only its one sender may call it.
func offer(ch chan []byte, b []byte) {
	select {
	case <-ch:
	default:
	}
	ch <- b
}

// retryPause spaces the attempts to reconnect the pub/sub connection.
const retryPause = 100 * time.Millisecond

// deliver handles one pub/sub message.
func (s *Store) deliver(m any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch m := m.(type) {
	case *redis.Subscription:
		if t := s.topics[m.Channel]; t != nil && m.Kind == "subscribe" {
			select {
			case <-t.ready: // a resubscription after a reconnect
			default:
				close(t.ready)
			}
		}
	case *redis.Message:
		t := s.topics[m.Channel]
		if t == nil {
			return
		}
		if len(m.Payload) > store.MaxRecordSize {
			return // not a record; not worth a copy
		}
		b := []byte(m.Payload)
		for w := range t.watches {
			offer(w.ch, b)
		}
	}
}

// Close stops watching: it closes the pub/sub connection, if Watch opened
// one, and returns when the goroutine reading it has exited. Later Watch
// calls fail; the other methods keep working (they use only the client,
// which the caller closes). Close is idempotent.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	ps, done := s.ps, s.done
	s.mu.Unlock()
	if ps == nil {
		return nil
	}
	close(s.stopping)
	err := ps.Close()
	<-done
	return err
}

// Format writes a description of s, whatever the verb: the prefix only,
// never the client (whose options may hold a password).
func (s *Store) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }

// GoString returns the same description as String.
func (s *Store) GoString() string { return s.String() }

// String names the prefix.
func (s *Store) String() string { return fmt.Sprintf("redisstore.Store{prefix: %q}", s.prefix) }

// LogValue logs the prefix.
func (s *Store) LogValue() slog.Value { return slog.GroupValue(slog.String("prefix", s.prefix)) }

// MarshalJSON encodes the prefix.
func (s *Store) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Prefix string `json:"prefix"`
	}{s.prefix})
}
