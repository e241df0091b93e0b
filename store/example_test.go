package store_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/store"
)

// countingAuth stands for a client-credentials request to an authorization
// server; it counts the requests.
type countingAuth struct{ requests atomic.Int32 }

func (a *countingAuth) Refresh(context.Context, *tokenactor.Entry[tokenactor.ServiceToken]) (tokenactor.Entry[tokenactor.ServiceToken], error) {
	n := a.requests.Add(1)
	exp := time.Now().Add(time.Hour)
	return tokenactor.Entry[tokenactor.ServiceToken]{
		Value:     tokenactor.ServiceToken{AccessToken: tokenactor.NewSecretToken(fmt.Sprintf("token-%d", n)), TokenType: "Bearer", ExpiresAt: exp},
		ExpiresAt: exp,
	}, nil
}

// Two caches, as two replicas would have, share one token through a store.
// In a fleet the store is redisstore.New(client) and each replica runs the
// same code.
func ExampleWrap() {
	st := store.NewMemory(nil)
	auth := &countingAuth{}
	newReplica := func() *tokenactor.Cache[tokenactor.ServiceToken] {
		shared := store.Wrap(auth, st, "orders-api", store.ServiceTokenCodec{})
		return tokenactor.New[tokenactor.ServiceToken](shared)
	}
	a, b := newReplica(), newReplica()
	defer a.Close()
	defer b.Close()

	ta, _ := a.Get(context.Background())
	tb, _ := b.Get(context.Background())
	fmt.Println(ta.AccessToken.Reveal(), tb.AccessToken.Reveal())
	fmt.Println("token requests:", auth.requests.Load())
	// Output:
	// token-1 token-1
	// token requests: 1
}
