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
