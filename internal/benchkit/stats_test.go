package benchkit

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestQuantile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i + 1)
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		q      float64
		want   time.Duration
	}{
		{name: "empty", sorted: nil, q: 0.5, want: 0},
		{name: "one", sorted: []time.Duration{7}, q: 0.99, want: 7},
		{name: "median of 100", sorted: hundred, q: 0.5, want: 50},
		{name: "p99 of 100", sorted: hundred, q: 0.99, want: 99},
		{name: "max", sorted: hundred, q: 1, want: 100},
		{name: "min", sorted: hundred, q: 0, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, quantile(tt.sorted, tt.q)); diff != "" {
				t.Errorf("quantile(%v) (-want +got):\n%s", tt.q, diff)
			}
		})
	}
}

func TestSummarizeLeavesInputAlone(t *testing.T) {
	in := []time.Duration{3, 1, 2}
	got := summarize(in)
	want := summary{p50: 2, p99: 3, max: 3}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(summary{})); diff != "" {
		t.Errorf("summarize (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]time.Duration{3, 1, 2}, in); diff != "" {
		t.Errorf("summarize changed its input (-want +got):\n%s", diff)
	}
}
