package integration_test

import (
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/strategy"
)

func TestClientCredentials(t *testing.T) {
	for _, style := range []strategy.AuthStyle{strategy.AuthStyleBasic, strategy.AuthStyleBody} {
		t.Run(style.String(), func(t *testing.T) {
			srv := newAuthServer(t, time.Hour, style == strategy.AuthStyleBody)
			s, err := strategy.NewAccessKey(strategy.AccessKeyConfig{
				TokenURL: srv.tokenURL(), ClientID: clientID, ClientSecret: clientSecret, AuthStyle: style,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()

			before := time.Now()
			first, err := s.Get(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			after := time.Now()
			s.Invalidate()
			second, err := s.Get(t.Context())
			if err != nil {
				t.Fatal(err)
			}

			got := map[string]any{
				"type":            first.TokenType,
				"first valid":     srv.valid(t, first.AccessToken.Reveal()),
				"second valid":    srv.valid(t, second.AccessToken.Reveal()),
				"renewed":         first.AccessToken.Reveal() != second.AccessToken.Reveal(),
				"expiry in range": !first.ExpiresAt.Before(before.Add(time.Hour-time.Second)) && !first.ExpiresAt.After(after.Add(time.Hour)),
				"grants":          srv.count("client_credentials OK"),
			}
			want := map[string]any{
				"type": "Bearer", "first valid": true, "second valid": true, "renewed": true,
				"expiry in range": true, "grants": 2,
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestWrongSecret(t *testing.T) {
	srv := newAuthServer(t, time.Hour, false)
	s, err := strategy.NewAccessKey(strategy.AccessKeyConfig{TokenURL: srv.tokenURL(), ClientID: clientID, ClientSecret: "not-the-secret"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.Get(t.Context())
	var oe *strategy.OAuthError
	if !errors.As(err, &oe) {
		t.Fatalf("got %v, want *OAuthError", err)
	}
	got := []any{oe.StatusCode, oe.Code, errors.Is(err, strategy.ErrLoginRequired), errors.Is(err, strategy.ErrTemporary)}
	if diff := cmp.Diff([]any{http.StatusUnauthorized, "invalid_client", true, false}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// newSession logs in at srv and saves the session in a new FileStore.
func newSession(t *testing.T, srv *authServer) *strategy.FileStore {
	t.Helper()
	store := strategy.NewFileStore(t.TempDir())
	if err := store.Save(t.Context(), strategy.DefaultProfile, srv.login(t)); err != nil {
		t.Fatal(err)
	}
	return store
}

func newOAuth(t *testing.T, store strategy.TokenStore) *strategy.OAuthStrategy {
	t.Helper()
	s, err := strategy.NewOAuth(strategy.OAuthConfig{Store: store, ClientSecret: clientSecret})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func savedRefreshToken(t *testing.T, store strategy.TokenStore) string {
	t.Helper()
	sess, err := store.Load(t.Context(), strategy.DefaultProfile)
	if err != nil {
		t.Fatal(err)
	}
	return sess.RefreshToken.Reveal()
}

func TestRefreshTokenRotation(t *testing.T) {
	srv := newAuthServer(t, time.Hour, false)
	store := newSession(t, srv)
	s := newOAuth(t, store)

	// The saved access token is still valid: it is served without a refresh.
	tok, err := s.Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !srv.valid(t, tok.AccessToken.Reveal()) {
		t.Fatal("the saved token is not valid at the server")
	}
	const rounds = 3
	for i := range rounds {
		oldRT := savedRefreshToken(t, store)
		s.Invalidate() // a service rejected the token
		tok, err = s.Get(t.Context())
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		newRT := savedRefreshToken(t, store)
		got := []bool{srv.valid(t, tok.AccessToken.Reveal()), newRT != oldRT}
		if diff := cmp.Diff([]bool{true, true}, got); diff != "" {
			t.Errorf("round %d: valid, rotated (-want +got):\n%s", i, diff)
		}
		// The server really rotated: the old refresh token is dead.
		if diff := cmp.Diff("invalid_grant", srv.refreshDirectly(t, oldRT)); diff != "" {
			t.Errorf("round %d: replaying the old refresh token (-want +got):\n%s", i, diff)
		}
	}
	// go-oauth2 answers invalid_grant with 401; the refused ones are this
	// test's own replays.
	got := []int{srv.count("refresh_token OK"), srv.count("refresh_token Unauthorized")}
	if diff := cmp.Diff([]int{rounds, rounds}, got); diff != "" {
		t.Errorf("refreshes ok, refused (-want +got):\n%s", diff)
	}
}

func TestRotationSharedByTwoStrategies(t *testing.T) {
	srv := newAuthServer(t, time.Hour, false)
	store := newSession(t, srv)
	dir := store.Dir()
	// Two strategies, each with its own FileStore on the same directory,
	// as two processes would have.
	a, b := newOAuth(t, strategy.NewFileStore(dir)), newOAuth(t, strategy.NewFileStore(dir))
	for _, s := range []*strategy.OAuthStrategy{a, b} {
		if _, err := s.Get(t.Context()); err != nil { // the saved token, adopted
			t.Fatal(err)
		}
	}
	const rounds = 4
	for i := range rounds {
		a.Invalidate()
		b.Invalidate()
		var wg sync.WaitGroup
		toks := make([]string, 2)
		for j, s := range []*strategy.OAuthStrategy{a, b} {
			wg.Go(func() {
				tok, err := s.Get(t.Context())
				if err != nil {
					t.Errorf("round %d: %v", i, err)
					return
				}
				toks[j] = tok.AccessToken.Reveal()
			})
		}
		wg.Wait()
		if toks[0] != toks[1] || !srv.valid(t, toks[0]) {
			t.Errorf("round %d: strategies hold different or invalid tokens", i)
		}
	}
	got := []int{srv.count("refresh_token OK"), srv.count("refresh_token Unauthorized") + srv.count("refresh_token Bad Request")}
	if diff := cmp.Diff([]int{rounds, 0}, got); diff != "" {
		t.Errorf("refreshes ok, refused (-want +got):\n%s", diff)
	}
}

func TestRevokedRefreshToken(t *testing.T) {
	srv := newAuthServer(t, time.Hour, false)
	store := newSession(t, srv)
	s := newOAuth(t, store)
	if _, err := s.Get(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := srv.manager.RemoveRefreshToken(t.Context(), savedRefreshToken(t, store)); err != nil {
		t.Fatal(err)
	}
	s.Invalidate()
	_, err := s.Get(t.Context())
	var oe *strategy.OAuthError
	if !errors.As(err, &oe) {
		t.Fatalf("got %v, want *OAuthError", err)
	}
	got := []any{oe.Code, errors.Is(err, strategy.ErrLoginRequired), errors.Is(err, tokenactor.ErrTokenExpired)}
	if diff := cmp.Diff([]any{"invalid_grant", true, true}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestExpiryDrivesRefresh(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a 2 s token to expire")
	}
	// go-oauth2 counts lifetimes in whole seconds; a 2 s token with the
	// refresh window shrunk to half its life is renewed after about 1 s.
	srv := newAuthServer(t, 2*time.Second, false)
	store := newSession(t, srv)
	s := newOAuth(t, store)
	first, err := s.Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// Wait for the token to expire: this test is about real expiry.
	time.Sleep(time.Until(first.ExpiresAt))
	second, err := s.Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if first.AccessToken.Reveal() == second.AccessToken.Reveal() || !srv.valid(t, second.AccessToken.Reveal()) {
		t.Error("no valid new token after expiry")
	}
}
