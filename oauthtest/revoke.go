package oauthtest

import (
	"net/http"
)

// serveRevocation is the revocation endpoint (RFC 7009 §2). Revoking a
// refresh token revokes every token of its session, as §2.1 advises;
// revoking an access token revokes that token alone. An unknown token is
// answered 200, as §2.2 requires.
func (s *Server) serveRevocation(w http.ResponseWriter, r *http.Request) {
	client, value, ok := s.tokenParam(w, r)
	if !ok {
		return
	}
	// token_type_hint is only a hint (§2.1): every token is found anyway.
	s.mu.Lock()
	t, ok := s.tokens[value]
	if ok && t.client != client {
		s.mu.Unlock()
		(&oauthError{status: http.StatusBadRequest, code: "unauthorized_client", desc: "token issued to another client"}).write(w)
		return
	}
	if ok {
		revoke(t)
	}
	s.stats.Revocations++
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// revoke revokes t, and its session if it is a refresh token. It must be
// called with Server.mu held.
func revoke(t *token) {
	t.revoked = true
	if t.refresh {
		t.session.revoked = true
	}
}

// Revoke revokes a token the server issued, as the revocation endpoint
// does: a refresh token with every token of its session, an access token
// alone. It reports whether the token was known.
func (s *Server) Revoke(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[tok]
	if ok {
		revoke(t)
	}
	return ok
}

// RevokeSession revokes every token issued from the same grant as tok,
// through all its rotations, as a server does when a user logs out
// elsewhere. It reports whether the token was known.
func (s *Server) RevokeSession(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[tok]
	if ok {
		t.session.revoked = true
	}
	return ok
}

// RevokeClient revokes every token issued to the client and returns how
// many were still active.
func (s *Server) RevokeClient(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.now()
	n := 0
	for _, t := range s.tokens {
		if t.client == id {
			if t.active(now) {
				n++
			}
			t.revoked = true
			t.session.revoked = true
		}
	}
	return n
}

// introspection is the body of an introspection response (RFC 7662 §2.2).
type introspection struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	Exp       int64  `json:"exp,omitempty"`
	Iat       int64  `json:"iat,omitempty"`
	Sub       string `json:"sub,omitempty"`
	Aud       string `json:"aud,omitempty"`
	Iss       string `json:"iss,omitempty"`

	// Cnf is what the token is bound to (RFC 9449 §6.2, RFC 8705 §3.2).
	Cnf *confirmation `json:"cnf,omitempty"`
}

// serveIntrospection is the introspection endpoint (RFC 7662 §2): any
// registered client may ask about any token, as a resource server does.
// A token that is unknown, expired, revoked or rotated is {"active":false}.
func (s *Server) serveIntrospection(w http.ResponseWriter, r *http.Request) {
	_, value, ok := s.tokenParam(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	t, ok := s.tokens[value]
	resp := introspection{}
	if ok && t.active(s.cfg.now()) {
		resp = introspection{Active: true, Scope: t.scope, ClientID: t.client, Sub: t.subject,
			Aud: t.audience, Iss: s.URL, Iat: t.issued.Unix()}
		if !t.expires.IsZero() {
			resp.Exp = t.expires.Unix()
		}
		if !t.refresh {
			resp.TokenType = "Bearer"
		}
		resp.confirm(t)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, resp)
}

// tokenParam authenticates the client of a revocation or introspection
// request and returns it with the request's token parameter. It reports
// false, having written the error, if either is missing or wrong.
func (s *Server) tokenParam(w http.ResponseWriter, r *http.Request) (client, value string, ok bool) {
	client, oerr := s.authenticate(r)
	if oerr != nil {
		oerr.write(w)
		return "", "", false
	}
	value = r.PostForm.Get("token")
	if value == "" {
		invalidRequest("token is missing").write(w)
		return "", "", false
	}
	return client, value, true
}
