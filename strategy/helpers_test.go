package strategy_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
)

// handlerTransport is an in-memory http.RoundTripper that serves requests
// with a handler: no sockets, so it works inside testing/synctest bubbles.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	return rec.Result(), nil
}

// memClient returns an http.Client whose requests h serves in memory.
func memClient(h http.Handler) *http.Client {
	return &http.Client{Transport: handlerTransport{h: h}}
}

// grantServer is a token endpoint for client credentials that issues
// "token-1", "token-2", ... with a fixed lifetime and counts its grants.
type grantServer struct {
	lifetime int // seconds

	mu     sync.Mutex
	grants int
	forms  []map[string][]string
}

func (s *grantServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	if id, sec, ok := r.BasicAuth(); !ok || id != "svc" || sec != "s3cret" {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":"invalid_client"}`)
		return
	}
	s.mu.Lock()
	s.grants++
	n := s.grants
	s.forms = append(s.forms, r.PostForm)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"access_token": fmt.Sprintf("token-%d", n),
		"token_type":   "bearer",
		"expires_in":   s.lifetime,
	})
}

func (s *grantServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.grants
}

// rotatingServer is a token endpoint for the refresh token grant that
// rotates refresh tokens: each one works once, a replayed one is counted
// and refused with invalid_grant, as servers with reuse detection do.
type rotatingServer struct {
	lifetime int // seconds

	mu        sync.Mutex
	next      int             // number of the next tokens issued
	valid     map[string]bool // refresh tokens that still work
	used      map[string]bool // refresh tokens already used
	refreshes int
	replays   int
}

// newRotatingServer returns a server that accepts refresh token "rt-0".
func newRotatingServer(lifetime int) *rotatingServer {
	return &rotatingServer{lifetime: lifetime, next: 1, valid: map[string]bool{"rt-0": true}, used: map[string]bool{}}
}

func (s *rotatingServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "refresh_token" {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":"unsupported_grant_type"}`)
		return
	}
	rt := r.PostForm.Get("refresh_token")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used[rt] {
		s.replays++
	}
	if !s.valid[rt] {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":"invalid_grant","error_description":"refresh token is not valid"}`)
		return
	}
	delete(s.valid, rt)
	s.used[rt] = true
	s.refreshes++
	n := s.next
	s.next++
	newRT := fmt.Sprintf("rt-%d", n)
	s.valid[newRT] = true
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"access_token":  fmt.Sprintf("at-%d", n),
		"token_type":    "Bearer",
		"expires_in":    s.lifetime,
		"refresh_token": newRT,
	})
}

// revokeAll makes every refresh token invalid, as a logout on the server.
func (s *rotatingServer) revokeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.valid = map[string]bool{}
}

// counts returns how many refreshes succeeded and how many requests
// replayed a used refresh token.
func (s *rotatingServer) counts() (refreshes, replays int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshes, s.replays
}
