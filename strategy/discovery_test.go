package strategy_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenactor/tokenactor/fakeclock"
	"github.com/tokenactor/tokenactor/strategy"
)

// metadataServer serves metadata documents by path and counts the
// requests to each path.
type metadataServer struct {
	docs map[string]map[string]any // path → document

	mu   sync.Mutex
	hits map[string]int
}

func (s *metadataServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.hits == nil {
		s.hits = map[string]int{}
	}
	s.hits[r.URL.Path]++
	s.mu.Unlock()
	doc, ok := s.docs[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(doc)
}

func (s *metadataServer) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

func doc(issuer string) map[string]any {
	return map[string]any{
		"issuer":                        issuer,
		"token_endpoint":                issuer + "/token",
		"device_authorization_endpoint": issuer + "/device",
		"revocation_endpoint":           issuer + "/revoke",
		"introspection_endpoint":        issuer + "/introspect",
	}
}

func TestDiscoveryFindsTheMetadata(t *testing.T) {
	tests := []struct {
		name   string
		issuer string
		docs   map[string]map[string]any
	}{
		{
			name:   "RFC 8414 at the origin",
			issuer: "https://auth.example",
			docs:   map[string]map[string]any{"/.well-known/oauth-authorization-server": doc("https://auth.example")},
		},
		{
			name:   "RFC 8414 with a path: the well-known part goes first",
			issuer: "https://auth.example/tenant1",
			docs:   map[string]map[string]any{"/.well-known/oauth-authorization-server/tenant1": doc("https://auth.example/tenant1")},
		},
		{
			name:   "OpenID Connect: the well-known part goes last",
			issuer: "https://auth.example/realms/main",
			docs:   map[string]map[string]any{"/realms/main/.well-known/openid-configuration": doc("https://auth.example/realms/main")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &strategy.Discovery{HTTPClient: memClient(&metadataServer{docs: tt.docs})}
			md, err := d.Metadata(t.Context(), tt.issuer)
			if err != nil {
				t.Fatal(err)
			}
			want := strategy.Metadata{
				Issuer: tt.issuer, TokenEndpoint: tt.issuer + "/token", DeviceAuthorizationEndpoint: tt.issuer + "/device",
				RevocationEndpoint: tt.issuer + "/revoke", IntrospectionEndpoint: tt.issuer + "/introspect",
			}
			if diff := cmp.Diff(want, md); diff != "" {
				t.Errorf("metadata (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDiscoveryRefusesBadMetadata(t *testing.T) {
	const path = "/.well-known/oauth-authorization-server"
	withToken := func(u string) map[string]any {
		d := doc("https://auth.example")
		d["token_endpoint"] = u
		return d
	}
	tests := []struct {
		name    string
		issuer  string
		doc     map[string]any
		wantErr string
	}{
		{name: "another issuer", issuer: "https://auth.example", doc: doc("https://evil.example"),
			wantErr: `strategy: issuer: the server's metadata names issuer "https://evil.example", not "https://auth.example" (RFC 8414 §3.3)`},
		{name: "trailing slash differs", issuer: "https://auth.example", doc: doc("https://auth.example/"),
			wantErr: `names issuer "https://auth.example/", not "https://auth.example"`},
		{name: "plain http endpoint", issuer: "https://auth.example", doc: withToken("http://auth.example/token"),
			wantErr: "strategy: metadata token_endpoint: http is allowed only for loopback hosts; use https"},
		{name: "no metadata", issuer: "https://auth.example/x", doc: nil,
			wantErr: "strategy: no authorization server metadata at the issuer https://auth.example/x"},
		{name: "issuer with a query", issuer: "https://auth.example?tenant=1",
			wantErr: "strategy: issuer: an issuer URL has no query or fragment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs := map[string]map[string]any{}
			if tt.doc != nil {
				docs[path] = tt.doc
			}
			d := &strategy.Discovery{HTTPClient: memClient(&metadataServer{docs: docs})}
			_, err := d.Metadata(t.Context(), tt.issuer)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestDiscoveryCaches(t *testing.T) {
	const path = "/.well-known/oauth-authorization-server"
	srv := &metadataServer{docs: map[string]map[string]any{path: doc("https://auth.example")}}
	clk := fakeclock.New()
	d := &strategy.Discovery{HTTPClient: memClient(srv), Clock: clk, TTL: time.Hour}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := d.Metadata(context.Background(), "https://auth.example"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := srv.count(path); n != 1 {
		t.Errorf("%d fetches for 8 callers, want 1", n)
	}
	clk.Jump(59 * time.Minute)
	d.Metadata(t.Context(), "https://auth.example")
	if n := srv.count(path); n != 1 {
		t.Errorf("%d fetches within the TTL, want 1", n)
	}
	clk.Jump(time.Minute)
	d.Metadata(t.Context(), "https://auth.example")
	if n := srv.count(path); n != 2 {
		t.Errorf("%d fetches after the TTL, want 2", n)
	}
}

func TestDiscoveryDoesNotCacheFailures(t *testing.T) {
	const path = "/.well-known/oauth-authorization-server"
	srv := &metadataServer{docs: map[string]map[string]any{}}
	d := &strategy.Discovery{HTTPClient: memClient(srv)}
	if _, err := d.Metadata(t.Context(), "https://auth.example"); !errors.Is(err, strategy.ErrNoMetadata) {
		t.Fatalf("error %v, want ErrNoMetadata", err)
	}
	srv.docs[path] = doc("https://auth.example")
	if _, err := d.Metadata(t.Context(), "https://auth.example"); err != nil {
		t.Errorf("after the server published metadata: %v", err)
	}
}

func TestAccessKeyWithIssuer(t *testing.T) {
	grants := &grantServer{lifetime: 3600}
	mux := http.NewServeMux()
	mux.Handle("/token", grants)
	mux.Handle("/.well-known/", &metadataServer{docs: map[string]map[string]any{"/.well-known/oauth-authorization-server": doc("https://auth.example")}})
	s := newAccessKey(t, strategy.AccessKeyConfig{
		Issuer: "https://auth.example", ClientID: "svc", ClientSecret: "s3cret", HTTPClient: memClient(mux),
	})
	tok, err := s.Get(t.Context())
	if err != nil || tok.AccessToken.Reveal() != "token-1" {
		t.Errorf("Get = %v, %v; want token-1", tok.AccessToken, err)
	}
}

func TestDeviceCodeWithIssuer(t *testing.T) {
	srv := &deviceServer{expiresIn: 600, interval: 1, start: time.Now(), script: []string{"ok"}}
	mux := http.NewServeMux()
	mux.Handle("/device", srv)
	mux.Handle("/token", srv)
	mux.Handle("/.well-known/", &metadataServer{docs: map[string]map[string]any{"/.well-known/oauth-authorization-server": doc("https://auth.example")}})
	store := strategy.NewMemoryStore()
	s, err := strategy.NewDeviceCode(strategy.DeviceCodeConfig{
		Issuer: "https://auth.example", ClientID: "cli", Scopes: []string{"openid", "offline_access"}, Store: store,
		Prompt: func(strategy.DeviceAuthorization) {}, HTTPClient: memClient(mux),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sess, err := s.Login(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if sess.TokenURL != "https://auth.example/token" {
		t.Errorf("session token URL %q, want the one in the metadata", sess.TokenURL)
	}
	if len(srv.bad) > 0 {
		t.Errorf("protocol violations: %v", srv.bad)
	}
}

// onceTransport runs fail on its first request, then serves h.
type onceTransport struct {
	fail  func()
	h     http.Handler
	calls atomic.Int32
}

func (t *onceTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.calls.Add(1) == 1 {
		t.fail()
	}
	return handlerTransport{h: t.h}.RoundTrip(req)
}

// A fetch whose transport panics, or ends its goroutine, does not leave
// the issuer's later callers waiting for it: the panic reaches the caller
// whose fetch it was, and the next caller fetches again. In a bubble, a
// caller left waiting is a deadlock.
func TestDiscoveryAfterAFetchThatDidNotReturn(t *testing.T) {
	for name, fail := range map[string]func(){
		"panic":  func() { panic("transport exploded") },
		"Goexit": runtime.Goexit,
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const path = "/.well-known/oauth-authorization-server"
				srv := &metadataServer{docs: map[string]map[string]any{path: doc("https://auth.example")}}
				d := &strategy.Discovery{HTTPClient: &http.Client{Transport: &onceTransport{fail: fail, h: srv}}}
				returned := make(chan bool, 1)
				go func() {
					defer func() {
						recover() // the panic propagates to this caller
						returned <- false
					}()
					d.Metadata(context.Background(), "https://auth.example")
					returned <- true
				}()
				if <-returned {
					t.Fatal("the first Metadata returned; want its transport's failure")
				}
				md, err := d.Metadata(context.Background(), "https://auth.example")
				if err != nil || md.TokenEndpoint != "https://auth.example/token" {
					t.Errorf("second Metadata = %+v, %v; want the metadata", md, err)
				}
				if n := srv.count(path); n != 1 {
					t.Errorf("%d requests served, want 1", n)
				}
			})
		})
	}
}
