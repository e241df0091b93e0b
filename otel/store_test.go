package tokenotel_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tokenactor/tokenactor"
	tokenotel "github.com/tokenactor/tokenactor/otel"
	"github.com/tokenactor/tokenactor/store"
)

// stringCodec stores a string as its bytes.
var stringCodec = store.CodecFunc(
	func(s string) ([]byte, error) { return []byte(s), nil },
	func(b []byte) (string, error) { return string(b), nil },
)

// Two replicas share a token through a store: the first refreshes and
// publishes it, the second adopts it. Each hook counts its own side.
func TestStoreAdoptionAndPublication(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		st := store.NewMemory(nil)
		inner := scripted(t, step{took: time.Second, life: time.Hour})
		replica := func(name string) (*tokenactor.Cache[string], *tokenotel.Hook) {
			hook := h.tel.Hook(name)
			shared := store.Wrap(inner, st, "tenant-42", stringCodec, store.WithEventHook(hook.StoreEvent))
			return tokenactor.New[string](shared, tokenactor.WithEventHook(hook.Event)), hook
		}
		a, ha := replica("a")
		b, hb := replica("b")
		defer ha.Close()
		defer hb.Close()
		defer a.Close()
		defer b.Close()

		mustGet(t, a, "secret-token-1")
		mustGet(t, b, "secret-token-1")

		got := without(h.metrics(t), "tokenactor.refreshes", "tokenactor.refresh.duration", "tokenactor.refresh.waiters", "tokenactor.refresh.wait.time",
			"tokenactor.refresh.consecutive_failures", "tokenactor.cache.backoff", "tokenactor.token.validity")
		want := map[string]float64{
			"tokenactor.store.publications{tokenactor.cache.name=a}": 1,
			"tokenactor.store.adoptions{tokenactor.cache.name=b}":    1,
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		var events [][]string
		for _, s := range h.ended() {
			events = append(events, s.Events)
		}
		if diff := cmp.Diff([][]string{{"tokenactor.store.published"}, {"tokenactor.store.adopted"}}, events); diff != "" {
			t.Errorf("span events (-want +got):\n%s", diff)
		}
	})
}

// downStore fails every operation.
type downStore struct{}

var errDown = errors.New("store down")

func (downStore) Load(context.Context, string) ([]byte, error)                 { return nil, errDown }
func (downStore) Save(context.Context, string, []byte, time.Duration) error    { return errDown }
func (downStore) Acquire(context.Context, string, string, time.Duration) error { return errDown }
func (downStore) Delete(context.Context, string, []byte) error                 { return errDown }
func (downStore) Release(context.Context, string, string) error                { return errDown }

// With the store down, the replica refreshes on its own: a failed load and
// a local fallback. WithStoreKey adds the key, which is otherwise left out.
func TestStoreDown(t *testing.T) {
	for _, withKey := range []bool{false, true} {
		t.Run("key="+map[bool]string{false: "omitted", true: "included"}[withKey], func(t *testing.T) {
			var opts []tokenotel.Option
			key := ""
			if withKey {
				opts, key = append(opts, tokenotel.WithStoreKey()), ",tokenactor.store.key=tenant-42"
			}
			h := newHarness(t, opts...)
			hook := h.tel.Hook("a")
			shared := store.Wrap(scripted(t, step{life: time.Hour}), downStore{}, "tenant-42", stringCodec, store.WithEventHook(hook.StoreEvent))
			c := tokenactor.New[string](shared, tokenactor.WithEventHook(hook.Event))
			defer hook.Close()
			defer c.Close()

			mustGet(t, c, "secret-token-1")

			got := without(h.metrics(t), "tokenactor.refreshes", "tokenactor.refresh.duration", "tokenactor.refresh.waiters", "tokenactor.refresh.wait.time",
				"tokenactor.refresh.consecutive_failures", "tokenactor.cache.backoff", "tokenactor.token.validity")
			want := map[string]float64{
				"tokenactor.store.errors{tokenactor.cache.name=a" + key + ",tokenactor.store.operation=load}":                       1,
				"tokenactor.store.fallbacks{tokenactor.cache.name=a,tokenactor.store.fallback.reason=store_unavailable" + key + "}": 1,
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
