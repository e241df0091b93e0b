package strategy

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
)

// maxLifetime is the longest lifetime a strategy believes: a longer
// expires_in (or refresh_in) is taken as this. Access tokens live minutes
// to hours; a lifetime beyond a year is a server bug or a number in the
// wrong unit, and believing it would keep a revoked credential in use
// indefinitely. The cache still renews the token when a service rejects it.
const maxLifetime = 366 * 24 * time.Hour

// minLifetime is the shortest expires_in accepted. A token that lives less
// than a second is already expired when a caller gets it; taking it would
// make the cache ask for a new one on every call.
const minLifetime = time.Second

// expiryAt returns the instant d after now, as wall-clock time only. Every
// expiry and refresh time the package makes comes from here: without the
// monotonic reading, comparisons use the wall clock, so a machine that
// slept past the instant sees it as passed.
func expiryAt(now time.Time, d time.Duration) time.Time {
	return now.Add(d).Round(0)
}

// parseSeconds reads a JSON number or numeric string (both are seen in the
// wild) of seconds. It reports false for an absent or null value.
func parseSeconds(raw json.RawMessage) (secs float64, present bool, ok bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, false, true
	}
	text := string(raw)
	if raw[0] == '"' {
		if json.Unmarshal(raw, &text) != nil {
			return 0, true, false
		}
	}
	secs, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
	if err != nil || math.IsNaN(secs) || math.IsInf(secs, 0) {
		return 0, true, false
	}
	return secs, true, true
}

// parseExpiresIn returns the lifetime in an expires_in value, or zero if it
// is absent or null: the lifetime is then unknown and the token is used
// until a service rejects it. A value that is not a number, not positive,
// or under a second (1e-10 included, which would otherwise round to the
// zero time that means "never expires") is an *InvalidResponseError. A
// value over maxLifetime (a year) is taken as maxLifetime.
func parseExpiresIn(raw json.RawMessage) (time.Duration, error) {
	secs, present, ok := parseSeconds(raw)
	switch {
	case !present:
		return 0, nil
	case !ok:
		return 0, &InvalidResponseError{Reason: "expires_in is not a number"}
	case secs <= 0:
		return 0, &InvalidResponseError{Reason: "expires_in is not positive"}
	case secs < minLifetime.Seconds():
		return 0, &InvalidResponseError{Reason: "expires_in is under a second"}
	case secs >= maxLifetime.Seconds():
		return maxLifetime, nil
	}
	return time.Duration(secs * float64(time.Second)), nil
}

// parseRefreshIn returns the refresh hint in a refresh_in value (as
// Microsoft's identity platform sends: renew after this many seconds) for
// a token of the given lifetime, or zero for none. The hint is advice, so a
// malformed one, one not positive or one not before the lifetime ends is
// ignored rather than refused.
func parseRefreshIn(raw json.RawMessage, lifetime time.Duration) time.Duration {
	secs, present, ok := parseSeconds(raw)
	if !present || !ok || secs <= 0 || secs >= lifetime.Seconds() {
		return 0
	}
	return time.Duration(secs * float64(time.Second))
}
