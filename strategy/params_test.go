package strategy_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/strategy"
)

func TestAccessKeySendsRequestParameters(t *testing.T) {
	srv := &grantServer{lifetime: 3600}
	s := newAccessKey(t, strategy.AccessKeyConfig{
		TokenURL: "https://auth.example/token", ClientID: "svc", ClientSecret: "s3cret",
		Scopes: []string{"read", "write"}, Audience: "billing", Resource: "https://api.example/",
		EndpointParams: url.Values{"tenant": {"acme"}, "resource2": {"a", "b"}},
		HTTPClient:     memClient(srv),
	})
	if _, err := s.Get(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"grant_type": {"client_credentials"}, "scope": {"read write"}, "audience": {"billing"},
		"resource": {"https://api.example/"}, "tenant": {"acme"}, "resource2": {"a", "b"},
	}
	if diff := cmp.Diff(want, srv.forms[0]); diff != "" {
		t.Errorf("grant (-want +got):\n%s", diff)
	}
}

func TestOAuthRefreshSendsRequestParameters(t *testing.T) {
	var mu sync.Mutex
	var got url.Values
	rot := newRotatingServer(3600)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		mu.Lock()
		got = r.PostForm
		mu.Unlock()
		rot.ServeHTTP(w, r)
	})
	store := strategy.NewMemoryStore()
	store.Save(t.Context(), "default", strategy.Session{
		TokenURL: "https://auth.example/token", ClientID: "cli", RefreshToken: tokenactor.NewSecretToken("rt-0"),
	})
	s, err := strategy.NewOAuth(strategy.OAuthConfig{
		Store: store, Scopes: []string{"read"}, Resource: "https://api.example/",
		EndpointParams: url.Values{"tenant": {"acme"}}, HTTPClient: memClient(h),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Get(t.Context()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := map[string][]string{
		"grant_type": {"refresh_token"}, "refresh_token": {"rt-0"}, "client_id": {"cli"},
		"scope": {"read"}, "resource": {"https://api.example/"}, "tenant": {"acme"},
	}
	if diff := cmp.Diff(want, map[string][]string(got)); diff != "" {
		t.Errorf("refresh (-want +got):\n%s", diff)
	}
}

func TestEndpointParamsCannotOverrideTheProtocol(t *testing.T) {
	tests := []struct {
		give url.Values
		want string
	}{
		{give: url.Values{"grant_type": {"password"}}, want: "strategy: AccessKeyConfig.EndpointParams: sets grant_type, which the strategy sets itself"},
		{give: url.Values{"client_secret": {"x"}}, want: "sets client_secret, which the strategy sets itself"},
		{give: url.Values{"scope": {"admin"}}, want: "sets scope, which another field sets too"},
		{give: url.Values{"": {"x"}}, want: "a parameter has an empty name"},
	}
	for _, tt := range tests {
		_, err := strategy.NewAccessKey(strategy.AccessKeyConfig{
			TokenURL: "https://auth.example/token", ClientID: "svc", ClientSecret: "s3cret",
			Scopes: []string{"read"}, EndpointParams: tt.give,
		})
		var ce *strategy.ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: error %v, want a *ConfigError with %q", tt.give, err, tt.want)
		}
	}
}

// styleServer accepts client credentials only in the body, like some
// servers, and counts requests by style.
type styleServer struct {
	grantServer
	mu          sync.Mutex
	basic, body int
}

func (s *styleServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	id, sec, basic := r.BasicAuth()
	s.mu.Lock()
	if basic {
		s.basic++
	} else {
		s.body++
	}
	s.mu.Unlock()
	if basic {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":"invalid_client","error_description":"use client_secret_post"}`)
		return
	}
	id, sec = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	r.SetBasicAuth(id, sec)
	s.grantServer.ServeHTTP(w, r)
}

func (s *styleServer) counts() (basic, body int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.basic, s.body
}

func TestAuthStyleDetect(t *testing.T) {
	srv := &styleServer{grantServer: grantServer{lifetime: 3600}}
	s := newAccessKey(t, strategy.AccessKeyConfig{
		TokenURL: "https://auth.example/token", ClientID: "svc", ClientSecret: "s3cret",
		AuthStyle: strategy.AuthStyleDetect, HTTPClient: memClient(srv),
	})
	for i := range 3 {
		tok, err := s.Get(t.Context())
		if err != nil {
			t.Fatalf("grant %d: %v", i, err)
		}
		s.InvalidateIf(func(cur tokenactor.ServiceToken) bool { return cur.AccessToken == tok.AccessToken })
	}
	if b, d := srv.counts(); b != 1 || d != 3 {
		t.Errorf("%d Basic and %d body requests for 3 grants, want 1 and 3: Basic tried once, then the body remembered", b, d)
	}
}

func TestAuthStyleDetectWrongSecret(t *testing.T) {
	srv := &grantServer{lifetime: 3600} // Basic only
	s := newAccessKey(t, strategy.AccessKeyConfig{
		TokenURL: "https://auth.example/token", ClientID: "svc", ClientSecret: "wrong",
		AuthStyle: strategy.AuthStyleDetect, HTTPClient: memClient(srv),
	})
	_, err := s.Get(t.Context())
	if !errors.Is(err, strategy.ErrLoginRequired) {
		t.Errorf("error %v, want ErrLoginRequired", err)
	}
}

func TestParseAuthStyle(t *testing.T) {
	tests := []struct {
		give string
		want strategy.AuthStyle
	}{
		{give: "basic", want: strategy.AuthStyleBasic},
		{give: "Body", want: strategy.AuthStyleBody},
		{give: "client_secret_post", want: strategy.AuthStyleBody},
		{give: "detect", want: strategy.AuthStyleDetect},
	}
	for _, tt := range tests {
		got, err := strategy.ParseAuthStyle(tt.give)
		if err != nil || got != tt.want || got.String() == "" {
			t.Errorf("ParseAuthStyle(%q) = %v, %v; want %v", tt.give, got, err, tt.want)
		}
	}
	if _, err := strategy.ParseAuthStyle("mtls"); err == nil {
		t.Error("ParseAuthStyle(mtls) succeeded")
	}
}

// revocationServer is a revocation and introspection endpoint for the
// public client "cli": tokens in live are active until revoked.
type revocationServer struct {
	mu    sync.Mutex
	live  map[string]bool
	forms []url.Values
}

func (s *revocationServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forms = append(s.forms, r.PostForm)
	if r.PostForm.Get("client_id") != "cli" {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"error":"invalid_client","error_description":"unknown client; token %s"}`, r.PostForm.Get("token"))
		return
	}
	switch r.URL.Path {
	case "/revoke":
		delete(s.live, r.PostForm.Get("token"))
	case "/introspect":
		w.Header().Set("Content-Type", "application/json")
		if s.live[r.PostForm.Get("token")] {
			fmt.Fprint(w, `{"active":true,"client_id":"cli","sub":"alice","exp":4102444800}`)
		} else {
			fmt.Fprint(w, `{"active":false}`)
		}
	}
}

func TestRevokeAndIntrospect(t *testing.T) {
	srv := &revocationServer{live: map[string]bool{"rt-secret": true}}
	cfg := func(path, client string) strategy.EndpointConfig {
		return strategy.EndpointConfig{URL: "https://auth.example" + path, ClientID: client, HTTPClient: memClient(srv)}
	}
	rt := tokenactor.NewSecretToken("rt-secret")
	ctx := context.Background()

	in, err := strategy.Introspect(ctx, cfg("/introspect", "cli"), rt, strategy.HintRefreshToken)
	if err != nil || !in.Active || in.Subject != "alice" || in.ExpiresAt.Year() != 2100 {
		t.Errorf("Introspect = %+v, %v; want active, alice, 2100", in, err)
	}
	if err := strategy.Revoke(ctx, cfg("/revoke", "cli"), rt, strategy.HintRefreshToken); err != nil {
		t.Fatal(err)
	}
	want := url.Values{"client_id": {"cli"}, "token": {"rt-secret"}, "token_type_hint": {"refresh_token"}}
	if diff := cmp.Diff(want, srv.forms[1]); diff != "" {
		t.Errorf("revocation request (-want +got):\n%s", diff)
	}
	in, err = strategy.Introspect(ctx, cfg("/introspect", "cli"), rt, "")
	if err != nil || in.Active {
		t.Errorf("Introspect after Revoke = %+v, %v; want inactive", in, err)
	}

	err = strategy.Revoke(ctx, cfg("/revoke", "other"), rt, "")
	var oe *strategy.OAuthError
	if !errors.As(err, &oe) || oe.Endpoint != "revocation" || !strings.HasPrefix(err.Error(), "strategy: revocation endpoint refused (HTTP 401): invalid_client") {
		t.Errorf("refused revocation: %v", err)
	}
	if strings.Contains(err.Error(), "rt-secret") {
		t.Errorf("error holds the token: %v", err)
	}
	if err := strategy.Revoke(ctx, strategy.EndpointConfig{URL: "http://auth.example/revoke", ClientID: "cli"}, rt, ""); err == nil ||
		err.Error() != "strategy: EndpointConfig.URL: http is allowed only for loopback hosts; use https" {
		t.Errorf("plain http: %v", err)
	}
}

func TestDeviceAuthorizationErrorsNameTheirEndpoint(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":"invalid_scope"}`)
	})
	s, err := strategy.NewDeviceCode(strategy.DeviceCodeConfig{
		DeviceAuthURL: "https://auth.example/device", TokenURL: "https://auth.example/token", ClientID: "cli",
		Store: strategy.NewMemoryStore(), Prompt: func(strategy.DeviceAuthorization) {}, HTTPClient: memClient(h),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.Login(t.Context())
	if want := "strategy: device authorization endpoint refused (HTTP 400): invalid_scope"; err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
}

func TestEndpointConfigNeverPrintsTheSecret(t *testing.T) {
	cfg := strategy.EndpointConfig{URL: "https://auth.example/revoke", ClientID: "svc", ClientSecret: "s3cret-value"}
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%s", cfg), fmt.Sprintf("%q", cfg), string(js)} {
		if strings.Contains(out, "s3cret-value") || !strings.Contains(out, "svc") {
			t.Errorf("printed %s", out)
		}
	}
}
