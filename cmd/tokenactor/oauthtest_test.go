package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenactor/tokenactor/oauthtest"
	"github.com/tokenactor/tokenactor/strategy"
)

// resourceAccepts reports whether srv's protected resource takes tok.
func resourceAccepts(t *testing.T, srv *oauthtest.Server, tok string) bool {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.ResourceURL(), nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// TestSessionAgainstOAuthTest walks a session through login, token,
// status -check, revocation by the server, login again and logout,
// against package oauthtest found by its issuer URL alone.
func TestSessionAgainstOAuthTest(t *testing.T) {
	srv := oauthtest.NewServer(oauthtest.WithClient("cli", ""), oauthtest.WithAutoApprove(),
		oauthtest.WithPollInterval(time.Second))
	defer srv.Close()
	c := newCLI(t, strategy.EnvIssuer, srv.URL)

	if r := c.run("login", "-client-id", "cli", "-scope", "read"); r.code != exitOK {
		t.Fatalf("login: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	r := c.run("token")
	tok := strings.TrimSuffix(r.stdout, "\n")
	if r.code != exitOK || !resourceAccepts(t, srv, tok) {
		t.Fatalf("token: exit %d, accepted %t, stderr:\n%s", r.code, resourceAccepts(t, srv, tok), r.stderr)
	}
	if r := c.run("status", "-check"); r.code != exitOK || !strings.Contains(r.stdout, "the session is active, said "+srv.IntrospectionURL()) {
		t.Errorf("status -check: exit %d, stdout:\n%s%s", r.code, r.stdout, r.stderr)
	}

	srv.RevokeSession(tok) // an administrator ends the session
	if r := c.run("status"); r.code != exitOK || !strings.Contains(r.stdout, "not asked") {
		t.Errorf("status: exit %d, stdout:\n%s", r.code, r.stdout)
	}
	if r := c.run("status", "-check"); r.code != exitNotAuthenticated || !strings.Contains(r.stdout, "the session is not active") {
		t.Errorf("status -check of a revoked session: exit %d, stdout:\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Logging in again needs no flag: the session knows its token URL and
	// client, and the server's metadata at that origin the device URL.
	c.env[strategy.EnvIssuer] = ""
	r = c.run("login")
	if r.code != exitOK || !strings.Contains(r.stderr, "Using the token URL "+srv.TokenURL()+" and client ID cli saved with profile default.") {
		t.Fatalf("login again: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	r = c.run("token")
	tok = strings.TrimSuffix(r.stdout, "\n")
	if r.code != exitOK || !resourceAccepts(t, srv, tok) {
		t.Fatalf("token after login again: exit %d, stderr:\n%s", r.code, r.stderr)
	}

	r = c.run("logout")
	if r.code != exitOK || !strings.Contains(r.stderr, "Revoked the refresh token (and with it the session) at "+srv.RevocationURL()) {
		t.Errorf("logout: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if n := srv.Stats().Revocations; n != 1 {
		t.Errorf("%d revocations, want 1", n)
	}
	if resourceAccepts(t, srv, tok) {
		t.Error("the access token still works after logout revoked its session")
	}
	if r := c.run("token"); r.code != exitNotAuthenticated {
		t.Errorf("token after logout: exit %d, want %d", r.code, exitNotAuthenticated)
	}
}

// TestClientCredentialsAgainstOAuthTest asks a strict server for a token
// it gives only with the right scope, audience and resource, and only to
// a client sending its secret in the body.
func TestClientCredentialsAgainstOAuthTest(t *testing.T) {
	srv := oauthtest.NewServer(oauthtest.WithClient("svc", "pw"),
		oauthtest.WithAuthStyle(oauthtest.AuthStylePost),
		oauthtest.WithRequiredScope("read"), oauthtest.WithRequiredAudience("billing"),
		oauthtest.WithRequiredResource("https://api.example/"))
	defer srv.Close()
	c := newCLI(t, strategy.EnvClientID, "svc", strategy.EnvClientSecret, "pw", strategy.EnvIssuer, srv.URL,
		envScope, "read", envAudience, "billing", envResource, "https://api.example/")

	r := c.run("token", "-auth-style", "detect", "-format", "json")
	if r.code != exitOK || !strings.Contains(r.stdout, `"type":"Bearer"`) {
		t.Fatalf("token: exit %d, stdout %q, stderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if req, _ := srv.LastRequest(oauthtest.EndpointToken); req.Form.Get("client_secret") != "pw" || req.Header.Get("Authorization") != "" {
		t.Errorf("the last token request did not carry the secret in the body only")
	}
	r = c.run("token") // Basic, the default: refused
	if r.code != exitNotAuthenticated || !strings.Contains(r.stderr, "invalid_client") {
		t.Errorf("token with Basic: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	c.env[envAudience] = ""
	r = c.run("token", "-auth-style", "body")
	if r.code == exitOK || !strings.Contains(r.stderr, "invalid_target") {
		t.Errorf("token without the audience: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	noSecrets(t, r.stdout+r.stderr, "pw\n", `"pw"`)
}

func TestMinValidAgainstOAuthTest(t *testing.T) {
	srv := oauthtest.NewServer(oauthtest.WithClient("svc", "pw"), oauthtest.WithLifetime(30*time.Second))
	defer srv.Close()
	c := newCLI(t, strategy.EnvClientID, "svc", strategy.EnvClientSecret, "pw", strategy.EnvTokenURL, srv.TokenURL())
	r := c.run("token", "-format", "exec-credential")
	if r.code != exitUsage || r.stdout != "" || !strings.Contains(r.stderr, "valid for 30s, less than 1m0s") {
		t.Errorf("exit %d, stdout %q, stderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if n := srv.Stats().Grants["client_credentials"]; n != 2 {
		t.Errorf("%d grants, want 2: the short token, then one more try", n)
	}
	srv.SetLifetime(5 * time.Minute)
	r = c.run("token", "-format", "exec-credential")
	if r.code != exitOK || !strings.Contains(r.stdout, `"kind":"ExecCredential"`) || !strings.Contains(r.stdout, `"expirationTimestamp":"`) {
		t.Errorf("exit %d, stdout %q, stderr:\n%s", r.code, r.stdout, r.stderr)
	}
}
