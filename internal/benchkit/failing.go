package benchkit

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	// FailCallers is how many callers keep calling in [FailingUpstream].
	FailCallers = 1000
	// failLatency is how long the failing upstream takes to say no.
	failLatency = time.Millisecond
	// failingDefault is how long FailingUpstream runs without
	// TOKENACTOR_BENCH_FAILING: short, so a smoke run stays short.
	failingDefault = 500 * time.Millisecond
)

var errUnavailable = errors.New("upstream: 503 service unavailable")

// FailingFor returns how long [FailingUpstream] runs: the duration in the
// environment variable TOKENACTOR_BENCH_FAILING (for example 10s, the
// figure the README reports), else 500 ms.
func FailingFor() (time.Duration, error) {
	s := os.Getenv("TOKENACTOR_BENCH_FAILING")
	if s == "" {
		return failingDefault, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, errors.New("benchkit: TOKENACTOR_BENCH_FAILING must be a positive duration such as 10s")
	}
	return d, nil
}

// FailingUpstream lets a token expire behind an upstream that then fails
// every call (after failLatency), has FailCallers callers call Get in a
// loop for d, and reports the upstream calls made within d (attempts/op)
// and the Gets answered (gets/op).
func FailingUpstream(b *testing.B, e Engine, d time.Duration) {
	var attempts, gets int64
	for range b.N {
		a, g := failingOnce(b, e, d)
		attempts += a
		gets += g
	}
	b.ReportMetric(float64(attempts)/float64(b.N), "attempts/op")
	b.ReportMetric(float64(gets)/float64(b.N), "gets/op")
}

func failingOnce(b *testing.B, e Engine, d time.Duration) (attempts, gets int64) {
	var deadline atomic.Int64 // Unix ns; zero until the callers start
	var within atomic.Int64
	u := NewUpstream(func(ctx context.Context, n int64) (Token, error) {
		if n == 1 {
			return Token{Value: "expiring", ExpiresAt: time.Now().Add(shortLife)}, nil
		}
		if dl := deadline.Load(); dl != 0 && time.Now().UnixNano() < dl {
			within.Add(1)
		}
		if err := sleep(ctx, failLatency); err != nil {
			return Token{}, err
		}
		return Token{}, errUnavailable
	})
	c := e.New(u, Window)
	defer Release(c)
	if _, err := c.Get(context.Background()); err != nil {
		b.Fatalf("first Get: %v", err)
	}
	time.Sleep(shortLife + timerSlack)

	end := time.Now().Add(d)
	deadline.Store(end.UnixNano())
	ctx, cancel := context.WithDeadline(context.Background(), end)
	defer cancel()
	var total atomic.Int64
	var wg sync.WaitGroup
	for range FailCallers {
		wg.Go(func() {
			var n int64
			for time.Now().Before(end) {
				_, _ = c.Get(ctx)
				n++
			}
			total.Add(n)
		})
	}
	wg.Wait()
	return within.Load(), total.Load()
}
