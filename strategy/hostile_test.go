package strategy_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/strategy"
)

// Hostile answers must reach the caller through the cache with their type
// and class intact.
func TestAccessKeyHostileAnswersKeepTheirType(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		check   func(error) bool
	}{
		{
			name: "HTML 502 is a temporary *HTTPError",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(http.StatusBadGateway)
				fmt.Fprint(w, "<html><h1>502 Bad Gateway</h1></html>")
			},
			check: func(err error) bool {
				var he *strategy.HTTPError
				return errors.As(err, &he) && he.StatusCode == 502 && errors.Is(err, strategy.ErrTemporary)
			},
		},
		{
			name: "expires_in 1e-10 is an *InvalidResponseError",
			handler: func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, `{"access_token":"at","expires_in":1e-10}`)
			},
			check: func(err error) bool {
				var ie *strategy.InvalidResponseError
				return errors.As(err, &ie) && !errors.Is(err, strategy.ErrTemporary) && !errors.Is(err, strategy.ErrLoginRequired)
			},
		},
		{
			name: "expires_in 0 is refused",
			handler: func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, `{"access_token":"at","expires_in":0}`)
			},
			check: func(err error) bool {
				var ie *strategy.InvalidResponseError
				return errors.As(err, &ie)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			s := newAccessKey(t, strategy.AccessKeyConfig{TokenURL: srv.URL, ClientID: "svc", ClientSecret: "s3cret"})
			if _, err := s.Get(t.Context()); !tt.check(err) {
				t.Errorf("unexpected error: %v", err)
			}
		})
	}
}

func TestAccessKeySlowServer(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	stop := func() { once.Do(func() { close(release) }) }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer stop()
	s, err := strategy.NewAccessKey(strategy.AccessKeyConfig{TokenURL: srv.URL, ClientID: "svc", ClientSecret: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Get(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want the caller's deadline", err)
	}
	// The grant is still in flight; Close cancels it and waits for it.
	s.Close()
	if _, err := s.Get(t.Context()); !errors.Is(err, tokenactor.ErrClosed) {
		t.Errorf("after Close: got %v, want ErrClosed", err)
	}
}

// throttledServer answers 429 with Retry-After to its first request, then
// issues tokens.
type throttledServer struct {
	retryAfter string

	mu       sync.Mutex
	requests []time.Time
}

func (s *throttledServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, time.Now())
	n := len(s.requests)
	s.mu.Unlock()
	if n == 1 {
		w.Header().Set("Retry-After", s.retryAfter)
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"error":"temporarily_unavailable"}`)
		return
	}
	fmt.Fprint(w, `{"access_token":"at","token_type":"Bearer","expires_in":3600}`)
}

func TestAccessKeyHonoursRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &throttledServer{retryAfter: "30"}
		s := newAccessKey(t, strategy.AccessKeyConfig{
			TokenURL: "https://auth.example/token", ClientID: "svc", ClientSecret: "s3cret", HTTPClient: memClient(srv),
		})
		start := time.Now()
		_, err := s.Get(t.Context())
		var oe *strategy.OAuthError
		if !errors.As(err, &oe) || oe.RetryAfter() != 30*time.Second || !errors.Is(err, strategy.ErrTemporary) {
			t.Fatalf("got %v, want a temporary *OAuthError asking for 30 s", err)
		}
		time.Sleep(29 * time.Second)
		if _, err := s.Get(t.Context()); err == nil {
			t.Fatal("served before the server's Retry-After")
		}
		time.Sleep(2 * time.Second)
		if _, err := s.Get(t.Context()); err != nil {
			t.Fatalf("after Retry-After: %v", err)
		}
		var offsets []time.Duration
		for _, at := range srv.requests {
			offsets = append(offsets, at.Sub(start))
		}
		if diff := cmp.Diff([]time.Duration{0, 31 * time.Second}, offsets); diff != "" {
			t.Errorf("request times (-want +got):\n%s", diff)
		}
	})
}

func BenchmarkAccessKeyGetTokenFresh(b *testing.B) {
	srv := httptest.NewServer(&grantServer{lifetime: 3600})
	defer srv.Close()
	s, err := strategy.NewAccessKey(strategy.AccessKeyConfig{TokenURL: srv.URL, ClientID: "svc", ClientSecret: "s3cret"})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := s.Get(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Get(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
