package benchkit

import (
	"slices"
	"time"
)

// quantile returns the q-quantile (0 <= q <= 1) of sorted by the
// nearest-rank method; zero for an empty slice.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// summary is the distribution of a set of latencies.
type summary struct {
	p50, p99, max time.Duration
}

func summarize(ds []time.Duration) summary {
	s := slices.Clone(ds)
	slices.Sort(s)
	return summary{p50: quantile(s, 0.50), p99: quantile(s, 0.99), max: quantile(s, 1)}
}
