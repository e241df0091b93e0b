package main

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSegments(t *testing.T) {
	tests := []struct {
		name string
		give []time.Duration
		want [][]int
	}{
		{name: "empty", give: nil, want: nil},
		{name: "no calls", give: []time.Duration{0, 0}, want: nil},
		{name: "one run", give: []time.Duration{1, 2, 3}, want: [][]int{{0, 1, 2}}},
		{name: "gap", give: []time.Duration{1, 0, 0, 4, 5, 0}, want: [][]int{{0}, {3, 4}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, segments(tt.give)); diff != "" {
				t.Errorf("segments (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHistogramMedian(t *testing.T) {
	var h histogram
	if got := h.median(); got != 0 {
		t.Errorf("median of nothing = %v, want 0", got)
	}
	h[binOf(50*time.Nanosecond)] += 3
	h[binOf(50*time.Millisecond)] += 2
	got := h.median()
	if got < 40*time.Nanosecond || got > 60*time.Nanosecond {
		t.Errorf("median of 3×50ns and 2×50ms = %v, want about 50ns", got)
	}
	h[binOf(50*time.Millisecond)] += 2
	got = h.median()
	if got < 40*time.Millisecond || got > 60*time.Millisecond {
		t.Errorf("median of 3×50ns and 4×50ms = %v, want about 50ms", got)
	}
}

func TestBinOfClamps(t *testing.T) {
	tests := []struct {
		give time.Duration
		want int
	}{
		{give: 0, want: 0},
		{give: minY, want: 0},
		{give: time.Hour, want: bins - 1},
	}
	for _, tt := range tests {
		if got := binOf(tt.give); got != tt.want {
			t.Errorf("binOf(%v) = %d, want %d", tt.give, got, tt.want)
		}
	}
}

func TestWriteSVGIsWellFormed(t *testing.T) {
	all := []series{
		{name: "fast", median: []time.Duration{50, 60, 0, 55}},
		{name: "blocking <&>", median: []time.Duration{50, 50 * time.Millisecond, 50 * time.Millisecond, 60}},
	}
	var b strings.Builder
	if err := writeSVG(&b, all, 3); err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(strings.NewReader(b.String()))
	polylines := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, b.String())
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "polyline" {
			polylines++
		}
	}
	// "fast" breaks at its empty bucket: two segments; "blocking" is one.
	if polylines != 3 {
		t.Errorf("got %d polylines, want 3", polylines)
	}
}
