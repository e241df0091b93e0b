package strategy

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
)

var (
	// ErrLoginRequired reports that the authorization server refused the
	// credentials or the session for good: invalid_grant (the refresh token
	// was revoked or already used), invalid_client, unauthorized_client,
	// access_denied, expired_token, or an HTTP 401 without an OAuth body.
	// Retrying with the same credentials will not help.
	ErrLoginRequired = errors.New("strategy: login required")

	// ErrTemporary reports a failure worth retrying later: the network
	// failed or timed out, or the server answered 408, 429 or 5xx, or said
	// temporarily_unavailable. Errors matching it may carry a Retry-After
	// delay (a method RetryAfter() time.Duration), which the engine's
	// backoff honours.
	ErrTemporary = errors.New("strategy: temporary failure")
)

// maxRetryAfter bounds a server-requested delay. The engine bounds it too;
// bounding here keeps the value the error reports sane on its own.
const maxRetryAfter = 10 * time.Minute

// maxDescription bounds how much of a server's error_description an error
// message carries, so a hostile server cannot make log lines huge.
const maxDescription = 256

// loginRequiredCodes are the RFC 6749 §5.2 and RFC 8628 §3.5 error codes that
// end a session or reject a client for good.
var loginRequiredCodes = map[string]bool{
	"invalid_grant":       true,
	"invalid_client":      true,
	"unauthorized_client": true,
	"access_denied":       true,
	"expired_token":       true,
}

// An OAuthError is an error response of a token endpoint (RFC 6749 §5.2,
// RFC 8628 §3.5): a JSON body with an "error" code. Match it with errors.As;
// match its class with errors.Is against [ErrLoginRequired] or
// [ErrTemporary].
//
// Its Error method shows the status, the code and a bounded description,
// never a credential. An OAuthError is a value built once; it is safe for
// concurrent use.
type OAuthError struct {
	// StatusCode is the HTTP status of the response (400 or 401 by the
	// RFC; some servers use 200 or others).
	StatusCode int
	// Code is the "error" field, for example "invalid_grant".
	Code string
	// Description is the optional "error_description" field.
	Description string
	// URI is the optional "error_uri" field.
	URI string
	// Endpoint names the endpoint that answered, such as "device
	// authorization" or "revocation"; empty means the token endpoint.
	Endpoint string

	retryAfter time.Duration
}

// Error describes the refusal.
func (e *OAuthError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "strategy: %s endpoint refused (HTTP %d): %s", endpointName(e.Endpoint), e.StatusCode, printable(e.Code, 64))
	if e.Description != "" {
		fmt.Fprintf(&b, ": %s", printable(e.Description, maxDescription))
	}
	return b.String()
}

// Is reports whether target is [ErrLoginRequired] or [ErrTemporary] and e
// belongs to that class.
func (e *OAuthError) Is(target error) bool {
	switch target {
	case ErrLoginRequired:
		return loginRequiredCodes[e.Code]
	case ErrTemporary:
		return e.Code == "temporarily_unavailable" || e.Code == "server_error" || temporaryStatus(e.StatusCode)
	}
	return false
}

// RetryAfter returns the delay the server asked for with a Retry-After
// header on a 429 or 503 answer, at most 10 minutes; zero if none.
func (e *OAuthError) RetryAfter() time.Duration { return e.retryAfter }

// An HTTPError is a token endpoint answer that is neither a success nor an
// RFC 6749 §5.2 error body: an HTML error page from a proxy, an empty 502.
// It keeps the status and content type, never the body. Match it with
// errors.As; 408, 429 and 5xx match [ErrTemporary], 401 matches
// [ErrLoginRequired].
//
// An HTTPError is a value built once; it is safe for concurrent use.
type HTTPError struct {
	// StatusCode is the HTTP status of the response.
	StatusCode int
	// ContentType is the response's Content-Type header, with any secret
	// of the request masked. Error shows at most 64 characters of it.
	ContentType string
	// Endpoint names the endpoint that answered; empty means the token
	// endpoint.
	Endpoint string

	retryAfter time.Duration
}

// Error describes the answer.
func (e *HTTPError) Error() string {
	ct := printable(e.ContentType, 64)
	if ct == "" {
		ct = "no content type"
	}
	return fmt.Sprintf("strategy: %s endpoint answered HTTP %d (%s) without an OAuth error body", endpointName(e.Endpoint), e.StatusCode, ct)
}

// Is reports whether target is [ErrLoginRequired] or [ErrTemporary] and e
// belongs to that class.
func (e *HTTPError) Is(target error) bool {
	switch target {
	case ErrLoginRequired:
		return e.StatusCode == http.StatusUnauthorized
	case ErrTemporary:
		return temporaryStatus(e.StatusCode)
	}
	return false
}

// RetryAfter returns the delay the server asked for with a Retry-After
// header on a 429 or 503 answer, at most 10 minutes; zero if none.
func (e *HTTPError) RetryAfter() time.Duration { return e.retryAfter }

// An InvalidResponseError reports a success answer of a token endpoint that
// cannot be used: malformed or truncated JSON, a missing access_token, a
// lifetime that is not a number or under a second, an issued value that
// carries a secret of the request, or a body over 1 MiB.
// It matches neither [ErrLoginRequired] nor [ErrTemporary]: the server is
// misbehaving. It never contains the body.
type InvalidResponseError struct {
	// Reason says what is wrong, for example "missing access_token".
	Reason string
	// Endpoint names the endpoint that answered; empty means the token
	// endpoint.
	Endpoint string
}

// Error describes the problem.
func (e *InvalidResponseError) Error() string {
	return "strategy: invalid " + endpointName(e.Endpoint) + " endpoint response: " + e.Reason
}

// A NetworkError reports that a request to an authorization server did not
// get an answer: the connection failed, the body could not be read in full,
// or the context ended. It matches [ErrTemporary] and wraps the cause, so
// errors.Is(err, context.DeadlineExceeded) works.
type NetworkError struct {
	// Err is the cause.
	Err error
	// Endpoint names the endpoint asked; empty means the token endpoint.
	Endpoint string
}

// Error describes the failure.
func (e *NetworkError) Error() string {
	return "strategy: " + endpointName(e.Endpoint) + " request failed: " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *NetworkError) Unwrap() error { return e.Err }

// Is reports whether target is [ErrTemporary].
func (e *NetworkError) Is(target error) bool { return target == ErrTemporary }

func temporaryStatus(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500 && code <= 599
}

// parseRetryAfter reads a Retry-After header (RFC 9110 §10.2.3), delay
// seconds or an HTTP date, relative to now. Only 429 and 503 answers carry a
// meaningful one. Unparseable, past or negative values give zero; the result
// is at most maxRetryAfter.
func parseRetryAfter(status int, h http.Header, now time.Time) time.Duration {
	if status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable {
		return 0
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// printable returns s cut to n runes with control characters replaced, so a
// server's text cannot forge log lines or flood them.
func printable(s string, n int) string {
	var b strings.Builder
	count := 0
	for _, r := range s {
		if count == n {
			b.WriteString("…")
			break
		}
		count++
		if unicode.IsControl(r) {
			r = '?'
		}
		b.WriteRune(r)
	}
	return b.String()
}
