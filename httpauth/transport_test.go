package httpauth_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/httpauth"
)

// rotating is a strategy that hands out tokens[i] and moves to the next
// token on Invalidate.
type rotating struct {
	mu          sync.Mutex
	tokens      []string
	typ         string
	i           int
	invalidated int
}

func (s *rotating) Get(context.Context) (tokenactor.ServiceToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return tokenactor.ServiceToken{AccessToken: tokenactor.NewSecretToken(s.tokens[s.i]), TokenType: s.typ}, nil
}

func (s *rotating) Invalidate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.invalidated++
	if s.i < len(s.tokens)-1 {
		s.i++
	}
}

func (s *rotating) invalidations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.invalidated
}

// fixed is a strategy without an Invalidate method.
type fixed string

func (f fixed) Get(context.Context) (tokenactor.ServiceToken, error) {
	return tokenactor.ServiceToken{AccessToken: tokenactor.NewSecretToken(string(f))}, nil
}

// failing is a strategy whose Get always fails.
type failing struct{ err error }

func (f failing) Get(context.Context) (tokenactor.ServiceToken, error) {
	return tokenactor.ServiceToken{}, f.err
}

// seen is what a test server recorded of one request.
type seen struct {
	Path, Auth, Body string
}

// recorder is a test server that records every request and answers 401 to
// any token not in accept.
type recorder struct {
	mu     sync.Mutex
	seen   []seen
	accept map[string]bool
}

func newRecorder(t *testing.T, accept ...string) (*recorder, *httptest.Server) {
	t.Helper()
	r := &recorder{accept: make(map[string]bool)}
	for _, a := range accept {
		r.accept[a] = true
	}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	auth := req.Header.Get("Authorization")
	r.mu.Lock()
	r.seen = append(r.seen, seen{Path: req.URL.Path, Auth: auth, Body: string(body)})
	r.mu.Unlock()
	if len(r.accept) > 0 && !r.accept[auth] {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		http.Error(w, "rejected", http.StatusUnauthorized)
		return
	}
	io.WriteString(w, "ok")
}

func (r *recorder) requests() []seen {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]seen(nil), r.seen...)
}

func client(srv *httptest.Server, s tokenactor.AuthStrategy, origins ...string) *http.Client {
	return &http.Client{Transport: &httpauth.Transport{Strategy: s, Origins: origins, Base: srv.Client().Transport}}
}

func do(t *testing.T, c *http.Client, req *http.Request) (int, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp.StatusCode, string(b)
}

func TestAuthorizationHeader(t *testing.T) {
	tests := []struct {
		name    string
		typ     string
		want    string
		changes bool
	}{
		{name: "no type means Bearer", typ: "", want: "Bearer tok"},
		{name: "lower-case bearer is canonicalised", typ: "bearer", want: "Bearer tok"},
		{name: "Bearer", typ: "Bearer", want: "Bearer tok"},
		{name: "other types pass as they are", typ: "MAC", want: "MAC tok"}, // DPoP needs a proof: dpop_test.go
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, srv := newRecorder(t)
			c := client(srv, &rotating{tokens: []string{"tok"}, typ: tt.typ}, srv.URL)
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/a", nil)
			do(t, c, req)
			if diff := cmp.Diff([]seen{{Path: "/a", Auth: tt.want}}, rec.requests()); diff != "" {
				t.Errorf("server saw (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRoundTripDoesNotModifyRequest(t *testing.T) {
	_, srv := newRecorder(t)
	tr := &httpauth.Transport{Strategy: fixed("tok"), Origins: []string{srv.URL}, Base: srv.Client().Transport}
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("X-Caller", "1")
	before := req.Header.Clone()
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if diff := cmp.Diff(before, req.Header); diff != "" {
		t.Errorf("request header changed (-before +after):\n%s", diff)
	}
}

func TestRedirectToOtherOriginGoesWithoutToken(t *testing.T) {
	other, otherSrv := newRecorder(t)
	trusted, trustedSrv := newRecorder(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/same", func(w http.ResponseWriter, r *http.Request) {
		trusted.ServeHTTP(w, r)
	})
	mux.HandleFunc("/away", func(w http.ResponseWriter, r *http.Request) {
		trusted.ServeHTTP(httptest.NewRecorder(), r)
		http.Redirect(w, r, otherSrv.URL+"/landed", http.StatusFound)
	})
	mux.HandleFunc("/home", func(w http.ResponseWriter, r *http.Request) {
		trusted.ServeHTTP(httptest.NewRecorder(), r)
		http.Redirect(w, r, "/same", http.StatusFound)
	})
	trustedSrv.Config.Handler = mux

	c := client(trustedSrv, fixed("tok"), trustedSrv.URL)
	for _, path := range []string{"/away", "/home"} {
		req, _ := http.NewRequest(http.MethodGet, trustedSrv.URL+path, nil)
		if code, _ := do(t, c, req); code != http.StatusOK {
			t.Fatalf("GET %s: status %d", path, code)
		}
	}
	wantTrusted := []seen{
		{Path: "/away", Auth: "Bearer tok"},
		{Path: "/home", Auth: "Bearer tok"},
		{Path: "/same", Auth: "Bearer tok"},
	}
	if diff := cmp.Diff(wantTrusted, trusted.requests()); diff != "" {
		t.Errorf("trusted origin saw (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]seen{{Path: "/landed"}}, other.requests()); diff != "" {
		t.Errorf("other origin saw (-want +got):\n%s", diff)
	}
}

func TestOriginMatching(t *testing.T) {
	tests := []struct {
		give string // request URL
		want string // Authorization the base transport saw
	}{
		{give: "https://api.example.com/x", want: "Bearer tok"},
		{give: "https://API.Example.COM/x", want: "Bearer tok"},
		{give: "https://api.example.com:443/x", want: "Bearer tok"},
		{give: "http://api.example.com/x", want: ""},
		{give: "https://api.example.com:8443/x", want: ""},
		{give: "https://evil.api.example.com/x", want: ""},
		{give: "https://example.com/x", want: ""},
		{give: "http://127.0.0.1:8080/y", want: "Bearer tok"},
		{give: "http://127.0.0.1:8081/y", want: ""},
		{give: "http://[::1]:8080/y", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			var got string
			base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				got = r.Header.Get("Authorization")
				return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: r}, nil
			})
			tr := &httpauth.Transport{
				Strategy: fixed("tok"),
				Origins:  []string{"https://api.example.com/v1/", "http://127.0.0.1:8080"},
				Base:     base,
			}
			req, _ := http.NewRequest(http.MethodGet, tt.give, nil)
			if _, err := tr.RoundTrip(req); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Authorization = %q, want %q", got, tt.want)
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestBadOrigins(t *testing.T) {
	tests := []struct {
		give    []string
		wantErr error
	}{
		{give: nil, wantErr: httpauth.ErrNoOrigins},
		{give: []string{"api.example.com"}, wantErr: &httpauth.OriginError{Origin: "api.example.com", Reason: `scheme must be "http" or "https"`}},
		{give: []string{"ftp://api.example.com"}, wantErr: &httpauth.OriginError{Origin: "ftp://api.example.com", Reason: `scheme must be "http" or "https"`}},
		{give: []string{"https://"}, wantErr: &httpauth.OriginError{Origin: "https:", Reason: "no host"}},
		{give: []string{"https://u:p@h"}, wantErr: &httpauth.OriginError{Origin: "https://xxxxx@h", Reason: "user info is not allowed"}},
		{give: []string{"https://ghp_token@h"}, wantErr: &httpauth.OriginError{Origin: "https://xxxxx@h", Reason: "user info is not allowed"}},
		{give: []string{"https://ok", "%zz"}, wantErr: &httpauth.OriginError{Index: 1, Reason: "not a URL"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.give, ","), func(t *testing.T) {
			called := false
			base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				called = true
				return nil, errors.New("unreachable")
			})
			tr := &httpauth.Transport{Strategy: fixed("tok"), Origins: tt.give, Base: base}
			body := &closeCounter{Reader: strings.NewReader("x")}
			req, _ := http.NewRequest(http.MethodPost, "https://ok/", body)
			_, err := tr.RoundTrip(req)
			if diff := cmp.Diff(tt.wantErr, err, cmp.Comparer(func(a, b error) bool { return a.Error() == b.Error() })); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if called {
				t.Error("request was sent despite the configuration error")
			}
			if body.closed != 1 {
				t.Errorf("request body closed %d times, want 1", body.closed)
			}
		})
	}
}

type closeCounter struct {
	io.Reader
	closed int
}

func (c *closeCounter) Close() error { c.closed++; return nil }

func TestRetryAfter401(t *testing.T) {
	rec, srv := newRecorder(t, "Bearer new")
	s := &rotating{tokens: []string{"old", "new"}}
	c := client(srv, s, srv.URL)

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/p", bytes.NewReader([]byte("payload")))
	code, body := do(t, c, req)
	if code != http.StatusOK || body != "ok" {
		t.Fatalf("got %d %q, want 200 \"ok\"", code, body)
	}
	want := []seen{
		{Path: "/p", Auth: "Bearer old", Body: "payload"},
		{Path: "/p", Auth: "Bearer new", Body: "payload"},
	}
	if diff := cmp.Diff(want, rec.requests()); diff != "" {
		t.Errorf("server saw (-want +got):\n%s", diff)
	}
	if n := s.invalidations(); n != 1 {
		t.Errorf("Invalidate called %d times, want 1", n)
	}
}

func TestNoRetry(t *testing.T) {
	tests := []struct {
		name            string
		strategy        tokenactor.AuthStrategy
		body            func() io.Reader
		wantSeen        []seen
		wantInvalidated int
	}{
		{
			name:            "body cannot be replayed",
			strategy:        &rotating{tokens: []string{"old", "new"}},
			body:            func() io.Reader { return io.NopCloser(strings.NewReader("once")) },
			wantSeen:        []seen{{Path: "/", Auth: "Bearer old", Body: "once"}},
			wantInvalidated: 1,
		},
		{
			name:     "strategy cannot invalidate",
			strategy: fixed("old"),
			body:     func() io.Reader { return nil },
			wantSeen: []seen{{Path: "/", Auth: "Bearer old"}},
		},
		{
			name:            "invalidating gives the same token",
			strategy:        &rotating{tokens: []string{"old"}},
			body:            func() io.Reader { return nil },
			wantSeen:        []seen{{Path: "/", Auth: "Bearer old"}},
			wantInvalidated: 1,
		},
		{
			name:            "second token rejected too: one retry only",
			strategy:        &rotating{tokens: []string{"old", "bad", "good"}},
			body:            func() io.Reader { return strings.NewReader("b") },
			wantSeen:        []seen{{Path: "/", Auth: "Bearer old", Body: "b"}, {Path: "/", Auth: "Bearer bad", Body: "b"}},
			wantInvalidated: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, srv := newRecorder(t, "Bearer good")
			c := client(srv, tt.strategy, srv.URL)
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", tt.body())
			if code, _ := do(t, c, req); code != http.StatusUnauthorized {
				t.Errorf("status %d, want 401", code)
			}
			if diff := cmp.Diff(tt.wantSeen, rec.requests()); diff != "" {
				t.Errorf("server saw (-want +got):\n%s", diff)
			}
			if r, ok := tt.strategy.(*rotating); ok && r.invalidations() != tt.wantInvalidated {
				t.Errorf("Invalidate called %d times, want %d", r.invalidations(), tt.wantInvalidated)
			}
		})
	}
}

func TestStrategyErrorIsReturnedWrapped(t *testing.T) {
	rec, srv := newRecorder(t)
	c := client(srv, failing{err: tokenactor.ErrNotAuthenticated}, srv.URL)
	body := &closeCounter{Reader: strings.NewReader("x")}
	req, _ := http.NewRequest(http.MethodPost, srv.URL, body)
	_, err := c.Do(req)
	if !errors.Is(err, tokenactor.ErrNotAuthenticated) {
		t.Errorf("error %v does not match ErrNotAuthenticated", err)
	}
	if len(rec.requests()) != 0 {
		t.Error("request was sent without a token")
	}
	if body.closed != 1 {
		t.Errorf("request body closed %d times, want 1", body.closed)
	}
}

// TestConcurrentRejections sends many requests at once with a token the
// server rejects, through a real tokenactor.Cache: every request must end
// with the new token, and the rejected token must cost far fewer refreshes
// than requests.
func TestConcurrentRejections(t *testing.T) {
	const n = 50
	var accept []string
	for i := 2; i <= n+1; i++ {
		accept = append(accept, "Bearer t"+strconv.Itoa(i))
	}
	_, srv := newRecorder(t, accept...)
	r := &counting{}
	cache := tokenactor.New[tokenactor.ServiceToken](r)
	defer cache.Close()
	var s tokenactor.AuthStrategy = cache // a Cache[ServiceToken] is an AuthStrategy
	c := client(srv, s, srv.URL)
	// Prime the cache with the token the server rejects.
	if _, err := s.Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			resp, err := c.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			codes[i] = resp.StatusCode
		})
	}
	wg.Wait()
	for i, code := range codes {
		if code != http.StatusOK {
			t.Errorf("request %d: status %d", i, code)
		}
	}
	// Usually 2 (t1, then t2). A request that read t1 just before the
	// first Invalidate and invalidates just after the refresh costs one more.
	if got := r.calls(); got > n/5 {
		t.Errorf("%d token requests for %d rejected requests", got, n)
	}
}

// counting issues t1, t2, ... one per call.
type counting struct {
	mu sync.Mutex
	n  int
}

func (c *counting) calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func (c *counting) next() tokenactor.Entry[tokenactor.ServiceToken] {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	tok := "t" + strconv.Itoa(c.n)
	return tokenactor.Entry[tokenactor.ServiceToken]{
		Value: tokenactor.ServiceToken{AccessToken: tokenactor.NewSecretToken(tok), TokenType: "Bearer"},
	}
}

func (c *counting) Refresh(context.Context, *tokenactor.Entry[tokenactor.ServiceToken]) (tokenactor.Entry[tokenactor.ServiceToken], error) {
	return c.next(), nil
}
