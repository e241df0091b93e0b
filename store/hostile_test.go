package store_test

import (
	"time"

	"context"
	"github.com/tokenactor/tokenactor"
	"runtime"
	"slices"
	"testing"
	"testing/synctest"

	"github.com/tokenactor/tokenactor/store"
)

// TestMisbehavingCodecIsContained: a codec is user code that reads bytes
// from the store, which another replica, another version of the program or
// whoever can write to the store put there. Whatever it does with them
// (panic, runtime.Goexit), the replica still obtains a value from its inner
// refresher, reports the codec's failure, and never fails the cache while
// the authorization server answers.
func TestMisbehavingCodecIsContained(t *testing.T) {
	tests := []struct {
		name       string
		decode     func()   // runs when the codec decodes "v1"
		encode     func()   // runs when the codec encodes anything
		wantFailed store.Op // the Failed event expected
	}{
		{name: "Decode panics", decode: func() { panic("hostile record") }, wantFailed: store.OpDecode},
		{name: "Decode calls Goexit", decode: runtime.Goexit, wantFailed: store.OpDecode},
		{name: "Encode panics", encode: func() { panic("cannot encode") }, wantFailed: store.OpSave},
		{name: "Encode calls Goexit", encode: runtime.Goexit, wantFailed: store.OpSave},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				mem := store.NewMemory(nil)
				inner := &fakeInner{life: life}
				if tt.decode != nil { // a sibling with a working codec publishes v1
					sibling, _ := wrap(inner, mem)
					e, err := sibling.Refresh(ctx, nil)
					mustValue(t, e, err)
				}
				codec := store.CodecFunc(
					func(s string) ([]byte, error) {
						if tt.encode != nil {
							tt.encode()
						}
						return []byte(s), nil
					},
					func(b []byte) (string, error) {
						if tt.decode != nil && string(b) == "v1" {
							tt.decode()
						}
						return string(b), nil
					},
				)
				ev := &events{}
				s := store.Wrap(inner, mem, key, codec, store.WithEventHook(ev.add))
				done := make(chan struct{})
				var (
					e        tokenactor.Entry[string]
					err      error
					returned bool
				)
				go func() { // a Goexit that escaped would end this goroutine, not the test's
					defer close(done)
					e, err = s.Refresh(ctx, nil)
					returned = true
				}()
				<-done
				if !returned {
					t.Fatal("Refresh did not return")
				}
				mustValue(t, e, err)
				if !slices.Contains(ev.kinds(), "Failed/"+string(tt.wantFailed)) {
					t.Errorf("events %v, want a Failed/%s", ev.kinds(), tt.wantFailed)
				}
			})
		})
	}
}

// panicky is a Store whose Load panics.
type panicky struct{ store.Store }

func (panicky) Load(context.Context, string) ([]byte, error) { panic("store bug") }

// TestMisbehavingStoreAndHookAreContained: a Store implementation that
// panics counts as a store that failed, and an event hook that panics or
// calls runtime.Goexit loses that event: neither fails the refresh.
func TestMisbehavingStoreAndHookAreContained(t *testing.T) {
	tests := []struct {
		name  string
		store func(store.Store) store.Store
		hook  func(store.Event)
	}{
		{name: "Load panics", store: func(s store.Store) store.Store { return panicky{s} }, hook: func(store.Event) {}},
		{name: "hook panics", store: func(s store.Store) store.Store { return s }, hook: func(store.Event) { panic("hook") }},
		{name: "hook calls Goexit", store: func(s store.Store) store.Store { return s }, hook: func(store.Event) { runtime.Goexit() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				inner := &fakeInner{life: life}
				s := store.Wrap(inner, tt.store(store.NewMemory(nil)), key, stringCodec, store.WithEventHook(tt.hook))
				done := make(chan struct{})
				var (
					e        tokenactor.Entry[string]
					err      error
					returned bool
				)
				go func() { // a Goexit that escaped would end this goroutine, not the test's
					defer close(done)
					e, err = s.Refresh(context.Background(), nil)
					returned = true
				}()
				<-done
				if !returned {
					t.Fatal("Refresh did not return")
				}
				mustValue(t, e, err)
				if inner.calls() != 1 {
					t.Errorf("inner refresher called %d times, want 1", inner.calls())
				}
			})
		})
	}
}

// ctxStore is a Store that honours ctx the way a network store does: a
// call made with an ended context fails.
type ctxStore struct{ store.Store }

func (s ctxStore) Save(ctx context.Context, key string, b []byte, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.Store.Save(ctx, key, b, ttl)
}

// TestValueObtainedIsPublishedAfterCtxEnds: once the inner refresher has
// returned a value, the authorization server has issued it (and may have
// rotated a refresh token with it). If the refresh's context ends just
// then (the refresh timeout, or the cache closing), the value is still
// saved for the other replicas, so none of them renews the superseded one.
func TestValueObtainedIsPublishedAfterCtxEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := ctxStore{store.NewMemory(nil)}
		ctx, cancel := context.WithCancel(context.Background())
		inner := tokenactor.RefresherFunc[string](func(context.Context, *tokenactor.Entry[string]) (tokenactor.Entry[string], error) {
			cancel() // the refresh times out as the answer arrives
			return tokenactor.Entry[string]{Value: "rotated", ExpiresAt: time.Now().Add(life)}, nil
		})
		a, _ := wrap(inner, st)
		e, err := a.Refresh(ctx, nil)
		if v := mustValue(t, e, err); v != "rotated" {
			t.Fatalf("Refresh = %q, want rotated", v)
		}
		sibling := &fakeInner{life: life}
		b, _ := wrap(sibling, st)
		e, err = b.Refresh(context.Background(), nil)
		if v := mustValue(t, e, err); v != "rotated" || sibling.calls() != 0 {
			t.Errorf("sibling got %q after %d token requests; want rotated adopted, none made", v, sibling.calls())
		}
	})
}

// TestPastRefreshAtIsIgnored: a RefreshAt already past when the value is
// obtained (a server's refresh_in of 0) is ignored by the cache; the store
// ignores it too, so the record stays adoptable and the fleet still makes
// one token request per expiry.
func TestPastRefreshAtIsIgnored(t *testing.T) {
	for _, ago := range []time.Duration{0, time.Minute} {
		t.Run(fmtDuration(ago), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				mem := store.NewMemory(nil)
				calls := 0
				inner := tokenactor.RefresherFunc[string](func(context.Context, *tokenactor.Entry[string]) (tokenactor.Entry[string], error) {
					calls++
					now := time.Now()
					return tokenactor.Entry[string]{Value: "v", ExpiresAt: now.Add(life), RefreshAt: now.Add(-ago)}, nil
				})
				a, _ := wrap(inner, mem)
				e, err := a.Refresh(context.Background(), nil)
				mustValue(t, e, err)
				b, _ := wrap(inner, mem)
				e, err = b.Refresh(context.Background(), nil)
				if v := mustValue(t, e, err); v != "v" || calls != 1 {
					t.Errorf("sibling got %q after %d token requests; want v adopted after 1", v, calls)
				}
			})
		})
	}
}

func fmtDuration(d time.Duration) string { return "RefreshAt " + d.String() + " ago" }
