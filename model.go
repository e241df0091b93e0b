package tokenactor

import (
	"fmt"
	"math"
	"time"
)

// state is everything the loop knows. Only the loop goroutine reads or
// writes it; it lives in the Cache, not in the goroutine's locals, so the
// loop can exit when idle and a later message can start it again.
//
// It is kept small, since an idle cache is mostly this: what only matters
// after a failure lives in a separate struct that exists only then.
type state[T any] struct {
	entry   *Entry[T]     // current value; nil if none. Immutable once stored: the fast path shares it.
	window  time.Duration // entry's refresh window: it is expired from ExpiresAt-window
	failure *failure      // the last attempt's failure; nil after a success
	busy    bool          // a Refresher call is in flight
	invalid bool          // entry was rejected by Invalidate
	closed  bool          // Close was called; every request now gets ErrClosed
}

// failure is what the loop remembers of failed attempts, for backoff.
type failure struct {
	attempt int       // failed attempts since the last success, from 1
	retryAt time.Time // no new attempt before this
	err     error     // the last attempt's error
}

// staleAt returns when the entry starts counting as expired.
func (s *state[T]) staleAt() time.Time { return s.entry.ExpiresAt.Add(-s.window) }

// inBackoff reports whether a new attempt must wait at now.
func (s *state[T]) inBackoff(now time.Time) bool {
	return s.failure != nil && now.Before(s.failure.retryAt)
}

// attempts returns the number of failed attempts since the last success.
func (s *state[T]) attempts() int {
	if s.failure == nil {
		return 0
	}
	return s.failure.attempt
}

// A verdict is what a Get gets, decided by [decide].
type verdict int

const (
	serve               verdict = iota // return the cached value
	serveAndRefresh                    // return it and start a background Refresh
	wait                               // wait for the call in flight
	authenticateAndWait                // start a call with no previous entry and wait for it
	refreshAndWait                     // start a call renewing the entry and wait for it
	fail                               // return state.err()
)

var verdictNames = [...]string{"serve", "serveAndRefresh", "wait", "authenticateAndWait", "refreshAndWait", "fail"}

func (v verdict) String() string { return verdictNames[v] }

// decide applies the refresh model to the state at the instant now. It is a
// pure function, so the model's boundaries are table-tested directly:
//
//   - no value (or a rejected Final one): wait for the call in flight, else
//     fail during backoff, else authenticate;
//   - fresh: serve;
//   - expired, call in flight: serve if usable, else wait;
//   - expired, Final: serve if usable, else fail;
//   - expired, renewable, in backoff: serve if usable, else fail;
//   - expired, renewable, usable: serve and refresh in the background;
//   - expired, renewable, unusable: refresh and wait.
//
// Expired means now >= staleAt; usable means now < ExpiresAt. A value without
// ExpiresAt is neither expired nor unusable; a rejected value is both.
func decide[T any](s *state[T], now time.Time) verdict {
	e := s.entry
	inBackoff := s.inBackoff(now)
	if e == nil || (s.invalid && e.Final) {
		switch {
		case s.busy:
			return wait
		case inBackoff:
			return fail
		default:
			return authenticateAndWait
		}
	}
	usable := !s.invalid && (e.ExpiresAt.IsZero() || now.Before(e.ExpiresAt))
	expired := s.invalid || (!e.ExpiresAt.IsZero() && !now.Before(s.staleAt()))
	switch {
	case !expired:
		return serve
	case usable && (s.busy || e.Final || inBackoff):
		return serve
	case s.busy:
		return wait
	case e.Final, inBackoff:
		return fail
	case usable:
		return serveAndRefresh
	default:
		return refreshAndWait
	}
}

// err is the error a caller gets when decide says fail, or when the call it
// waited for failed.
func (s *state[T]) err() error {
	if s.failure == nil {
		return ErrTokenExpired
	}
	return &refreshError{expired: s.entry != nil, err: s.failure.err}
}

// A refreshError is what callers get when the Refresher failed: the
// refresher's error, behind ErrTokenExpired if there is a value it could
// not renew. The loop makes it without calling any method of the
// refresher's error (user code, which may panic or block): its message is
// built when asked, in the asker's goroutine.
type refreshError struct {
	expired bool // a value is held but unusable: the error matches ErrTokenExpired
	err     error
}

func (e *refreshError) Error() string {
	if e.expired {
		return fmt.Sprintf("%v: %v", ErrTokenExpired, e.err)
	}
	return fmt.Sprintf("tokenactor: authenticate: %v", e.err)
}

func (e *refreshError) Unwrap() []error {
	if e.expired {
		return []error{ErrTokenExpired, e.err}
	}
	return []error{e.err}
}

// windowFor returns the refresh window of an entry stored at now: the time
// from its refresh point to its ExpiresAt. The refresh point is RefreshAt
// if that lies between now and ExpiresAt; else ExpiresAt minus window, but
// never in the first half of the entry's lifetime: a value whose lifetime
// barely exceeds the window would otherwise turn stale at once, and the
// cache would refresh it on every Get. jitter (>= 0) then moves the refresh
// point earlier by that fraction of the window, but by at most half the
// time the entry would stay fresh, so a stored value stays fresh for at
// least a quarter of its lifetime (or until its RefreshAt).
func windowFor[T any](e *Entry[T], now time.Time, window time.Duration, jitter float64) time.Duration {
	if e.ExpiresAt.IsZero() {
		return 0
	}
	life := e.ExpiresAt.Sub(now)
	w := min(window, life/2)
	if r := e.RefreshAt; !r.IsZero() && r.After(now) && r.Before(e.ExpiresAt) {
		w = e.ExpiresAt.Sub(r)
	}
	return w + min(scaled(w, jitter), (life-w)/2)
}

// scaled returns d·f for f >= 0, saturating at the longest Duration rather
// than overflowing (a window or backoff may be centuries long).
func scaled(d time.Duration, f float64) time.Duration {
	if x := float64(d) * f; x < math.MaxInt64 {
		return time.Duration(x)
	}
	return math.MaxInt64
}

// fastPathMargin is how long before ExpiresAt the fast path stops serving a
// value. A timer fires a little after its instant, so without a margin a Get
// racing the expiry timer could be served a value that just became
// unusable; with it, that takes a timer late by a whole second. In the last
// second callers ask the loop, which decides from the clock exactly.
const fastPathMargin = time.Second

// fastServable reports whether the fast path may serve the entry at now:
// decide says serve, and the entry is not in its last fastPathMargin.
func fastServable[T any](s *state[T], now time.Time) bool {
	if decide(s, now) != serve {
		return false
	}
	exp := s.entry.ExpiresAt
	return exp.IsZero() || now.Before(exp.Add(-fastPathMargin))
}

// recheckInterval is the longest time the loop trusts a decision made from
// the clock without reading it again. Timers measure elapsed time, so a
// wall-clock step or a machine that slept is noticed within it.
const recheckInterval = 30 * time.Second

// nextBoundary returns the earliest moment after now at which fastServable
// may answer differently without any message arriving (the value turns
// stale, enters its last fastPathMargin, a backoff ends), but no later than
// now+recheck, so a wall-clock step is noticed. It returns the zero time if
// nothing can change by itself.
func nextBoundary[T any](s *state[T], now time.Time, recheck time.Duration) time.Time {
	var at time.Time
	consider := func(t time.Time) {
		if t.After(now) && (at.IsZero() || t.Before(at)) {
			at = t
		}
	}
	if s.entry != nil && !s.entry.ExpiresAt.IsZero() {
		consider(s.staleAt())
		consider(s.entry.ExpiresAt.Add(-fastPathMargin))
	}
	if s.failure != nil {
		consider(s.failure.retryAt)
	}
	if limit := now.Add(recheck); !at.IsZero() && limit.Before(at) {
		at = limit
	}
	return at
}
