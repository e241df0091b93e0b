package benchkit

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	// Parked is how many callers wait for the refresh of a fully expired
	// token in [ParkedWake].
	Parked = 10000
	// shortLife is the lifetime of a token that a scenario wants expired:
	// it waits shortLife+timerSlack and the token is no longer usable.
	shortLife = 10 * time.Millisecond
	// parkTime is how long ParkedWake lets its callers reach their wait
	// before the refresh returns.
	parkTime = 100 * time.Millisecond
)

// ParkedWake parks Parked callers on a fully expired token whose refresh is
// held back, lets the refresh return, and reports the time from its return
// to the last caller answered (last-ns, the median over iterations), the
// median caller's wait (p50-ns), and the upstream calls per iteration.
func ParkedWake(b *testing.B, e Engine) {
	var lasts, waits []time.Duration
	var attempts int64
	for range b.N {
		last, w, calls := parkedWakeOnce(b, e)
		lasts = append(lasts, last)
		waits = append(waits, w...)
		attempts += calls
	}
	slices.Sort(lasts)
	b.ReportMetric(float64(quantile(lasts, 0.5)), "last-ns")
	b.ReportMetric(float64(summarize(waits).p50), "p50-ns")
	b.ReportMetric(float64(attempts)/float64(b.N), "attempts/op")
}

// parkedWakeOnce runs one cycle of ParkedWake on a new cache.
func parkedWakeOnce(b *testing.B, e Engine) (last time.Duration, waits []time.Duration, calls int64) {
	gate := make(chan struct{})
	entered := make(chan struct{}, 1)
	var returned atomic.Int64 // when the held-back refresh returned, in Unix ns
	u := NewUpstream(func(ctx context.Context, n int64) (Token, error) {
		if n == 1 {
			return Token{Value: "expiring", ExpiresAt: time.Now().Add(shortLife)}, nil
		}
		select {
		case entered <- struct{}{}:
		default:
		}
		select {
		case <-gate:
		case <-ctx.Done():
			return Token{}, ctx.Err()
		}
		returned.CompareAndSwap(0, time.Now().UnixNano())
		return Token{Value: "renewed", ExpiresAt: time.Now().Add(time.Hour)}, nil
	})
	c := e.New(u, Window)
	defer Release(c)
	ctx := context.Background()
	if _, err := c.Get(ctx); err != nil {
		b.Fatalf("first Get: %v", err)
	}
	time.Sleep(shortLife + timerSlack)

	ends := make([]time.Time, Parked)
	var failed atomic.Int64
	var firstBad atomic.Pointer[string] // what the first caller without the renewed token got
	var started, done sync.WaitGroup
	started.Add(Parked)
	for i := range ends {
		done.Go(func() {
			started.Done()
			v, err := c.Get(ctx)
			ends[i] = time.Now()
			if err != nil || v != "renewed" {
				failed.Add(1)
				got := fmt.Sprintf("value %q, error %v, %v after the refresh returned", v, err, time.Since(time.Unix(0, returned.Load())))
				firstBad.CompareAndSwap(nil, &got)
			}
		})
	}
	started.Wait()
	select {
	case <-entered:
	case <-time.After(patience):
		close(gate)
		done.Wait()
		b.Fatalf("%s started no refresh of an expired token within %v", e.Name, patience)
	}
	time.Sleep(parkTime)
	close(gate)
	done.Wait()
	if n := failed.Load(); n > 0 {
		b.Errorf("%s: %d of %d parked callers did not get the renewed token; the first got %s", e.Name, n, Parked, *firstBad.Load())
	}
	t0 := time.Unix(0, returned.Load())
	waits = make([]time.Duration, len(ends))
	for i, end := range ends {
		waits[i] = max(end.Sub(t0), 0)
	}
	return slices.Max(waits), waits, u.Calls() - 1
}

// WakeFloor is the floor under [ParkedWake] on this machine: Parked
// goroutines wait on one channel, which is closed, and each takes the time
// as ParkedWake's callers do. It reports the time from the close to the last
// goroutine running (last-ns, the median over iterations) and the median
// goroutine's wait (p50-ns).
func WakeFloor(b *testing.B) {
	var lasts, waits []time.Duration
	for range b.N {
		ends := make([]time.Time, Parked)
		release := make(chan struct{})
		var started, done sync.WaitGroup
		started.Add(Parked)
		for i := range ends {
			done.Go(func() {
				started.Done()
				<-release
				ends[i] = time.Now()
			})
		}
		started.Wait()
		time.Sleep(parkTime)
		t0 := time.Now()
		close(release)
		done.Wait()
		w := make([]time.Duration, len(ends))
		for i, end := range ends {
			w[i] = end.Sub(t0)
		}
		lasts = append(lasts, slices.Max(w))
		waits = append(waits, w...)
	}
	slices.Sort(lasts)
	b.ReportMetric(float64(quantile(lasts, 0.5)), "last-ns")
	b.ReportMetric(float64(summarize(waits).p50), "p50-ns")
}
