package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/store"
)

// TestWaiterHearsSave: over a Watcher, a replica waiting for the lease
// holder adopts its value at the instant it is saved, not at its next poll.
func TestWaiterHearsSave(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		mem := store.NewMemory(nil)
		inner := &fakeInner{life: life, gate: make(chan struct{})}
		// Polls far apart: a poll cannot be what wakes the waiter.
		slow := store.WithPollInterval(time.Minute, time.Minute)
		a, _ := wrap(inner, mem, slow)
		b, evB := wrap(inner, mem, slow, store.WithLease(10*time.Minute, 15*time.Minute))

		var wg sync.WaitGroup
		wg.Go(func() { _, _ = a.Refresh(ctx, nil) })
		synctest.Wait() // a holds the lease, inside the inner refresher
		var adoptedAt time.Time
		wg.Go(func() {
			e, err := b.Refresh(ctx, nil)
			mustValue(t, e, err)
			adoptedAt = time.Now()
		})
		synctest.Wait() // b waits
		time.Sleep(5 * time.Second)
		savedAt := time.Now()
		inner.gate <- struct{}{}
		wg.Wait()
		if !adoptedAt.Equal(savedAt) {
			t.Errorf("adopted %v after the save; want at once", adoptedAt.Sub(savedAt))
		}
		if diff := cmp.Diff([]string{"Adopted"}, evB.kinds()); diff != "" {
			t.Errorf("events of the waiter (-want +got):\n%s", diff)
		}
	})
}

// deaf is a Watcher that loses every message: the save is never heard.
type deaf struct{ store.Store }

func (deaf) Watch(context.Context, string) (<-chan []byte, func(), error) {
	return make(chan []byte), func() {}, nil
}

// mute is a Watcher that cannot watch at all.
type mute struct{ store.Store }

func (mute) Watch(context.Context, string) (<-chan []byte, func(), error) {
	return nil, nil, errors.New("subscribe: connection refused")
}

// TestLostMessageStillAdopts: when the message is lost, or the store cannot
// watch, polling still ends in adoption, with no extra token request.
func TestLostMessageStillAdopts(t *testing.T) {
	tests := []struct {
		name    string
		give    func(store.Store) store.Store
		wantEvB []string
	}{
		{"message lost", func(s store.Store) store.Store { return deaf{s} }, []string{"Adopted"}},
		{"watch fails", func(s store.Store) store.Store { return mute{s} }, []string{"Failed/watch", "Adopted"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				st := tt.give(store.NewMemory(nil))
				inner := &fakeInner{life: life, gate: make(chan struct{})}
				poll := store.WithPollInterval(time.Second, time.Second)
				a, _ := wrap(inner, st, poll)
				b, evB := wrap(inner, st, poll)
				var wg sync.WaitGroup
				wg.Go(func() { _, _ = a.Refresh(ctx, nil) })
				synctest.Wait()
				var got string
				var adoptedAt time.Time
				wg.Go(func() {
					e, err := b.Refresh(ctx, nil)
					got = mustValue(t, e, err)
					adoptedAt = time.Now()
				})
				synctest.Wait()
				time.Sleep(2500 * time.Millisecond)
				savedAt := time.Now()
				inner.gate <- struct{}{}
				wg.Wait()
				if got != "v1" || inner.calls() != 1 {
					t.Errorf("waiter got %q with %d token requests; want v1 with 1", got, inner.calls())
				}
				if d := adoptedAt.Sub(savedAt); d <= 0 || d > time.Second {
					t.Errorf("adopted %v after the save; want at the next poll, within 1s", d)
				}
				if diff := cmp.Diff(tt.wantEvB, evB.kinds()); diff != "" {
					t.Errorf("events of the waiter (-want +got):\n%s", diff)
				}
			})
		})
	}
}

// TestRejectedValueNotHandedOn: while the replica whose server rejected v1
// renews it under the lease, a replica that starts then must not adopt v1
// from the store: it waits and adopts v2.
func TestRejectedValueNotHandedOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		mem := store.NewMemory(nil)
		inner := &fakeInner{life: life}
		a, _ := wrap(inner, mem)
		cur, err := a.Refresh(ctx, nil) // v1, published
		mustValue(t, cur, err)

		inner.gate = make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() { _, _ = a.Refresh(ctx, &cur) }) // a server rejected v1
		synctest.Wait()                               // a renews under the lease
		c, _ := wrap(inner, mem)
		var got string
		wg.Go(func() { e, err := c.Refresh(ctx, nil); got = mustValue(t, e, err) })
		synctest.Wait()
		inner.gate <- struct{}{}
		wg.Wait()
		if got != "v2" {
			t.Errorf("a new replica got %q while v1 was being replaced; want v2", got)
		}
	})
}

// corruptUntilSaved is a store whose record name holds something that is
// not a record (as a Redis key of another type) until the first save.
type corruptUntilSaved struct {
	store.Store
	mu    sync.Mutex
	saved bool
}

func (s *corruptUntilSaved) Load(ctx context.Context, key string) ([]byte, error) {
	s.mu.Lock()
	saved := s.saved
	s.mu.Unlock()
	if !saved {
		return nil, fmt.Errorf("%w: the record key holds another type", store.ErrCorrupt)
	}
	return s.Store.Load(ctx, key)
}

func (s *corruptUntilSaved) Save(ctx context.Context, key string, b []byte, ttl time.Duration) error {
	s.mu.Lock()
	s.saved = true
	s.mu.Unlock()
	return s.Store.Save(ctx, key, b, ttl)
}

// TestStoreCorruptIsReplaced: a store that reports its record corrupt is
// not "unavailable": the replica reports it, refreshes under the lease and
// publishes, which replaces it; the next replica adopts.
func TestStoreCorruptIsReplaced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st := &corruptUntilSaved{Store: store.NewMemory(nil)}
		inner := &fakeInner{life: life}
		a, ev := wrap(inner, st)
		e, err := a.Refresh(ctx, nil)
		mustValue(t, e, err)
		want := []string{"Failed/decode", "Failed/decode", "Published"}
		if diff := cmp.Diff(want, ev.kinds()); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
		b, _ := wrap(inner, st)
		e, err = b.Refresh(ctx, nil)
		if v := mustValue(t, e, err); v != "v1" || inner.calls() != 1 {
			t.Errorf("next replica got %q with %d requests, want v1 with 1", v, inner.calls())
		}
	})
}

// TestFarFutureExpiry: a value that expires after year 2262 is shared with
// an expiry of MaxExpiry, not a wrapped one in the past.
func TestFarFutureExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		mem := store.NewMemory(nil)
		far := time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
		inner := tokenactor.RefresherFunc[string](func(context.Context, *tokenactor.Entry[string]) (tokenactor.Entry[string], error) {
			return tokenactor.Entry[string]{Value: "forever", ExpiresAt: far}, nil
		})
		a, _ := wrap(inner, mem)
		b, evB := wrap(inner, mem)
		if _, err := a.Refresh(ctx, nil); err != nil {
			t.Fatal(err)
		}
		e, err := b.Refresh(ctx, nil)
		mustValue(t, e, err)
		if !e.ExpiresAt.Equal(store.MaxExpiry) {
			t.Errorf("adopted expiry %v, want MaxExpiry %v", e.ExpiresAt, store.MaxExpiry)
		}
		if diff := cmp.Diff([]string{"Adopted"}, evB.kinds()); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})
}

// TestRefreshAtTravels: the RefreshAt the publisher's inner refresher set
// reaches the replicas that adopt, and past it the record is not adopted.
func TestRefreshAtTravels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		mem := store.NewMemory(nil)
		n := 0
		inner := tokenactor.RefresherFunc[string](func(context.Context, *tokenactor.Entry[string]) (tokenactor.Entry[string], error) {
			n++
			return tokenactor.Entry[string]{Value: fmt.Sprint("v", n), ExpiresAt: time.Now().Add(life), RefreshAt: time.Now().Add(life / 2)}, nil
		})
		a, _ := wrap(inner, mem)
		b, _ := wrap(inner, mem)
		ea, _ := a.Refresh(ctx, nil)
		eb, err := b.Refresh(ctx, nil)
		mustValue(t, eb, err)
		if !eb.RefreshAt.Equal(ea.RefreshAt) || eb.RefreshAt.IsZero() {
			t.Errorf("adopted RefreshAt %v, want %v", eb.RefreshAt, ea.RefreshAt)
		}
		time.Sleep(life / 2)
		c, _ := wrap(inner, mem)
		ec, err := c.Refresh(ctx, nil)
		if v := mustValue(t, ec, err); v != "v2" {
			t.Errorf("past its RefreshAt the record was adopted: got %q, want v2", v)
		}
	})
}

// TestWatchKeepsNewest: a watcher that has not taken the last record yet
// gets the newest one, not the first.
func TestWatchKeepsNewest(t *testing.T) {
	ctx := context.Background()
	mem := store.NewMemory(nil)
	ch, stop, err := mem.Watch(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	for _, r := range []string{"r1", "r2"} {
		if err := mem.Save(ctx, key, []byte(r), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if got := string(<-ch); got != "r2" {
		t.Errorf("watcher got %q, want the newest record r2", got)
	}
}
