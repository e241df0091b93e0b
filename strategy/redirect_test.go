package strategy_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/strategy"
)

// TestCredentialsNeverFollowARedirect points every credential-bearing
// request of every strategy at an endpoint that redirects, with a caller's
// client that follows redirects, and checks that the target never gets a
// request, that the error names the target without its query or user info,
// and that the caller's client is left as it was.
func TestCredentialsNeverFollowARedirect(t *testing.T) {
	var hits atomic.Int64
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusTeapot)
	}))
	defer elsewhere.Close()
	target := strings.Replace(elsewhere.URL, "http://", "http://user:pw@", 1) + "/steal"

	flows := []struct {
		name string
		run  func(t *testing.T, endpoint string, client *http.Client) error
	}{
		{name: "client credentials", run: func(t *testing.T, endpoint string, client *http.Client) error {
			s := newAccessKey(t, strategy.AccessKeyConfig{TokenURL: endpoint, ClientID: "svc", ClientSecret: "s3cret", HTTPClient: client})
			_, err := s.Get(t.Context())
			return err
		}},
		{name: "refresh token, secret in the body", run: func(t *testing.T, endpoint string, client *http.Client) error {
			store := strategy.NewMemoryStore()
			store.Save(t.Context(), "default", strategy.Session{TokenURL: endpoint, ClientID: "cli", RefreshToken: tokenactor.NewSecretToken("rt-0")})
			s := newOAuth(t, strategy.OAuthConfig{Store: store, ClientSecret: "s3cret", AuthStyle: strategy.AuthStyleBody, HTTPClient: client})
			_, err := s.Get(t.Context())
			return err
		}},
		{name: "device authorization", run: func(t *testing.T, endpoint string, client *http.Client) error {
			s, err := strategy.NewDeviceCode(strategy.DeviceCodeConfig{
				DeviceAuthURL: endpoint, TokenURL: endpoint, ClientID: "cli", ClientSecret: "s3cret",
				Store: strategy.NewMemoryStore(), Prompt: func(strategy.DeviceAuthorization) {}, HTTPClient: client,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			_, err = s.Login(t.Context())
			return err
		}},
		{name: "device poll", run: func(t *testing.T, endpoint string, client *http.Client) error {
			device := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, `{"device_code":"dc","user_code":"U","verification_uri":"https://a.example/d","expires_in":60,"interval":1}`)
			}))
			defer device.Close()
			s, err := strategy.NewDeviceCode(strategy.DeviceCodeConfig{
				DeviceAuthURL: device.URL, TokenURL: endpoint, ClientID: "cli",
				Store: strategy.NewMemoryStore(), Prompt: func(strategy.DeviceAuthorization) {}, HTTPClient: client,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			_, err = s.Login(ctx)
			return err
		}},
	}
	for _, status := range []int{301, 302, 303, 307, 308} {
		for _, flow := range flows {
			t.Run(fmt.Sprintf("%d %s", status, flow.name), func(t *testing.T) {
				hits.Store(0)
				redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, target+"?secret=rt-0#frag", status)
				}))
				defer redirector.Close()
				client := &http.Client{Timeout: 10 * time.Second} // follows redirects
				err := flow.run(t, redirector.URL, client)
				var re *strategy.RedirectError
				if !errors.As(err, &re) {
					t.Fatalf("got %v, want a *RedirectError", err)
				}
				if want := elsewhere.URL + "/steal"; re.StatusCode != status || re.Location != want {
					t.Errorf("got %d %q, want %d %q", re.StatusCode, re.Location, status, want)
				}
				if errors.Is(err, strategy.ErrTemporary) || strings.Contains(err.Error(), "pw") || strings.Contains(err.Error(), "rt-0") {
					t.Errorf("error %v: temporary, or shows user info or the query", err)
				}
				if n := hits.Load(); n != 0 {
					t.Errorf("the redirect target got %d requests", n)
				}
				if client.CheckRedirect != nil {
					t.Error("the caller's client was changed")
				}
			})
		}
	}
}
