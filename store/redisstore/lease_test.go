package redisstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/internal/redistest"
	"github.com/tokenactor/tokenactor/store"
	"github.com/tokenactor/tokenactor/store/redisstore"
)

// TestCutOffHolderFreesLease: a lease holder that loses Redis in the middle
// of its refresh (its connection gone, as if its process were killed)
// stops extending its lease, which then frees within its TTL: a waiting
// replica takes it and refreshes. When the cut-off holder's refresh returns
// at last, it cannot tell whether anyone published meanwhile, and does not
// overwrite the other replica's token.
func TestCutOffHolderFreesLease(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	opts := []store.Option{
		store.WithLease(300*time.Millisecond, time.Minute),
		store.WithPollInterval(10*time.Millisecond, 50*time.Millisecond),
		store.WithStoreTimeout(100 * time.Millisecond),
	}

	entered, release := make(chan struct{}), make(chan struct{})
	stuck := tokenactor.RefresherFunc[string](func(context.Context, *tokenactor.Entry[string]) (tokenactor.Entry[string], error) {
		close(entered)
		<-release
		return tokenactor.Entry[string]{Value: "stuck", ExpiresAt: time.Now().Add(time.Hour)}, nil
	})
	holderClient := newClient(t, srv.Addr)
	holderStore := redisstore.New(holderClient)
	t.Cleanup(func() { _ = holderStore.Close() })
	var evA eventLog
	a := store.Wrap(stuck, holderStore, healKey, stringCodec, append([]store.Option{store.WithEventHook(evA.add)}, opts...)...)
	fresh := &counter{}
	var evB eventLog
	b := store.Wrap(fresh, newStore(t, srv.Addr), healKey, stringCodec, append([]store.Option{store.WithEventHook(evB.add)}, opts...)...)

	var wg sync.WaitGroup
	defer wg.Wait()
	var va string
	wg.Go(func() {
		e, err := a.Refresh(ctx, nil)
		if err != nil {
			t.Errorf("the cut-off holder: %v", err)
		}
		va = e.Value
	})
	<-entered // a holds the lease, inside its refresh
	_ = holderClient.Close()

	bctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	e, err := b.Refresh(bctx, nil)
	if err != nil || e.Value != "v1" || fresh.calls() != 1 {
		t.Fatalf("the waiting replica got %q, %v with %d token requests; want v1 with 1; events %v", e.Value, err, fresh.calls(), evB.kinds())
	}
	close(release)
	wg.Wait()
	if va != "stuck" {
		t.Errorf("the cut-off holder got %q, want its own value", va)
	}
	for _, k := range evA.kinds() {
		if k == "Published" {
			t.Errorf("the cut-off holder published; events %v", evA.kinds())
		}
	}
	next := &counter{}
	c := store.Wrap(next, newStore(t, srv.Addr), healKey, stringCodec, opts...)
	if e, err := c.Refresh(ctx, nil); err != nil || e.Value != "v1" || next.calls() != 0 {
		t.Errorf("the next replica got %q, %v with %d token requests; want the waiting replica's v1, adopted", e.Value, err, next.calls())
	}
}
