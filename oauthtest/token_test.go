package oauthtest_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tokenactor/tokenactor/oauthtest"
)

func TestClientCredentials(t *testing.T) {
	srv := oauthtest.NewServer(oauthtest.WithLifetime(90 * time.Second))
	defer srv.Close()

	for _, a := range []auth{defaultAuth, {id: oauthtest.DefaultClientID, secret: oauthtest.DefaultClientSecret}} {
		r := clientCredentials(t, srv, a, url.Values{"scope": {"read write"}})
		if r.status != http.StatusOK {
			t.Fatalf("basic=%v: %d %s", a.basic, r.status, r.raw)
		}
		if r.str("token_type") != "Bearer" || r.num("expires_in") != 90 || r.str("scope") != "read write" {
			t.Errorf("basic=%v: response %s", a.basic, r.raw)
		}
		if _, ok := r.body["refresh_token"]; ok {
			t.Errorf("basic=%v: a client credentials grant got a refresh token (RFC 6749 §4.4.3)", a.basic)
		}
		if _, ok := r.body["refresh_in"]; ok {
			t.Errorf("basic=%v: refresh_in sent without WithRefreshIn", a.basic)
		}
		if got := r.header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("Cache-Control %q, want no-store", got)
		}
		if api := callAPI(t, srv, r.str("access_token")); api.status != http.StatusOK || api.str("client_id") != oauthtest.DefaultClientID {
			t.Errorf("api: %d %s", api.status, api.raw)
		}
	}
	want := oauthtest.Stats{
		Requests:     map[oauthtest.Endpoint]int{oauthtest.EndpointToken: 2, oauthtest.EndpointResource: 2},
		Grants:       map[string]int{"client_credentials": 2},
		AccessTokens: 2,
		Accepted:     2,
	}
	if d := cmp.Diff(want, srv.Stats()); d != "" {
		t.Errorf("stats (-want +got):\n%s", d)
	}
}

// Secrets with characters that need escaping are form-encoded before
// Basic encoding (RFC 6749 §2.3.1); the server decodes them.
func TestBasicCredentialsAreFormDecoded(t *testing.T) {
	secret := "a:b+c%d é"
	srv := oauthtest.NewServer(oauthtest.WithClient("id with space", secret))
	defer srv.Close()
	r := clientCredentials(t, srv, auth{id: "id with space", secret: secret, basic: true}, nil)
	if r.status != http.StatusOK {
		t.Errorf("%d %s", r.status, r.raw)
	}
}

func TestClientAuthentication(t *testing.T) {
	good := oauthtest.DefaultClientSecret
	tests := []struct {
		name       string
		give       oauthtest.AuthStyle
		auth       auth
		wantStatus int
		wantError  string
	}{
		{"any accepts basic", oauthtest.AuthStyleAny, auth{"test-client", good, true}, 200, ""},
		{"any accepts post", oauthtest.AuthStyleAny, auth{"test-client", good, false}, 200, ""},
		{"basic only accepts basic", oauthtest.AuthStyleBasic, auth{"test-client", good, true}, 200, ""},
		{"basic only refuses post", oauthtest.AuthStyleBasic, auth{"test-client", good, false}, 401, "invalid_client"},
		{"post only accepts post", oauthtest.AuthStylePost, auth{"test-client", good, false}, 200, ""},
		{"post only refuses basic", oauthtest.AuthStylePost, auth{"test-client", good, true}, 401, "invalid_client"},
		{"wrong secret", oauthtest.AuthStyleAny, auth{"test-client", "nope", true}, 401, "invalid_client"},
		{"unknown client", oauthtest.AuthStyleAny, auth{"who", good, false}, 401, "invalid_client"},
		{"no secret for a confidential client", oauthtest.AuthStyleAny, auth{"test-client", "", false}, 401, "invalid_client"},
		{"no client at all", oauthtest.AuthStyleAny, auth{}, 401, "invalid_client"},
		{"public client", oauthtest.AuthStylePost, auth{"cli", "", false}, 200, ""},
		{"public client with a secret", oauthtest.AuthStyleAny, auth{"cli", "x", false}, 401, "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := oauthtest.NewServer(oauthtest.WithAuthStyle(tt.give),
				oauthtest.WithClient("test-client", good), oauthtest.WithClient("cli", ""))
			defer srv.Close()
			r := clientCredentials(t, srv, tt.auth, nil)
			if r.status != tt.wantStatus || r.str("error") != tt.wantError {
				t.Errorf("got %d %s, want %d %q", r.status, r.raw, tt.wantStatus, tt.wantError)
			}
			if r.status == http.StatusUnauthorized && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("401 without a Basic challenge: %v", r.header)
			}
			if strings.Contains(r.raw, good) {
				t.Errorf("the answer shows the secret: %s", r.raw)
			}
		})
	}
}

func TestBothAuthMethodsIsInvalidRequest(t *testing.T) {
	srv := oauthtest.NewServer()
	defer srv.Close()
	r := clientCredentials(t, srv, defaultAuth, url.Values{"client_secret": {oauthtest.DefaultClientSecret}})
	wantError(t, r, http.StatusBadRequest, "invalid_request")
}

func TestMalformedRequests(t *testing.T) {
	srv := oauthtest.NewServer()
	defer srv.Close()
	tests := []struct {
		name        string
		contentType string
		body        string
		wantStatus  int
		wantError   string
	}{
		{"no grant_type", "application/x-www-form-urlencoded", "", 400, "invalid_request"},
		{"unknown grant", "application/x-www-form-urlencoded", "grant_type=password", 400, "unsupported_grant_type"},
		{"parameter twice", "application/x-www-form-urlencoded", "grant_type=client_credentials&scope=a&scope=b", 400, "invalid_request"},
		{"JSON body", "application/json", `{"grant_type":"client_credentials"}`, 400, "invalid_request"},
		{"bad escape", "application/x-www-form-urlencoded", "grant_type=%zz", 400, "invalid_request"},
		{"too large", "application/x-www-form-urlencoded", "grant_type=client_credentials&x=" + strings.Repeat("a", 70<<10), 413, "invalid_request"},
		{"refresh without token", "application/x-www-form-urlencoded", "grant_type=refresh_token", 400, "invalid_request"},
		{"device without code", "application/x-www-form-urlencoded", "grant_type=urn:ietf:params:oauth:grant-type:device_code", 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, srv.TokenURL(), strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", tt.contentType)
			req.SetBasicAuth(oauthtest.DefaultClientID, oauthtest.DefaultClientSecret)
			wantError(t, do(t, req), tt.wantStatus, tt.wantError)
		})
	}
}

func TestGetIsNotAllowedAtTheTokenEndpoint(t *testing.T) {
	srv := oauthtest.NewServer()
	defer srv.Close()
	req, err := http.NewRequest(http.MethodGet, srv.TokenURL()+"?grant_type=client_credentials", nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := do(t, req); r.status != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d %s", r.status, r.raw)
	}
}

func TestExpiry(t *testing.T) {
	clk := newTestClock()
	srv := oauthtest.NewServer(oauthtest.WithClock(clk.Now), oauthtest.WithLifetime(time.Minute))
	defer srv.Close()
	tok := mustToken(t, srv)

	clk.Add(time.Minute - time.Nanosecond)
	if r := callAPI(t, srv, tok); r.status != http.StatusOK {
		t.Errorf("just before expiry: %d", r.status)
	}
	if r := introspect(t, srv, tok); r.body["active"] != true {
		t.Errorf("just before expiry, introspection: %s", r.raw)
	}
	clk.Add(time.Nanosecond)
	r := callAPI(t, srv, tok)
	if r.status != http.StatusUnauthorized || !strings.Contains(r.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("at expiry: %d %v", r.status, r.header)
	}
	if r := introspect(t, srv, tok); r.raw != "{\"active\":false}\n" {
		t.Errorf("at expiry, introspection: %s", r.raw)
	}
}

func TestLifetimeAndRefreshInCanChange(t *testing.T) {
	srv := oauthtest.NewServer(oauthtest.WithRefreshIn(30 * time.Second))
	defer srv.Close()
	r := clientCredentials(t, srv, defaultAuth, nil)
	if r.num("expires_in") != 3600 || r.num("refresh_in") != 30 {
		t.Errorf("before: %s", r.raw)
	}
	srv.SetLifetime(0)
	srv.SetRefreshIn(0)
	r = clientCredentials(t, srv, defaultAuth, nil)
	if _, ok := r.body["expires_in"]; ok {
		t.Errorf("expires_in sent for a token that never expires: %s", r.raw)
	}
	if _, ok := r.body["refresh_in"]; ok {
		t.Errorf("refresh_in sent after SetRefreshIn(0): %s", r.raw)
	}
}

func TestRequiredParameters(t *testing.T) {
	srv := oauthtest.NewServer(oauthtest.WithRequiredScope("api"),
		oauthtest.WithRequiredAudience("https://api.example"), oauthtest.WithRequiredResource("https://rs.example"))
	defer srv.Close()
	all := url.Values{"scope": {"read api"}, "audience": {"https://api.example"}, "resource": {"https://rs.example"}}
	tests := []struct {
		name      string
		drop      string
		wantError string
	}{
		{"all given", "", ""},
		{"no scope", "scope", "invalid_scope"},
		{"no audience", "audience", "invalid_target"},
		{"no resource", "resource", "invalid_target"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := cloneForm(all)
			form.Del(tt.drop)
			r := clientCredentials(t, srv, defaultAuth, form)
			if r.str("error") != tt.wantError {
				t.Errorf("got %d %s, want error %q", r.status, r.raw, tt.wantError)
			}
			last, ok := srv.LastRequest(oauthtest.EndpointToken)
			if !ok || last.Form.Get("audience") != form.Get("audience") || last.Form.Get("resource") != form.Get("resource") {
				t.Errorf("last request form %v, want %v", last.Form, form)
			}
		})
	}
}

func TestLastRequestKeepsSecrets(t *testing.T) {
	srv := oauthtest.NewServer()
	defer srv.Close()
	if _, ok := srv.LastRequest(oauthtest.EndpointToken); ok {
		t.Error("a last request before any request")
	}
	clientCredentials(t, srv, auth{id: oauthtest.DefaultClientID, secret: oauthtest.DefaultClientSecret}, url.Values{"scope": {"x"}})
	last, ok := srv.LastRequest(oauthtest.EndpointToken)
	want := url.Values{"grant_type": {"client_credentials"}, "scope": {"x"},
		"client_id": {oauthtest.DefaultClientID}, "client_secret": {oauthtest.DefaultClientSecret}}
	if d := cmp.Diff(want, last.Form); !ok || d != "" {
		t.Errorf("form (-want +got):\n%s", d)
	}
	if last.ClientID != oauthtest.DefaultClientID || last.Method != http.MethodPost {
		t.Errorf("last request %+v", last)
	}
	last.Form.Set("scope", "changed")
	if again, _ := srv.LastRequest(oauthtest.EndpointToken); again.Form.Get("scope") != "x" {
		t.Error("changing a returned Request changed the server's record")
	}
}

func TestRemovedClientIsRefused(t *testing.T) {
	srv := oauthtest.NewServer()
	defer srv.Close()
	tok := mustToken(t, srv)
	srv.RemoveClient(oauthtest.DefaultClientID)
	wantError(t, clientCredentials(t, srv, defaultAuth, nil), http.StatusUnauthorized, "invalid_client")
	if r := callAPI(t, srv, tok); r.status != http.StatusOK {
		t.Errorf("a token of a removed client: %d, want still valid", r.status)
	}
	srv.AddClient(oauthtest.DefaultClientID, "new")
	if r := clientCredentials(t, srv, auth{id: oauthtest.DefaultClientID, secret: "new", basic: true}, nil); r.status != http.StatusOK {
		t.Errorf("after AddClient: %d %s", r.status, r.raw)
	}
	if n := srv.RevokeClient(oauthtest.DefaultClientID); n != 2 {
		t.Errorf("RevokeClient revoked %d active tokens, want 2", n)
	}
	if r := callAPI(t, srv, tok); r.status != http.StatusUnauthorized {
		t.Errorf("after RevokeClient: %d", r.status)
	}
}
