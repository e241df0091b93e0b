//go:build unix

package benchmarks_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tokenactor/tokenactor/internal/benchkit"
)

// BenchmarkWakeParts takes BenchmarkParkedWake apart. Each iteration runs,
// back to back so that all of them see the same machine, benchkit.Parked
// goroutines woken five ways:
//
//   - engine: callers parked on a tokenactor cache's refresh of an expired
//     token, answered when it returns (as in BenchmarkParkedWake): the
//     cache closes the one channel they all wait on;
//   - send-each: goroutines each waiting on a channel of its own (buffer 1),
//     answered one after the other by one goroutine;
//   - send-each-select: the same, each goroutine waiting in a select on
//     its channel and context.Background's Done channel;
//   - close: goroutines waiting on one channel, which is closed (the
//     runtime's floor, as in benchkit.WakeFloor);
//   - close-select: the same, each goroutine waiting in a select with
//     context.Background's Done channel: the wake of callers of Get whose
//     context can end, which wait in such a select.
//
// The engine's callers pass context.Background, whose Done is nil, so the
// cache has them wait on a plain receive, as close does.
//
// It reports, as medians over iterations, the time from the wake-up (the
// refresh returning, the first send, the close) to the first goroutine
// running (-first-ns) and to the last (-last-ns), and the CPU time the
// process spent from the wake-up until every goroutine was done (-cpu-ns:
// the work, which other load on the machine does not inflate as it does
// the wall times). Run from this folder:
//
//	go test -run '^$' -bench WakeParts -benchtime 15x
func BenchmarkWakeParts(b *testing.B) {
	var engine, each, eachSelect, closed, closedSelect wakeTimes
	for range b.N {
		engine.add(engineWake(b))
		each.add(sendEachWake(false))
		eachSelect.add(sendEachWake(true))
		closed.add(closeWake(false))
		closedSelect.add(closeWake(true))
	}
	engine.report(b, "engine")
	each.report(b, "send-each")
	eachSelect.report(b, "send-each-select")
	closed.report(b, "close")
	closedSelect.report(b, "close-select")
}

// wakeTimes collects the first and last wake of each iteration, and the
// CPU time the process spent from the wake-up to the last goroutine done.
type wakeTimes struct{ first, last, cpu []time.Duration }

func (w *wakeTimes) add(ends []time.Time, t0 time.Time, cpu time.Duration) {
	w.first = append(w.first, slices.MinFunc(ends, time.Time.Compare).Sub(t0))
	w.last = append(w.last, slices.MaxFunc(ends, time.Time.Compare).Sub(t0))
	w.cpu = append(w.cpu, cpu)
}

func (w *wakeTimes) report(b *testing.B, name string) {
	median := func(ds []time.Duration) float64 {
		ds = slices.Clone(ds)
		slices.Sort(ds)
		return float64(ds[len(ds)/2])
	}
	b.ReportMetric(median(w.first), name+"-first-ns")
	b.ReportMetric(median(w.last), name+"-last-ns")
	b.ReportMetric(median(w.cpu), name+"-cpu-ns")
}

// cpuTime returns the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// parkTime is how long every variant lets its goroutines reach their wait.
const parkTime = 100 * time.Millisecond

// park starts benchkit.Parked goroutines that each call wait and record
// when it returned, and returns once they have all started.
func park(wait func(i int)) (ends []time.Time, done *sync.WaitGroup) {
	ends = make([]time.Time, benchkit.Parked)
	done = new(sync.WaitGroup)
	var started sync.WaitGroup
	started.Add(benchkit.Parked)
	for i := range ends {
		done.Go(func() {
			started.Done()
			wait(i)
			ends[i] = time.Now()
		})
	}
	started.Wait()
	return ends, done
}

// engineWake parks callers on a tokenactor cache whose token has expired
// and whose refresh is held back, then lets the refresh return. It returns
// when each caller was answered and when the refresh returned.
func engineWake(b *testing.B) ([]time.Time, time.Time, time.Duration) {
	gate, entered := make(chan struct{}), make(chan struct{}, 1)
	var returned atomic.Int64
	u := benchkit.NewUpstream(func(ctx context.Context, n int64) (benchkit.Token, error) {
		if n == 1 {
			return benchkit.Token{Value: "expiring", ExpiresAt: time.Now().Add(10 * time.Millisecond)}, nil
		}
		select {
		case entered <- struct{}{}:
		default:
		}
		<-gate
		returned.Store(time.Now().UnixNano())
		return benchkit.Token{Value: "renewed", ExpiresAt: time.Now().Add(time.Hour)}, nil
	})
	c := benchkit.Tokenactor("tokenactor").New(u, benchkit.Window)
	defer benchkit.Release(c)
	ctx := context.Background()
	if _, err := c.Get(ctx); err != nil {
		b.Fatal(err)
	}
	time.Sleep(12 * time.Millisecond) // the token is no longer usable
	var failed atomic.Int32
	ends, done := park(func(int) {
		if v, err := c.Get(ctx); v != "renewed" || err != nil {
			failed.Add(1)
		}
	})
	<-entered
	time.Sleep(parkTime)
	cpu := cpuTime()
	close(gate)
	done.Wait()
	cpu = cpuTime() - cpu
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d parked callers did not get the renewed token", n)
	}
	return ends, time.Unix(0, returned.Load()), cpu
}

// reply is the shape of a cache's answer to one caller.
type reply struct {
	value string
	err   error
}

// sendEachWake parks goroutines each on a reply channel of its own (in a
// select with a context's Done channel if withContext) and answers them one
// after the other.
func sendEachWake(withContext bool) ([]time.Time, time.Time, time.Duration) {
	chans := make([]chan reply, benchkit.Parked)
	for i := range chans {
		chans[i] = make(chan reply, 1)
	}
	ctx := context.Background() // as BenchmarkParkedWake's callers pass
	wait := func(i int) { <-chans[i] }
	if withContext {
		wait = func(i int) {
			select {
			case <-chans[i]:
			case <-ctx.Done():
			}
		}
	}
	ends, done := park(wait)
	time.Sleep(parkTime)
	cpu := cpuTime()
	t0 := time.Now()
	for _, ch := range chans {
		select {
		case ch <- reply{value: "renewed"}:
		default:
		}
	}
	done.Wait()
	return ends, t0, cpuTime() - cpu
}

// closeWake parks goroutines on one channel (in a select with a context's
// Done channel if withContext) and closes it.
func closeWake(withContext bool) ([]time.Time, time.Time, time.Duration) {
	release := make(chan struct{})
	ctx := context.Background()
	wait := func(int) { <-release }
	if withContext {
		wait = func(int) {
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
	}
	ends, done := park(wait)
	time.Sleep(parkTime)
	cpu := cpuTime()
	t0 := time.Now()
	close(release)
	done.Wait()
	return ends, t0, cpuTime() - cpu
}
