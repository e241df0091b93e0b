package strategy_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/strategy"
)

func newDeviceCode(t *testing.T, srv *deviceServer, store strategy.TokenStore, shown *[]strategy.DeviceAuthorization) *strategy.DeviceCodeStrategy {
	t.Helper()
	s, err := strategy.NewDeviceCode(strategy.DeviceCodeConfig{
		DeviceAuthURL: "https://auth.example/device", TokenURL: "https://auth.example/token",
		ClientID: "cli", Scopes: []string{"openid", "offline_access"}, Store: store,
		Prompt:     func(da strategy.DeviceAuthorization) { *shown = append(*shown, da) },
		HTTPClient: memClient(srv),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestDeviceCodePollsAsTheRFCSays(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &deviceServer{expiresIn: 600, start: time.Now(), script: []string{"pending", "slow_down", "busy", "pending", "ok"}}
		store := strategy.NewMemoryStore()
		var shown []strategy.DeviceAuthorization
		s := newDeviceCode(t, srv, store, &shown)

		sess, err := s.Login(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		// No interval given: 5 s. slow_down adds 5 s; a 503 doubles it.
		wantPolls := []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, 60 * time.Second}
		if diff := cmp.Diff(wantPolls, srv.polls); diff != "" {
			t.Errorf("poll times (-want +got):\n%s", diff)
		}
		wantShown := []strategy.DeviceAuthorization{{
			UserCode: "WDJB-MJHT", VerificationURI: "https://auth.example/device",
			ExpiresAt: srv.start.Add(10 * time.Minute), Interval: 5 * time.Second,
		}}
		if diff := cmp.Diff(wantShown, shown); diff != "" {
			t.Errorf("prompt (-want +got):\n%s", diff)
		}
		if len(srv.bad) > 0 {
			t.Errorf("protocol violations: %v", srv.bad)
		}
		// The session is saved and served.
		saved, err := store.Load(t.Context(), strategy.DefaultProfile)
		if err != nil {
			t.Fatal(err)
		}
		got := []string{sess.AccessToken.Reveal(), saved.AccessToken.Reveal(), saved.RefreshToken.Reveal(), saved.TokenURL, saved.ClientID, mustToken(t, s)}
		want := []string{"at-device", "at-device", "rt-device", "https://auth.example/token", "cli", "at-device"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(srv.start.Add(time.Minute+time.Hour), saved.ExpiresAt); diff != "" {
			t.Errorf("ExpiresAt (-want +got):\n%s", diff)
		}
	})
}

func TestDeviceCodeServerInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &deviceServer{interval: 2, expiresIn: 600, start: time.Now(), script: []string{"pending", "ok"}}
		var shown []strategy.DeviceAuthorization
		if _, err := newDeviceCode(t, srv, strategy.NewMemoryStore(), &shown).Login(t.Context()); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]time.Duration{2 * time.Second, 4 * time.Second}, srv.polls); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}

func TestDeviceCodeEndings(t *testing.T) {
	tests := []struct {
		name      string
		script    []string
		expiresIn int
		want      error
		wantPolls int
	}{
		{name: "access_denied", script: []string{"pending", "denied"}, expiresIn: 600, want: strategy.ErrAccessDenied, wantPolls: 2},
		{name: "expired_token", script: []string{"expired"}, expiresIn: 600, want: strategy.ErrDeviceCodeExpired, wantPolls: 1},
		{name: "code expires while pending", expiresIn: 30, want: strategy.ErrDeviceCodeExpired, wantPolls: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := &deviceServer{expiresIn: tt.expiresIn, start: time.Now(), script: tt.script}
				store := strategy.NewMemoryStore()
				var shown []strategy.DeviceAuthorization
				_, err := newDeviceCode(t, srv, store, &shown).Login(t.Context())
				if !errors.Is(err, tt.want) || !errors.Is(err, strategy.ErrLoginRequired) {
					t.Errorf("got %v, want %v (and ErrLoginRequired)", err, tt.want)
				}
				if diff := cmp.Diff(tt.wantPolls, len(srv.polls)); diff != "" {
					t.Errorf("polls (-want +got):\n%s", diff)
				}
				if _, err := store.Load(t.Context(), strategy.DefaultProfile); !errors.Is(err, strategy.ErrNoSession) {
					t.Errorf("a session was saved: %v", err)
				}
			})
		})
	}
}

func TestDeviceCodeContextCancels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &deviceServer{expiresIn: 600, start: time.Now()}
		var shown []strategy.DeviceAuthorization
		s := newDeviceCode(t, srv, strategy.NewMemoryStore(), &shown)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() {
			_, err := s.Login(ctx)
			done <- err
		}()
		time.Sleep(12 * time.Second) // two polls answered "pending"
		cancel()
		err := <-done
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
		if diff := cmp.Diff(2, len(srv.polls)); diff != "" {
			t.Errorf("polls (-want +got):\n%s", diff)
		}
	})
}

func TestDeviceCodeBadAuthorizationResponse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &deviceServer{expiresIn: 0, start: time.Now()} // no expires_in
		var shown []strategy.DeviceAuthorization
		_, err := newDeviceCode(t, srv, strategy.NewMemoryStore(), &shown).Login(t.Context())
		var ie *strategy.InvalidResponseError
		if !errors.As(err, &ie) || len(shown) != 0 {
			t.Errorf("got %v with %d prompts, want *InvalidResponseError and no prompt", err, len(shown))
		}
	})
}

func TestDeviceCodeLogout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &deviceServer{expiresIn: 600, start: time.Now(), script: []string{"ok"}}
		var shown []strategy.DeviceAuthorization
		s := newDeviceCode(t, srv, strategy.NewMemoryStore(), &shown)
		if _, err := s.Login(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := s.Logout(t.Context()); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(t.Context()); !errors.Is(err, tokenactor.ErrNotAuthenticated) {
			t.Errorf("got %v, want ErrNotAuthenticated after Logout", err)
		}
	})
}

func ExampleDeviceCodeStrategy_Login() {
	srv := &deviceServer{interval: 1, expiresIn: 600, script: []string{"ok"}}
	s, err := strategy.NewDeviceCode(strategy.DeviceCodeConfig{
		DeviceAuthURL: "https://auth.example/device",
		TokenURL:      "https://auth.example/token",
		ClientID:      "cli",
		Scopes:        []string{"openid", "offline_access"},
		Store:         strategy.NewMemoryStore(), // strategy.NewFileStore(dir) in a CLI
		Prompt: func(da strategy.DeviceAuthorization) {
			fmt.Printf("Open %s and enter %s\n", da.VerificationURI, da.UserCode)
		},
		HTTPClient: memClient(srv),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	if _, err := s.Login(context.Background()); err != nil { // polls at the server's interval
		fmt.Println(err)
		return
	}
	tok, _ := s.Get(context.Background())
	fmt.Println("logged in:", tok.AccessToken.Reveal())
	// Output:
	// Open https://auth.example/device and enter WDJB-MJHT
	// logged in: at-device
}
