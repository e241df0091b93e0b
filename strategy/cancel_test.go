package strategy_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/strategy"
)

// ctxStore is a MemoryStore that, like a store over a network, fails a
// call whose context has ended.
type ctxStore struct{ *strategy.MemoryStore }

func (s ctxStore) Save(ctx context.Context, profile string, sess strategy.Session) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.MemoryStore.Save(ctx, profile, sess)
}

func (s ctxStore) Lock(ctx context.Context, profile string) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.MemoryStore.Lock(ctx, profile)
}

// devicePoller answers the device authorization, then the first poll with
// answer, calling onToken first.
func devicePoller(answer string, onToken func()) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/device") {
			fmt.Fprint(w, `{"device_code":"dc","user_code":"U","verification_uri":"https://auth.example/d","expires_in":600,"interval":1}`)
			return
		}
		onToken()
		fmt.Fprint(w, answer)
	}
}

func newDeviceLogin(t *testing.T, h http.Handler, store strategy.TokenStore) *strategy.DeviceCodeStrategy {
	s, err := strategy.NewDeviceCode(strategy.DeviceCodeConfig{
		DeviceAuthURL: "https://auth.example/device", TokenURL: "https://auth.example/token", ClientID: "cli",
		Store: store, Prompt: func(strategy.DeviceAuthorization) {}, HTTPClient: memClient(h),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestLoginSavesTokensWhenTheCallerGivesUp: the caller's context ends just
// as the server issues the tokens. The device code is spent; the session
// must be saved all the same.
func TestLoginSavesTokensWhenTheCallerGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		store := ctxStore{strategy.NewMemoryStore()}
		s := newDeviceLogin(t, devicePoller(`{"access_token":"at-1","expires_in":3600,"refresh_token":"rt-1"}`, cancel), store)
		s.Login(ctx)
		if got := savedRefreshToken(t, store); got != "rt-1" {
			t.Fatalf("saved refresh token %q, want rt-1", got)
		}
	})
}

// TestLoginKeepsTheRefreshTokenOfARefusedAnswer: the final answer has an
// unusable lifetime but a refresh token: the refresh token is saved, and
// Login reports the refusal.
func TestLoginKeepsTheRefreshTokenOfARefusedAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := strategy.NewMemoryStore()
		s := newDeviceLogin(t, devicePoller(`{"access_token":"at-1","expires_in":0,"refresh_token":"rt-1"}`, func() {}), store)
		_, err := s.Login(t.Context())
		var ie *strategy.InvalidResponseError
		if !errors.As(err, &ie) {
			t.Errorf("Login: %v, want the *InvalidResponseError", err)
		}
		if got := savedRefreshToken(t, store); got != "rt-1" {
			t.Fatalf("saved refresh token %q, want rt-1", got)
		}
	})
}

// TestRefreshSavesRotationAfterTimeout: the server rotates the refresh
// token, but its answer arrives after the refresh timeout cancelled the
// call's context. The rotation must still reach the store.
func TestRefreshSavesRotationAfterTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(2 * time.Second) // past the 1 s refresh timeout
			json.NewEncoder(w).Encode(map[string]any{"access_token": "at-1", "expires_in": 3600, "refresh_token": "rt-1"})
		})
		store := ctxStore{strategy.NewMemoryStore()}
		store.Save(t.Context(), "default", strategy.Session{TokenURL: "https://auth.example/token", ClientID: "cli", RefreshToken: tokenactor.NewSecretToken("rt-0")})
		s := newOAuth(t, strategy.OAuthConfig{Store: store, HTTPClient: memClient(srv)}, tokenactor.WithRefreshTimeout(time.Second))
		s.Get(t.Context())
		if got := savedRefreshToken(t, store); got != "rt-1" {
			t.Fatalf("saved refresh token %q, want the rotated rt-1", got)
		}
	})
}

// TestVerificationURIIsBounded: a server cannot flood the terminal through
// the prompt.
func TestVerificationURIIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		long := "https://auth.example/" + strings.Repeat("a", 4096)
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			json.NewEncoder(w).Encode(map[string]any{"device_code": "dc", "user_code": "U", "verification_uri": long, "expires_in": 600})
		})
		prompted := false
		s, err := strategy.NewDeviceCode(strategy.DeviceCodeConfig{
			DeviceAuthURL: "https://auth.example/device", TokenURL: "https://auth.example/token", ClientID: "cli",
			Store: strategy.NewMemoryStore(), Prompt: func(strategy.DeviceAuthorization) { prompted = true }, HTTPClient: memClient(h),
		})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		_, err = s.Login(t.Context())
		var ie *strategy.InvalidResponseError
		if !errors.As(err, &ie) || prompted {
			t.Fatalf("got %v, prompted %v; want an *InvalidResponseError before any prompt", err, prompted)
		}
	})
}

// drippingTransport answers at once but delivers its body one byte an
// hour, until the request's context ends.
type drippingTransport struct{}

func (drippingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: drip{req.Context()}, Request: req}, nil
}

type drip struct{ ctx context.Context }

func (d drip) Read(p []byte) (int, error) {
	select {
	case <-d.ctx.Done():
		return 0, d.ctx.Err()
	case <-time.After(time.Hour):
		p[0] = ' '
		return 1, nil
	}
}

func (drip) Close() error { return nil }

// TestSlowBodyIsBounded: with a client without a timeout and a caller
// without a deadline, a server dripping its answer must not hold a login
// for ever: each request ends after 30 s.
func TestSlowBodyIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := strategy.NewDeviceCode(strategy.DeviceCodeConfig{
			DeviceAuthURL: "https://auth.example/device", TokenURL: "https://auth.example/token", ClientID: "cli",
			Store: strategy.NewMemoryStore(), Prompt: func(strategy.DeviceAuthorization) {},
			HTTPClient: &http.Client{Transport: drippingTransport{}},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		start := time.Now()
		_, err = s.Login(context.Background())
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 30*time.Second {
			t.Fatalf("after %v: %v; want a deadline error after 30s", time.Since(start), err)
		}
	})
}
