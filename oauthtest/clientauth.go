package oauthtest

import (
	"crypto/subtle"
	"net/http"
	"net/url"
)

// basicAuth returns the credentials of an HTTP Basic Authorization header,
// each form-decoded as RFC 6749 §2.3.1 asks clients to encode them. A value
// that does not decode is taken as it is.
func basicAuth(r *http.Request) (id, secret string, ok bool) {
	id, secret, ok = r.BasicAuth()
	if !ok {
		return "", "", false
	}
	if v, err := url.QueryUnescape(id); err == nil {
		id = v
	}
	if v, err := url.QueryUnescape(secret); err == nil {
		secret = v
	}
	return id, secret, true
}

// authenticate checks the client credentials of a request whose form is
// parsed (RFC 6749 §2.3) and returns the client's ID.
func (s *Server) authenticate(r *http.Request) (string, *oauthError) {
	if id, oerr, ok := s.authenticateKey(r); ok {
		return id, oerr
	}
	form := r.PostForm
	id, secret, basic := basicAuth(r)
	_, inBody := form["client_secret"]
	s.mu.Lock()
	style := s.cfg.authStyle
	s.mu.Unlock()
	switch {
	case basic && inBody:
		return "", invalidRequest("client credentials in both the Authorization header and the body (RFC 6749 §2.3)")
	case basic && style == AuthStylePost:
		return "", invalidClient("this server does not accept HTTP Basic client authentication; send client_id and client_secret in the body")
	case basic:
		if bodyID := form.Get("client_id"); bodyID != "" && bodyID != id {
			return "", invalidClient("client_id in the body differs from the Authorization header")
		}
	case inBody && style == AuthStyleBasic:
		return "", invalidClient("this server does not accept client_secret in the body; use HTTP Basic authentication")
	case inBody:
		id, secret = form.Get("client_id"), form.Get("client_secret")
	default:
		id = form.Get("client_id")
		if id == "" {
			return "", invalidClient("no client authentication")
		}
		// A public client: only the ID, which must name one without a
		// secret.
	}
	s.mu.Lock()
	want, known := s.cfg.clients[id]
	s.mu.Unlock()
	public := !basic && !inBody
	switch {
	case !known:
		return "", invalidClient("unknown client or wrong secret")
	case public && want != "":
		return "", invalidClient("client authentication required")
	case !public && (want == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(want)) != 1):
		return "", invalidClient("unknown client or wrong secret")
	}
	return id, nil
}
