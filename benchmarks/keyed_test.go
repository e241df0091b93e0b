package benchmarks_test

import (
	"context"
	"math/bits"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenactor/tokenactor/benchmarks"
	"github.com/tokenactor/tokenactor/internal/benchkit"
)

// The keyed scenarios: many tenants' tokens behind one keyed cache,
// tokenactor's Group beside otter, in the same run. Run from this folder:
//
//	go test -run '^$' -bench Keyed -benchtime 2s -count 5 -cpu 2,8

// tenants is how many keys the random and churn scenarios use.
const tenants = 10_000

// BenchmarkKeyed measures a Get of a fresh token by key from parallel
// callers: random keys over 10,000 tenants that all hold a token; one hot
// key; and churn, random keys over twice as many tenants as the cache may
// hold, so keys are made and evicted all the time (made/op is the share of
// Gets that made a key's token).
func BenchmarkKeyed(b *testing.B) {
	for _, sc := range []struct {
		name      string
		keys, max int
	}{
		{"random-10k", tenants, 0},
		{"hot", 1, 0},
		{"churn", 2 * tenants, tenants},
	} {
		b.Run("scenario="+sc.name, func(b *testing.B) {
			for _, e := range benchmarks.KeyedEngines {
				b.Run("engine="+e.Name, func(b *testing.B) { keyedGet(b, e, sc.keys, sc.max) })
			}
		})
	}
}

// keyedGet fills a cache of engine e with tokens for every key it can hold
// (all of n, or max), then has parallel callers Get random keys out of n.
func keyedGet(b *testing.B, e benchmarks.KeyedEngine, n, max int) {
	u := benchkit.NewUpstream(func(context.Context, int64) (benchkit.Token, error) {
		return benchkit.Token{Value: "token", ExpiresAt: time.Now().Add(time.Hour)}, nil
	})
	c := e.New(u, benchkit.Window, max)
	defer c.Close()
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "tenant-" + strconv.Itoa(i)
	}
	ctx := context.Background()
	fill := keys
	if max > 0 {
		fill = keys[:max]
	}
	for _, k := range fill {
		if _, err := c.Get(ctx, k); err != nil {
			b.Fatal(err)
		}
	}
	made := u.Calls()
	var seeds atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		x := seeds.Add(1) * 0x9e3779b97f4a7c15 // a distinct xorshift state per goroutine
		for pb.Next() {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			i, _ := bits.Mul64(x, uint64(n))
			if _, err := c.Get(ctx, keys[i]); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(u.Calls()-made)/float64(b.N), "made/op")
}
