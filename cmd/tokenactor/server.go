package main

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A tokenServer is the small OAuth 2.0 server the demo runs on loopback: a
// token endpoint for the client credentials grant (RFC 6749 §4.4) at /token
// and a protected resource at /api that accepts the bearer tokens it issued
// until they expire (RFC 6750).
//
// Set the fields before serving; the counters may be read at any time. A
// tokenServer is safe for concurrent use.
type tokenServer struct {
	clientID, clientSecret string
	// lifetime is the expires_in of every token, rounded down to seconds as
	// the protocol sends it.
	lifetime time.Duration
	// latency is how long the token endpoint takes to answer, as a real one
	// does; callers of a good cache never wait for it.
	latency time.Duration

	grants   atomic.Int64 // token requests answered with a token
	served   atomic.Int64 // /api requests accepted
	rejected atomic.Int64 // /api requests answered 401

	mu     sync.RWMutex
	tokens map[string]time.Time // access token → expiry; guarded by mu
}

// maxForm bounds a token request body; a client credentials request is a few
// hundred bytes.
const maxForm = 64 << 10

func (s *tokenServer) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", s.token)
	mux.HandleFunc("GET /api", s.api)
	return mux
}

// token answers a client credentials grant. Errors follow RFC 6749 §5.2.
func (s *tokenServer) token(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "malformed form body")
		return
	}
	if g := r.PostForm.Get("grant_type"); g != "client_credentials" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "only client_credentials is supported")
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if !s.validClient(id, secret) {
		w.Header().Set("WWW-Authenticate", `Basic realm="token"`)
		oauthError(w, http.StatusUnauthorized, "invalid_client", "unknown client or wrong secret")
		return
	}
	select {
	case <-time.After(s.latency):
	case <-r.Context().Done():
		return
	}
	tok, err := newToken()
	if err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error", "")
		return
	}
	s.store(tok, time.Now().Add(s.lifetime))
	s.grants.Add(1)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int64  `json:"expires_in"`
	}{tok, "Bearer", int64(s.lifetime / time.Second)})
}

func (s *tokenServer) validClient(id, secret string) bool {
	idOK := subtle.ConstantTimeCompare([]byte(id), []byte(s.clientID))
	secretOK := subtle.ConstantTimeCompare([]byte(secret), []byte(s.clientSecret))
	return idOK&secretOK == 1
}

// store records tok and drops the tokens that have expired, so the map
// stays as small as the number of live tokens.
func (s *tokenServer) store(tok string, exp time.Time) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tokens == nil {
		s.tokens = make(map[string]time.Time)
	}
	for t, e := range s.tokens {
		if !now.Before(e) {
			delete(s.tokens, t)
		}
	}
	s.tokens[tok] = exp
}

// api is the protected resource.
func (s *tokenServer) api(w http.ResponseWriter, r *http.Request) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.RLock()
	exp, known := s.tokens[tok]
	s.mu.RUnlock()
	if !ok || !known || !time.Now().Before(exp) {
		s.rejected.Add(1)
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		http.Error(w, "invalid or expired token", http.StatusUnauthorized)
		return
	}
	s.served.Add(1)
	w.Write([]byte("ok\n"))
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(struct {
		Error       string `json:"error"`
		Description string `json:"error_description,omitempty"`
	}{code, desc})
}

// newToken returns 128 random bits, hex encoded.
func newToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
