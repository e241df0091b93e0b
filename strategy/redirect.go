package strategy

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// A RedirectError reports that an authorization server answered a request
// carrying credentials (a client secret, a refresh token, a device code)
// with a redirect. The request is never sent again, to the new address or
// any other: credentials stay with the configured endpoint. Configure the
// address the server redirects to, if it is right.
//
// It matches neither [ErrLoginRequired] nor [ErrTemporary]. A RedirectError
// is a value built once; it is safe for concurrent use.
type RedirectError struct {
	// StatusCode is the redirect's HTTP status (301, 302, 303, 307 or 308).
	StatusCode int
	// Location is where it pointed: scheme, host and path only, without
	// user info, query or fragment, and with any secret of the request
	// masked.
	Location string
}

// Error describes the redirect.
func (e *RedirectError) Error() string {
	return fmt.Sprintf("strategy: authorization server answered HTTP %d redirecting to %s; credentials are not sent to another address (configure that URL if it is right)",
		e.StatusCode, printable(e.Location, 256))
}

// noRedirects returns a client that sends through c but refuses every
// redirect with a *RedirectError. It is a shallow copy: c itself, which the
// caller may use elsewhere, is not changed, and the copy shares its
// Transport, Jar and Timeout.
func noRedirects(c *http.Client, sc *scrubber) *http.Client {
	guarded := *c
	guarded.CheckRedirect = func(next *http.Request, via []*http.Request) error {
		status := 0
		if next.Response != nil {
			status = next.Response.StatusCode
		}
		return &RedirectError{StatusCode: status, Location: sc.text(redirectTarget(next.URL))}
	}
	return &guarded
}

// redirectTarget returns u without user info, query and fragment.
func redirectTarget(u *url.URL) string {
	if u == nil {
		return ""
	}
	v := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	return v.String()
}

// asRedirect returns the *RedirectError in err, if a refused redirect is
// what err reports.
func asRedirect(err error) (*RedirectError, bool) {
	var re *RedirectError
	ok := errors.As(err, &re)
	return re, ok
}
