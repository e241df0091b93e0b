package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// authServer is the authorization server the login, token and status tests
// run against on loopback: the device authorization grant (RFC 8628) for a
// public client, the refresh token grant with rotation (RFC 6749 §6), and
// the demo's client credentials grant.
type authServer struct {
	*httptest.Server
	cc *tokenServer // client credentials and the protected API

	clientID string
	lifetime time.Duration
	// autoApprove approves every device login at its second poll, as if
	// the user entered the code in between.
	autoApprove bool
	// deny declines every device login, as a user clicking "deny" would.
	deny bool
	// metadata serves the server's metadata (RFC 8414) at its origin,
	// naming the device, revocation and introspection endpoints.
	metadata bool
	// issuer, if set, is the issuer the metadata names instead of URL.
	issuer string
	// bodyOnly refuses client credentials sent with HTTP Basic, as some
	// servers do.
	bodyOnly bool

	refreshes   atomic.Int64 // refresh grants answered with a token
	revocations atomic.Int64 // revocation requests answered 200
	basic, body atomic.Int64 // client credentials requests by authentication style

	mu       sync.Mutex
	devices  map[string]*deviceAuth // device code → state
	refresh  map[string]bool        // live refresh tokens
	approved map[string]bool        // user codes the "user" approved
	forms    map[string]url.Values  // the last form posted to each path
}

type deviceAuth struct {
	userCode string
	expires  time.Time
	polled   int
}

func newAuthServer(t *testing.T) *authServer {
	t.Helper()
	secret, err := newToken()
	if err != nil {
		t.Fatal(err)
	}
	s := &authServer{
		cc:       &tokenServer{clientID: "svc", clientSecret: secret, lifetime: time.Hour},
		clientID: "cli",
		lifetime: time.Hour,
		devices:  map[string]*deviceAuth{},
		refresh:  map[string]bool{},
		approved: map[string]bool{},
		forms:    map[string]url.Values{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /device", s.deviceAuthorization)
	mux.HandleFunc("POST /token", s.token)
	mux.HandleFunc("GET /api", s.cc.api)
	mux.HandleFunc("POST /revoke", s.revoke)
	mux.HandleFunc("POST /introspect", s.introspect)
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", s.serveMetadata)
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// approve is the user entering code at the verification URI.
func (s *authServer) approve(code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.approved[code] = true
}

// revokeAll ends every session, as an administrator would.
func (s *authServer) revokeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.refresh)
}

// lastForm returns the last form posted to path.
func (s *authServer) lastForm(path string) url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.forms[path]
}

func (s *authServer) record(r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forms[r.URL.Path] = r.PostForm
}

func (s *authServer) serveMetadata(w http.ResponseWriter, r *http.Request) {
	if !s.metadata {
		http.NotFound(w, r)
		return
	}
	issuer := s.issuer
	if issuer == "" {
		issuer = s.URL
	}
	writeJSON(w, map[string]any{
		"issuer":                        issuer,
		"token_endpoint":                s.URL + "/token",
		"device_authorization_endpoint": s.URL + "/device",
		"revocation_endpoint":           s.URL + "/revoke",
		"introspection_endpoint":        s.URL + "/introspect",
	})
}

// revoke is the revocation endpoint (RFC 7009) for the public client:
// revoking a refresh token ends its session.
func (s *authServer) revoke(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil || r.PostForm.Get("client_id") != s.clientID {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "")
		return
	}
	s.mu.Lock()
	delete(s.refresh, r.PostForm.Get("token"))
	s.mu.Unlock()
	s.revocations.Add(1)
	w.WriteHeader(http.StatusOK)
}

// introspect is the introspection endpoint (RFC 7662) for the public
// client: a refresh token is active while it can be used.
func (s *authServer) introspect(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil || r.PostForm.Get("client_id") != s.clientID {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "")
		return
	}
	s.mu.Lock()
	active := s.refresh[r.PostForm.Get("token")]
	s.mu.Unlock()
	writeJSON(w, map[string]any{"active": active})
}

func (s *authServer) deviceAuthorization(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err == nil {
		s.record(r)
	}
	if r.PostForm.Get("client_id") != s.clientID {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "")
		return
	}
	deviceCode, _ := newToken()
	userCode, _ := newToken()
	userCode = userCode[:8]
	s.mu.Lock()
	s.devices[deviceCode] = &deviceAuth{userCode: userCode, expires: time.Now().Add(10 * time.Minute)}
	s.mu.Unlock()
	writeJSON(w, map[string]any{
		"device_code":               deviceCode,
		"user_code":                 userCode,
		"verification_uri":          s.URL + "/activate",
		"verification_uri_complete": s.URL + "/activate?user_code=" + userCode,
		"expires_in":                600,
		"interval":                  1,
	})
}

func (s *authServer) token(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "")
		return
	}
	s.record(r)
	switch r.PostForm.Get("grant_type") {
	case "client_credentials":
		_, _, basic := r.BasicAuth()
		if basic {
			s.basic.Add(1)
		} else {
			s.body.Add(1)
		}
		if basic && s.bodyOnly {
			oauthError(w, http.StatusUnauthorized, "invalid_client", "send the client credentials in the body")
			return
		}
		s.cc.token(w, r)
	case "urn:ietf:params:oauth:grant-type:device_code":
		s.deviceGrant(w, r)
	case "refresh_token":
		s.refreshGrant(w, r)
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "")
	}
}

func (s *authServer) deviceGrant(w http.ResponseWriter, r *http.Request) {
	if r.PostForm.Get("client_id") != s.clientID {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "")
		return
	}
	s.mu.Lock()
	d, ok := s.devices[r.PostForm.Get("device_code")]
	if ok {
		d.polled++
	}
	approved := ok && (s.approved[d.userCode] || s.autoApprove && d.polled > 1)
	if approved {
		delete(s.devices, r.PostForm.Get("device_code"))
	}
	s.mu.Unlock()
	switch {
	case !ok:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "unknown device code")
	case s.deny:
		oauthError(w, http.StatusBadRequest, "access_denied", "the user said no")
	case !approved:
		oauthError(w, http.StatusBadRequest, "authorization_pending", "")
	default:
		s.issue(w)
	}
}

func (s *authServer) refreshGrant(w http.ResponseWriter, r *http.Request) {
	rt := r.PostForm.Get("refresh_token")
	s.mu.Lock()
	live := s.refresh[rt]
	delete(s.refresh, rt) // rotation: a refresh token works once
	s.mu.Unlock()
	if !live {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "refresh token revoked or used")
		return
	}
	s.refreshes.Add(1)
	s.issue(w)
}

// issue answers with a new access token, valid at /api, and a new refresh
// token.
func (s *authServer) issue(w http.ResponseWriter) {
	at, _ := newToken()
	rt, _ := newToken()
	s.cc.store(at, time.Now().Add(s.lifetime))
	s.mu.Lock()
	s.refresh[rt] = true
	s.mu.Unlock()
	writeJSON(w, map[string]any{
		"access_token":  at,
		"token_type":    "Bearer",
		"expires_in":    int64(s.lifetime / time.Second),
		"refresh_token": rt,
		"scope":         "read",
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(v)
}
