package strategy_test

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/strategy"
)

// TestLoginWinsAtOnce: Get fails before anyone logged in, and the cache
// backs off; a successful Login must be served by the very next Get.
func TestLoginWinsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &deviceServer{interval: 1, expiresIn: 600, start: time.Now(), script: []string{"ok"}}
		var shown []strategy.DeviceAuthorization
		s := newDeviceCode(t, srv, strategy.NewMemoryStore(), &shown)
		for range 3 {
			if _, err := s.Get(t.Context()); !errors.Is(err, strategy.ErrNoSession) {
				t.Fatalf("before login: got %v, want ErrNoSession", err)
			}
		}
		if _, err := s.Login(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := mustToken(t, s); got != "at-device" {
			t.Fatalf("after login: %q, want at-device", got)
		}
	})
}

// TestSessionReplacedOutOfBandWinsAtOnce: another process saves a session
// while this strategy is backing off after a failure; the next Get serves
// it. A store that did not change leaves the backoff alone.
func TestSessionReplacedOutOfBandWinsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newRotatingServer(3600)
		srv.revokeAll()
		store := strategy.NewMemoryStore()
		store.Save(t.Context(), "default", strategy.Session{TokenURL: "https://auth.example/token", ClientID: "cli", RefreshToken: tokenactor.NewSecretToken("rt-gone")})
		s := newOAuth(t, strategy.OAuthConfig{Store: store, HTTPClient: memClient(srv)}, tokenactor.WithBackoff(time.Minute, time.Minute))
		for range 3 {
			if _, err := s.Get(t.Context()); !errors.Is(err, strategy.ErrLoginRequired) {
				t.Fatalf("revoked: got %v, want ErrLoginRequired", err)
			}
		}
		if _, replays := srv.counts(); replays != 0 {
			t.Fatalf("%d replays: the backoff was bypassed with nothing changed", replays)
		}
		// Another process logs in.
		store.Save(t.Context(), "default", strategy.Session{
			TokenURL: "https://auth.example/token", ClientID: "cli", TokenType: "Bearer",
			AccessToken: tokenactor.NewSecretToken("at-new"), ExpiresAt: time.Now().Add(time.Hour),
			RefreshToken: tokenactor.NewSecretToken("rt-new"),
		})
		if got := mustToken(t, s); got != "at-new" {
			t.Fatalf("after the new login: %q, want at-new", got)
		}
	})
}
