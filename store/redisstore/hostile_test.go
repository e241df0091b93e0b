package redisstore_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/tokenactor/tokenactor/internal/redistest"
	"github.com/tokenactor/tokenactor/store/redisstore"
)

// TestRedisOutOfMemory: a Redis that refuses writes (maxmemory reached,
// noeviction) fails the scripts at their first write. The replica reports
// it, refreshes on its own, and once Redis takes writes again the next
// refresh publishes and a sibling adopts.
func TestRedisOutOfMemory(t *testing.T) {
	srv := redistest.Start(t)
	rdb := newClient(t, srv.Addr)
	ctx := context.Background()
	if err := rdb.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	inner := &counter{}
	var evA, evB eventLog
	a := wrapString(inner, newStore(t, srv.Addr), &evA)
	e, err := a.Refresh(ctx, nil)
	if err != nil || e.Value != "v1" {
		t.Fatalf("Refresh with Redis out of memory = %q, %v; want v1 from the inner refresher", e.Value, err)
	}
	if k := evA.kinds(); !slices.Contains(k, "Failed/acquire") || !slices.Contains(k, "LocalFallback/store unavailable") {
		t.Errorf("events %v, want the failed acquire and the local fallback reported", k)
	}
	if err := rdb.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Refresh(ctx, &e); err != nil {
		t.Fatal(err)
	}
	b := wrapString(inner, newStore(t, srv.Addr), &evB)
	if e, err := b.Refresh(ctx, nil); err != nil || e.Value != "v2" || inner.calls() != 2 {
		t.Errorf("sibling got %q, %v after %d token requests; want v2 adopted after 2", e.Value, err, inner.calls())
	}
}

// TestNewPanicsByName: a nil client or a nil Option is a programming
// error, reported with a message naming it, not a nil dereference.
func TestNewPanicsByName(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	tests := map[string]func(){
		"nil client": func() { redisstore.New(nil) },
		"nil Option": func() { redisstore.New(c, nil) },
	}
	for name, f := range tests {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if msg, ok := recover().(string); !ok || !strings.HasPrefix(msg, "redisstore: ") {
					t.Errorf("panicked with %v, want a message starting %q", msg, "redisstore: ")
				}
			}()
			f()
		})
	}
}
