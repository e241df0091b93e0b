package redisstore_test

import (
	"context"

	"github.com/redis/go-redis/v9"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/store"
	"github.com/tokenactor/tokenactor/store/redisstore"
)

// Each replica of a service wires its cache the same way; they share the
// token under the key "orders-api/client-42". (Not run: it needs a Redis.)
func ExampleNew() {
	var strategy tokenactor.Refresher[tokenactor.ServiceToken] // your auth strategy
	var sealKey []byte                                         // 32 bytes from your secret manager

	rdb := redis.NewClient(&redis.Options{
		Addr:                  "127.0.0.1:6379",
		ContextTimeoutEnabled: true, // so the store timeout bounds each call
		MaxRetries:            1,
	})
	defer rdb.Close()

	st := redisstore.New(rdb)
	defer st.Close() // after the cache: stops hearing other replicas' saves

	shared := store.Wrap(strategy, st, "orders-api/client-42",
		store.ServiceTokenCodec{},
		store.WithEncryption(sealKey))
	cache := tokenactor.New[tokenactor.ServiceToken](shared)
	defer cache.Close()

	tok, err := cache.Get(context.Background())
	_, _ = tok, err
}
