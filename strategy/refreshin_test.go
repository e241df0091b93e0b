package strategy_test

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tokenactor/tokenactor"
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
