package store_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/store"
)

// TestLeaseKeptThroughLongRefresh: a lease holder whose refresh takes
// several lease times to live keeps its lease; the waiting replica adopts
// its value instead of taking the lease and refreshing alongside, which
// with rotating refresh tokens would replay the one being rotated.
func TestLeaseKeptThroughLongRefresh(t *testing.T) {
	tests := []struct {
		name    string
		opts    []store.Option
		refresh time.Duration // how long the token request takes
	}{
		{"defaults: a refresh of 2.5 leases, under the cache's refresh timeout", nil, 25 * time.Second},
		{"a refresh of ten leases", []store.Option{store.WithLease(time.Second, time.Minute)}, 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				mem := store.NewMemory(nil)
				inner := &fakeInner{life: life, delay: tt.refresh}
				a, evA := wrap(inner, mem, tt.opts...)
				b, evB := wrap(inner, mem, tt.opts...)

				var wg sync.WaitGroup
				var va, vb string
				wg.Go(func() { e, err := a.Refresh(ctx, nil); va = mustValue(t, e, err) })
				synctest.Wait() // a holds the lease, inside its slow refresh
				wg.Go(func() { e, err := b.Refresh(ctx, nil); vb = mustValue(t, e, err) })
				wg.Wait()
				if va != "v1" || vb != "v1" || inner.calls() != 1 {
					t.Errorf("got %q and %q with %d token requests; want v1 twice with 1", va, vb, inner.calls())
				}
				if diff := cmp.Diff([]string{"Published"}, evA.kinds()); diff != "" {
					t.Errorf("events of the lease holder (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff([]string{"Adopted"}, evB.kinds()); diff != "" {
					t.Errorf("events of the waiter (-want +got):\n%s", diff)
				}
			})
		})
	}
}

// stuckInner is an inner refresher that ignores its context: each call
// returns "stuck" only once release is closed.
type stuckInner struct{ release chan struct{} }

func (s stuckInner) Refresh(context.Context, *tokenactor.Entry[string]) (tokenactor.Entry[string], error) {
	<-s.release
	return tokenactor.Entry[string]{Value: "stuck", ExpiresAt: time.Now().Add(life)}, nil
}

// TestDeadHolderFreesLease: a holder whose refresh never returns keeps its
// lease only while its context lives; one lease time to live after its
// context ends, a waiting replica takes the lease and refreshes. When the
// stuck refresh returns at last, its value does not overwrite the newer one
// the other replica published.
func TestDeadHolderFreesLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			ttl     = 3 * time.Second
			pollMax = 500 * time.Millisecond // the default, over a Watcher
		)
		ctx := context.Background()
		mem := store.NewMemory(nil)
		opt := store.WithLease(ttl, time.Hour)
		stuck := stuckInner{release: make(chan struct{})}
		a, evA := wrap(stuck, mem, opt)
		innerB := &fakeInner{life: life}
		b, evB := wrap(innerB, mem, opt)

		ctxA, cancelA := context.WithCancel(ctx)
		defer cancelA()
		var wg sync.WaitGroup
		var va string
		wg.Go(func() { e, err := a.Refresh(ctxA, nil); va = mustValue(t, e, err) })
		synctest.Wait() // a holds the lease, stuck in its refresh
		bDone := make(chan time.Time, 1)
		var vb string
		wg.Go(func() {
			e, err := b.Refresh(ctx, nil)
			vb = mustValue(t, e, err)
			bDone <- time.Now()
		})
		time.Sleep(10 * time.Second) // more than three leases
		synctest.Wait()
		if n := innerB.calls(); n != 0 {
			t.Fatalf("b made %d token requests while a was alive and held the lease; want 0", n)
		}

		cancelA() // a's refresh timed out; its inner refresher does not notice
		cancelled := time.Now()
		if took := (<-bDone).Sub(cancelled); took > ttl+pollMax {
			t.Errorf("b obtained the lease %v after a's context ended; want within the lease TTL %v (+ one poll)", took, ttl)
		}
		if vb != "v1" || innerB.calls() != 1 {
			t.Errorf("b got %q with %d token requests; want v1 with 1", vb, innerB.calls())
		}

		close(stuck.release) // a's refresh returns, long after it lost the lease
		wg.Wait()
		if va != "stuck" {
			t.Errorf("a got %q, want its own value, stuck", va)
		}
		if diff := cmp.Diff([]string{"Failed/extend"}, evA.kinds()); diff != "" {
			t.Errorf("events of the stuck holder (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"Published"}, evB.kinds()); diff != "" {
			t.Errorf("events of the new holder (-want +got):\n%s", diff)
		}
		c, _ := wrap(&fakeInner{life: life}, mem)
		e, err := c.Refresh(ctx, nil)
		if v := mustValue(t, e, err); v != "v1" {
			t.Errorf("the store holds %q; want b's v1, not overwritten by the holder that lost its lease", v)
		}
	})
}

// TestLostLeaseStillPublishes: a holder that lost its lease while the store
// failed to extend it, with no other replica taking it meanwhile, takes it
// back and publishes: the fleet must not keep a credential it rotated.
func TestLostLeaseStillPublishes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const ttl = 3 * time.Second
		ctx := context.Background()
		st := &noExtend{Memory: store.NewMemory(nil), fail: true}
		inner := &fakeInner{life: life, delay: 10 * time.Second}
		a, evA := wrap(inner, st, store.WithLease(ttl, time.Hour))
		e, err := a.Refresh(ctx, nil)
		if v := mustValue(t, e, err); v != "v1" {
			t.Fatalf("got %q, want v1", v)
		}
		// The failing extension, then the loss found after the refresh.
		want := []string{"Failed/extend", "Failed/extend", "Published"}
		if diff := cmp.Diff(want, evA.kinds()); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
		b, _ := wrap(&fakeInner{life: life}, st)
		e, err = b.Refresh(ctx, nil)
		if v := mustValue(t, e, err); v != "v1" {
			t.Errorf("the store holds %q, want v1", v)
		}
	})
}

// noExtend is a Memory whose Extend fails with a store error while fail is
// set, and otherwise reports the lease lost.
type noExtend struct {
	*store.Memory
	fail bool
}

func (n *noExtend) Extend(context.Context, string, string, time.Duration) error {
	if n.fail {
		n.fail = false // the first Extend fails; the lease then runs out
		return errDown
	}
	return store.ErrLeaseLost
}

// extendSpy is a Memory that tells of each attempt to extend a lease.
type extendSpy struct {
	*store.Memory
	extended chan struct{} // buffer 1; a full one drops the news
}

func (s extendSpy) Extend(ctx context.Context, key, owner string, ttl time.Duration) error {
	select {
	case s.extended <- struct{}{}:
	default:
	}
	return s.Memory.Extend(ctx, key, owner, ttl)
}

// TestLeaseKeeperEnds: the goroutine that extends the lease is gone when
// Refresh returns. Real time: a bubble would report it as a deadlock, but
// goleak also sees it outside one.
func TestLeaseKeeperEnds(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	spy := extendSpy{Memory: store.NewMemory(nil), extended: make(chan struct{}, 1)}
	inner := tokenactor.RefresherFunc[string](func(ctx context.Context, _ *tokenactor.Entry[string]) (tokenactor.Entry[string], error) {
		select { // the refresh lasts until the lease is being kept alive
		case <-spy.extended:
		case <-ctx.Done():
			return tokenactor.Entry[string]{}, ctx.Err()
		}
		return tokenactor.Entry[string]{Value: "v", ExpiresAt: time.Now().Add(time.Hour)}, nil
	})
	s, _ := wrap(inner, spy, store.WithLease(30*time.Millisecond, time.Minute))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.Refresh(ctx, nil); err != nil {
		t.Fatal(err)
	}
	goleak.VerifyNone(t, opt)
}

// TestLeaseWaitBoundsLiveHolder: a waiter gives up on a live holder after
// its lease wait, however long the holder keeps its lease alive.
func TestLeaseWaitBoundsLiveHolder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		mem := store.NewMemory(nil)
		inner := &fakeInner{life: life, delay: time.Minute}
		opt := store.WithLease(10*time.Second, 15*time.Second)
		a, _ := wrap(inner, mem, opt)
		b, evB := wrap(inner, mem, opt)
		var wg sync.WaitGroup
		wg.Go(func() { _, _ = a.Refresh(ctx, nil) })
		synctest.Wait()
		start := time.Now()
		e, err := b.Refresh(ctx, nil)
		mustValue(t, e, err)
		// 15 s of waiting, then b's own minute-long token request.
		if took := time.Since(start); took != 15*time.Second+time.Minute {
			t.Errorf("b took %v, want the lease wait and its own refresh", took)
		}
		if diff := cmp.Diff([]string{"LocalFallback/lease wait timed out"}, evB.kinds()); diff != "" {
			t.Errorf("events of the waiter (-want +got):\n%s", diff)
		}
		wg.Wait()
	})
}

func TestMemoryExtend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		mem := store.NewMemory(nil)
		if err := mem.Extend(ctx, key, "me", time.Minute); !errors.Is(err, store.ErrLeaseLost) {
			t.Errorf("Extend of a missing lease: %v, want ErrLeaseLost", err)
		}
		if err := mem.Acquire(ctx, key, "other", time.Second); err != nil {
			t.Fatal(err)
		}
		if err := mem.Extend(ctx, key, "me", time.Minute); !errors.Is(err, store.ErrLeaseLost) {
			t.Errorf("Extend of another owner's lease: %v, want ErrLeaseLost", err)
		}
		if err := mem.Extend(ctx, key, "other", time.Minute); err != nil {
			t.Errorf("Extend by the owner: %v", err)
		}
		time.Sleep(59 * time.Second) // within the minute the owner extended to
		if err := mem.Acquire(ctx, key, "me", time.Hour); !errors.Is(err, store.ErrLeaseHeld) {
			t.Errorf("Acquire of an extended lease: %v, want ErrLeaseHeld", err)
		}
		time.Sleep(time.Second)
		if err := mem.Extend(ctx, key, "other", time.Minute); !errors.Is(err, store.ErrLeaseLost) {
			t.Errorf("Extend of an expired lease: %v, want ErrLeaseLost", err)
		}
		if err := mem.Extend(ctx, key, "other", 0); err == nil {
			t.Error("Extend with a zero ttl succeeded")
		}
	})
}

// TestMemoryAcquireCutsLongLease: a lease with more time left than an
// Acquire would set is cut to it, not taken over.
func TestMemoryAcquireCutsLongLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		mem := store.NewMemory(nil)
		_ = mem.Acquire(ctx, key, "ghost", time.Hour)
		if err := mem.Acquire(ctx, key, "me", 10*time.Second); !errors.Is(err, store.ErrLeaseHeld) {
			t.Fatalf("Acquire of a held lease: %v, want ErrLeaseHeld", err)
		}
		time.Sleep(10 * time.Second)
		if err := mem.Acquire(ctx, key, "me", 10*time.Second); err != nil {
			t.Errorf("Acquire once the cut lease ended: %v", err)
		}
	})
}

// downExtend is a Memory whose Extend always fails with a store error.
type downExtend struct{ *store.Memory }

func (downExtend) Extend(context.Context, string, string, time.Duration) error { return errDown }

// TestExtendFailsPublishWhileLeaseLasts: when the store fails to extend
// the lease, the holder still publishes while the lease it last held
// surely lasts (else the others keep a credential it rotated), and not
// after (a sibling may have taken the lease and published since).
func TestExtendFailsPublishWhileLeaseLasts(t *testing.T) {
	tests := []struct {
		name    string
		refresh time.Duration // under a 10 s lease
		want    []string
	}{
		{"within the lease", time.Second, []string{"Failed/extend", "Published"}},
		{"past the lease", 11 * time.Second, []string{"Failed/extend", "Failed/extend", "Failed/extend", "Failed/extend"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				st := downExtend{store.NewMemory(nil)}
				inner := &fakeInner{life: life, delay: tt.refresh}
				a, ev := wrap(inner, st, store.WithLease(10*time.Second, time.Minute))
				e, err := a.Refresh(context.Background(), nil)
				mustValue(t, e, err)
				if diff := cmp.Diff(tt.want, ev.kinds()); diff != "" {
					t.Errorf("events (-want +got):\n%s", diff)
				}
			})
		})
	}
}

// extendCounter is a Memory that counts the attempts to extend a lease.
type extendCounter struct {
	*store.Memory
	n *atomic.Int32
}

func (s extendCounter) Extend(ctx context.Context, key, owner string, ttl time.Duration) error {
	s.n.Add(1)
	return s.Memory.Extend(ctx, key, owner, ttl)
}

// TestLeaseKeeperEndsWhenInnerDoesNotReturn: an inner refresher that
// panics, or ends its goroutine, stops the keeping of the lease as a
// return does. No extension comes after the lease is released, and no
// goroutine is left behind (in a bubble, one would fail the test).
func TestLeaseKeeperEndsWhenInnerDoesNotReturn(t *testing.T) {
	for name, fail := range map[string]func(){
		"panic":  func() { panic("inner exploded") },
		"Goexit": runtime.Goexit,
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const ttl = 9 * time.Second
				mem := store.NewMemory(nil)
				spy := extendCounter{Memory: mem, n: new(atomic.Int32)}
				inner := tokenactor.RefresherFunc[string](func(context.Context, *tokenactor.Entry[string]) (tokenactor.Entry[string], error) {
					fail()
					return tokenactor.Entry[string]{}, errors.New("unreachable")
				})
				s, _ := wrap(inner, spy, store.WithLease(ttl, time.Minute))
				returned := make(chan bool, 1)
				go func() {
					defer func() {
						recover() // the panic reaches the caller
						returned <- false
					}()
					_, _ = s.Refresh(context.Background(), nil)
					returned <- true
				}()
				if <-returned {
					t.Fatal("Refresh returned; want its inner refresher's failure")
				}
				time.Sleep(3 * ttl) // fake time: several ticks of a keeper left running
				synctest.Wait()
				if n := spy.n.Load(); n != 0 {
					t.Errorf("the lease was extended %d times after the refresh ended; want none", n)
				}
				if err := mem.Acquire(context.Background(), key, "other", ttl); err != nil {
					t.Errorf("another replica cannot take the lease: %v", err)
				}
			})
		})
	}
}
