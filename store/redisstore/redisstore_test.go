package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tokenactor/tokenactor/internal/redistest"
	"github.com/tokenactor/tokenactor/store"
	"github.com/tokenactor/tokenactor/store/redisstore"
)

// newClient returns a client for srv that fails fast when it is down, and
// closes it when the test ends.
func newClient(t testing.TB, addr string) *redis.Client {
	c := redis.NewClient(&redis.Options{
		Addr:            addr,
		MaxRetries:      -1,
		DialTimeout:     200 * time.Millisecond,
		ReadTimeout:     200 * time.Millisecond,
		WriteTimeout:    200 * time.Millisecond,
		PoolSize:        4,
		DisableIdentity: true,
	})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestStoreRecord(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv.Addr)
	s := redisstore.New(c)
	ctx := context.Background()

	if _, err := s.Load(ctx, "svc"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Load of a missing record: got %v, want ErrNotFound", err)
	}
	if err := s.Save(ctx, "svc", []byte("v1"), time.Minute); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load(ctx, "svc")
	if err != nil || string(got) != "v1" {
		t.Fatalf("Load = %q, %v; want v1", got, err)
	}
	ttl, err := c.PTTL(ctx, "tokenactor:{svc}:token").Result()
	if err != nil || ttl <= 0 || ttl > time.Minute {
		t.Fatalf("PTTL of the record = %v, %v; want in (0, 1m]", ttl, err)
	}
	if err := s.Save(ctx, "svc", []byte("v2"), 0); err == nil {
		t.Fatal("Save with a zero ttl succeeded")
	}
}

func TestStoreLease(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv.Addr)
	s := redisstore.New(c, redisstore.WithPrefix("app:"))
	ctx := context.Background()

	if err := s.Acquire(ctx, "svc", "alice", time.Minute); err != nil {
		t.Fatalf("first Acquire: %v", err)
	}
	if err := s.Acquire(ctx, "svc", "bob", time.Minute); !errors.Is(err, store.ErrLeaseHeld) {
		t.Fatalf("second Acquire: got %v, want ErrLeaseHeld", err)
	}
	// Release by another owner must not delete alice's lease.
	if err := s.Release(ctx, "svc", "bob"); err != nil {
		t.Fatal(err)
	}
	if owner, err := c.Get(ctx, "app:{svc}:lease").Result(); err != nil || owner != "alice" {
		t.Fatalf("lease after a stranger's Release = %q, %v; want alice", owner, err)
	}
	if err := s.Release(ctx, "svc", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := s.Acquire(ctx, "svc", "bob", time.Minute); err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	// The lease survives a script cache flush (a Redis restart empties it).
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Release(ctx, "svc", "bob"); err != nil {
		t.Fatalf("Release after SCRIPT FLUSH: %v", err)
	}
	if n, err := c.Exists(ctx, "app:{svc}:lease").Result(); err != nil || n != 0 {
		t.Fatalf("lease still there after its owner released it: %d, %v", n, err)
	}
}

func TestStoreDown(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv.Addr)
	s := redisstore.New(c)
	srv.Stop()
	ctx := context.Background()
	if _, err := s.Load(ctx, "svc"); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Load from a stopped Redis: got %v, want a connection error", err)
	}
	if err := s.Acquire(ctx, "svc", "o", time.Second); err == nil || errors.Is(err, store.ErrLeaseHeld) {
		t.Fatalf("Acquire from a stopped Redis: got %v, want a connection error", err)
	}
}

func TestKeyNames(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	s := redisstore.New(c)
	if got, want := s.RecordKey("client-1"), "tokenactor:{client-1}:token"; got != want {
		t.Errorf("RecordKey = %q, want %q", got, want)
	}
	if got, want := s.LeaseKey("client-1"), "tokenactor:{client-1}:lease"; got != want {
		t.Errorf("LeaseKey = %q, want %q", got, want)
	}
}

// TestStoreLeaseExtend: only the owner extends its lease, a missing lease
// cannot be extended (nor made), and an extension sets the TTL.
func TestStoreLeaseExtend(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv.Addr)
	s := redisstore.New(c)
	ctx := context.Background()
	lease := s.LeaseKey("svc")

	if err := s.Extend(ctx, "svc", "alice", time.Minute); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("Extend of a missing lease: %v, want ErrLeaseLost", err)
	}
	if n := c.Exists(ctx, lease).Val(); n != 0 {
		t.Errorf("Extend of a missing lease created it")
	}
	if err := s.Acquire(ctx, "svc", "alice", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := s.Extend(ctx, "svc", "bob", time.Hour); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("Extend by another owner: %v, want ErrLeaseLost", err)
	}
	if ttl := c.PTTL(ctx, lease).Val(); ttl <= 0 || ttl > 2*time.Second {
		t.Errorf("TTL after a stranger's Extend = %v, want alice's 2 s or less", ttl)
	}
	if err := s.Extend(ctx, "svc", "alice", time.Minute); err != nil {
		t.Fatalf("Extend by the owner: %v", err)
	}
	if ttl := c.PTTL(ctx, lease).Val(); ttl <= 50*time.Second || ttl > time.Minute {
		t.Errorf("TTL after the owner's Extend = %v, want about 1 m", ttl)
	}
	if owner := c.Get(ctx, lease).Val(); owner != "alice" {
		t.Errorf("owner after Extend = %q, want alice", owner)
	}
	if err := c.HSet(ctx, s.LeaseKey("hash"), "alice", "alice").Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Extend(ctx, "hash", "alice", time.Minute); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("Extend of a lease of another type: %v, want ErrLeaseLost", err)
	}
	if err := s.Extend(ctx, "svc", "alice", 0); err == nil {
		t.Error("Extend with a zero ttl succeeded")
	}
}

// TestLongLeaseIsCut: a lease left with far more time than a replica's own
// lease TTL is cut to that TTL by the replica's Acquire, not taken over.
// Before, every replica waited out its lease wait and refreshed on its
// own, on every refresh, for as long as the lease lasted.
func TestLongLeaseIsCut(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv.Addr)
	s := redisstore.New(c)
	ctx := context.Background()
	lease := s.LeaseKey("svc")
	if err := c.Set(ctx, lease, "ghost", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Acquire(ctx, "svc", "me", 5*time.Second); !errors.Is(err, store.ErrLeaseHeld) {
		t.Fatalf("Acquire of a held lease: %v, want ErrLeaseHeld", err)
	}
	if owner, ttl := c.Get(ctx, lease).Val(), c.PTTL(ctx, lease).Val(); owner != "ghost" || ttl <= 0 || ttl > 5*time.Second {
		t.Errorf("lease after Acquire: owner %q, TTL %v; want ghost, in (0, 5s]", owner, ttl)
	}
	// A lease with less left than ours is left as it is.
	if err := s.Acquire(ctx, "svc", "me", time.Minute); !errors.Is(err, store.ErrLeaseHeld) {
		t.Fatalf("Acquire of a held lease: %v, want ErrLeaseHeld", err)
	}
	if ttl := c.PTTL(ctx, lease).Val(); ttl <= 0 || ttl > 5*time.Second {
		t.Errorf("TTL after a longer Acquire = %v, want still 5 s or less", ttl)
	}
}
