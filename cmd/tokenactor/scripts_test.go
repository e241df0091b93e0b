package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/internal/safefile"
	"github.com/tokenactor/tokenactor/strategy"
)

// seedValid saves a session whose access token is valid for left more,
// with a refresh token the server knows, and returns both tokens.
func seedValid(t *testing.T, c *cli, srv *authServer, left time.Duration) (access, refresh string) {
	t.Helper()
	access, _ = newToken()
	refresh, _ = newToken()
	srv.cc.store(access, time.Now().Add(left))
	srv.mu.Lock()
	srv.refresh[refresh] = true
	srv.mu.Unlock()
	store := strategy.NewFileStore(c.env[strategy.EnvConfigDir])
	err := store.Save(context.Background(), "default", strategy.Session{
		TokenURL: srv.URL + "/token", ClientID: "cli",
		AccessToken: tokenactor.NewSecretToken(access), TokenType: "Bearer",
		ExpiresAt:    time.Now().Add(left),
		RefreshToken: tokenactor.NewSecretToken(refresh),
	})
	if err != nil {
		t.Fatal(err)
	}
	return access, refresh
}

func accessKeyCLI(t *testing.T, srv *authServer, vars ...string) *cli {
	return newCLI(t, append([]string{
		strategy.EnvAccessKey, "svc." + srv.cc.clientSecret,
		strategy.EnvTokenURL, srv.URL + "/token",
	}, vars...)...)
}

func TestTokenSendsRequestParameters(t *testing.T) {
	srv := newAuthServer(t)
	c := accessKeyCLI(t, srv,
		envScope, "read write",
		envResource, "https://api.example.com/",
		envParams, "tenant=acme&region=eu")
	r := c.run("token", "-audience", "billing", "-param", "region=us", "-param", "trace=on")
	if r.code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	got := srv.lastForm("/token")
	want := map[string][]string{
		"grant_type": {"client_credentials"},
		"scope":      {"read write"},
		"audience":   {"billing"},
		"resource":   {"https://api.example.com/"},
		"tenant":     {"acme"},
		"region":     {"eu", "us"},
		"trace":      {"on"},
	}
	if diff := cmp.Diff(want, map[string][]string(got)); diff != "" {
		t.Errorf("token request (-want +got):\n%s", diff)
	}
}

func TestLoginSendsRequestParameters(t *testing.T) {
	srv := newAuthServer(t)
	srv.autoApprove = true
	c := newCLI(t, envDeviceAuthURL, srv.URL+"/device", strategy.EnvTokenURL, srv.URL+"/token",
		envLoginClientID, "cli", envAudience, "billing")
	r := c.run("login", "-scope", "read offline_access", "-resource", "https://api.example.com/", "-param", "prompt=consent")
	if r.code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	got := srv.lastForm("/device")
	want := map[string][]string{
		"client_id": {"cli"},
		"scope":     {"read offline_access"},
		"audience":  {"billing"},
		"resource":  {"https://api.example.com/"},
		"prompt":    {"consent"},
	}
	if diff := cmp.Diff(want, map[string][]string(got)); diff != "" {
		t.Errorf("device authorization request (-want +got):\n%s", diff)
	}
}

func TestBadRequestParameters(t *testing.T) {
	srv := newAuthServer(t)
	tests := []struct {
		name    string
		vars    []string
		args    []string
		wantErr string
	}{
		{name: "reserved", args: []string{"-param", "grant_type=password"}, wantErr: "-param (TOKENACTOR_PARAMS): sets grant_type, which the strategy sets itself"},
		{name: "set twice", args: []string{"-scope", "read", "-param", "scope=write"}, wantErr: "-param (TOKENACTOR_PARAMS): sets scope, which another field sets too"},
		{name: "no name", args: []string{"-param", "=x"}, wantErr: "-param wants name=value"},
		{name: "no equals sign", args: []string{"-param", "client_assertion:eyJhbGciOiJFUzI1NiJ9.c2VjcmV0.SIGNATURE-SECRET"}, wantErr: "-param wants name=value"},
		{name: "bad variable", vars: []string{envParams, "a=%zz"}, wantErr: "TOKENACTOR_PARAMS is not a form-encoded list"},
		{name: "bad style", args: []string{"-auth-style", "mtls"}, wantErr: "-auth-style (or TOKENACTOR_AUTH_STYLE) must be basic, body or detect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := accessKeyCLI(t, srv, tt.vars...).run(append([]string{"token"}, tt.args...)...)
			if r.code != exitUsage || !strings.Contains(r.stderr, tt.wantErr) {
				t.Errorf("exit %d, want %d with %q; stderr:\n%s", r.code, exitUsage, tt.wantErr, r.stderr)
			}
			if strings.Contains(r.stderr, "Config") {
				t.Errorf("stderr names a Go type:\n%s", r.stderr)
			}
			for _, a := range tt.args {
				if strings.Contains(a, "SECRET") && strings.Contains(r.stderr, "SECRET") {
					t.Errorf("stderr repeats the value given:\n%s", r.stderr)
				}
			}
		})
	}
	if n := srv.basic.Load() + srv.body.Load(); n != 0 {
		t.Errorf("%d token requests sent for bad command lines", n)
	}
}

func TestTokenAuthStyle(t *testing.T) {
	tests := []struct {
		style               string
		wantCode            int
		wantBasic, wantBody int64
	}{
		{style: "basic", wantCode: exitNotAuthenticated, wantBasic: 1},
		{style: "body", wantCode: exitOK, wantBody: 1},
		{style: "detect", wantCode: exitOK, wantBasic: 1, wantBody: 1},
	}
	for _, tt := range tests {
		t.Run(tt.style, func(t *testing.T) {
			srv := newAuthServer(t)
			srv.bodyOnly = true
			r := accessKeyCLI(t, srv, envAuthStyle, tt.style).run("token")
			if r.code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr:\n%s", r.code, tt.wantCode, r.stderr)
			}
			if b, d := srv.basic.Load(), srv.body.Load(); b != tt.wantBasic || d != tt.wantBody {
				t.Errorf("%d Basic and %d body requests, want %d and %d", b, d, tt.wantBasic, tt.wantBody)
			}
		})
	}
}

// TestTokenAuthStyleDetectRemembers makes one process ask twice (the first
// token lives less than -min-valid): the second grant goes straight to the
// style that worked.
func TestTokenAuthStyleDetectRemembers(t *testing.T) {
	srv := newAuthServer(t)
	srv.bodyOnly = true
	srv.cc.lifetime = 30 * time.Second
	r := accessKeyCLI(t, srv).run("token", "-auth-style", "detect", "-min-valid", "1m")
	if r.code != exitUsage || !strings.Contains(r.stderr, "less than 1m0s; lower -min-valid") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if b, d := srv.basic.Load(), srv.body.Load(); b != 1 || d != 2 {
		t.Errorf("%d Basic and %d body requests, want 1 and 2", b, d)
	}
}

func TestProfileWinsOverEnvironment(t *testing.T) {
	srv := newAuthServer(t)
	c := accessKeyCLI(t, srv)
	access, _ := seedValid(t, c, srv, time.Hour)

	r := c.run("token", "-profile", "default")
	if r.code != exitOK || r.stdout != access+"\n" {
		t.Errorf("token -profile: exit %d, printed the session's token: %t; stderr:\n%s", r.code, r.stdout == access+"\n", r.stderr)
	}
	if n := srv.basic.Load(); n != 0 {
		t.Errorf("token -profile used the credentials in the environment (%d grants)", n)
	}
	st := c.run("status", "-profile", "default")
	if st.code != exitOK || !strings.Contains(st.stdout, "user session") {
		t.Errorf("status -profile: exit %d, stdout:\n%s", st.code, st.stdout)
	}
	// Without -profile the environment wins, as the help says.
	r = c.run("token")
	if r.code != exitOK || r.stdout == access+"\n" || srv.basic.Load() != 1 {
		t.Errorf("token: exit %d, used the session: %t", r.code, r.stdout == access+"\n")
	}
}

func TestTokenMinValid(t *testing.T) {
	srv := newAuthServer(t)
	c := newCLI(t)
	access, _ := seedValid(t, c, srv, 30*time.Second)

	r := c.run("token", "-min-valid", "10s")
	if r.code != exitOK || r.stdout != access+"\n" {
		t.Errorf("-min-valid 10s: exit %d, printed the saved token: %t; stderr:\n%s", r.code, r.stdout == access+"\n", r.stderr)
	}
	if n := srv.refreshes.Load(); n != 0 {
		t.Errorf("%d refreshes for a token valid long enough", n)
	}
	r = c.run("token") // default: a minute
	tok := strings.TrimSuffix(r.stdout, "\n")
	if r.code != exitOK || tok == access || !accepted(t, srv, tok) {
		t.Errorf("default -min-valid: exit %d, printed the token with 30 s left: %t; stderr:\n%s", r.code, tok == access, r.stderr)
	}
	if n := srv.refreshes.Load(); n != 1 {
		t.Errorf("%d refreshes, want 1", n)
	}
}

func TestTokenMinValidLongerThanTheServerGives(t *testing.T) {
	srv := newAuthServer(t)
	srv.cc.lifetime = 30 * time.Second
	r := accessKeyCLI(t, srv).run("token")
	if r.code != exitUsage || r.stdout != "" || !strings.Contains(r.stderr, "the server issued a token valid for 30s, less than 1m0s; lower -min-valid") {
		t.Errorf("exit %d, stdout %q, stderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if r := accessKeyCLI(t, srv).run("token", "-min-valid", "0"); r.code != exitOK {
		t.Errorf("-min-valid 0: exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

func TestTokenFormats(t *testing.T) {
	srv := newAuthServer(t)
	c := accessKeyCLI(t, srv)
	before := time.Now().Add(time.Hour - time.Minute)

	r := c.run("token", "-format", "json")
	var js struct {
		Token     string    `json:"token"`
		Type      string    `json:"type"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil || r.code != exitOK {
		t.Fatalf("json: exit %d, %v; stdout %q", r.code, err, r.stdout)
	}
	if !accepted(t, srv, js.Token) || js.Type != "Bearer" || js.ExpiresAt.Before(before) {
		t.Errorf("json: accepted %t, type %q, expires_at %v", accepted(t, srv, js.Token), js.Type, js.ExpiresAt)
	}

	r = c.run("token", "-format", "exec-credential")
	var ec struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Status     struct {
			Token               string    `json:"token"`
			ExpirationTimestamp time.Time `json:"expirationTimestamp"`
		} `json:"status"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &ec); err != nil || r.code != exitOK {
		t.Fatalf("exec-credential: exit %d, %v; stdout %q", r.code, err, r.stdout)
	}
	if ec.APIVersion != "client.authentication.k8s.io/v1" || ec.Kind != "ExecCredential" || !accepted(t, srv, ec.Status.Token) || ec.Status.ExpirationTimestamp.Before(before) {
		t.Errorf("exec-credential: %s %s, accepted %t, expires %v", ec.APIVersion, ec.Kind, accepted(t, srv, ec.Status.Token), ec.Status.ExpirationTimestamp)
	}

	if r := c.run("token", "-format", "yaml"); r.code != exitUsage || !strings.Contains(r.stderr, "-format must be token, json or exec-credential") {
		t.Errorf("unknown format: exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

func TestStatusCheckAsksTheServer(t *testing.T) {
	tests := []struct {
		name     string
		metadata bool
		revoked  bool
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{name: "refresh: active", wantCode: exitOK, wantOut: "refreshed the session: the access token is valid until"},
		{name: "refresh: revoked", revoked: true, wantCode: exitNotAuthenticated, wantErr: "invalid_grant"},
		{name: "introspection: active", metadata: true, wantCode: exitOK, wantOut: "the session is active, said "},
		{name: "introspection: revoked", metadata: true, revoked: true, wantCode: exitNotAuthenticated, wantOut: "the session is not active", wantErr: "The server ended the session."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newAuthServer(t)
			srv.metadata = tt.metadata
			c := newCLI(t)
			access, refresh := seedValid(t, c, srv, time.Hour)
			if tt.revoked {
				srv.revokeAll()
			}
			st := c.run("status")
			if st.code != exitOK || !strings.Contains(st.stdout, "not asked") || strings.Contains(st.stdout, "session is") {
				t.Errorf("status: exit %d; it must say the server was not asked:\n%s", st.code, st.stdout)
			}
			r := c.run("status", "-check")
			if r.code != tt.wantCode || !strings.Contains(r.stdout, tt.wantOut) || !strings.Contains(r.stderr, tt.wantErr) {
				t.Errorf("status -check: exit %d, want %d, stdout with %q, stderr with %q:\n%s%s", r.code, tt.wantCode, tt.wantOut, tt.wantErr, r.stdout, r.stderr)
			}
			noSecrets(t, st.stdout+st.stderr+r.stdout+r.stderr, access, refresh)
		})
	}
}

func TestLoginAgainReusesTheSession(t *testing.T) {
	srv := newAuthServer(t)
	srv.autoApprove = true
	c := newCLI(t)
	seedValid(t, c, srv, time.Hour)

	r := c.run("login", "-device-url", srv.URL+"/device")
	if r.code != exitOK || !strings.Contains(r.stderr, "Using the token URL "+srv.URL+"/token and client ID cli saved with profile default.") {
		t.Errorf("login: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	// A server publishing metadata at its origin: no flag at all.
	srv.metadata = true
	r = c.run("login")
	if r.code != exitOK || !strings.Contains(r.stderr, "Logged in as client cli") {
		t.Errorf("login without flags: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	// Without metadata or a saved session, the flags are required.
	r = newCLI(t).run("login", "-token-url", srv.URL+"/token", "-client-id", "cli")
	if srv.metadata = false; r.code != exitOK {
		t.Errorf("login with the device URL from metadata: exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

func TestLoginWithIssuer(t *testing.T) {
	srv := newAuthServer(t)
	srv.autoApprove = true
	srv.metadata = true
	old := newAuthServer(t)
	c := newCLI(t, strategy.EnvIssuer, srv.URL, envLoginClientID, "cli")
	seedValid(t, c, old, time.Hour) // a session at another server: the issuer wins
	if r := c.run("login"); r.code != exitOK {
		t.Fatalf("login: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if got := c.savedSession()["token_url"]; got != srv.URL+"/token" {
		t.Errorf("saved token URL %v, want the one in the metadata", got)
	}
}

func TestTokenWithIssuer(t *testing.T) {
	srv := newAuthServer(t)
	srv.metadata = true
	c := newCLI(t, strategy.EnvAccessKey, "svc."+srv.cc.clientSecret)
	r := c.run("token", "-issuer", srv.URL)
	if tok := strings.TrimSuffix(r.stdout, "\n"); r.code != exitOK || !accepted(t, srv, tok) {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	srv.issuer = "https://impostor.example.com"
	r = c.run("token", "-issuer", srv.URL)
	if r.code != exitUsage || !strings.Contains(r.stderr, "-issuer (TOKENACTOR_ISSUER): the server's metadata names issuer \"https://impostor.example.com\"") || !strings.Contains(r.stderr, "RFC 8414 §3.3") {
		t.Errorf("issuer mismatch: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	srv.metadata = false
	r = c.run("token", "-issuer", srv.URL)
	if r.code != exitUsage || !strings.Contains(r.stderr, "no authorization server metadata") {
		t.Errorf("no metadata: exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

// User info in a URL is masked whole: a user name can be a token too.
func TestStatusHidesPasswordsInURLs(t *testing.T) {
	srv := newAuthServer(t)
	withPassword := strings.Replace(srv.URL, "http://", "http://ghp_user:hunter2@", 1) + "/token"
	c := newCLI(t, strategy.EnvAccessKey, "svc.x", strategy.EnvTokenURL, withPassword)
	r := c.run("status")
	if r.code != exitOK || !strings.Contains(r.stdout, "http://xxxxx@") {
		t.Errorf("status: exit %d, stdout:\n%s", r.code, r.stdout)
	}
	noSecrets(t, r.stdout+r.stderr, "hunter2", "ghp_user")

	c = newCLI(t)
	store := strategy.NewFileStore(c.env[strategy.EnvConfigDir])
	err := store.Save(context.Background(), "default", strategy.Session{
		TokenURL: withPassword, ClientID: "cli",
		AccessToken: tokenactor.NewSecretToken("a"), RefreshToken: tokenactor.NewSecretToken("r"),
		ExpiresAt: time.Now().Add(time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	r = c.run("status")
	if r.code != exitOK || !strings.Contains(r.stdout, "http://xxxxx@") {
		t.Errorf("status of a session: exit %d, stdout:\n%s", r.code, r.stdout)
	}
	noSecrets(t, r.stdout+r.stderr, "hunter2", "ghp_user")
}

// dnsFailure is a transport whose every host does not exist, as the
// resolver reports it, so no query leaves the machine.
func dnsFailure() http.RoundTripper {
	return &http.Transport{DialContext: func(_ context.Context, _, addr string) (net.Conn, error) {
		host, _, _ := net.SplitHostPort(addr)
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}
	}}
}

func TestErrorsInTheUsersWords(t *testing.T) {
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html><body>Welcome</body></html>"))
	}))
	defer html.Close()
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-hang:
		}
	}))
	defer slow.Close()
	defer close(hang)
	srv := newAuthServer(t)

	key := []string{strategy.EnvAccessKey, "svc.some-secret"}
	tests := []struct {
		name      string
		vars      []string
		args      []string
		transport http.RoundTripper
		wantCode  int
		wantErr   []string
		never     []string
	}{
		{
			name:     "malformed token URL",
			vars:     append(key, strategy.EnvTokenURL, "127.0.0.1/token"),
			wantCode: exitUsage,
			wantErr:  []string{"tokenactor token: -token-url (TOKENACTOR_TOKEN_URL): not an absolute URL"},
		},
		{
			name:      "host does not exist",
			vars:      append(key, strategy.EnvTokenURL, "https://auth.no-such-host.example/token"),
			transport: dnsFailure(),
			wantCode:  exitUsage,
			wantErr:   []string{`the host "auth.no-such-host.example" of the token endpoint does not exist`, "Check the URL: -token-url (TOKENACTOR_TOKEN_URL)."},
		},
		{
			name:     "timeout",
			vars:     append(key, strategy.EnvTokenURL, slow.URL+"/token"),
			args:     []string{"-timeout", "300ms"},
			wantCode: exitTemporary,
			wantErr:  []string{"no answer from the token endpoint " + slow.URL + "/token within 300ms (-timeout)"},
			never:    []string{"context deadline exceeded"},
		},
		{
			name:     "HTML page",
			vars:     append(key, strategy.EnvTokenURL, html.URL+"/login"),
			wantCode: exitUsage,
			wantErr:  []string{"the token endpoint " + html.URL + "/login answered with a success that is no OAuth answer (body is not a JSON object): this is not an OAuth token endpoint"},
		},
		{
			name:     "not found",
			vars:     append(key, strategy.EnvTokenURL, html.URL+"/missing"),
			wantCode: exitUsage,
			wantErr:  []string{"answered with HTTP 404", "this is not an OAuth token endpoint"},
		},
		{
			name:     "device endpoint is an HTML page",
			args:     []string{"login", "-device-url", html.URL + "/device", "-token-url", srv.URL + "/token", "-client-id", "cli"},
			wantCode: exitUsage,
			wantErr:  []string{"this is not an OAuth device authorization endpoint", "Check the URL: -device-url (TOKENACTOR_DEVICE_AUTH_URL)."},
		},
		{
			name:     "device endpoint refuses",
			args:     []string{"login", "-device-url", srv.URL + "/device", "-token-url", srv.URL + "/token", "-client-id", "someone-else"},
			wantCode: exitNotAuthenticated,
			wantErr:  []string{"device authorization endpoint refused (HTTP 401): invalid_client"},
			never:    []string{"token endpoint refused"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCLI(t, tt.vars...)
			args := tt.args
			if len(args) == 0 || args[0] != "login" {
				args = append([]string{"token"}, args...)
			}
			var stdout, stderr strings.Builder
			e := &env{stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return c.env[k] }, transport: tt.transport}
			code := run(context.Background(), e, args)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.wantCode, stderr.String())
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
			for _, never := range tt.never {
				if strings.Contains(stderr.String(), never) {
					t.Errorf("stderr has %q:\n%s", never, stderr.String())
				}
			}
			if strings.Contains(stderr.String(), "Config.") {
				t.Errorf("stderr names a Go field:\n%s", stderr.String())
			}
			noSecrets(t, stderr.String(), "some-secret")
		})
	}
}

func TestLogoutRevokes(t *testing.T) {
	tests := []struct {
		name     string
		metadata bool
		args     func(srv *authServer) []string
		wantOut  string
		revoked  bool
	}{
		{name: "endpoint from the metadata", metadata: true, wantOut: "Revoked the refresh token (and with it the session) at ", revoked: true},
		{name: "endpoint from the flag", args: func(srv *authServer) []string { return []string{"-revoke-url", srv.URL + "/revoke"} }, wantOut: "Revoked the refresh token", revoked: true},
		{name: "no endpoint", wantOut: "the session's tokens stay valid at the server until they expire"},
		{name: "local", metadata: true, args: func(*authServer) []string { return []string{"-local"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newAuthServer(t)
			srv.metadata = tt.metadata
			c := newCLI(t)
			_, refresh := seedValid(t, c, srv, time.Hour)
			args := []string{"logout"}
			if tt.args != nil {
				args = append(args, tt.args(srv)...)
			}
			r := c.run(args...)
			if r.code != exitOK || !strings.Contains(r.stderr, tt.wantOut) || !strings.Contains(r.stderr, "removed "+c.sessionPath()) {
				t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
			}
			srv.mu.Lock()
			live := srv.refresh[refresh]
			srv.mu.Unlock()
			if live == tt.revoked {
				t.Errorf("refresh token still valid at the server: %t, want %t", live, !tt.revoked)
			}
			if _, err := os.Stat(c.sessionPath()); !os.IsNotExist(err) {
				t.Errorf("session file still there: %v", err)
			}
			noSecrets(t, r.stderr, refresh)
		})
	}
}

func TestLogoutKeepsTheSessionWhenRevocationFails(t *testing.T) {
	srv := newAuthServer(t)
	down := newAuthServer(t)
	down.Close()
	c := newCLI(t)
	seedValid(t, c, srv, time.Hour)
	r := c.run("logout", "-revoke-url", down.URL+"/revoke")
	if r.code != exitTemporary || !strings.Contains(r.stderr, "revocation request failed") || !strings.Contains(r.stderr, "The session is kept") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(c.sessionPath()); err != nil {
		t.Errorf("session removed although not revoked: %v", err)
	}
	if r := c.run("logout", "-local"); r.code != exitOK {
		t.Errorf("logout -local: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(c.sessionPath()); !os.IsNotExist(err) {
		t.Errorf("session file still there after -local: %v", err)
	}
}

func TestStatusCheckOfClientCredentials(t *testing.T) {
	srv := newAuthServer(t)
	r := accessKeyCLI(t, srv).run("status", "-check")
	if r.code != exitOK || !strings.Contains(r.stdout, "issued a new token: the access token is valid until") || srv.basic.Load() != 1 {
		t.Errorf("exit %d, %d grants, stdout:\n%s%s", r.code, srv.basic.Load(), r.stdout, r.stderr)
	}
	c := newCLI(t, strategy.EnvAccessKey, "svc.wrong-secret", strategy.EnvTokenURL, srv.URL+"/token")
	if r := c.run("status"); r.code != exitOK || !strings.Contains(r.stdout, "not asked") {
		t.Errorf("status without -check: exit %d, stdout:\n%s", r.code, r.stdout)
	}
	r = c.run("status", "-check")
	if r.code != exitNotAuthenticated || !strings.Contains(r.stderr, "invalid_client") {
		t.Errorf("wrong secret: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	noSecrets(t, r.stdout+r.stderr, "wrong-secret", srv.cc.clientSecret)
}

func TestInvalidPortIsAConfigurationError(t *testing.T) {
	r := newCLI(t, strategy.EnvAccessKey, "svc.x", strategy.EnvTokenURL, "http://127.0.0.1:99999/token").run("token")
	if r.code != exitUsage || !strings.Contains(r.stderr, "the address of the token endpoint is not valid") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

// TestHelpHidesEnvironmentValues checks that --help names the variables
// but never shows their values: a URL may carry a password.
func TestHelpHidesEnvironmentValues(t *testing.T) {
	c := newCLI(t, strategy.EnvTokenURL, "https://user:hunter2@auth.example/token",
		strategy.EnvIssuer, "https://user:hunter2@auth.example", envDeviceAuthURL, "https://user:hunter2@auth.example/device",
		envRevocationURL, "https://user:hunter2@auth.example/revoke", envScope, "hunter2", envParams, "k=hunter2")
	for _, cmd := range []string{"token", "login", "logout", "status"} {
		r := c.run(cmd, "--help")
		if r.code != exitOK || !strings.Contains(r.stdout, "TOKENACTOR_") {
			t.Errorf("%s --help: exit %d, stdout:\n%s", cmd, r.code, r.stdout)
		}
		noSecrets(t, r.stdout, "hunter2")
	}
}

func TestProfileWithoutSessionSaysTheEnvironmentWasNotUsed(t *testing.T) {
	srv := newAuthServer(t)
	r := accessKeyCLI(t, srv).run("token", "-profile", "work")
	if r.code != exitNotAuthenticated || !strings.Contains(r.stderr, "-profile was given, so the client credentials set in the environment were not used") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if n := srv.basic.Load(); n != 0 {
		t.Errorf("%d grants with the credentials in the environment", n)
	}
}

// Logout takes the temporary files of saves that crashed before their
// rename with the session: one may hold the only valid refresh token.
func TestLogoutRemovesUnfinishedSaves(t *testing.T) {
	c := newCLI(t)
	srv := newAuthServer(t)
	seed(t, c, srv)
	dir := c.env[strategy.EnvConfigDir]
	var temps []string
	for name, content := range map[string]string{
		"default.json":        `{"version":1,"refresh_token":"rotated-refresh-token"}`,
		"default.client-auth": `{"version":1,"client_key_file":"/k.pem"}`,
	} {
		tmp, err := safefile.WriteTemp(dir, name, []byte(content))
		if err != nil {
			t.Fatal(err)
		}
		temps = append(temps, tmp)
	}
	if r := c.run("logout", "-local"); r.code != exitOK {
		t.Fatalf("logout: exit %d\n%s", r.code, r.stderr)
	}
	for _, p := range temps {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("logout left %s (%v)", filepath.Base(p), err)
		}
	}
}

// A session or a list of key files that is a directory is not removed by
// logout, which says so and does not send the user back to logout.
func TestLogoutOfADirectory(t *testing.T) {
	for _, which := range []string{"default.json", "default.client-auth"} {
		t.Run(which, func(t *testing.T) {
			c := newCLI(t)
			dir := c.env[strategy.EnvConfigDir]
			if err := os.MkdirAll(filepath.Join(dir, which, "inside"), 0o700); err != nil {
				t.Fatal(err)
			}
			r := c.run("logout", "-local")
			if r.code != exitFailure || !strings.Contains(r.stderr, "a directory, not a regular file") || strings.Contains(r.stderr, "directory not empty") {
				t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
			}
			if strings.Contains(r.stderr, "Run 'tokenactor logout'") {
				t.Errorf("the advice sends the user back to logout:\n%s", r.stderr)
			}
		})
	}
}
