package integration_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/fakeclock"
	"github.com/tokenactor/tokenactor/oauth2adapt"
	"github.com/tokenactor/tokenactor/strategy"
)

// TestRedirectNeverReachesTheServer puts a redirect in front of the real
// server, on another port, and lets the caller's client follow redirects:
// the credentials must not reach the server (or anything else).
func TestRedirectNeverReachesTheServer(t *testing.T) {
	srv := newAuthServer(t, time.Hour, false)
	redirector := httptest.NewServer(http.RedirectHandler(srv.tokenURL(), http.StatusTemporaryRedirect))
	defer redirector.Close()
	s, err := strategy.NewAccessKey(strategy.AccessKeyConfig{
		TokenURL: redirector.URL, ClientID: clientID, ClientSecret: clientSecret,
		HTTPClient: &http.Client{Timeout: 10 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.Get(t.Context())
	var re *strategy.RedirectError
	if !errors.As(err, &re) || re.Location != srv.tokenURL() {
		t.Fatalf("got %v, want a *RedirectError to %s", err, srv.tokenURL())
	}
	if n := srv.count("client_credentials OK") + srv.count(" OK") + srv.count("client_credentials Unauthorized"); n != 0 {
		t.Errorf("the server got %d token requests through the redirect", n)
	}
}

// TestRotationKeptThroughARefusedAnswer forwards to the real server, which
// rotates refresh tokens and deletes the old one, and spoils the first
// refresh answer's expires_in. The rotated refresh token must be saved and
// used next: the server must never see the old one again.
func TestRotationKeptThroughARefusedAnswer(t *testing.T) {
	srv := newAuthServer(t, time.Hour, false)
	store := newSession(t, srv)
	var spoiled atomic.Bool
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, srv.tokenURL(), bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := srv.Client().Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		var answer map[string]any
		json.NewDecoder(resp.Body).Decode(&answer)
		if _, ok := answer["refresh_token"]; ok && !spoiled.Swap(true) {
			answer["expires_in"] = 0
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(resp.StatusCode)
		json.NewEncoder(w).Encode(answer)
	}))
	defer proxy.Close()

	clk := fakeclock.New()
	saved, _ := store.Load(t.Context(), strategy.DefaultProfile)
	saved.TokenURL, saved.ExpiresAt = proxy.URL, clk.Now().Add(-time.Minute) // due for refresh
	store.Save(t.Context(), strategy.DefaultProfile, saved)
	oldRT := saved.RefreshToken.Reveal()

	s, err := strategy.NewOAuth(strategy.OAuthConfig{Store: store, ClientSecret: clientSecret, Clock: clk},
		tokenactor.WithBackoff(time.Second, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Get(t.Context()); err == nil {
		t.Fatal("the spoiled answer was accepted")
	}
	rotated := savedRefreshToken(t, store)
	if rotated == oldRT {
		t.Fatal("the rotated refresh token was not saved")
	}
	clk.Add(2 * time.Second) // past the backoff
	tok, err := s.Get(t.Context())
	if err != nil {
		t.Fatalf("refresh with the rotated token: %v", err)
	}
	if !srv.valid(t, tok.AccessToken.Reveal()) {
		t.Error("the new access token is not valid at the server")
	}
	if n := srv.count("refresh_token Unauthorized"); n != 0 {
		t.Errorf("the server refused %d refreshes: the old refresh token was replayed", n)
	}
	if strings.Contains(tok.ExpiresAt.String(), "m=") {
		t.Errorf("ExpiresAt %v carries a monotonic reading", tok.ExpiresAt)
	}
}

// TestOAuth2ClientHonoursRevocation calls an API that checks tokens with
// the real server, through oauth2adapt.NewClient over a client credentials
// strategy. After the server revokes the token, one request gets 401 and
// the next carries a new, valid token.
func TestOAuth2ClientHonoursRevocation(t *testing.T) {
	srv := newAuthServer(t, time.Hour, false)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !srv.valid(t, at) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer api.Close()
	s, err := strategy.NewAccessKey(strategy.AccessKeyConfig{TokenURL: srv.tokenURL(), ClientID: clientID, ClientSecret: clientSecret})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	client := oauth2adapt.NewClient(s, api.Client().Transport)
	status := func() int {
		resp, err := client.Get(api.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	first := status()
	tok, _ := s.Get(t.Context())
	if err := srv.manager.RemoveAccessToken(t.Context(), tok.AccessToken.Reveal()); err != nil {
		t.Fatal(err)
	}
	got := []int{first, status(), status()}
	if want := []int{200, 401, 200}; !equalInts(got, want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
	if n := srv.count("client_credentials OK"); n != 2 {
		t.Errorf("%d grants, want 2", n)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestNewLoginWinsAtOnce: the server revokes the session, the strategy's
// refresh is refused and it backs off; the user logs in again (another
// process saves the new session). The next Get serves the new session at
// once, without waiting out the backoff.
func TestNewLoginWinsAtOnce(t *testing.T) {
	srv := newAuthServer(t, time.Hour, false)
	store := newSession(t, srv)
	s, err := strategy.NewOAuth(strategy.OAuthConfig{Store: store, ClientSecret: clientSecret}, tokenactor.WithBackoff(time.Hour, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Get(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := srv.manager.RemoveRefreshToken(t.Context(), savedRefreshToken(t, store)); err != nil {
		t.Fatal(err)
	}
	s.Invalidate()
	for range 3 {
		if _, err := s.Get(t.Context()); !errors.Is(err, strategy.ErrLoginRequired) {
			t.Fatalf("after revocation: %v, want ErrLoginRequired", err)
		}
	}
	if n := srv.count("refresh_token Unauthorized"); n != 1 {
		t.Fatalf("%d refused refreshes, want 1 (then backoff)", n)
	}
	fresh := srv.login(t)
	if err := store.Save(t.Context(), strategy.DefaultProfile, fresh); err != nil {
		t.Fatal(err)
	}
	tok, err := s.Get(t.Context())
	if err != nil || tok.AccessToken.Reveal() != fresh.AccessToken.Reveal() {
		t.Fatalf("after a new login: %v; want the new session's token", err)
	}
}
