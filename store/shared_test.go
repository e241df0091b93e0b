package store_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/store"
)

const (
	life   = 10 * time.Minute
	window = 1 * time.Minute
	key    = "svc"
)

// wrap returns a Shared over st with the test's window and an event log.
func wrap(inner tokenactor.Refresher[string], st store.Store, opts ...store.Option) (*store.Shared[string], *events) {
	ev := &events{}
	opts = append([]store.Option{store.WithEventHook(ev.add)}, opts...)
	return store.Wrap(inner, st, key, stringCodec, opts...), ev
}

func mustValue(t *testing.T, e tokenactor.Entry[string], err error) string {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if e.Final {
		t.Errorf("entry %q marked Final; the cache would never ask the store again", e.Value)
	}
	return e.Value
}

func TestSecondReplicaAdopts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		mem := store.NewMemory(nil)
		inner := &fakeInner{life: life}
		a, evA := wrap(inner, mem)
		b, evB := wrap(inner, mem)

		ea, err := a.Refresh(ctx, nil)
		va := mustValue(t, ea, err)
		eb, err := b.Refresh(ctx, nil)
		vb := mustValue(t, eb, err)

		if va != "v1" || vb != "v1" || inner.calls() != 1 {
			t.Errorf("got %q and %q with %d token requests; want v1 twice with 1", va, vb, inner.calls())
		}
		if !eb.ExpiresAt.Equal(ea.ExpiresAt) {
			t.Errorf("adopted expiry %v, want %v", eb.ExpiresAt, ea.ExpiresAt)
		}
		if diff := cmp.Diff([]string{"Published"}, evA.kinds()); diff != "" {
			t.Errorf("events of a (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"Adopted"}, evB.kinds()); diff != "" {
			t.Errorf("events of b (-want +got):\n%s", diff)
		}
	})
}

// TestOneRefreshPerExpiry runs three caches, the engine included, through
// five expiries on one Memory store: one token request per expiry.
func TestOneRefreshPerExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mem := store.NewMemory(nil)
		inner := &fakeInner{life: life}
		var caches []*tokenactor.Cache[string]
		for range 3 {
			s, _ := wrap(inner, mem)
			c := tokenactor.New[string](s, tokenactor.WithRefreshWindow(window))
			defer c.Close()
			caches = append(caches, c)
		}
		ctx := context.Background()
		const cycles = 5
		for range cycles {
			for _, c := range caches {
				if _, err := c.Get(ctx); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(life - window + time.Second) // past the stale point: background refreshes start
			synctest.Wait()
		}
		// The first round authenticates, each later one refreshes once.
		if got, want := inner.calls(), cycles; got != want {
			t.Errorf("%d token requests in %d rounds, want one per round", got, want)
		}
	})
}

func TestRefreshAdoptsSiblingValue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		mem := store.NewMemory(nil)
		inner := &fakeInner{life: life}
		a, _ := wrap(inner, mem)
		b, evB := wrap(inner, mem)
		cur, _ := a.Refresh(ctx, nil)
		curB, _ := b.Refresh(ctx, nil)

		time.Sleep(life - window) // v1 turns stale for both
		next, err := a.Refresh(ctx, &cur)
		if v := mustValue(t, next, err); v != "v2" {
			t.Fatalf("a renewed to %q, want v2", v)
		}
		got, err := b.Refresh(ctx, &curB)
		if v := mustValue(t, got, err); v != "v2" || inner.calls() != 2 {
			t.Errorf("b renewed to %q with %d token requests; want v2 with 2", v, inner.calls())
		}
		if diff := cmp.Diff([]string{"Adopted", "Adopted"}, evB.kinds()); diff != "" {
			t.Errorf("events of b (-want +got):\n%s", diff)
		}
	})
}

// TestRefreshOfFreshValueRenews is the Invalidate case: the cache asks to
// replace a value that is still fresh in the store (a server rejected it).
// The store must not hand the same value back.
func TestRefreshOfFreshValueRenews(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		mem := store.NewMemory(nil)
		inner := &fakeInner{life: life}
		a, _ := wrap(inner, mem)
		b, _ := wrap(inner, mem)
		cur, _ := a.Refresh(ctx, nil)
		curB, _ := b.Refresh(ctx, nil)

		next, err := a.Refresh(ctx, &cur)
		if v := mustValue(t, next, err); v != "v2" {
			t.Fatalf("renewing a rejected v1 gave %q, want v2", v)
		}
		// b's v1 is rejected too: it adopts v2 without a request.
		got, err := b.Refresh(ctx, &curB)
		if v := mustValue(t, got, err); v != "v2" || inner.calls() != 2 {
			t.Errorf("b got %q with %d token requests; want v2 with 2", v, inner.calls())
		}
	})
}

func TestRenewsNewestValueWithRightMethod(t *testing.T) {
	tests := []struct {
		name        string
		refreshable bool
		wantAuths   int
		wantRenewed []string
	}{
		// b's second renewal starts from v2, which a published, not from
		// its own older v1: a rotated refresh token is never replayed.
		{"renewable: Refresh the sibling's newer value", true, 1, []string{"v1", "v2"}},
		{"Final: start again with no previous value", false, 3, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				mem := store.NewMemory(nil)
				inner := &fakeInner{life: life, final: !tt.refreshable}
				a, _ := wrap(inner, mem)
				b, _ := wrap(inner, mem)
				old, _ := b.Refresh(ctx, nil) // v1
				cur, _ := a.Refresh(ctx, nil) // adopts v1
				time.Sleep(life - window)
				cur, _ = a.Refresh(ctx, &cur) // v2, published
				time.Sleep(life - window)     // v2 stale too; b still holds v1
				// b renews from v2 (the store's, newer), not its own v1.
				got, err := b.Refresh(ctx, &old)
				mustValue(t, got, err)
				_, _ = a.Refresh(ctx, &cur) // adopts b's v3
				inner.mu.Lock()
				defer inner.mu.Unlock()
				if diff := cmp.Diff(tt.wantRenewed, inner.refreshes); diff != "" {
					t.Errorf("values renewed (-want +got):\n%s", diff)
				}
				if inner.auths != tt.wantAuths {
					t.Errorf("%d Authenticate calls, want %d", inner.auths, tt.wantAuths)
				}
			})
		})
	}
}

func TestWaiterAdoptsLeaseHolderValue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		mem := store.NewMemory(nil)
		inner := &fakeInner{life: life, gate: make(chan struct{})}
		a, _ := wrap(inner, mem)
		b, evB := wrap(inner, mem)

		var wg sync.WaitGroup
		var va, vb string
		wg.Go(func() { e, err := a.Refresh(ctx, nil); va = mustValue(t, e, err) })
		synctest.Wait() // a holds the lease and waits in the inner refresher
		wg.Go(func() { e, err := b.Refresh(ctx, nil); vb = mustValue(t, e, err) })
		time.Sleep(2 * time.Second) // b polls meanwhile
		inner.gate <- struct{}{}
		wg.Wait()
		if va != "v1" || vb != "v1" || inner.calls() != 1 {
			t.Errorf("got %q and %q with %d token requests; want v1 twice with 1", va, vb, inner.calls())
		}
		if diff := cmp.Diff([]string{"Adopted"}, evB.kinds()); diff != "" {
			t.Errorf("events of the waiter (-want +got):\n%s", diff)
		}
	})
}

func TestLeaseHolderGone(t *testing.T) {
	tests := []struct {
		name     string
		leaseTTL time.Duration // of the lease the vanished holder left
		maxWait  time.Duration // until b takes the lease
	}{
		{"lease expires within the wait: take it", 5 * time.Second, 5 * time.Second},
		// Before, every replica waited out its lease wait and refreshed
		// on its own, for as long as the foreign lease lasted.
		{"lease far longer than ours: cut to ours, then take it", time.Hour, 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				mem := store.NewMemory(nil)
				if err := mem.Acquire(ctx, key, "vanished", tt.leaseTTL); err != nil {
					t.Fatal(err)
				}
				inner := &fakeInner{life: life}
				b, evB := wrap(inner, mem, store.WithLease(10*time.Second, 15*time.Second))
				start := time.Now()
				e, err := b.Refresh(ctx, nil)
				mustValue(t, e, err)
				// One poll (500 ms over a Watcher) may pass after the lease ends.
				if waited := time.Since(start); waited > tt.maxWait+500*time.Millisecond {
					t.Errorf("waited %v, want at most %v and one poll", waited, tt.maxWait)
				}
				if diff := cmp.Diff([]string{"Published"}, evB.kinds()); diff != "" {
					t.Errorf("events (-want +got):\n%s", diff)
				}
				// Either way the value is published for the others.
				c, evC := wrap(inner, mem)
				e, err = c.Refresh(ctx, nil)
				if v := mustValue(t, e, err); v != "v1" || inner.calls() != 1 {
					t.Errorf("next replica got %q with %d requests, want v1 with 1; events %v", v, inner.calls(), evC.kinds())
				}
			})
		})
	}
}

func TestStoreDownFallsBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st := &flaky{Store: store.NewMemory(nil), down: true}
		inner := &fakeInner{life: life}
		a, ev := wrap(inner, st)
		e, err := a.Refresh(ctx, nil)
		if v := mustValue(t, e, err); v != "v1" {
			t.Errorf("got %q, want v1", v)
		}
		if diff := cmp.Diff([]string{"Failed/load", "LocalFallback/store unavailable"}, ev.kinds()); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
		// Back up: the next renewal goes through the store again.
		st.setDown(false)
		time.Sleep(life - window)
		e, err = a.Refresh(ctx, &e)
		mustValue(t, e, err)
		if got := ev.kinds(); got[len(got)-1] != "Published" {
			t.Errorf("after recovery, events %v; want a Published last", got)
		}
	})
}

func TestCorruptRecordIsReplaced(t *testing.T) {
	tests := []struct {
		name string
		give []byte
	}{
		{"garbage", []byte("garbage")},
		{"empty", []byte{}},
		{"unknown version", []byte(`{"v":9,"id":"x","iat":1,"val":"eA=="}`)},
		{"no id", []byte(`{"v":1,"iat":1,"val":"eA=="}`)},
		{"expires before issue", []byte(`{"v":1,"id":"x","iat":5,"exp":4,"val":"eA=="}`)},
		{"too large", bytes.Repeat([]byte("x"), store.MaxRecordSize+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				mem := store.NewMemory(nil)
				_ = mem.Save(ctx, key, tt.give, time.Hour)
				inner := &fakeInner{life: life}
				a, ev := wrap(inner, mem)
				e, err := a.Refresh(ctx, nil)
				mustValue(t, e, err)
				// Reported twice: at the first look and at the look under the lease.
				want := []string{"Failed/decode", "Failed/decode", "Published"}
				if diff := cmp.Diff(want, ev.kinds()); diff != "" {
					t.Errorf("events (-want +got):\n%s", diff)
				}
				b, _ := wrap(inner, mem)
				e, err = b.Refresh(ctx, nil)
				if v := mustValue(t, e, err); v != "v1" || inner.calls() != 1 {
					t.Errorf("after replacement got %q with %d requests, want v1 with 1", v, inner.calls())
				}
			})
		})
	}
}

func TestEncryption(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		key1 := bytes.Repeat([]byte{1}, 32)
		key2 := bytes.Repeat([]byte{2}, 16)
		mem := store.NewMemory(nil)
		inner := &fakeInner{life: life}
		a, _ := wrap(inner, mem, store.WithEncryption(key1))
		if _, err := a.Refresh(ctx, nil); err != nil {
			t.Fatal(err)
		}
		raw, err := mem.Load(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte("v1")) {
			t.Error("sealed record shows the value")
		}
		// Under another name (the key is the additional data), with another
		// key, or without encryption, the record does not open.
		_ = mem.Save(ctx, "other", raw, time.Hour)
		moved := store.Wrap(inner, mem, "other", stringCodec, store.WithEncryption(key1))
		for name, s := range map[string]*store.Shared[string]{
			"moved record": moved,
			"other key":    store.Wrap(inner, mem, key, stringCodec, store.WithEncryption(key2)),
			"no key":       store.Wrap(inner, mem, key, stringCodec),
		} {
			before := inner.calls()
			e, err := s.Refresh(ctx, nil)
			if err != nil || e.Value == "v1" || inner.calls() != before+1 {
				t.Errorf("%s: got %q, %v; want a new value from the inner refresher", name, e.Value, err)
			}
		}
		// A plain record planted in the store is refused under encryption.
		_ = mem.Save(ctx, key, []byte(`{"v":1,"id":"planted","iat":1,"val":"ZXZpbA=="}`), time.Hour)
		e, err := store.Wrap(inner, mem, key, stringCodec, store.WithEncryption(key1)).Refresh(ctx, nil)
		if err != nil || e.Value == "evil" {
			t.Errorf("a plain record was accepted under encryption: %q, %v", e.Value, err)
		}
	})
}

// ttlStore records the ttl of each Save.
type ttlStore struct {
	store.Store
	ttls []time.Duration
}

func (s *ttlStore) Save(ctx context.Context, key string, b []byte, ttl time.Duration) error {
	s.ttls = append(s.ttls, ttl)
	return s.Store.Save(ctx, key, b, ttl)
}

// fixedInner returns one entry.
type fixedInner struct{ e tokenactor.Entry[string] }

func (f fixedInner) Refresh(context.Context, *tokenactor.Entry[string]) (tokenactor.Entry[string], error) {
	return f.e, nil
}

func TestSaveTTL(t *testing.T) {
	tests := []struct {
		name string
		give time.Duration // lifetime; 0: never expires
		want []time.Duration
	}{
		{"lifetime", 5 * time.Minute, []time.Duration{5 * time.Minute}},
		{"never expires", 0, []time.Duration{2 * time.Hour}},
		{"already expired: not saved", -time.Second, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var exp time.Time
				if tt.give != 0 {
					exp = time.Now().Add(tt.give)
				}
				st := &ttlStore{Store: store.NewMemory(nil)}
				s := store.Wrap(fixedInner{tokenactor.Entry[string]{Value: "x", ExpiresAt: exp}}, st, key, stringCodec, store.WithNoExpiryTTL(2*time.Hour))
				_, _ = s.Refresh(context.Background(), nil)
				if diff := cmp.Diff(tt.want, st.ttls); diff != "" {
					t.Errorf("ttls (-want +got):\n%s", diff)
				}
			})
		})
	}
}

func TestCallerContextEndsWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mem := store.NewMemory(nil)
		_ = mem.Acquire(context.Background(), key, "other", time.Hour)
		s, _ := wrap(&fakeInner{life: life}, mem)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := s.Refresh(ctx, nil); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v, want the context's deadline", err)
		}
	})
}

func TestInvalidOptionsPanic(t *testing.T) {
	inner := &fakeInner{life: life}
	mem := store.NewMemory(nil)
	tests := map[string]func(){
		"nil inner":          func() { store.Wrap[string](nil, mem, key, stringCodec) },
		"nil store":          func() { store.Wrap(inner, nil, key, stringCodec) },
		"empty key":          func() { store.Wrap(inner, mem, "", stringCodec) },
		"nil codec":          func() { store.Wrap(inner, mem, key, nil) },
		"zero lease":         func() { store.WithLease(0, time.Second) },
		"poll max < min":     func() { store.WithPollInterval(time.Second, time.Millisecond) },
		"zero store timeout": func() { store.WithStoreTimeout(0) },
		"zero no-expiry ttl": func() { store.WithNoExpiryTTL(0) },
		"short key":          func() { store.WithEncryption([]byte("short")) },
		"nil key":            func() { store.WithEncryption(nil) },
		"nil clock":          func() { store.WithClock(nil) },
		"nil hook":           func() { store.WithEventHook(nil) },
		"nil codec func":     func() { store.CodecFunc[string](nil, nil) },
		"nil Option":         func() { store.Wrap(inner, mem, key, stringCodec, nil) },
		"nil RefresherFunc":  func() { store.Wrap(tokenactor.RefresherFunc[string](nil), mem, key, stringCodec) },
	}
	for name, f := range tests {
		t.Run(name, func(t *testing.T) {
			defer func() {
				// A message naming what is wrong, not a nil dereference.
				if msg, ok := recover().(string); !ok || !strings.HasPrefix(msg, "store: ") {
					t.Errorf("panicked with %v, want a message starting %q", msg, "store: ")
				}
			}()
			f()
		})
	}
}

// TestCacheInvalidateThroughStore: a cache whose token a server rejected
// gets a new one, not the same token back from the store, and a sibling
// whose token is rejected too adopts the new one.
func TestCacheInvalidateThroughStore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		mem := store.NewMemory(nil)
		inner := &fakeInner{life: life}
		newCache := func() *tokenactor.Cache[string] {
			s, _ := wrap(inner, mem)
			return tokenactor.New[string](s, tokenactor.WithRefreshWindow(window))
		}
		a, b := newCache(), newCache()
		defer a.Close()
		defer b.Close()
		var got []string
		for _, step := range []func() (string, error){
			func() (string, error) { return a.Get(ctx) },
			func() (string, error) { return b.Get(ctx) },
			func() (string, error) { a.Invalidate(); return a.Get(ctx) },
			func() (string, error) { b.Invalidate(); return b.Get(ctx) },
		} {
			v, err := step()
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, v)
		}
		if diff := cmp.Diff([]string{"v1", "v1", "v2", "v2"}, got); diff != "" {
			t.Errorf("values (-want +got):\n%s", diff)
		}
		if inner.calls() != 2 {
			t.Errorf("%d token requests, want 2", inner.calls())
		}
	})
}
