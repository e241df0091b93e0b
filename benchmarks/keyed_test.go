package benchmarks_test

import (
	"context"
	"math/bits"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenactor/tokenactor/benchmarks"
	"github.com/tokenactor/tokenactor/internal/benchkit"
)

// The keyed scenarios: many tenants' tokens behind one keyed cache,
// tokenactor's Group beside otter, in the same run. Run from this folder:
//
//	go test -run '^$' -bench Keyed -benchtime 1s -cpu 2,8 -benchmem

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

// BenchmarkKeyedTurns runs the random and hot scenarios on both engines in
// alternating turns of 20,000 Gets per goroutine, so that on a shared
// machine both see the same background load, and reports each engine's
// ns/op (wall time over all Gets, as b.RunParallel counts it) and otter's
// time over tokenactor's (x-faster).
func BenchmarkKeyedTurns(b *testing.B) {
	for _, sc := range []struct {
		name string
		keys int
	}{
		{"random-10k", tenants},
		{"hot", 1},
	} {
		b.Run("scenario="+sc.name, func(b *testing.B) { keyedTurns(b, sc.keys) })
	}
}

func keyedTurns(b *testing.B, n int) {
	keys := tenantKeys(n)
	ctx := context.Background()
	caches := make([]benchmarks.KeyedCache, len(benchmarks.KeyedEngines))
	for i, e := range benchmarks.KeyedEngines {
		caches[i] = e.New(newUpstream(), benchkit.Window, 0)
		defer caches[i].Close()
		for _, k := range keys {
			if _, err := caches[i].Get(ctx, k); err != nil {
				b.Fatal(err)
			}
		}
	}
	const turn = 20_000
	p := runtime.GOMAXPROCS(0)
	per := max(b.N/p, 1)
	took := make([]time.Duration, len(caches))
	b.ResetTimer()
	for done := 0; done < per; done += turn {
		for i, c := range caches {
			took[i] += getMany(b, c, keys, p, min(turn, per-done), uint64(done))
		}
	}
	b.StopTimer()
	ops := float64(p * per)
	for i, e := range benchmarks.KeyedEngines {
		b.ReportMetric(float64(took[i].Nanoseconds())/ops, e.Name+"-ns/op")
	}
	b.ReportMetric(float64(took[1])/float64(took[0]), "x-faster")
}

// getMany has p goroutines Get n random keys each from c, and returns the
// wall time they took.
func getMany(b *testing.B, c benchmarks.KeyedCache, keys []string, p, n int, seed uint64) time.Duration {
	ctx := context.Background()
	var wg sync.WaitGroup
	start := time.Now()
	for g := range p {
		wg.Go(func() {
			x := (seed+uint64(g)+1)*0x9e3779b97f4a7c15 | 1
			for range n {
				x ^= x << 13
				x ^= x >> 7
				x ^= x << 17
				i, _ := bits.Mul64(x, uint64(len(keys)))
				if _, err := c.Get(ctx, keys[i]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

func tenantKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "tenant-" + strconv.Itoa(i)
	}
	return keys
}

// newUpstream issues tokens that live an hour.
func newUpstream() *benchkit.Upstream {
	return benchkit.NewUpstream(func(context.Context, int64) (benchkit.Token, error) {
		return benchkit.Token{Value: "token", ExpiresAt: time.Now().Add(time.Hour)}, nil
	})
}

// keyedGet fills a cache of engine e with tokens for every key it can hold
// (all of n, or max), then has parallel callers Get random keys out of n.
func keyedGet(b *testing.B, e benchmarks.KeyedEngine, n, max int) {
	u := newUpstream()
	c := e.New(u, benchkit.Window, max)
	defer c.Close()
	keys := tenantKeys(n)
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
		x := seeds.Add(1)*0x9e3779b97f4a7c15 | 1 // a distinct xorshift state per goroutine, never 0
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
