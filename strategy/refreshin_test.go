package strategy_test

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/oauthtest"
	"github.com/tokenactor/tokenactor/strategy"
)

// TestRefreshInHintDrivesRenewal: a token endpoint that says refresh_in
// 600 for a token of an hour gets its next grant ten minutes in, not at
// the default 90 s before expiry.
func TestRefreshInHintDrivesRenewal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var grants atomic.Int32
		srv := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := grants.Add(1)
			fmt.Fprintf(w, `{"access_token":"at-%d","expires_in":3600,"refresh_in":600}`, n)
		})
		s, err := strategy.NewAccessKey(strategy.AccessKeyConfig{
			TokenURL: "https://auth.example/token", ClientID: "svc", ClientSecret: "s3cret", HTTPClient: memClient(srv),
		}, tokenactor.WithRefreshWindow(90*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if got := mustToken(t, s); got != "at-1" {
			t.Fatalf("got %s", got)
		}
		time.Sleep(599 * time.Second)
		mustToken(t, s)
		synctest.Wait()
		if n := grants.Load(); n != 1 {
			t.Fatalf("%d grants before the hint, want 1", n)
		}
		time.Sleep(2 * time.Second)
		mustToken(t, s) // served at once, renewal started in the background
		synctest.Wait()
		if n := grants.Load(); n != 2 {
			t.Fatalf("%d grants after the hint, want 2", n)
		}
	})
}

// The hint of the token a device login returns is kept with the session:
// the cache, which adopts the saved session, renews at it too.
func TestRefreshInHintAfterDeviceLogin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := oauthtest.New("http://127.0.0.1:9", oauthtest.WithClient("cli", ""), oauthtest.WithAutoApprove(),
			oauthtest.WithLifetime(time.Hour), oauthtest.WithRefreshIn(10*time.Minute))
		s, err := strategy.NewDeviceCode(strategy.DeviceCodeConfig{
			DeviceAuthURL: srv.DeviceAuthorizationURL(), TokenURL: srv.TokenURL(), ClientID: "cli",
			Store: strategy.NewMemoryStore(), Prompt: func(strategy.DeviceAuthorization) {},
			Scopes: []string{"offline_access"}, HTTPClient: memClient(srv),
		}, tokenactor.WithRefreshWindow(90*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		sess, err := s.Login(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if want := time.Now().Add(10 * time.Minute); !sess.RefreshAt.Equal(want) {
			t.Errorf("Login: RefreshAt %v, want %v", sess.RefreshAt, want)
		}
		mustToken(t, s)
		time.Sleep(599 * time.Second)
		mustToken(t, s)
		synctest.Wait()
		if n := srv.Stats().Grants["refresh_token"]; n != 0 {
			t.Fatalf("%d refresh grants before the hint, want 0", n)
		}
		time.Sleep(2 * time.Second)
		mustToken(t, s) // served at once, renewal started in the background
		synctest.Wait()
		if n := srv.Stats().Grants["refresh_token"]; n != 1 {
			t.Errorf("%d refresh grants 601 s after a login whose token said refresh_in=600; want 1", n)
		}
	})
}
