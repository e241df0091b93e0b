package oauthtest

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
	"time"
)

const (
	grantClientCredentials = "client_credentials"
	grantRefreshToken      = "refresh_token"
	grantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
)

// A session is one authorization grant: the access and refresh tokens
// issued from it, through every rotation, share it.
type session struct {
	revoked bool // guarded by Server.mu
}

// A token is an issued access or refresh token. Its fields are guarded by
// Server.mu.
type token struct {
	refresh  bool
	client   string
	subject  string
	scope    string
	audience string
	resource string
	issued   time.Time
	expires  time.Time // zero: never
	session  *session
	revoked  bool
	rotated  bool // a refresh token already exchanged (RFC 6749 §6)

	// jkt and x5t are the DPoP key (RFC 9449 §6) and the client
	// certificate (RFC 8705 §3) an access token is bound to; "" for none.
	jkt, x5t string
}

// active reports whether t may be used at now.
func (t *token) active(now time.Time) bool {
	return !t.revoked && !t.rotated && !t.session.revoked &&
		(t.expires.IsZero() || now.Before(t.expires))
}

// grant is what a token response is issued for.
type grant struct {
	client, subject, scope, audience, resource string
	session                                    *session
	refresh                                    bool // issue a refresh token too
}

// tokenResponse is the body of a successful token response (RFC 6749 §5.1).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
	RefreshIn    int64  `json:"refresh_in,omitempty"`
}

// issue records new tokens for g at now and returns the response. It must
// be called with s.mu held.
func (s *Server) issue(g grant, now time.Time) tokenResponse {
	s.sweep(now)
	at := &token{client: g.client, subject: g.subject, scope: g.scope, audience: g.audience,
		resource: g.resource, issued: now, session: g.session}
	resp := tokenResponse{TokenType: "Bearer", Scope: g.scope}
	if d := s.cfg.lifetime; d > 0 {
		at.expires = now.Add(d)
		resp.ExpiresIn = int64(d / time.Second)
	}
	if d := s.cfg.refreshIn; d > 0 {
		resp.RefreshIn = int64(d / time.Second)
	}
	resp.AccessToken = s.store("at_", at)
	s.stats.AccessTokens++
	if g.refresh {
		rt := *at
		rt.refresh = true
		rt.expires = time.Time{}
		if d := s.cfg.refreshLifetime; d > 0 {
			rt.expires = now.Add(d)
		}
		resp.RefreshToken = s.store("rt_", &rt)
		s.stats.RefreshTokens++
	}
	return resp
}

// store files t under a new random value. It must be called with s.mu held.
func (s *Server) store(prefix string, t *token) string {
	v := prefix + randomHex(16)
	s.tokens[v] = t
	s.issues++
	return v
}

// sweep forgets access tokens that expired, every 256 issues, so a server
// running for long stays as big as its live tokens. Refresh tokens stay:
// a replay of a rotated one must still be recognised.
func (s *Server) sweep(now time.Time) {
	if s.issues < 256 {
		return
	}
	s.issues = 0
	for v, t := range s.tokens {
		if !t.refresh && !t.expires.IsZero() && !now.Before(t.expires) {
			delete(s.tokens, v)
		}
	}
}

// randomHex returns n random bytes, hex encoded.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand documents it)
	return hex.EncodeToString(b)
}

// serveToken is the token endpoint (RFC 6749 §3.2).
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	jkt, perr := s.checkProof(r, "")
	if perr != nil {
		perr.tokenError(w).write(w)
		return
	}
	client, oerr := s.authenticate(r)
	if oerr != nil {
		oerr.write(w)
		return
	}
	if oerr := s.checkBoundRefresh(r, jkt); oerr != nil {
		oerr.write(w)
		return
	}
	var resp tokenResponse
	switch g := r.PostForm.Get("grant_type"); g {
	case grantClientCredentials:
		resp, oerr = s.clientCredentials(client, r)
	case grantRefreshToken:
		resp, oerr = s.refresh(client, r)
	case grantDeviceCode:
		resp, oerr = s.pollDevice(client, r)
	case "":
		oerr = invalidRequest("grant_type is missing")
	default:
		oerr = &oauthError{status: http.StatusBadRequest, code: "unsupported_grant_type", desc: "grant_type " + g + " is not supported"}
	}
	if oerr != nil {
		oerr.write(w)
		return
	}
	writeJSON(w, http.StatusOK, s.bind(client, resp, jkt, peerThumbprint(r)))
}

// clientCredentials answers the client credentials grant (RFC 6749 §4.4):
// an access token and, as §4.4.3 advises, no refresh token.
func (s *Server) clientCredentials(client string, r *http.Request) (tokenResponse, *oauthError) {
	g := grant{client: client, subject: client, session: &session{}}
	g.scope, g.audience, g.resource = r.PostForm.Get("scope"), r.PostForm.Get("audience"), r.PostForm.Get("resource")
	s.mu.Lock()
	defer s.mu.Unlock()
	if oerr := s.checkRequired(g); oerr != nil {
		return tokenResponse{}, oerr
	}
	return s.issue(g, s.cfg.now()), nil
}

// checkRequired applies WithRequiredScope, WithRequiredAudience and
// WithRequiredResource. It must be called with s.mu held.
func (s *Server) checkRequired(g grant) *oauthError {
	if want := s.cfg.requiredScope; want != "" && !hasScope(g.scope, want) {
		return &oauthError{status: http.StatusBadRequest, code: "invalid_scope", desc: "scope " + want + " is required"}
	}
	if want := s.cfg.requiredAudience; want != "" && g.audience != want {
		return &oauthError{status: http.StatusBadRequest, code: "invalid_target", desc: "audience " + want + " is required"}
	}
	if want := s.cfg.requiredResource; want != "" && g.resource != want {
		return &oauthError{status: http.StatusBadRequest, code: "invalid_target", desc: "resource " + want + " is required"}
	}
	return nil
}

// hasScope reports whether the space-separated scope list has s.
func hasScope(list, s string) bool {
	for _, v := range strings.Fields(list) {
		if v == s {
			return true
		}
	}
	return false
}

// refresh answers the refresh token grant (RFC 6749 §6) with rotation: the
// refresh token presented is spent and a new one issued with the access
// token. Presenting a spent one again revokes the whole session, as
// RFC 9700 §4.14.2 describes for detecting a stolen refresh token.
func (s *Server) refresh(client string, r *http.Request) (tokenResponse, *oauthError) {
	value := r.PostForm.Get("refresh_token")
	if value == "" {
		return tokenResponse{}, invalidRequest("refresh_token is missing")
	}
	scope := r.PostForm.Get("scope")
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.now()
	rt, ok := s.tokens[value]
	switch {
	case !ok || !rt.refresh:
		return tokenResponse{}, invalidGrant("unknown refresh token")
	case rt.client != client:
		return tokenResponse{}, invalidGrant("refresh token issued to another client")
	case rt.rotated && !rt.session.revoked:
		rt.session.revoked = true
		s.stats.Reuses++
		return tokenResponse{}, invalidGrant("refresh token already used; every token of its session is revoked")
	case !rt.active(now):
		return tokenResponse{}, invalidGrant("refresh token expired or revoked")
	}
	for _, v := range strings.Fields(scope) {
		if !hasScope(rt.scope, v) {
			return tokenResponse{}, &oauthError{status: http.StatusBadRequest, code: "invalid_scope", desc: "scope " + v + " was not granted"}
		}
	}
	if scope == "" {
		scope = rt.scope
	}
	rt.rotated = true
	s.stats.Rotations++
	return s.issue(grant{client: client, subject: rt.subject, scope: scope, audience: rt.audience,
		resource: rt.resource, session: rt.session, refresh: true}, now), nil
}
