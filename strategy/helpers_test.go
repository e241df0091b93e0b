package strategy_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
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

// deviceServer follows RFC 8628: /device issues a device code, /token
// answers polls from a script ("pending", "slow_down", "denied",
// "expired", "busy" for a 503, "ok" for a token) and "pending" once the
// script runs out. It records when each poll came, relative to start.
type deviceServer struct {
	interval  int // 0: leave it out
	expiresIn int
	start     time.Time

	mu     sync.Mutex
	script []string
	polls  []time.Duration
	bad    []string // protocol violations seen
}

func (s *deviceServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	w.Header().Set("Content-Type", "application/json")
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.PostForm.Get("client_id") != "cli" {
		s.bad = append(s.bad, "no client_id")
	}
	switch r.URL.Path {
	case "/device":
		if r.PostForm.Get("scope") != "openid offline_access" {
			s.bad = append(s.bad, "scope "+r.PostForm.Get("scope"))
		}
		resp := map[string]any{
			"device_code": "dev-code-secret", "user_code": "WDJB-MJHT",
			"verification_uri": "https://auth.example/device", "expires_in": s.expiresIn,
		}
		if s.interval > 0 {
			resp["interval"] = s.interval
		}
		json.NewEncoder(w).Encode(resp)
	case "/token":
		if r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:device_code" || r.PostForm.Get("device_code") != "dev-code-secret" {
			s.bad = append(s.bad, "bad poll")
		}
		s.polls = append(s.polls, time.Since(s.start))
		answer := "pending"
		if len(s.script) > 0 {
			answer, s.script = s.script[0], s.script[1:]
		}
		codes := map[string]string{"pending": "authorization_pending", "slow_down": "slow_down", "denied": "access_denied", "expired": "expired_token"}
		switch answer {
		case "ok":
			json.NewEncoder(w).Encode(map[string]any{
				"access_token": "at-device", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "rt-device",
			})
		case "busy":
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error":%q}`, codes[answer])
		}
	default:
		http.NotFound(w, r)
	}
}
