package tokenactor

import (
	"errors"
	"time"
)

// backoff is the rule for how long a cache waits after failed attempts
// before it makes another: after the n-th consecutive failure,
// initial·2ⁿ⁻¹ capped at max, varied at random by ±backoffJitter, or the
// delay the error asks for if that is longer, up to maxRetryAfter.
// WithBackoff documents it for users.
type backoff struct {
	initial, max time.Duration
}

const (
	// backoffJitter is the fraction by which each backoff delay varies at
	// random (±20%), so a fleet of caches does not retry in lockstep.
	backoffJitter = 0.2
	// maxRetryAfter bounds a server-requested delay, so a hostile or
	// mistaken Retry-After cannot stop a cache for days.
	maxRetryAfter = 10 * time.Minute
)

// delay returns how long to wait after the attempt-th consecutive failure
// (attempt >= 1), whose error asked for the delay requested (see
// retryAfter; 0 for none). r in [0, 1) picks the jitter.
func (b backoff) delay(attempt int, requested time.Duration, r float64) time.Duration {
	d := b.initial
	for i := 1; i < attempt && d < b.max; i++ {
		if d > b.max/2 { // doubling would pass max, and might overflow
			d = b.max
			break
		}
		d *= 2
	}
	d = scaled(min(d, b.max), 1+backoffJitter*(2*r-1))
	if ra := min(requested, maxRetryAfter); ra > d {
		d = ra
	}
	return d
}

// retryAfter returns the server-requested delay carried by err, if any: an
// error in the chain with a method RetryAfter() time.Duration that returns a
// positive duration (a strategy's answer to HTTP 429 or 503 with a
// Retry-After header). It calls the error's methods, so only the worker
// calls it (see loop.work).
func retryAfter(err error) time.Duration {
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) {
		if d := ra.RetryAfter(); d > 0 {
			return d
		}
	}
	return 0
}
