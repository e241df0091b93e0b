// Command latency drives each token cache of the benchmarks through two
// refresh cycles under load and draws the per-call latency over time as an
// SVG, one line per cache.
//
// Each cache gets a token that turns stale (enters its refresh window) after
// 100 ms; the upstream takes 50 ms to answer a refresh and hands out a token
// that turns stale 100 ms later again. One goroutine per core calls Get in a
// loop for 400 ms. For each millisecond the tool takes the median latency of
// the calls in progress during it: a call counts in every millisecond it
// spans, so a cache that makes its callers wait for the refresh shows a
// 50 ms plateau at each cycle, while one caller descheduled for a moment
// does not move the median. It runs the cycle several times per cache and
// draws, for each millisecond, the median over the runs, so what happens at
// the same moment of every cycle stays and a hiccup of the machine in one
// run goes. Latencies include the cost of reading the clock around each
// call.
//
// Usage, from the benchmarks folder:
//
//	go run ./cmd/latency -o ../docs/latency.svg
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/tokenactor/tokenactor/benchmarks"
	"github.com/tokenactor/tokenactor/internal/benchkit"
)

const (
	runFor      = 400 * time.Millisecond
	bucket      = time.Millisecond
	staleAfter  = 100 * time.Millisecond
	refreshTime = 50 * time.Millisecond
)

// A histogram counts latencies in logarithmic bins, binsPerDecade to a
// decade from minY up.
type histogram [bins]int64

const (
	binsPerDecade = 10
	bins          = 8 * binsPerDecade // 10 ns to 1 s
)

func binOf(d time.Duration) int {
	if d <= minY {
		return 0
	}
	i := int(math.Log10(float64(d)/float64(minY)) * binsPerDecade)
	return min(i, bins-1)
}

// binValue is the geometric middle of bin i.
func binValue(i int) time.Duration {
	return time.Duration(float64(minY) * math.Pow(10, (float64(i)+0.5)/binsPerDecade))
}

// median returns the median of the counted latencies, or zero if none.
func (h *histogram) median() time.Duration {
	var n int64
	for _, c := range h {
		n += c
	}
	if n == 0 {
		return 0
	}
	var seen int64
	for i, c := range h {
		seen += c
		if 2*seen >= n {
			return binValue(i)
		}
	}
	return 0
}

func main() {
	out := flag.String("o", "latency.svg", "where to write the SVG")
	runs := flag.Int("runs", 9, "how many cycles to run per engine; the picture shows the median")
	flag.Parse()
	if *runs < 1 {
		fmt.Fprintln(os.Stderr, "latency: -runs must be at least 1")
		os.Exit(2)
	}
	var all []series
	for _, e := range benchmarks.Engines {
		var each []series
		for range *runs {
			s, err := measure(e)
			if err != nil {
				fmt.Fprintf(os.Stderr, "latency: %s: %v\n", e.Name, err)
				os.Exit(1)
			}
			each = append(each, s)
		}
		all = append(all, medianOf(each))
	}
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "latency:", err)
		os.Exit(1)
	}
	if err := writeSVG(f, all, *runs); err != nil {
		f.Close()
		fmt.Fprintln(os.Stderr, "latency:", err)
		os.Exit(1)
	}
	if err := f.Sync(); err != nil {
		fmt.Fprintln(os.Stderr, "latency:", err)
		os.Exit(1)
	}
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "latency:", err)
		os.Exit(1)
	}
}

// A series is one engine's median latency per bucket; zero where no call
// was in progress.
type series struct {
	name   string
	median []time.Duration
}

// medianOf returns, bucket by bucket, the median of the runs' values:
// what happens at the same moment of every cycle stays, a hiccup of one run
// goes.
func medianOf(runs []series) series {
	out := series{name: runs[0].name, median: make([]time.Duration, len(runs[0].median))}
	vals := make([]time.Duration, len(runs))
	for at := range out.median {
		for i, r := range runs {
			vals[i] = r.median[at]
		}
		slices.Sort(vals)
		out.median[at] = vals[len(vals)/2]
	}
	return out
}

// measure runs one engine through the cycles once, on a new cache.
func measure(e benchkit.Engine) (series, error) {
	u := benchkit.NewUpstream(func(ctx context.Context, n int64) (benchkit.Token, error) {
		if n > 1 {
			t := time.NewTimer(refreshTime)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
				return benchkit.Token{}, ctx.Err()
			}
		}
		return benchkit.Token{
			Value:     fmt.Sprintf("token-%d", n),
			ExpiresAt: time.Now().Add(benchkit.Window + staleAfter),
		}, nil
	})
	c := e.New(u, benchkit.Window)
	defer benchkit.Release(c)
	ctx := context.Background()
	if _, err := c.Get(ctx); err != nil {
		return series{}, err
	}
	n := int(runFor / bucket)
	callers := runtime.GOMAXPROCS(0)
	per := make([][]histogram, callers)
	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for i := range per {
		hist := make([]histogram, n)
		per[i] = hist
		wg.Go(func() {
			for {
				t0 := time.Now()
				from := int(t0.Sub(start) / bucket)
				if from >= n {
					return
				}
				_, err := c.Get(ctx)
				t1 := time.Now()
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				bin := binOf(t1.Sub(t0))
				to := min(int(t1.Sub(start)/bucket), n-1)
				for at := from; at <= to; at++ {
					hist[at][bin]++
				}
			}
		})
	}
	wg.Wait()
	s := series{name: e.Name, median: make([]time.Duration, n)}
	for at := range s.median {
		var merged histogram
		for _, hist := range per {
			for i, c := range hist[at] {
				merged[i] += c
			}
		}
		s.median[at] = merged.median()
	}
	return s, firstErr
}
