package strategy_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/strategy"
)

// seedSession returns the session a login left: an access token that has
// expired and refresh token "rt-0".
func seedSession(tokenURL string, now time.Time) strategy.Session {
	return strategy.Session{
		TokenURL: tokenURL, ClientID: "cli",
		AccessToken: tokenactor.NewSecretToken("at-0"), TokenType: "Bearer", ExpiresAt: now.Add(-time.Minute),
		RefreshToken: tokenactor.NewSecretToken("rt-0"),
	}
}

func newOAuth(t *testing.T, cfg strategy.OAuthConfig, opts ...tokenactor.Option) *strategy.OAuthStrategy {
	t.Helper()
	s, err := strategy.NewOAuth(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustToken(t *testing.T, s tokenactor.AuthStrategy) string {
	t.Helper()
	tok, err := s.Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken.Reveal()
}

func savedRefreshToken(t *testing.T, store strategy.TokenStore) string {
	t.Helper()
	sess, err := store.Load(t.Context(), strategy.DefaultProfile)
	if err != nil {
		t.Fatal(err)
	}
	return sess.RefreshToken.Reveal()
}

func TestOAuthRefreshRotatesAndPersists(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newRotatingServer(600)
		store := strategy.NewMemoryStore()
		store.Save(t.Context(), strategy.DefaultProfile, seedSession("https://auth.example/token", time.Now()))
		s := newOAuth(t, strategy.OAuthConfig{Store: store, HTTPClient: memClient(srv)})

		var got []string
		got = append(got, mustToken(t, s), savedRefreshToken(t, store))
		time.Sleep(601 * time.Second)
		got = append(got, mustToken(t, s), savedRefreshToken(t, store))

		if diff := cmp.Diff([]string{"at-1", "rt-1", "at-2", "rt-2"}, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		refreshes, replays := srv.counts()
		if diff := cmp.Diff([2]int{2, 0}, [2]int{refreshes, replays}); diff != "" {
			t.Errorf("refreshes, replays (-want +got):\n%s", diff)
		}
	})
}

func TestOAuthAdoptsSessionRefreshedByAnother(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newRotatingServer(600)
		store := strategy.NewMemoryStore()
		store.Save(t.Context(), strategy.DefaultProfile, seedSession("https://auth.example/token", time.Now()))
		cfg := strategy.OAuthConfig{Store: store, HTTPClient: memClient(srv)}
		a, b := newOAuth(t, cfg), newOAuth(t, cfg)

		got := []string{mustToken(t, a), mustToken(t, b)}
		// Both are told their token was rejected, at once: one refresh,
		// the other adopts its result.
		a.Invalidate()
		b.Invalidate()
		var wg sync.WaitGroup
		var mu sync.Mutex
		second := map[string]int{}
		for _, s := range []*strategy.OAuthStrategy{a, b} {
			wg.Go(func() {
				tok := mustToken(t, s)
				mu.Lock()
				second[tok]++
				mu.Unlock()
			})
		}
		wg.Wait()

		if diff := cmp.Diff([]string{"at-1", "at-1"}, got); diff != "" {
			t.Errorf("first tokens (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(map[string]int{"at-2": 2}, second); diff != "" {
			t.Errorf("second tokens (-want +got):\n%s", diff)
		}
		refreshes, replays := srv.counts()
		if diff := cmp.Diff([2]int{2, 0}, [2]int{refreshes, replays}); diff != "" {
			t.Errorf("refreshes, replays (-want +got):\n%s", diff)
		}
	})
}

func TestOAuthRevokedRefreshToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newRotatingServer(600)
		srv.revokeAll()
		store := strategy.NewMemoryStore()
		store.Save(t.Context(), strategy.DefaultProfile, seedSession("https://auth.example/token", time.Now()))
		s := newOAuth(t, strategy.OAuthConfig{Store: store, HTTPClient: memClient(srv)})

		_, err := s.Get(t.Context())
		var oe *strategy.OAuthError
		if !errors.As(err, &oe) || oe.Code != "invalid_grant" || !errors.Is(err, strategy.ErrLoginRequired) {
			t.Fatalf("got %v, want invalid_grant matching ErrLoginRequired", err)
		}
		// The session is left for the user to replace, not deleted.
		if diff := cmp.Diff("rt-0", savedRefreshToken(t, store)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}

func TestOAuthWithoutSession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newOAuth(t, strategy.OAuthConfig{Store: strategy.NewMemoryStore(), HTTPClient: memClient(newRotatingServer(60))})
		_, err := s.Get(t.Context())
		if !errors.Is(err, tokenactor.ErrNotAuthenticated) || !errors.Is(err, strategy.ErrNoSession) {
			t.Fatalf("got %v, want ErrNotAuthenticated and ErrNoSession", err)
		}
	})
}

func TestOAuthSessionWithoutRefreshToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := strategy.NewMemoryStore()
		sess := seedSession("https://auth.example/token", time.Now())
		sess.RefreshToken = tokenactor.SecretToken{}
		store.Save(t.Context(), strategy.DefaultProfile, sess)
		s := newOAuth(t, strategy.OAuthConfig{Store: store, HTTPClient: memClient(newRotatingServer(60))})
		_, err := s.Get(t.Context())
		if !errors.Is(err, strategy.ErrSessionExpired) || !errors.Is(err, strategy.ErrLoginRequired) {
			t.Fatalf("got %v, want ErrSessionExpired matching ErrLoginRequired", err)
		}
	})
}

// flakyStore fails every Save while failing is set.
type flakyStore struct {
	*strategy.MemoryStore
	mu      sync.Mutex
	failing bool
}

var errDiskFull = errors.New("disk full")

func (s *flakyStore) Save(ctx context.Context, profile string, sess strategy.Session) error {
	s.mu.Lock()
	failing := s.failing
	s.mu.Unlock()
	if failing {
		return errDiskFull
	}
	return s.MemoryStore.Save(ctx, profile, sess)
}

func (s *flakyStore) setFailing(f bool) {
	s.mu.Lock()
	s.failing = f
	s.mu.Unlock()
}

func TestOAuthPersistsBeforeHandingOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newRotatingServer(600)
		store := &flakyStore{MemoryStore: strategy.NewMemoryStore()}
		store.Save(t.Context(), strategy.DefaultProfile, seedSession("https://auth.example/token", time.Now()))
		store.setFailing(true)
		s := newOAuth(t, strategy.OAuthConfig{Store: store, HTTPClient: memClient(srv)}, tokenactor.WithBackoff(time.Second, time.Second))

		// The refresh worked but could not be saved: nobody gets the token.
		_, err := s.Get(t.Context())
		if !errors.Is(err, errDiskFull) {
			t.Fatalf("got %v, want the store's error", err)
		}
		// Once the store works again, the pending session is saved and
		// served, without another refresh (which would replay rt-0).
		store.setFailing(false)
		time.Sleep(2 * time.Second) // past the backoff
		got := []string{mustToken(t, s), savedRefreshToken(t, store.MemoryStore)}
		if diff := cmp.Diff([]string{"at-1", "rt-1"}, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		refreshes, replays := srv.counts()
		if diff := cmp.Diff([2]int{1, 0}, [2]int{refreshes, replays}); diff != "" {
			t.Errorf("refreshes, replays (-want +got):\n%s", diff)
		}
	})
}

func TestOAuthPicksUpNewLogin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newRotatingServer(600)
		srv.revokeAll()
		store := strategy.NewMemoryStore()
		store.Save(t.Context(), strategy.DefaultProfile, seedSession("https://auth.example/token", time.Now()))
		s := newOAuth(t, strategy.OAuthConfig{Store: store, HTTPClient: memClient(srv)}, tokenactor.WithBackoff(time.Second, time.Second))
		if _, err := s.Get(t.Context()); !errors.Is(err, strategy.ErrLoginRequired) {
			t.Fatalf("got %v, want ErrLoginRequired", err)
		}
		// Another process logs in and saves a fresh session.
		fresh := strategy.Session{
			TokenURL: "https://auth.example/token", AccessToken: tokenactor.NewSecretToken("at-login"),
			TokenType: "Bearer", ExpiresAt: time.Now().Add(time.Hour), RefreshToken: tokenactor.NewSecretToken("rt-login"),
		}
		store.Save(t.Context(), strategy.DefaultProfile, fresh)
		time.Sleep(2 * time.Second)
		if diff := cmp.Diff("at-login", mustToken(t, s)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}

func ExampleNewOAuth() {
	// A session saved by an earlier login (see DeviceCodeStrategy.Login).
	store := strategy.NewMemoryStore()
	srv := newRotatingServer(3600)
	store.Save(context.Background(), "default", strategy.Session{
		TokenURL: "https://auth.example/token", ClientID: "cli",
		RefreshToken: tokenactor.NewSecretToken("rt-0"),
	})

	s, err := strategy.NewOAuth(strategy.OAuthConfig{Store: store, HTTPClient: memClient(srv)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	tok, err := s.Get(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	saved, _ := store.Load(context.Background(), "default")
	fmt.Println(tok.AccessToken.Reveal(), saved.RefreshToken.Reveal())
	// Output: at-1 rt-1
}

func TestOAuthSharedSessionOneRefreshPerExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newRotatingServer(600)
		store := strategy.NewMemoryStore()
		store.Save(t.Context(), strategy.DefaultProfile, seedSession("https://auth.example/token", time.Now()))
		cfg := strategy.OAuthConfig{Store: store, HTTPClient: memClient(srv)}
		a, b := newOAuth(t, cfg), newOAuth(t, cfg)

		const periods = 5
		var seen [][]string
		for range periods {
			seen = append(seen, []string{mustToken(t, a), mustToken(t, b)})
			// Into the refresh window (the last 90 s): both start a
			// background refresh at the same instant.
			time.Sleep(600*time.Second - 90*time.Second + time.Second)
			a.Get(t.Context())
			b.Get(t.Context())
			synctest.Wait()
		}
		var want [][]string
		for i := range periods {
			n := fmt.Sprintf("at-%d", i+1)
			want = append(want, []string{n, n})
		}
		if diff := cmp.Diff(want, seen); diff != "" {
			t.Errorf("tokens per period (-want +got):\n%s", diff)
		}
		refreshes, replays := srv.counts()
		if diff := cmp.Diff([2]int{periods + 1, 0}, [2]int{refreshes, replays}); diff != "" {
			t.Errorf("refreshes, replays (-want +got):\n%s", diff)
		}
	})
}
