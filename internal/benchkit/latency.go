package benchkit

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	// Callers is how many callers a latency burst releases at once.
	Callers = 1000
	// RefreshTime is how long the upstream takes to answer a refresh in
	// the refresh-window scenario.
	RefreshTime = 50 * time.Millisecond
	// staleAfter is how long a token of the refresh-window scenario stays
	// fresh; it is then in the refresh window for Window.
	staleAfter = 5 * time.Millisecond
	// timerSlack is how long after a token turns stale the scenarios start
	// calling, so that engines driven by timers have seen it.
	timerSlack = 2 * time.Millisecond
	// patience bounds every wait for an engine to do its part.
	patience = 10 * time.Second
)

// A sample is one caller's Get in a burst.
type sample struct {
	took    time.Duration
	err     error
	blocked bool // got the value of the refresh that was in flight when it started
	late    bool // started after that refresh had returned: not counted
}

// burst releases n callers at once, each making one Get, and returns what
// each saw. settled reports whether the refresh in flight has returned (nil:
// none is); refreshed is the value that refresh returns.
func burst(c Cache, n int, settled func() bool, refreshed string) []sample {
	ctx := context.Background()
	out := make([]sample, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range out {
		wg.Go(func() {
			<-start
			s := &out[i]
			s.late = settled != nil && settled()
			t0 := time.Now()
			v, err := c.Get(ctx)
			s.took = time.Since(t0)
			s.err = err
			s.blocked = refreshed != "" && v == refreshed
		})
	}
	close(start)
	wg.Wait()
	return out
}

// reportBursts reports the latency distribution of the samples and how
// many callers per burst were blocked by a refresh.
func reportBursts(b *testing.B, samples []sample) {
	var took []time.Duration
	var blocked, late, failed int
	for _, s := range samples {
		switch {
		case s.late:
			late++
			continue
		case s.err != nil:
			failed++
		case s.blocked:
			blocked++
		}
		took = append(took, s.took)
	}
	if failed > 0 {
		b.Errorf("%d of %d callers got an error", failed, len(samples))
	}
	sum := summarize(took)
	b.ReportMetric(float64(sum.p50), "p50-ns")
	b.ReportMetric(float64(sum.p99), "p99-ns")
	b.ReportMetric(float64(sum.max), "max-ns")
	b.ReportMetric(float64(blocked)/float64(b.N), "blocked/op")
	b.ReportMetric(float64(late)/float64(b.N), "late/op")
}

// FreshLatency releases bursts of Callers callers on a fresh token and
// reports the per-call latency: the baseline for [WindowLatency].
func FreshLatency(b *testing.B, e Engine) {
	c := NewFresh(b, e)
	var samples []sample
	for range b.N {
		samples = append(samples, burst(c, Callers, nil, "")...)
	}
	reportBursts(b, samples)
}

// WindowLatency releases a burst of Callers callers while one refresh,
// taking RefreshTime, is in flight for a token in its refresh window (still
// usable), and reports the per-call latency and how many callers got the
// refresh's value, that is, were blocked until it returned.
func WindowLatency(b *testing.B, e Engine) {
	var (
		entered  = make(chan int64, 1)
		finished atomic.Int64 // number of the last call that returned
		staleAt  atomic.Int64 // when the last token issued turns stale, in Unix ns
	)
	u := NewUpstream(func(ctx context.Context, n int64) (Token, error) {
		if n > 1 {
			select {
			case entered <- n:
			default:
			}
			if err := sleep(ctx, RefreshTime); err != nil {
				return Token{}, err
			}
		}
		now := time.Now()
		staleAt.Store(now.Add(staleAfter).UnixNano())
		finished.Store(n)
		return Token{Value: tokenValue(n), ExpiresAt: now.Add(Window + staleAfter)}, nil
	})
	c := e.New(u, Window)
	defer Release(c)
	ctx := context.Background()
	if _, err := c.Get(ctx); err != nil {
		b.Fatalf("first Get: %v", err)
	}
	var samples []sample
	for range b.N {
		time.Sleep(time.Until(time.Unix(0, staleAt.Load())) + timerSlack)
		n, ok := trigger(c, entered)
		if !ok {
			b.Fatalf("%s started no refresh of a token in its refresh window within %v", e.Name, patience)
		}
		samples = append(samples, burst(c, Callers, func() bool { return finished.Load() >= n }, tokenValue(n))...)
		if !waitUntil(func() bool { return finished.Load() >= n }) {
			b.Fatalf("%s: refresh %d did not return within %v", e.Name, n, patience)
		}
	}
	reportBursts(b, samples)
}

// trigger calls Get until the upstream reports on entered that a refresh
// started, and returns that call's number. A Get that blocks on the refresh
// is left to finish on its own goroutine.
func trigger(c Cache, entered <-chan int64) (int64, bool) {
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			_, _ = c.Get(context.Background())
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	select {
	case n := <-entered:
		return n, true
	case <-time.After(patience):
		return 0, false
	}
}

// waitUntil polls cond every millisecond until it holds or patience runs
// out, and reports whether it held.
func waitUntil(cond func() bool) bool { return waitFor(patience, cond) }

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func tokenValue(n int64) string { return fmt.Sprintf("token-%d", n) }
