package tokenactor

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDecide(t *testing.T) {
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	sec := func(n int) time.Time { return base.Add(time.Duration(n) * time.Second) }
	failed := errors.New("refused")
	entry := func(exp time.Time, refreshable bool) *Entry[string] {
		return &Entry[string]{Value: "v", ExpiresAt: exp, Final: !refreshable}
	}
	// ExpiresAt 1000 s, window 90 s: stale from 910 s.
	live := func(refreshable bool) state[string] {
		return state[string]{entry: entry(sec(1000), refreshable), window: 90 * time.Second}
	}
	with := func(s state[string], f func(*state[string])) state[string] { f(&s); return s }
	inFlight := func(s *state[string]) { s.busy = true }
	backoff := func(s *state[string]) { s.failure = &failure{attempt: 1, retryAt: sec(2000), err: failed} }
	invalid := func(s *state[string]) { s.invalid = true }

	tests := []struct {
		name string
		give state[string]
		now  time.Time
		want verdict
	}{
		{"nothing cached", state[string]{}, sec(0), authenticateAndWait},
		{"nothing cached, call in flight", state[string]{busy: true}, sec(0), wait},
		{"nothing cached, in backoff", with(state[string]{}, backoff), sec(0), fail},
		{"nothing cached, backoff over", with(state[string]{}, backoff), sec(2000), authenticateAndWait},
		{"fresh", live(true), sec(909), serve},
		{"fresh, last instant", live(true), sec(910).Add(-time.Nanosecond), serve},
		{"expired, refreshable, usable", live(true), sec(910), serveAndRefresh},
		{"expired, refreshable, last usable instant", live(true), sec(1000).Add(-time.Nanosecond), serveAndRefresh},
		{"unusable, refreshable", live(true), sec(1000), refreshAndWait},
		{"expired, in flight, usable", with(live(true), inFlight), sec(999), serve},
		{"unusable, in flight", with(live(true), inFlight), sec(1000), wait},
		{"expired, not refreshable, usable", live(false), sec(999), serve},
		{"unusable, not refreshable", live(false), sec(1000), fail},
		{"expired, in backoff, usable", with(live(true), backoff), sec(950), serve},
		{"unusable, in backoff", with(live(true), backoff), sec(1500), fail},
		{"fresh, in backoff", with(live(true), backoff), sec(100), serve},
		{"never expires", state[string]{entry: entry(time.Time{}, false)}, sec(1 << 30), serve},
		{"invalidated, refreshable", with(live(true), invalid), sec(0), refreshAndWait},
		{"invalidated, refreshable, in flight", with(with(live(true), invalid), inFlight), sec(0), wait},
		{"invalidated, refreshable, in backoff", with(with(live(true), invalid), backoff), sec(0), fail},
		{"invalidated, not refreshable", with(live(false), invalid), sec(0), authenticateAndWait},
		{"invalidated, never expires", with(state[string]{entry: entry(time.Time{}, false)}, invalid), sec(0), authenticateAndWait},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := decide(&tt.give, tt.now); got != tt.want {
				t.Errorf("decide() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFastServable(t *testing.T) {
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s := state[string]{entry: &Entry[string]{ExpiresAt: base.Add(time.Hour)}, window: 90 * time.Second}
	tests := []struct {
		name string
		give state[string]
		now  time.Time
		want bool
	}{
		{"fresh", s, base, true},
		{"stale, renewable: the loop must start a refresh", s, base.Add(time.Hour - 90*time.Second), false},
		{"usable, Final, before the margin", state[string]{entry: &Entry[string]{ExpiresAt: s.entry.ExpiresAt, Final: true}}, base.Add(time.Hour - time.Second - time.Nanosecond), true},
		{"usable, Final, within the margin", state[string]{entry: &Entry[string]{ExpiresAt: s.entry.ExpiresAt, Final: true}}, base.Add(time.Hour - time.Second), false},
		{"never expires", state[string]{entry: &Entry[string]{}}, base, true},
		{"nothing cached", state[string]{}, base, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fastServable(&tt.give, tt.now); got != tt.want {
				t.Errorf("fastServable() = %t, want %t", got, tt.want)
			}
		})
	}
}

func TestWindowFor(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		life   time.Duration
		window time.Duration
		want   time.Duration // how long the entry stays fresh
	}{
		{"long life keeps the window", time.Hour, 90 * time.Second, time.Hour - 90*time.Second},
		{"life equal to window halves", 90 * time.Second, 90 * time.Second, 45 * time.Second},
		{"60 s under 90 s window", 60 * time.Second, 90 * time.Second, 30 * time.Second},
		{"zero window", time.Hour, 0, time.Hour},
		{"1 ns life", time.Nanosecond, 90 * time.Second, time.Nanosecond},
		{"just above the window: half", 91 * time.Second, 90 * time.Second, 45500 * time.Millisecond},
		{"twice the window keeps it", 180 * time.Second, 90 * time.Second, 90 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.life - windowFor(&Entry[string]{ExpiresAt: now.Add(tt.life)}, now, tt.window, 0)
			if got != tt.want {
				t.Errorf("fresh for %v, want %v", got, tt.want)
			}
		})
	}
	if got := windowFor(&Entry[string]{}, now, time.Minute, 0.5); got != 0 {
		t.Errorf("window of a value that never expires = %v, want 0", got)
	}
	// Its lifetime does not fit a Duration: the window and the jitter
	// apply all the same.
	if got := windowFor(&Entry[string]{ExpiresAt: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}, now, 90*time.Second, 1); got != 180*time.Second {
		t.Errorf("window of a value expiring in year 9999 = %v, want 3m0s", got)
	}
}

// TestWindowForRefreshAt: a RefreshAt between the moment an entry is stored
// and its ExpiresAt replaces the window; any other is ignored.
func TestWindowForRefreshAt(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	exp := now.Add(time.Hour)
	tests := []struct {
		name      string
		refreshAt time.Time
		want      time.Time // when the entry turns stale
	}{
		{"halfway", now.Add(30 * time.Minute), now.Add(30 * time.Minute)},
		{"just before expiry", exp.Add(-time.Nanosecond), exp.Add(-time.Nanosecond)},
		{"unset: the window", time.Time{}, exp.Add(-90 * time.Second)},
		{"at expiry: ignored", exp, exp.Add(-90 * time.Second)},
		{"after expiry: ignored", exp.Add(time.Minute), exp.Add(-90 * time.Second)},
		{"now: ignored", now, exp.Add(-90 * time.Second)},
		{"in the past: ignored", now.Add(-time.Minute), exp.Add(-90 * time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &Entry[string]{ExpiresAt: exp, RefreshAt: tt.refreshAt}
			if got := exp.Add(-windowFor(e, now, 90*time.Second, 0)); !got.Equal(tt.want) {
				t.Errorf("stale at %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNextBoundary(t *testing.T) {
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	sec := func(n int) time.Time { return base.Add(time.Duration(n) * time.Second) }
	e := &Entry[string]{ExpiresAt: sec(1000)}
	tests := []struct {
		name string
		give state[string]
		now  time.Time
		want time.Time
	}{
		{"nothing cached", state[string]{}, sec(0), time.Time{}},
		{"never expires", state[string]{entry: &Entry[string]{}}, sec(0), time.Time{}},
		{"fresh: stale moment", state[string]{entry: e, window: 90 * time.Second}, sec(900), sec(910)},
		{"fresh: capped by recheck", state[string]{entry: e, window: 90 * time.Second}, sec(0), sec(30)},
		{"stale: last second before expiry", state[string]{entry: e, window: 90 * time.Second}, sec(975), sec(999)},
		{"backoff ends first", state[string]{entry: e, window: 90 * time.Second, failure: &failure{attempt: 1, retryAt: sec(955), err: errors.New("x")}}, sec(950), sec(955)},
		{"last second: nothing ahead", state[string]{entry: e, window: 90 * time.Second}, sec(999), time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := nextBoundary(&tt.give, tt.now, 30*time.Second)
			if !got.Equal(tt.want) {
				t.Errorf("nextBoundary() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBackoffDelay(t *testing.T) {
	tests := []struct {
		name    string
		attempt int
		err     error
		r       float64
		want    time.Duration
	}{
		{"first, no jitter", 1, nil, 0.5, time.Second},
		{"first, least", 1, nil, 0, 800 * time.Millisecond},
		{"first, most", 1, nil, 1, 1200 * time.Millisecond},
		{"doubles", 4, nil, 0.5, 8 * time.Second},
		{"capped", 10, nil, 0.5, 60 * time.Second},
		{"huge attempt stays capped", 1 << 20, nil, 0.5, 60 * time.Second},
		{"retry-after longer wins", 1, retryAfterErr(30 * time.Second), 0.5, 30 * time.Second},
		{"retry-after shorter ignored", 5, retryAfterErr(time.Second), 0.5, 16 * time.Second},
		{"retry-after bounded", 1, retryAfterErr(100 * time.Hour), 0.5, maxRetryAfter},
		{"retry-after longest Duration bounded", 1, retryAfterErr(math.MaxInt64), 0.5, maxRetryAfter},
		{"retry-after negative ignored", 1, retryAfterErr(-time.Hour), 0.5, time.Second},
		{"retry-after most negative ignored", 1, retryAfterErr(math.MinInt64), 0.5, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := backoff{initial: time.Second, max: time.Minute}.delay(tt.attempt, retryAfter(tt.err), tt.r)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("delay() (-want +got):\n%s", diff)
			}
		})
	}
}

type retryAfterErr time.Duration

func (e retryAfterErr) Error() string             { return "retry later" }
func (e retryAfterErr) RetryAfter() time.Duration { return time.Duration(e) }

// TestWindowForJitter: jitter moves the refresh point earlier by that
// fraction of the window, by at most half the time the entry stays fresh.
func TestWindowForJitter(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		life      time.Duration
		refreshAt time.Duration // from now; 0: unset
		jitter    float64
		want      time.Duration
	}{
		{"none", time.Hour, 0, 0, 90 * time.Second},
		{"half", time.Hour, 0, 0.5, 135 * time.Second},
		{"all", time.Hour, 0, 1, 180 * time.Second},
		{"short life: half of half its life", 60 * time.Second, 0, 0.5, 45 * time.Second},
		{"short life: at most half the fresh time", 60 * time.Second, 0, 1, 45 * time.Second},
		{"just above the window", 100 * time.Second, 0, 1, 75 * time.Second},
		{"RefreshAt near now", time.Hour, time.Second, 1, time.Hour - time.Second/2},
		{"RefreshAt centuries away", 200 * 365 * 24 * time.Hour, time.Second, 1, 200*365*24*time.Hour - time.Second/2},
		{"on a RefreshAt", time.Hour, 50 * time.Minute, 0.5, 15 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &Entry[string]{ExpiresAt: now.Add(tt.life)}
			if tt.refreshAt > 0 {
				e.RefreshAt = now.Add(tt.refreshAt)
			}
			if diff := cmp.Diff(tt.want, windowFor(e, now, 90*time.Second, tt.jitter)); diff != "" {
				t.Errorf("windowFor() (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBackoffDelayHugeMax: a max beyond what doubling can reach without
// overflowing (WithBackoff accepts any) still gives positive delays that
// grow to max, at every jitter, never a negative one (which would retry a
// failing server on every Get).
func TestBackoffDelayHugeMax(t *testing.T) {
	b := backoff{initial: time.Second, max: math.MaxInt64}
	for _, attempt := range []int{1, 30, 34, 35, 63, 64, 65, 100, 1 << 20} {
		for _, r := range []float64{0, 0.5, 0.999999} {
			got := b.delay(attempt, 0, r)
			if got < 800*time.Millisecond {
				t.Errorf("delay(%d, r=%v) = %v, want at least 800ms", attempt, r, got)
			}
		}
	}
	if got := b.delay(100, 0, 0.5); got != math.MaxInt64 {
		t.Errorf("delay after 100 failures = %v, want max", got)
	}
}
