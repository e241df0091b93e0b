package tokenactor

import (
	"context"
	"hash/maphash"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// A Get whose fast path found its key's member, and lost it to eviction
// before it could hold it (the cache was closed under it, so its fast path
// had nothing to serve), must not use the closed cache: it makes a new one.
func TestGroupGetRacingEvictionMakesNewCache(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var made atomic.Int32
		g := NewGroup(func(string) (*Cache[int], error) {
			made.Add(1)
			return New[int](hourValue), nil
		})
		defer g.Close()
		ctx := context.Background()
		if _, err := g.Get(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		h := maphash.Comparable(g.seed, "a")
		found := g.table.Load().find("a", h, g.tomb) // what a racing Get's fast path saw

		g.mu.Lock()
		old := g.evict(found)
		g.mu.Unlock()
		if old == nil {
			t.Fatal("an idle member was not evicted")
		}
		_ = old.Close()

		if _, err := g.get(ctx, "a", h, found); err != nil {
			t.Errorf("Get racing eviction: %v, want the value of a new cache", err)
		}
		if n, now := made.Load(), g.table.Load().find("a", h, g.tomb); n != 2 || now == found || g.Len() != 1 {
			t.Errorf("after the racing Get: %d caches made, member replaced: %v, %d held; want 2, true, 1", n, now != found, g.Len())
		}
	})
}

// A member a Get holds (one waiting on its cache) is not evicted by the
// bound or by a sweep; once let go, it is.
func TestGroupEvictSkipsHeldMember(t *testing.T) {
	g := NewGroup(func(string) (*Cache[int], error) { return New[int](hourValue), nil })
	defer g.Close()
	if _, err := g.Get(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	m := g.table.Load().find("a", maphash.Comparable(g.seed, "a"), g.tomb)
	m.state.Add(1) // a Get holds it
	g.mu.Lock()
	held := g.evict(m)
	g.mu.Unlock()
	m.state.Add(-1)
	g.mu.Lock()
	free := g.evict(m)
	g.mu.Unlock()
	if held != nil || free == nil {
		t.Errorf("evicted while held: %v, once let go: %v; want false, true", held != nil, free != nil)
	}
	_ = free.Close()
}

// The table, driven by random adds and removes that churn through
// tombstones and rebuilds, finds exactly the members a plain map holds.
func TestGroupTableMatchesMap(t *testing.T) {
	g := NewGroup(func(int) (*Cache[int], error) { return nil, nil })
	want := map[int]*member[int, int]{}
	rng := rand.New(rand.NewPCG(1, 2))
	for step := range 20000 {
		k := rng.IntN(300)
		g.mu.Lock()
		if m, ok := want[k]; ok {
			g.remove(m)
			delete(want, k)
		} else {
			m := &member[int, int]{key: k, hash: maphash.Comparable(g.seed, k)}
			g.insert(m)
			want[k] = m
		}
		g.mu.Unlock()
		if step%1000 != 0 {
			continue
		}
		tb := g.table.Load()
		for k := range 300 {
			if got := tb.find(k, maphash.Comparable(g.seed, k), g.tomb); got != want[k] {
				t.Fatalf("step %d: find(%d) = %p, want %p", step, k, got, want[k])
			}
		}
		if len(g.list) != len(want) || tb.used*4 > len(tb.slots)*3 {
			t.Fatalf("step %d: list of %d for %d members, table %d/%d used", step, len(g.list), len(want), tb.used, len(tb.slots))
		}
		for i, m := range g.list {
			if m.index != i {
				t.Fatalf("step %d: member %d at %d thinks it is at %d", step, m.key, i, m.index)
			}
		}
	}
}

// The size bound is exact while enough caches are idle, even when the
// sample it draws holds only caches that Gets wait on: it then looks at
// every cache.
func TestGroupBoundFindsTheOneIdleCache(t *testing.T) {
	const bound = 30
	g := NewGroup(func(string) (*Cache[int], error) { return New[int](hourValue), nil }, WithMaxCaches(bound))
	defer g.Close()
	ctx := context.Background()
	for i := range bound {
		if _, err := g.Get(ctx, strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	g.mu.Lock()
	for _, m := range g.list[1:] {
		m.state.Add(1) // a Get waits on every cache but one
	}
	free := g.list[0]
	g.mu.Unlock()
	if _, err := g.Get(ctx, "new"); err != nil {
		t.Fatal(err)
	}
	if g.Len() != bound || free.state.Load()&evicted == 0 {
		t.Errorf("%d caches, the idle one evicted: %v; want %d, true", g.Len(), free.state.Load()&evicted != 0, bound)
	}
	g.mu.Lock()
	for _, m := range g.list {
		if m.key != "new" {
			m.state.Add(-1)
		}
	}
	g.mu.Unlock()
}

// hourValue hands out the value 1, living an hour.
var hourValue = RefresherFunc[int](func(context.Context, *Entry[int]) (Entry[int], error) {
	return Entry[int]{Value: 1, ExpiresAt: time.Now().Add(time.Hour)}, nil
})
