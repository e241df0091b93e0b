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

// NewFresh returns a cache of e holding a fresh token, released when b
// ends.
func NewFresh(b *testing.B, e Engine) Cache {
	b.Helper()
	c := e.New(freshUpstream(), Window)
	b.Cleanup(func() { Release(c) })
	if _, err := c.Get(context.Background()); err != nil {
		b.Fatalf("%s: first Get: %v", e.Name, err)
	}
	return c
}

// FreshSerial measures Get of a fresh token from one goroutine.
func FreshSerial(b *testing.B, e Engine) {
	c := NewFresh(b, e)
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
	c := NewFresh(b, e)
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
