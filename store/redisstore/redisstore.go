// Package redisstore is a [store.Store] on Redis, through
// github.com/redis/go-redis/v9.
//
// # Key names
//
// For a logical key K (the key given to store.Wrap) and the prefix P
// ("tokenactor:" unless set with [WithPrefix]):
//
//	P + "token:" + K   the record: a string, written with SET ... PX ttl
//	P + "lease:" + K   the lease: a random owner id, SET ... NX PX ttl,
//	                   deleted by a compare-and-delete Lua script
//
// Neither name nor the lease's value holds a secret; the record does (seal it
// with store.WithEncryption).
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tokenactor/tokenactor/store"
)

// DefaultPrefix starts every key name the Store uses.
const DefaultPrefix = "tokenactor:"

// A Store keeps records and leases in Redis. Make one with [New]; the zero
// value is not usable. It is safe for concurrent use.
type Store struct {
	c      redis.UniversalClient
	prefix string
}

var _ store.Store = (*Store)(nil)

// An Option configures [New].
type Option interface {
	apply(*Store)
}

type optionFunc func(*Store)

func (f optionFunc) apply(s *Store) { f(s) }

// WithPrefix sets the prefix of every key name, to keep several
// applications or environments apart in one Redis. The default is
// DefaultPrefix. An empty prefix is allowed.
func WithPrefix(p string) Option {
	return optionFunc(func(s *Store) { s.prefix = p })
}

// New returns a Store that uses c (a *redis.Client, *redis.ClusterClient or
// any UniversalClient). The caller keeps ownership of c and closes it. A nil
// c panics.
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
	s := &Store{c: c, prefix: DefaultPrefix}
	for _, o := range opts {
		o.apply(s)
	}
	return s
}

// RecordKey returns the Redis key name of the record for key.
func (s *Store) RecordKey(key string) string { return s.prefix + "token:" + key }

// LeaseKey returns the Redis key name of the lease for key.
func (s *Store) LeaseKey(key string) string { return s.prefix + "lease:" + key }

// Load returns the record under key (GET), or an error wrapping
// store.ErrNotFound.
func (s *Store) Load(ctx context.Context, key string) ([]byte, error) {
	b, err := s.c.Get(ctx, s.RecordKey(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: load: %w", err)
	}
	return b, nil
}

// Save stores record under key for ttl (SET PX).
func (s *Store) Save(ctx context.Context, key string, record []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("redisstore: save: ttl must be positive, got %v", ttl)
	}
	if err := s.c.Set(ctx, s.RecordKey(key), record, ttl).Err(); err != nil {
		return fmt.Errorf("redisstore: save: %w", err)
	}
	return nil
}

// Acquire takes the lease for owner (SET NX PX), or returns an error
// wrapping store.ErrLeaseHeld.
func (s *Store) Acquire(ctx context.Context, key, owner string, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("redisstore: acquire: ttl must be positive, got %v", ttl)
	}
	err := s.c.SetArgs(ctx, s.LeaseKey(key), owner, redis.SetArgs{Mode: "NX", TTL: ttl}).Err()
	if errors.Is(err, redis.Nil) {
		return store.ErrLeaseHeld
	}
	if err != nil {
		return fmt.Errorf("redisstore: acquire: %w", err)
	}
	return nil
}

// releaseScript deletes the lease only if owner still holds it, atomically:
// a GET then DEL from the client could delete a lease that expired in
// between and was taken by another replica.
var releaseScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("DEL", KEYS[1])
end
return 0
`)

// Release deletes the lease if owner holds it (a Lua compare-and-delete).
func (s *Store) Release(ctx context.Context, key, owner string) error {
	if err := releaseScript.Run(ctx, s.c, []string{s.LeaseKey(key)}, owner).Err(); err != nil {
		return fmt.Errorf("redisstore: release: %w", err)
	}
	return nil
}
