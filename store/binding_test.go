package store_test

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenactor/tokenactor/store"
)

// TestPlainRecordBoundToKey: a plain record copied under another key (by
// an operator, a migration, a hostile writer) is refused there, as a sealed
// one is, instead of handing one token's value to another's cache.
func TestPlainRecordBoundToKey(t *testing.T) {
	tests := []struct {
		name string
		opts []store.Option
	}{
		{"plain", nil},
		{"sealed", []store.Option{store.WithEncryption(make([]byte, 32))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				mem := store.NewMemory(nil)
				inner := &fakeInner{life: life}
				a, _ := wrap(inner, mem, tt.opts...)
				if _, err := a.Refresh(ctx, nil); err != nil {
					t.Fatal(err)
				}
				b, err := mem.Load(ctx, key)
				if err != nil {
					t.Fatal(err)
				}
				_ = mem.Save(ctx, "other", b, time.Hour)

				ev := &events{}
				opts := append([]store.Option{store.WithEventHook(ev.add)}, tt.opts...)
				other := store.Wrap(inner, mem, "other", stringCodec, opts...)
				e, err := other.Refresh(ctx, nil)
				if v := mustValue(t, e, err); v != "v2" || inner.calls() != 2 {
					t.Errorf("under another key got %q with %d token requests; want its own v2", v, inner.calls())
				}
				want := []string{"Failed/decode", "Failed/decode", "Published"}
				if diff := cmp.Diff(want, ev.kinds()); diff != "" {
					t.Errorf("events (-want +got):\n%s", diff)
				}
			})
		})
	}
}

// TestRecordWithoutKeyStillRead: a plain record written before records
// named their key is still adopted, so replicas of both versions share
// records while a new version rolls out.
func TestRecordWithoutKeyStillRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		mem := store.NewMemory(nil)
		now := time.Now()
		old := fmt.Sprintf(`{"v":1,"id":"old","iat":%d,"exp":%d,"val":"b2xk"}`, now.UnixNano(), now.Add(life).UnixNano())
		_ = mem.Save(ctx, key, []byte(old), time.Hour)
		inner := &fakeInner{life: life}
		s, ev := wrap(inner, mem)
		e, err := s.Refresh(ctx, nil)
		if v := mustValue(t, e, err); v != "old" || inner.calls() != 0 {
			t.Errorf("got %q with %d token requests; want the stored old with none", v, inner.calls())
		}
		if diff := cmp.Diff([]string{"Adopted"}, ev.kinds()); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})
}
