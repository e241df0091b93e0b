package benchkit

import (
	"context"
	"testing"
	"time"
)

// freshUpstream issues tokens that stay fresh for an hour.
func freshUpstream() *Upstream {
	return NewUpstream(func(context.Context, int64) (Token, error) {
		return Token{Value: "fresh-token", ExpiresAt: time.Now().Add(time.Hour)}, nil
	})
}

// NewFresh returns a cache of e holding a fresh token, for benchmarks that
// call it directly, and a function that releases it.
func NewFresh(b *testing.B, e Engine) (Cache, func()) {
	b.Helper()
	c, release := e.New(freshUpstream(), Window)
	if _, err := c.Get(context.Background()); err != nil {
		release()
		b.Fatalf("%s: first Get: %v", e.Name, err)
	}
	return c, release
}

// FreshSerial measures Get of a fresh token from one goroutine.
func FreshSerial(b *testing.B, e Engine) {
	c, release := NewFresh(b, e)
	defer release()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Get(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// FreshParallel measures Get of a fresh token from GOMAXPROCS goroutines at
// once.
func FreshParallel(b *testing.B, e Engine) {
	c, release := NewFresh(b, e)
	defer release()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Get(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
