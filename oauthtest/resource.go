package oauthtest

import (
	"net/http"
	"strings"
)

// serveResource is the protected resource (RFC 6750). A request without a
// bearer token gets a bare challenge (§3.1); one with a token that is
// unknown, expired, revoked or a refresh token gets invalid_token.
func (s *Server) serveResource(w http.ResponseWriter, r *http.Request) {
	if !s.checkBound(w, r) {
		return
	}
	scheme, value, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") && !strings.EqualFold(scheme, "DPoP") || value == "" {
		s.reject()
		w.Header().Set("WWW-Authenticate", `Bearer realm="oauthtest"`)
		http.Error(w, "bearer token required", http.StatusUnauthorized)
		return
	}
	s.mu.Lock()
	t, ok := s.tokens[value]
	valid := ok && !t.refresh && t.active(s.cfg.now())
	var body struct {
		ClientID string `json:"client_id"`
		Subject  string `json:"sub"`
		Scope    string `json:"scope,omitempty"`
	}
	if valid {
		body.ClientID, body.Subject, body.Scope = t.client, t.subject, t.scope
		s.stats.Accepted++
	} else {
		s.stats.Rejected++
	}
	s.mu.Unlock()
	if !valid {
		w.Header().Set("WWW-Authenticate", `Bearer realm="oauthtest", error="invalid_token", error_description="the access token is unknown, expired or revoked"`)
		http.Error(w, "invalid or expired token", http.StatusUnauthorized)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) reject() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Rejected++
}
