package strategy

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// AuthStyleDetect sends the client secret with HTTP Basic first and, if
// the server answers invalid_client (or 401), once more in the request
// body; the style that worked is remembered for that endpoint URL by the
// strategy (or call) that learned it, so later requests send one request
// only, and an invalid_client answer after that is final. A public client
// (no secret) is not affected: it sends client_id in the body.
//
// Detection costs one extra request, once per endpoint, when the server
// accepts only credentials in the body; a wrong secret then costs two
// requests the first time.
const AuthStyleDetect AuthStyle = 2

// valid reports whether s is one of the styles this package knows.
func (s AuthStyle) valid() bool {
	return s == AuthStyleBasic || s == AuthStyleBody || s == AuthStyleDetect
}

// ParseAuthStyle returns the style named "basic", "body" or "detect" (the
// names [AuthStyle.String] gives), ignoring case; "post" and
// "client_secret_post" are accepted for "body", "client_secret_basic" for
// "basic", and "auto" for "detect".
func ParseAuthStyle(s string) (AuthStyle, error) {
	switch strings.ToLower(s) {
	case "basic", "client_secret_basic":
		return AuthStyleBasic, nil
	case "body", "post", "client_secret_post":
		return AuthStyleBody, nil
	case "detect", "auto":
		return AuthStyleDetect, nil
	}
	return 0, &ConfigError{Field: "auth style", Reason: `must be "basic", "body" or "detect"`}
}

// A styleMemo remembers which client authentication style each endpoint
// URL accepted. The zero value is empty and ready; it is safe for
// concurrent use. A nil *styleMemo remembers nothing.
type styleMemo struct {
	mu     sync.Mutex
	styles map[string]AuthStyle // guarded by mu
}

func (m *styleMemo) get(u string) (AuthStyle, bool) {
	if m == nil {
		return 0, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.styles[u]
	return s, ok
}

func (m *styleMemo) set(u string, s AuthStyle) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.styles == nil {
		m.styles = make(map[string]AuthStyle)
	}
	m.styles[u] = s
}

// postDetect is post for AuthStyleDetect: the remembered style, else Basic
// and, on a refusal of the client, the body once.
func (e *endpoint) postDetect(ctx context.Context, form url.Values, sc *scrubber) (int, http.Header, []byte, error) {
	u := e.url
	style, known := e.memo.get(u)
	if !known {
		style = AuthStyleBasic
	}
	try := func(style AuthStyle) (int, http.Header, []byte, error) {
		one := *e
		one.auth.style = style
		return one.post(ctx, cloneForm(form), sc)
	}
	status, h, body, err := try(style)
	if err != nil || known {
		return status, h, body, err
	}
	if !clientRefused(status, body) {
		if authenticated(status, body) {
			e.memo.set(u, style)
		}
		return status, h, body, err
	}
	style = AuthStyleBody
	status, h, body, err = try(style)
	if err == nil && authenticated(status, body) {
		e.memo.set(u, style)
	}
	return status, h, body, err
}

// clientRefused reports whether an answer refuses the client's
// authentication: a 401, or an invalid_client error (RFC 6749 §5.2).
func clientRefused(status int, body []byte) bool {
	if status == http.StatusUnauthorized {
		return true
	}
	oe := parseOAuthError(status, body)
	return oe != nil && oe.Code == "invalid_client"
}

// authenticated reports whether an answer shows the server accepted the
// client's authentication: a success, or a refusal of something else
// (invalid_grant, authorization_pending) that the server checks after the
// client. A 5xx or an answer that is not OAuth shows nothing.
func authenticated(status int, body []byte) bool {
	if status >= 200 && status <= 299 {
		return true
	}
	oe := parseOAuthError(status, body)
	return status < 500 && oe != nil && oe.Code != "invalid_client"
}

func cloneForm(v url.Values) url.Values {
	c := make(url.Values, len(v))
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	return c
}
