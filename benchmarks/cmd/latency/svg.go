package main

import (
	"fmt"
	"html"
	"io"
	"math"
	"runtime"
	"strings"
	"time"
)

// Layout of the picture, in SVG user units.
const (
	width, height = 820, 420
	left, right   = 70, 150 // margins: axis labels, legend
	top, bottom   = 48, 50
	plotW         = width - left - right
	plotH         = height - top - bottom
	minY, maxY    = 10 * time.Nanosecond, 100 * time.Millisecond // log scale
)

var colors = []string{"#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"}

// writeSVG draws the series: time on x, median latency per bucket on a log
// y.
func writeSVG(w io.Writer, all []series, runs int) error {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="%d" y="18" font-size="15">Get latency through refresh cycles: token stale every 100 ms, refresh takes 50 ms</text>`+"\n", left)
	fmt.Fprintf(&b, `<text x="%d" y="34" fill="#555">median latency of the calls in progress in each ms, %d callers, median of %d runs</text>`+"\n", left, runtime.GOMAXPROCS(0), runs)

	// y grid: one line per decade.
	for d := minY; d <= maxY; d *= 10 {
		y := yOf(d)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", left, y, left+plotW, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, y+4, label(d))
	}
	// x grid: every 50 ms.
	for ms := 0; ms <= int(runFor/time.Millisecond); ms += 50 {
		x := xOf(float64(ms) / float64(runFor/time.Millisecond))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#eee"/>`+"\n", x, top, x, top+plotH)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%d ms</text>`+"\n", x, top+plotH+18, ms)
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>`+"\n", left, top, plotW, plotH)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">time since start</text>`+"\n", left+plotW/2, height-10)

	for i, s := range all {
		color := colors[i%len(colors)]
		// Earlier lines are wider and dashed ones alternate, so lines that
		// coincide stay visible.
		style := fmt.Sprintf(`stroke="%s" stroke-width="%.1f"`, color, 1.5+0.9*float64(len(all)-1-i))
		if i%2 == 1 {
			style += ` stroke-dasharray="6,3"`
		}
		for _, run := range segments(s.median) {
			var pts strings.Builder
			for _, j := range run {
				fmt.Fprintf(&pts, "%.1f,%.1f ", xOf(float64(j)/float64(len(s.median))), yOf(s.median[j]))
			}
			fmt.Fprintf(&b, `<polyline fill="none" %s points="%s"/>`+"\n", style, strings.TrimSpace(pts.String()))
		}
		ly := top + 10 + 20*i
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" %s/>`+"\n", left+plotW+12, ly, left+plotW+32, ly, style)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", left+plotW+38, ly+4, html.EscapeString(s.name))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// segments splits the bucket indexes into runs of consecutive buckets that had
// a call in progress, so a line breaks where there was none.
func segments(worst []time.Duration) [][]int {
	var out [][]int
	var cur []int
	for i, d := range worst {
		if d == 0 {
			if len(cur) > 0 {
				out = append(out, cur)
			}
			cur = nil
			continue
		}
		cur = append(cur, i)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func xOf(frac float64) float64 { return left + frac*plotW }

func yOf(d time.Duration) float64 {
	d = min(max(d, minY), maxY)
	lo, hi := math.Log10(float64(minY)), math.Log10(float64(maxY))
	return top + plotH - (math.Log10(float64(d))-lo)/(hi-lo)*plotH
}

func label(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%d ns", d.Nanoseconds())
	case d < time.Millisecond:
		return fmt.Sprintf("%d µs", d.Microseconds())
	default:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
}
