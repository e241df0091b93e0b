package benchmarks_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tokenactor/tokenactor/internal/benchkit"
)

// BenchmarkWakeParts takes BenchmarkParkedWake apart: the engine's parked
// wake beside two floors measured the same way, with benchkit.Parked
// goroutines waiting. close-channel wakes them all by closing one channel;
// send-each answers each on a channel of its own (buffer 1), one send
// after the other from one goroutine, which is how a cache's loop answers
// its parked callers. Run from this folder:
//
//	go test -run '^$' -bench WakeParts -benchtime 20x -count 3
func BenchmarkWakeParts(b *testing.B) {
	b.Run("engine=tokenactor", func(b *testing.B) { benchkit.ParkedWake(b, benchkit.Tokenactor("tokenactor")) })
	b.Run("ref=close-channel", benchkit.WakeFloor)
	b.Run("ref=send-each", sendEach)
}

// reply is the shape of a cache's answer to one caller.
type reply struct {
	value string
	err   error
}

// sendEach parks benchkit.Parked goroutines, each on a reply channel of its
// own, and answers them one after the other. It reports what WakeFloor
// does: the time from the first send to the last goroutine running
// (last-ns, the median over iterations) and the median goroutine's wait.
func sendEach(b *testing.B) {
	var lasts, waits []time.Duration
	for range b.N {
		ends := make([]time.Time, benchkit.Parked)
		chans := make([]chan reply, benchkit.Parked)
		var started, done sync.WaitGroup
		started.Add(benchkit.Parked)
		for i := range ends {
			ch := make(chan reply, 1)
			chans[i] = ch
			done.Go(func() {
				started.Done()
				r := <-ch
				ends[i] = time.Now()
				if r.value != "renewed" {
					b.Errorf("goroutine %d got %q", i, r.value)
				}
			})
		}
		started.Wait()
		time.Sleep(100 * time.Millisecond) // as long as the floors let their goroutines park
		t0 := time.Now()
		for _, ch := range chans {
			select {
			case ch <- reply{value: "renewed"}:
			default:
			}
		}
		done.Wait()
		w := make([]time.Duration, len(ends))
		for i, end := range ends {
			w[i] = end.Sub(t0)
		}
		lasts = append(lasts, slices.Max(w))
		waits = append(waits, w...)
	}
	slices.Sort(lasts)
	slices.Sort(waits)
	b.ReportMetric(float64(lasts[len(lasts)/2]), "last-ns")
	b.ReportMetric(float64(waits[len(waits)/2]), "p50-ns")
}
