package strategy_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/fakeclock"
	"github.com/tokenactor/tokenactor/strategy"
)

// TestRotatedRefreshTokenSurvivesARefusedAnswer: a server rotates the
// refresh token in an answer the strategy refuses (a lifetime of zero, a
// bad token type). The new refresh token must be saved and used next; the
// old one, which the server now treats as a replay, never sent again.
func TestRotatedRefreshTokenSurvivesARefusedAnswer(t *testing.T) {
	for _, bad := range []string{`"expires_in":0`, `"expires_in":1e-10`, `"expires_in":3600,"token_type":"Bearer x"`, `"expires_in":"soon"`} {
		t.Run(bad, func(t *testing.T) {
			var mu sync.Mutex
			var sent []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				r.ParseForm()
				mu.Lock()
				sent = append(sent, r.PostForm.Get("refresh_token"))
				n := len(sent)
				mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				if n == 1 { // rotates, but the rest of the answer is unusable
					fmt.Fprintf(w, `{"access_token":"at-1","refresh_token":"rt-1",%s}`, bad)
					return
				}
				json.NewEncoder(w).Encode(map[string]any{"access_token": fmt.Sprintf("at-%d", n), "expires_in": 3600, "refresh_token": fmt.Sprintf("rt-%d", n)})
			}))
			defer srv.Close()
			store := strategy.NewMemoryStore()
			store.Save(t.Context(), "default", strategy.Session{TokenURL: srv.URL, ClientID: "cli", RefreshToken: tokenactor.NewSecretToken("rt-0")})
			clk := fakeclock.New()
			s := newOAuth(t, strategy.OAuthConfig{Store: store, Clock: clk}, tokenactor.WithBackoff(time.Millisecond, time.Millisecond))
			if _, err := s.Get(t.Context()); err == nil {
				t.Fatal("the refused answer was accepted")
			}
			if got := savedRefreshToken(t, store); got != "rt-1" {
				t.Fatalf("saved refresh token %q, want the rotated rt-1", got)
			}
			clk.Add(time.Second) // past the backoff
			tok, err := s.Get(t.Context())
			if err != nil || tok.AccessToken.Reveal() != "at-2" {
				t.Fatalf("got %v, %v; want at-2", tok.AccessToken.Reveal(), err)
			}
			mu.Lock()
			defer mu.Unlock()
			if got := strings.Join(sent, " "); got != "rt-0 rt-1" {
				t.Errorf("refresh tokens sent: %s, want rt-0 rt-1", got)
			}
		})
	}
}

// TestStrategiesStoreWallClockExpiry runs the strategies on the system
// clock, whose readings carry a monotonic part: the tokens they hand out
// and the sessions they save must carry wall-clock expiry only.
func TestStrategiesStoreWallClockExpiry(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"at","expires_in":3600,"refresh_token":"rt-1"}`)
	}))
	defer srv.Close()
	ak := newAccessKey(t, strategy.AccessKeyConfig{TokenURL: srv.URL, ClientID: "svc", ClientSecret: "s3cret"})
	akTok, err := ak.Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	store := strategy.NewMemoryStore()
	store.Save(t.Context(), "default", strategy.Session{TokenURL: srv.URL, ClientID: "cli", RefreshToken: tokenactor.NewSecretToken("rt-0")})
	oauth := newOAuth(t, strategy.OAuthConfig{Store: store})
	oTok, err := oauth.Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	saved, err := store.Load(t.Context(), "default")
	if err != nil {
		t.Fatal(err)
	}
	for name, at := range map[string]time.Time{"access key token": akTok.ExpiresAt, "oauth token": oTok.ExpiresAt, "saved session": saved.ExpiresAt} {
		if at.IsZero() || strings.Contains(at.String(), "m=") {
			t.Errorf("%s expires at %v, want a wall-clock time", name, at)
		}
	}
}
