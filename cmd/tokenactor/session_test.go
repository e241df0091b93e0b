package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/strategy"
)

// cli runs commands with a fixed environment, as a shell user would.
type cli struct {
	t   *testing.T
	env map[string]string
	// transport sends the commands' requests; nil for the default.
	transport http.RoundTripper
}

func newCLI(t *testing.T, vars ...string) *cli {
	c := &cli{t: t, env: map[string]string{strategy.EnvConfigDir: t.TempDir()}}
	for i := 0; i+1 < len(vars); i += 2 {
		c.env[vars[i]] = vars[i+1]
	}
	return c
}

type result struct {
	code           int
	stdout, stderr string
}

func (c *cli) run(args ...string) result {
	c.t.Helper()
	var stdout, stderr bytes.Buffer
	e := &env{stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return c.env[k] }, transport: c.transport}
	code := run(context.Background(), e, args)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func (c *cli) sessionPath() string {
	return filepath.Join(c.env[strategy.EnvConfigDir], "default.json")
}

// savedSession reads the session file as JSON, with its secrets.
func (c *cli) savedSession() map[string]any {
	c.t.Helper()
	b, err := os.ReadFile(c.sessionPath())
	if err != nil {
		c.t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		c.t.Fatal(err)
	}
	return m
}

// accepted reports whether the server's API takes tok.
func accepted(t *testing.T, srv *authServer, tok string) bool {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func noSecrets(t *testing.T, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("output holds a secret:\n%s", text)
		}
	}
}

func TestTokenFromAccessKey(t *testing.T) {
	srv := newAuthServer(t)
	c := newCLI(t,
		strategy.EnvAccessKey, "svc."+srv.cc.clientSecret,
		strategy.EnvTokenURL, srv.URL+"/token")
	r := c.run("token")
	if r.code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	tok := strings.TrimSuffix(r.stdout, "\n")
	if strings.Contains(tok, "\n") || !accepted(t, srv, tok) {
		t.Errorf("stdout %q is not one token the API accepts", r.stdout)
	}
	if r.stderr != "" {
		t.Errorf("stderr not empty:\n%s", r.stderr)
	}

	st := c.run("status")
	if st.code != exitOK {
		t.Fatalf("status: exit %d, stderr:\n%s", st.code, st.stderr)
	}
	for _, want := range []string{"environment: TOKENACTOR_ACCESS_KEY", "client credentials", "svc (from TOKENACTOR_ACCESS_KEY)", srv.URL + "/token"} {
		if !strings.Contains(st.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, st.stdout)
		}
	}
	noSecrets(t, st.stdout+st.stderr, srv.cc.clientSecret, tok)
}

func TestTokenFailures(t *testing.T) {
	srv := newAuthServer(t)
	down := newAuthServer(t)
	down.Close() // nothing listens at its address any more
	tests := []struct {
		name     string
		vars     []string
		wantCode int
		wantErr  string
	}{
		{
			name:     "no credentials",
			wantCode: exitNotAuthenticated,
			wantErr:  "Run 'tokenactor login', or set TOKENACTOR_ACCESS_KEY and TOKENACTOR_TOKEN_URL.",
		},
		{
			name:     "wrong secret",
			vars:     []string{strategy.EnvAccessKey, "svc.wrong-secret", strategy.EnvTokenURL, srv.URL + "/token"},
			wantCode: exitNotAuthenticated,
			wantErr:  "invalid_client",
		},
		{
			name:     "server down",
			vars:     []string{strategy.EnvAccessKey, "svc.some-secret", strategy.EnvTokenURL, down.URL + "/token"},
			wantCode: exitTemporary,
			wantErr:  "try again later",
		},
		{
			name:     "client ID without secret",
			vars:     []string{strategy.EnvClientID, "svc", strategy.EnvTokenURL, srv.URL + "/token"},
			wantCode: exitUsage,
			wantErr:  "TOKENACTOR_CLIENT_SECRET",
		},
		{
			name:     "key without token URL",
			vars:     []string{strategy.EnvAccessKey, "svc.some-secret"},
			wantCode: exitUsage,
			wantErr:  "TOKENACTOR_TOKEN_URL",
		},
		{
			name:     "malformed key",
			vars:     []string{strategy.EnvAccessKey, "no-dot-here", strategy.EnvTokenURL, srv.URL + "/token"},
			wantCode: exitUsage,
			wantErr:  "TOKENACTOR_ACCESS_KEY",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newCLI(t, tt.vars...).run("token", "-timeout", "5s")
			if r.code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr:\n%s", r.code, tt.wantCode, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.wantErr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantErr, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout not empty on failure: %q", r.stdout)
			}
			noSecrets(t, r.stderr, "wrong-secret", "some-secret", "no-dot-here", srv.cc.clientSecret)
		})
	}
}

// TestLoginTokenStatusLogout walks a user through the whole session
// lifecycle against the loopback authorization server.
func TestLoginTokenStatusLogout(t *testing.T) {
	srv := newAuthServer(t)
	srv.autoApprove = true
	c := newCLI(t, envDeviceAuthURL, srv.URL+"/device", strategy.EnvTokenURL, srv.URL+"/token", envLoginClientID, "cli")

	login := c.run("login", "-scope", "read offline_access")
	if login.code != exitOK {
		t.Fatalf("login: exit %d, stderr:\n%s", login.code, login.stderr)
	}
	for _, want := range []string{"To log in, open " + srv.URL + "/activate", "enter the code: ", "Waiting for approval", "Logged in as client cli", c.sessionPath()} {
		if !strings.Contains(login.stderr, want) {
			t.Errorf("login output lacks %q:\n%s", want, login.stderr)
		}
	}
	if login.stdout != "" {
		t.Errorf("login wrote to stdout: %q", login.stdout)
	}
	fi, err := os.Stat(c.sessionPath())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("session file mode %v, want 0600", fi.Mode().Perm())
	}
	saved := c.savedSession()
	access, _ := saved["access_token"].(string)
	refresh, _ := saved["refresh_token"].(string)
	if access == "" || refresh == "" {
		t.Fatalf("saved session lacks tokens: keys %v", keys(saved))
	}
	noSecrets(t, login.stderr, access, refresh)

	tok := c.run("token")
	if tok.code != exitOK || tok.stdout != access+"\n" {
		t.Errorf("token: exit %d, stdout is the saved token: %t; stderr:\n%s", tok.code, tok.stdout == access+"\n", tok.stderr)
	}
	if !accepted(t, srv, access) {
		t.Error("the API rejects the token login saved")
	}

	st := c.run("status")
	if st.code != exitOK {
		t.Fatalf("status: exit %d, stderr:\n%s", st.code, st.stderr)
	}
	for _, want := range []string{"profile default in " + c.sessionPath(), "user session", "stored in", c.sessionPath(), "client", "cli", "scope", "read", "valid until", "refresh", "yes"} {
		if !strings.Contains(st.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, st.stdout)
		}
	}
	noSecrets(t, st.stdout+st.stderr, access, refresh)

	out := c.run("logout")
	if out.code != exitOK || !strings.Contains(out.stderr, "removed "+c.sessionPath()) {
		t.Errorf("logout: exit %d, stderr:\n%s", out.code, out.stderr)
	}
	if _, err := os.Stat(c.sessionPath()); !os.IsNotExist(err) {
		t.Errorf("session file still there after logout: %v", err)
	}
	again := c.run("logout")
	if again.code != exitOK || !strings.Contains(again.stderr, "nothing to do") {
		t.Errorf("second logout: exit %d, stderr:\n%s", again.code, again.stderr)
	}
	if r := c.run("token"); r.code != exitNotAuthenticated {
		t.Errorf("token after logout: exit %d, want %d", r.code, exitNotAuthenticated)
	}
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// seed saves a session whose access token expired an hour ago, with a
// refresh token the server knows.
func seed(t *testing.T, c *cli, srv *authServer) (refresh string) {
	t.Helper()
	refresh, _ = newToken()
	srv.mu.Lock()
	srv.refresh[refresh] = true
	srv.mu.Unlock()
	store := strategy.NewFileStore(c.env[strategy.EnvConfigDir])
	err := store.Save(context.Background(), "default", strategy.Session{
		TokenURL: srv.URL + "/token", ClientID: "cli",
		AccessToken: tokenactor.NewSecretToken("stale-access-token"), TokenType: "Bearer",
		ExpiresAt:    time.Now().Add(-time.Hour),
		RefreshToken: tokenactor.NewSecretToken(refresh),
	})
	if err != nil {
		t.Fatal(err)
	}
	return refresh
}

func TestTokenRefreshesAndRotates(t *testing.T) {
	srv := newAuthServer(t)
	c := newCLI(t)
	old := seed(t, c, srv)

	r := c.run("token")
	if r.code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	tok := strings.TrimSuffix(r.stdout, "\n")
	if !accepted(t, srv, tok) {
		t.Error("the API rejects the refreshed token")
	}
	saved := c.savedSession()
	if diff := cmp.Diff(tok, saved["access_token"]); diff != "" {
		t.Errorf("saved access token (-printed +saved):\n%s", diff)
	}
	if saved["refresh_token"] == old {
		t.Error("the rotated refresh token was not saved")
	}
	if n := srv.refreshes.Load(); n != 1 {
		t.Errorf("%d refresh grants, want 1", n)
	}
	// A second process uses the saved token: no refresh.
	if r := c.run("token"); r.code != exitOK || strings.TrimSuffix(r.stdout, "\n") != tok {
		t.Errorf("second token: exit %d, same token %t", r.code, strings.TrimSuffix(r.stdout, "\n") == tok)
	}
	if n := srv.refreshes.Load(); n != 1 {
		t.Errorf("%d refresh grants after a second run, want 1", n)
	}
}

func TestRevokedSession(t *testing.T) {
	srv := newAuthServer(t)
	c := newCLI(t)
	refresh := seed(t, c, srv)
	srv.revokeAll()

	st := c.run("status")
	if st.code != exitOK || !strings.Contains(st.stdout, "expired at") {
		t.Errorf("status without -check: exit %d (the file alone looks refreshable), stdout:\n%s", st.code, st.stdout)
	}
	chk := c.run("status", "-check")
	if chk.code != exitNotAuthenticated || !strings.Contains(chk.stderr, "invalid_grant") || !strings.Contains(chk.stderr, "tokenactor login") {
		t.Errorf("status -check: exit %d, want %d; stderr:\n%s", chk.code, exitNotAuthenticated, chk.stderr)
	}
	r := c.run("token")
	if r.code != exitNotAuthenticated || r.stdout != "" {
		t.Errorf("token: exit %d, stdout %q; want %d and nothing", r.code, r.stdout, exitNotAuthenticated)
	}
	noSecrets(t, st.stdout+chk.stdout+chk.stderr+r.stderr, refresh, "stale-access-token")
}

func TestCorruptSession(t *testing.T) {
	c := newCLI(t)
	if err := os.WriteFile(c.sessionPath(), []byte(`{"version":1,"access_token":"secret-in-a-broken-fi`), 0o600); err != nil {
		t.Fatal(err)
	}
	r := c.run("token")
	if r.code != exitFailure || !strings.Contains(r.stderr, "tokenactor logout") {
		t.Errorf("token: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	noSecrets(t, r.stderr, "secret-in-a-broken-fi")
	if r := c.run("logout"); r.code != exitOK {
		t.Errorf("logout of a corrupt session: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(c.sessionPath()); !os.IsNotExist(err) {
		t.Errorf("corrupt file still there after logout: %v", err)
	}
}

func TestLoginDenied(t *testing.T) {
	srv := newAuthServer(t)
	srv.deny = true
	c := newCLI(t, envDeviceAuthURL, srv.URL+"/device", strategy.EnvTokenURL, srv.URL+"/token", envLoginClientID, "cli")
	r := c.run("login")
	if r.code != exitNotAuthenticated || !strings.Contains(r.stderr, "The login was declined") {
		t.Errorf("exit %d, want %d; stderr:\n%s", r.code, exitNotAuthenticated, r.stderr)
	}
	if _, err := os.Stat(c.sessionPath()); !os.IsNotExist(err) {
		t.Errorf("a declined login saved a session: %v", err)
	}
}

func TestLoginNeedsEndpoints(t *testing.T) {
	r := newCLI(t).run("login")
	if r.code != exitUsage || !strings.Contains(r.stderr, "-device-url is required (or set TOKENACTOR_DEVICE_AUTH_URL)") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

func TestSubject(t *testing.T) {
	jwt := func(claims string) string {
		return "eyJhbGciOiJub25lIn0." + base64url(claims) + ".sig"
	}
	tests := []struct {
		give string
		want string
	}{
		{give: jwt(`{"sub":"u-1","email":"a@example.com","preferred_username":"alice"}`), want: "alice"},
		{give: jwt(`{"sub":"u-1","email":"a@example.com"}`), want: "a@example.com"},
		{give: jwt(`{"sub":"u-1"}`), want: "u-1"},
		{give: jwt(`{"sub":"bad\u0007bell"}`), want: ""},
		{give: jwt(`not json`), want: ""},
		{give: "opaque-token", want: ""},
		{give: "a.b.c.d", want: ""},
	}
	for _, tt := range tests {
		if got := subject(tt.give); got != tt.want {
			t.Errorf("subject(%q) = %q, want %q", tt.give, got, tt.want)
		}
	}
}

func base64url(s string) string {
	return strings.TrimRight(base64.URLEncoding.EncodeToString([]byte(s)), "=")
}

// TestParallelTokenRefreshesOnce runs several `tokenactor token` at once on
// one expired session, as parallel shell scripts would: one refresh grant,
// no replayed refresh token, the same new token for all.
func TestParallelTokenRefreshesOnce(t *testing.T) {
	const n = 5
	srv := newAuthServer(t)
	c := newCLI(t)
	seed(t, c, srv)
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i] = c.run("token") })
	}
	wg.Wait()
	for i, r := range results {
		if r.code != exitOK || r.stdout != results[0].stdout {
			t.Errorf("run %d: exit %d, same token as run 0: %t; stderr:\n%s", i, r.code, r.stdout == results[0].stdout, r.stderr)
		}
	}
	if got := srv.refreshes.Load(); got != 1 {
		t.Errorf("%d refresh grants for %d parallel runs, want 1", got, n)
	}
}

func TestStatusOfSessionWithoutRefreshToken(t *testing.T) {
	tests := []struct {
		name      string
		expiresIn time.Duration
		wantCode  int
		wantOut   string
	}{
		{name: "still valid", expiresIn: time.Hour, wantCode: exitOK, wantOut: "valid until"},
		{name: "expired", expiresIn: -time.Hour, wantCode: exitNotAuthenticated, wantOut: "expired at"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCLI(t)
			store := strategy.NewFileStore(c.env[strategy.EnvConfigDir])
			err := store.Save(context.Background(), "default", strategy.Session{
				TokenURL: "https://auth.example.com/token", ClientID: "cli",
				AccessToken: tokenactor.NewSecretToken("only-access-token"), TokenType: "Bearer",
				ExpiresAt: time.Now().Add(tt.expiresIn),
			})
			if err != nil {
				t.Fatal(err)
			}
			r := c.run("status")
			if r.code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr:\n%s", r.code, tt.wantCode, r.stderr)
			}
			for _, want := range []string{tt.wantOut, "no refresh token: log in again when the access token expires"} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("status lacks %q:\n%s", want, r.stdout)
				}
			}
			noSecrets(t, r.stdout+r.stderr, "only-access-token")
		})
	}
}
