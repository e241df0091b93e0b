package redisstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tokenactor/tokenactor/internal/redistest"
)

// BenchmarkFleet measures token requests per expiry at the auth server for
// a fleet of replicas, each refreshing alone or sharing through Redis. Each
// run lasts about four refresh cycles of real time; run it once:
//
//	go test -run '^$' -bench Fleet -benchtime 1x ./store/redisstore/
func BenchmarkFleet(b *testing.B) {
	for _, n := range []int{1, 4, 16} {
		for _, shared := range []bool{false, true} {
			b.Run(fmt.Sprintf("replicas=%d/shared=%t", n, shared), func(b *testing.B) {
				var perExpiry float64
				for b.Loop() {
					perExpiry = runFleet(b, n, shared)
				}
				b.ReportMetric(perExpiry, "requests/expiry")
			})
		}
	}
}

// runFleet runs n replicas for four refresh cycles and returns the token
// requests per expiry the auth server saw.
func runFleet(b *testing.B, n int, shared bool) float64 {
	srv := redistest.Start(b)
	a := newAuthServer(b)
	reps := fleet(b, n, srv.Addr, a, fleetConfig{shared: shared, encrypt: true})
	ctx, cancel := context.WithTimeout(context.Background(), runLimit)
	defer cancel()
	d := startDrive(ctx, reps, a.validToken)
	t := time.NewTimer(4*(tokenLife-window) + (tokenLife-window)/2)
	<-t.C
	d.stop()
	d.check(b)
	return a.perExpiry()
}
