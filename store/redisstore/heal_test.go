package redisstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/internal/redistest"
	"github.com/tokenactor/tokenactor/store"
	"github.com/tokenactor/tokenactor/store/redisstore"
)

var stringCodec = store.CodecFunc(
	func(s string) ([]byte, error) { return []byte(s), nil },
	func(b []byte) (string, error) { return string(b), nil },
)

// counter is an inner refresher that issues "v1", "v2", ... living an hour.
type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) Refresh(context.Context, *tokenactor.Entry[string]) (tokenactor.Entry[string], error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return tokenactor.Entry[string]{Value: fmt.Sprint("v", c.n), ExpiresAt: time.Now().Add(time.Hour)}, nil
}

func (c *counter) calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// eventLog records event kinds in order.
type eventLog struct {
	mu  sync.Mutex
	got []string
}

func (l *eventLog) add(e store.Event) {
	k := reflect.TypeOf(e).Name()
	switch e := e.(type) {
	case store.LocalFallback:
		k += "/" + e.Reason.String()
	case store.Failed:
		k += "/" + string(e.Op)
	}
	l.mu.Lock()
	l.got = append(l.got, k)
	l.mu.Unlock()
}

func (l *eventLog) kinds() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.got...)
}

// newStore returns a Store on srv, closed when the test ends.
func newStore(t *testing.T, addr string) *redisstore.Store {
	s := redisstore.New(newClient(t, addr))
	t.Cleanup(func() { _ = s.Close() })
	return s
}

const healKey = "svc"

func wrapString(inner tokenactor.Refresher[string], st store.Store, ev *eventLog, opts ...store.Option) *store.Shared[string] {
	opts = append([]store.Option{
		store.WithEventHook(ev.add),
		store.WithLease(2*time.Second, 3*time.Second),
		store.WithPollInterval(20*time.Millisecond, 100*time.Millisecond),
	}, opts...)
	return store.Wrap(inner, st, healKey, stringCodec, opts...)
}

// TestWrongTypeRecordHeals: a hash where the record belongs is reported as
// corrupt and replaced by the first refresh; the next replica adopts.
// (Before, GET's WRONGTYPE was taken for an unavailable store: every replica
// refreshed on its own and none ever replaced it.)
func TestWrongTypeRecordHeals(t *testing.T) {
	srv := redistest.Start(t)
	rdb := newClient(t, srv.Addr)
	ctx := context.Background()
	st := newStore(t, srv.Addr)
	if err := rdb.HSet(ctx, st.RecordKey(healKey), "f", "v").Err(); err != nil {
		t.Fatal(err)
	}
	inner := &counter{}
	var evA, evB eventLog
	a := wrapString(inner, st, &evA)
	if _, err := a.Refresh(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"Failed/decode", "Failed/decode", "Published"}, evA.kinds()); diff != "" {
		t.Errorf("events of the first replica (-want +got):\n%s", diff)
	}
	if typ := rdb.Type(ctx, st.RecordKey(healKey)).Val(); typ != "string" {
		t.Errorf("record key is a %s after a refresh, want a string", typ)
	}
	b := wrapString(inner, newStore(t, srv.Addr), &evB)
	e, err := b.Refresh(ctx, nil)
	if err != nil || e.Value != "v1" || inner.calls() != 1 {
		t.Errorf("next replica got %q, %v with %d token requests; want v1 with 1", e.Value, err, inner.calls())
	}
}

// TestLeaseWithoutTTLHeals: a lease key with no TTL, of any type, is taken
// over at once, with a TTL; before, every replica waited out the lease wait
// and refreshed on its own, forever.
func TestLeaseWithoutTTLHeals(t *testing.T) {
	tests := []struct {
		name string
		set  func(ctx context.Context, c *redis.Client, k string) error
	}{
		{"string", func(ctx context.Context, c *redis.Client, k string) error { return c.Set(ctx, k, "ghost", 0).Err() }},
		{"hash", func(ctx context.Context, c *redis.Client, k string) error { return c.HSet(ctx, k, "f", "v").Err() }},
		{"persisted", func(ctx context.Context, c *redis.Client, k string) error {
			if err := c.Set(ctx, k, "ghost", time.Minute).Err(); err != nil {
				return err
			}
			return c.Persist(ctx, k).Err()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := redistest.Start(t)
			rdb := newClient(t, srv.Addr)
			ctx := context.Background()
			st := newStore(t, srv.Addr)
			if err := tt.set(ctx, rdb, st.LeaseKey(healKey)); err != nil {
				t.Fatal(err)
			}
			if err := st.Acquire(ctx, healKey, "me", 5*time.Second); err != nil {
				t.Fatalf("Acquire over a lease without TTL: %v", err)
			}
			ttl := rdb.PTTL(ctx, st.LeaseKey(healKey)).Val()
			if owner := rdb.Get(ctx, st.LeaseKey(healKey)).Val(); owner != "me" || ttl <= 0 || ttl > 5*time.Second {
				t.Errorf("lease after Acquire: owner %q, TTL %v; want me, in (0, 5s]", owner, ttl)
			}
			if err := st.Acquire(ctx, healKey, "other", 5*time.Second); !errors.Is(err, store.ErrLeaseHeld) {
				t.Errorf("a second Acquire: %v, want ErrLeaseHeld", err)
			}
		})
	}
}

// TestLoadBounded: a string too large to be a record is reported as
// corrupt without being read whole; one of MaxRecordSize bytes is read.
func TestLoadBounded(t *testing.T) {
	srv := redistest.Start(t)
	rdb := newClient(t, srv.Addr)
	ctx := context.Background()
	st := newStore(t, srv.Addr)
	huge := strings.Repeat("x", 8<<20)
	if err := rdb.Set(ctx, st.RecordKey(healKey), huge, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if b, err := st.Load(ctx, healKey); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("Load of an 8 MiB value: %d bytes, %v; want ErrCorrupt", len(b), err)
	}
	exact := bytes.Repeat([]byte("y"), store.MaxRecordSize)
	if err := rdb.Set(ctx, st.RecordKey(healKey), exact, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if b, err := st.Load(ctx, healKey); err != nil || !bytes.Equal(b, exact) {
		t.Errorf("Load of MaxRecordSize bytes: %d bytes, %v; want them all", len(b), err)
	}
}

func TestDeleteComparesRecord(t *testing.T) {
	srv := redistest.Start(t)
	rdb := newClient(t, srv.Addr)
	ctx := context.Background()
	st := newStore(t, srv.Addr)
	if err := st.Save(ctx, healKey, []byte("v1"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, healKey, []byte("v0")); err != nil {
		t.Fatal(err)
	}
	if b, err := st.Load(ctx, healKey); err != nil || string(b) != "v1" {
		t.Fatalf("after deleting another record: %q, %v; want v1 kept", b, err)
	}
	if err := st.Delete(ctx, healKey, []byte("v1")); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Load(ctx, healKey); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after deleting it: %v, want ErrNotFound", err)
	}
	if err := rdb.HSet(ctx, st.RecordKey(healKey), "f", "v1").Err(); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, healKey, []byte("v1")); err != nil {
		t.Errorf("Delete over a hash: %v, want no error", err)
	}
}

// recv waits for a record on ch, at most limit (a real server: the limit
// bounds a failing test, it does not synchronise).
func recv(ch <-chan []byte, limit time.Duration) ([]byte, bool) {
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case b := <-ch:
		return b, true
	case <-t.C:
		return nil, false
	}
}

// TestWatchHearsSave: a Save on one Store reaches Watch on another, and
// again after Redis restarts (go-redis resubscribes).
func TestWatchHearsSave(t *testing.T) {
	srv := redistest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	watcher, saver := newStore(t, srv.Addr), newStore(t, srv.Addr)
	ch, stop, err := watcher.Watch(ctx, healKey)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if err := saver.Save(ctx, healKey, []byte("r1"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if b, ok := recv(ch, 5*time.Second); !ok || string(b) != "r1" {
		t.Fatalf("heard %q (%t), want r1", b, ok)
	}
	srv.Restart()
	// Saves may be lost until go-redis has reconnected and resubscribed.
	for i := 0; ctx.Err() == nil; i++ {
		want := fmt.Sprint("after-restart-", i)
		if err := saver.Save(ctx, healKey, []byte(want), time.Minute); err != nil {
			continue
		}
		if b, ok := recv(ch, 200*time.Millisecond); ok {
			if !strings.HasPrefix(string(b), "after-restart-") {
				t.Fatalf("heard %q after the restart", b)
			}
			return
		}
	}
	t.Fatal("nothing heard after Redis restarted")
}

// TestWatchAfterClose: a closed Store refuses to watch.
func TestWatchAfterClose(t *testing.T) {
	srv := redistest.Start(t)
	st := redisstore.New(newClient(t, srv.Addr))
	ctx := context.Background()
	_, stop, err := st.Watch(ctx, healKey)
	if err != nil {
		t.Fatal(err)
	}
	stop()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Watch(ctx, healKey); err == nil {
		t.Error("Watch after Close succeeded")
	}
	if err := st.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// recordBytes returns a record of value as a Shared under healKey writes
// it (through a Memory store).
func recordBytes(t *testing.T, value string) []byte {
	mem := store.NewMemory(nil)
	inner := tokenactor.RefresherFunc[string](func(context.Context, *tokenactor.Entry[string]) (tokenactor.Entry[string], error) {
		return tokenactor.Entry[string]{Value: value, ExpiresAt: time.Now().Add(time.Hour)}, nil
	})
	ctx := context.Background()
	if _, err := store.Wrap(inner, mem, healKey, stringCodec).Refresh(ctx, nil); err != nil {
		t.Fatal(err)
	}
	b, err := mem.Load(ctx, healKey)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLostMessageAdoptsByPolling: a replica waits on a lease another holds;
// the record then appears without a message (written by SET, or published
// while the subscription is cut). The waiter still adopts it, by polling,
// with no token request.
func TestLostMessageAdoptsByPolling(t *testing.T) {
	tests := []struct {
		name  string
		write func(ctx context.Context, t *testing.T, srv *redistest.Server, st *redisstore.Store, rec []byte)
	}{
		{"saved without a message", func(ctx context.Context, t *testing.T, srv *redistest.Server, st *redisstore.Store, rec []byte) {
			if err := newClient(t, srv.Addr).Set(ctx, st.RecordKey(healKey), rec, time.Hour).Err(); err != nil {
				t.Fatal(err)
			}
		}},
		{"subscription cut before the save", func(ctx context.Context, t *testing.T, srv *redistest.Server, st *redisstore.Store, rec []byte) {
			c := newClient(t, srv.Addr)
			if err := c.Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
				t.Fatal(err)
			}
			if err := st.Save(ctx, healKey, rec, time.Hour); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := redistest.Start(t)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			waiterStore, other := newStore(t, srv.Addr), newStore(t, srv.Addr)
			if err := other.Acquire(ctx, healKey, "holder", 8*time.Second); err != nil {
				t.Fatal(err)
			}
			inner := &counter{}
			var ev eventLog
			b := wrapString(inner, waiterStore, &ev, store.WithLease(8*time.Second, 8*time.Second))
			type result struct {
				e   tokenactor.Entry[string]
				err error
			}
			done := make(chan result, 1)
			// Subscribe first, so the cut in the second case hits a live
			// subscription.
			if _, stop, err := waiterStore.Watch(ctx, healKey); err != nil {
				t.Fatal(err)
			} else {
				stop()
			}
			go func() {
				e, err := b.Refresh(ctx, nil)
				done <- result{e, err}
			}()
			tt.write(ctx, t, srv, other, recordBytes(t, "from-sibling"))
			r := <-done
			if r.err != nil || r.e.Value != "from-sibling" || inner.calls() != 0 {
				t.Errorf("waiter got %q, %v with %d token requests; want from-sibling with 0; events %v", r.e.Value, r.err, inner.calls(), ev.kinds())
			}
		})
	}
}

// TestWatchHostileMessages: a message too large to be a record is dropped
// unread, and a watcher that has not taken a record yet gets the newest.
func TestWatchHostileMessages(t *testing.T) {
	srv := redistest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st := newStore(t, srv.Addr)
	ch, stop, err := st.Watch(ctx, healKey)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	marker, mstop, err := st.Watch(ctx, "marker")
	if err != nil {
		t.Fatal(err)
	}
	defer mstop()
	rdb := newClient(t, srv.Addr)
	channel := strings.TrimSuffix(st.RecordKey(healKey), ":token") + ":saved"
	for _, m := range []string{"r1", "r2", strings.Repeat("x", store.MaxRecordSize+1)} {
		if err := rdb.Publish(ctx, channel, m).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// One reader handles the messages in order: once the marker, published
	// last, arrives, the others were handled.
	if err := st.Save(ctx, "marker", []byte("m"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, ok := recv(marker, 5*time.Second); !ok {
		t.Fatal("marker not heard")
	}
	select {
	case b := <-ch:
		if string(b) != "r2" {
			t.Errorf("watcher got %d bytes %.10q, want r2 (the newest record; the oversized one dropped)", len(b), b)
		}
	default:
		t.Error("watcher got nothing")
	}
}

// TestWatchWhileRedisPaused: when Redis does not confirm a subscription in
// time, the first Watch of a key fails, and the next ones return at once
// instead of waiting out every caller's timeout again.
func TestWatchWhileRedisPaused(t *testing.T) {
	srv := redistest.Start(t)
	st := newStore(t, srv.Addr)
	rdb := newClient(t, srv.Addr)
	ctx := context.Background()
	// Open the pub/sub connection first, so the pause hits the SUBSCRIBE.
	if _, stop, err := st.Watch(ctx, "warm"); err != nil {
		t.Fatal(err)
	} else {
		stop()
	}
	if err := rdb.Do(ctx, "CLIENT", "PAUSE", "3000", "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	defer rdb.Do(ctx, "CLIENT", "UNPAUSE")
	first, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, _, err := st.Watch(first, healKey); err == nil {
		t.Fatal("Watch during CLIENT PAUSE succeeded; the test needs it to wait")
	}
	second, cancel2 := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel2()
	_, stop, err := st.Watch(second, healKey)
	if err != nil {
		t.Errorf("second Watch while Redis is paused: %v; want it to return at once", err)
	} else {
		stop()
	}
}

// TestFarFutureThroughRedis: a token expiring in year 3000 is saved (its
// TTL within what Redis accepts) and adopted with an expiry of MaxExpiry,
// not wrapped into 1830 and refused.
func TestFarFutureThroughRedis(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	far := time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
	inner := tokenactor.RefresherFunc[string](func(context.Context, *tokenactor.Entry[string]) (tokenactor.Entry[string], error) {
		return tokenactor.Entry[string]{Value: "forever", ExpiresAt: far}, nil
	})
	var evA, evB eventLog
	a := wrapString(inner, newStore(t, srv.Addr), &evA)
	if _, err := a.Refresh(ctx, nil); err != nil {
		t.Fatal(err)
	}
	b := wrapString(inner, newStore(t, srv.Addr), &evB)
	e, err := b.Refresh(ctx, nil)
	if err != nil || e.Value != "forever" || !e.ExpiresAt.Equal(store.MaxExpiry) {
		t.Errorf("adopted %q expiring %v, %v; want forever expiring MaxExpiry", e.Value, e.ExpiresAt, err)
	}
	if diff := cmp.Diff([]string{"Adopted"}, evB.kinds()); diff != "" {
		t.Errorf("events of the second replica (-want +got):\n%s; first: %v", diff, evA.kinds())
	}
}
