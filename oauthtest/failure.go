package oauthtest

import (
	"net/http"
	"strconv"
	"time"
)

// A Failure is an answer [Server.FailNext] makes an endpoint give instead
// of its own: an OAuth error (a refusal such as invalid_grant), a server
// error, or a rate limit.
//
// The zero Failure is a 503 Service Unavailable with a plain-text body.
type Failure struct {
	// Status is the HTTP status. Zero means 400 when Error is set and 503
	// when it is not.
	Status int
	// Error, when set, makes the body an RFC 6749 §5.2 error with this
	// error code (invalid_grant, invalid_client, temporarily_unavailable,
	// ...). When empty the body is plain text, as proxies answer.
	Error string
	// Description is the error_description sent with Error.
	Description string
	// RetryAfter, when positive, is sent as a Retry-After header in whole
	// seconds, rounded up (RFC 9110 §10.2.3), as with 429 and 503.
	RetryAfter time.Duration
}

// FailNext makes the next n requests to endpoint e answer f, after their
// latency, whatever they ask. Calls add to the queue: FailNext(e, 1, a)
// then FailNext(e, 2, b) answers a, b, b. n of zero or less does nothing.
// An injected failure counts in [Stats.Failures] and not as the endpoint's
// own outcome.
func (s *Server) FailNext(e Endpoint, n int, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures[e] = append(s.failures[e], f)
	}
}

// nextFailure takes the next failure queued for e.
func (s *Server) nextFailure(e Endpoint) (Failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.failures[e]
	if len(q) == 0 {
		return Failure{}, false
	}
	s.failures[e] = q[1:]
	s.stats.Failures++
	return q[0], true
}

func (f Failure) write(w http.ResponseWriter) {
	status := f.Status
	if status == 0 {
		status = http.StatusServiceUnavailable
		if f.Error != "" {
			status = http.StatusBadRequest
		}
	}
	if f.RetryAfter > 0 {
		secs := (f.RetryAfter + time.Second - 1) / time.Second
		w.Header().Set("Retry-After", strconv.FormatInt(int64(secs), 10))
	}
	if f.Error == "" {
		http.Error(w, http.StatusText(status), status)
		return
	}
	e := &oauthError{status: status, code: f.Error, desc: f.Description, basic: status == http.StatusUnauthorized}
	e.write(w)
}
