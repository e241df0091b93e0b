package strategy_test

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/fakeclock"
	"github.com/tokenactor/tokenactor/strategy"
)

func newAccessKey(t *testing.T, cfg strategy.AccessKeyConfig, opts ...tokenactor.Option) *strategy.AccessKeyStrategy {
	t.Helper()
	s, err := strategy.NewAccessKey(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestAccessKeyRefreshesBeforeExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &grantServer{lifetime: 300}
		s := newAccessKey(t, strategy.AccessKeyConfig{
			TokenURL: "https://auth.example/token", ClientID: "svc", ClientSecret: "s3cret",
			HTTPClient: memClient(srv),
		})
		start := time.Now()
		var got []string
		get := func() {
			tok, err := s.Get(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprintf("%s %s +%v", tok.TokenType, tok.AccessToken.Reveal(), tok.ExpiresAt.Sub(start)))
		}
		get()                                                      // first grant
		time.Sleep(300*time.Second - 90*time.Second + time.Second) // into the refresh window
		get()                                                      // still served, refresh starts
		synctest.Wait()
		get() // the refreshed token
		want := []string{"Bearer token-1 +5m0s", "Bearer token-1 +5m0s", "Bearer token-2 +8m31s"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(2, srv.count()); diff != "" {
			t.Errorf("grants (-want +got):\n%s", diff)
		}
	})
}

func TestAccessKeyUsesConfiguredClock(t *testing.T) {
	srv := &grantServer{lifetime: 300}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	clk := fakeclock.New()
	clk.Add(time.Hour)
	s := newAccessKey(t, strategy.AccessKeyConfig{
		TokenURL: ts.URL, ClientID: "svc", ClientSecret: "s3cret", Clock: clk,
	}, tokenactor.WithoutFastPath())
	tok, err := s.Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fakeclock.At(time.Hour+5*time.Minute), tok.ExpiresAt); diff != "" {
		t.Errorf("ExpiresAt (-want +got):\n%s", diff)
	}
	// Past expiry on the fake clock the cache (which reads the same clock)
	// must not serve the old token.
	clk.AdvanceTo(tok.ExpiresAt)
	tok, err = s.Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("token-2", tok.AccessToken.Reveal()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestAccessKeyReadsTheConfigsClock: the config's Clock turns expires_in
// into ExpiresAt.
func TestAccessKeyReadsTheConfigsClock(t *testing.T) {
	srv := &grantServer{lifetime: 300}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	clk := fakeclock.New()
	clk.Add(time.Hour)
	s := newAccessKey(t, strategy.AccessKeyConfig{
		TokenURL: ts.URL, ClientID: "svc", ClientSecret: "s3cret", Clock: clk,
	}, tokenactor.WithoutFastPath())
	tok, err := s.Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fakeclock.At(time.Hour+5*time.Minute), tok.ExpiresAt); diff != "" {
		t.Errorf("ExpiresAt (-want +got):\n%s", diff)
	}
}

func TestAccessKeySendsGrant(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &grantServer{lifetime: 60}
		s := newAccessKey(t, strategy.AccessKeyConfig{
			TokenURL: "https://auth.example/token", ClientID: "svc", ClientSecret: "s3cret",
			Scopes: []string{"read", "write"}, Audience: "https://api.example", HTTPClient: memClient(srv),
		})
		if _, err := s.Get(t.Context()); err != nil {
			t.Fatal(err)
		}
		want := []map[string][]string{{
			"grant_type": {"client_credentials"}, "scope": {"read write"}, "audience": {"https://api.example"},
		}}
		if diff := cmp.Diff(want, srv.forms); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}

func TestAccessKeyInvalidate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &grantServer{lifetime: 3600}
		s := newAccessKey(t, strategy.AccessKeyConfig{
			TokenURL: "https://auth.example/token", ClientID: "svc", ClientSecret: "s3cret", HTTPClient: memClient(srv),
		})
		first, _ := s.Get(t.Context())
		s.Invalidate()
		s.Invalidate()
		second, err := s.Get(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		got := []string{first.AccessToken.Reveal(), second.AccessToken.Reveal()}
		if diff := cmp.Diff([]string{"token-1", "token-2"}, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}

func TestAccessKeyWrongSecret(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newAccessKey(t, strategy.AccessKeyConfig{
			TokenURL: "https://auth.example/token", ClientID: "svc", ClientSecret: "wrong-secret",
			HTTPClient: memClient(&grantServer{lifetime: 60}),
		})
		_, err := s.Get(t.Context())
		var oe *strategy.OAuthError
		if !errors.As(err, &oe) || oe.Code != "invalid_client" {
			t.Fatalf("got %v, want *OAuthError invalid_client", err)
		}
		if !errors.Is(err, strategy.ErrLoginRequired) || errors.Is(err, strategy.ErrTemporary) {
			t.Errorf("got %v, want ErrLoginRequired only", err)
		}
		if strings.Contains(err.Error(), "wrong-secret") {
			t.Errorf("error shows the secret: %v", err)
		}
	})
}

func TestNewAccessKeyRejectsBadConfig(t *testing.T) {
	good := strategy.AccessKeyConfig{TokenURL: "https://auth.example/token", ClientID: "svc", ClientSecret: "s3cret"}
	tests := []struct {
		name string
		give func(*strategy.AccessKeyConfig)
		want string
	}{
		{name: "no URL", give: func(c *strategy.AccessKeyConfig) { c.TokenURL = "" }, want: "AccessKeyConfig.TokenURL"},
		{name: "relative URL", give: func(c *strategy.AccessKeyConfig) { c.TokenURL = "/token" }, want: "AccessKeyConfig.TokenURL"},
		{name: "plain http off loopback", give: func(c *strategy.AccessKeyConfig) { c.TokenURL = "http://auth.example/token" }, want: "AccessKeyConfig.TokenURL"},
		{name: "ftp", give: func(c *strategy.AccessKeyConfig) { c.TokenURL = "ftp://auth.example/token" }, want: "AccessKeyConfig.TokenURL"},
		{name: "no client id", give: func(c *strategy.AccessKeyConfig) { c.ClientID = "" }, want: "AccessKeyConfig.ClientID"},
		{name: "no secret", give: func(c *strategy.AccessKeyConfig) { c.ClientSecret = "" }, want: "AccessKeyConfig.ClientSecret"},
		{name: "bad style", give: func(c *strategy.AccessKeyConfig) { c.AuthStyle = 7 }, want: "AccessKeyConfig.AuthStyle"},
		{name: "http on loopback is fine", give: func(c *strategy.AccessKeyConfig) { c.TokenURL = "http://127.0.0.1:8080/token" }, want: ""},
		{name: "localhost is fine", give: func(c *strategy.AccessKeyConfig) { c.TokenURL = "http://localhost/token" }, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.give(&cfg)
			s, err := strategy.NewAccessKey(cfg)
			got := ""
			var ce *strategy.ConfigError
			if errors.As(err, &ce) {
				got = ce.Field
			}
			if s != nil {
				s.Close()
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s\nerror: %v", diff, err)
			}
		})
	}
}

func TestParseAccessKey(t *testing.T) {
	tests := []struct {
		give    string
		wantID  string
		wantSec string
		wantErr error
	}{
		{give: "svc.s3cret", wantID: "svc", wantSec: "s3cret"},
		{give: "svc.se.cr.et", wantID: "svc", wantSec: "se.cr.et"},
		{give: " svc.s3cret\n", wantID: "svc", wantSec: "s3cret"},
		{give: "svcs3cret", wantErr: strategy.ErrAccessKeyMissingDot},
		{give: "", wantErr: strategy.ErrAccessKeyMissingDot},
		{give: ".s3cret", wantErr: strategy.ErrAccessKeyEmptyID},
		{give: "svc.", wantErr: strategy.ErrAccessKeyEmptySecret},
		{give: ".", wantErr: strategy.ErrAccessKeyEmptyID},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			k, err := strategy.ParseAccessKey(tt.give)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("error: got %v, want %v", err, tt.wantErr)
			}
			got := []string{k.ID, k.Secret.Reveal()}
			if diff := cmp.Diff([]string{tt.wantID, tt.wantSec}, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestSecretsAreNeverPrinted(t *testing.T) {
	key, err := strategy.ParseAccessKey("svc.hunter2-secret")
	if err != nil {
		t.Fatal(err)
	}
	cfg := key.Config("https://auth.example/token")
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("cfg", "cfg", cfg, "key", key)
	oauthCfg := strategy.OAuthConfig{ClientID: "svc", ClientSecret: "hunter2-secret"}
	deviceCfg := strategy.DeviceCodeConfig{ClientID: "svc", ClientSecret: "hunter2-secret"}
	outputs := []string{
		fmt.Sprintf("%+v", oauthCfg), fmt.Sprintf("%#v", oauthCfg), fmt.Sprintf("%+v", deviceCfg), fmt.Sprintf("%#v", &deviceCfg),
		fmt.Sprintf("%v", key), fmt.Sprintf("%+v", key), fmt.Sprintf("%#v", key), fmt.Sprintf("%s", key),
		fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%s", cfg),
		fmt.Sprint(&cfg), logged.String(),
	}
	for _, out := range outputs {
		if strings.Contains(out, "hunter2") {
			t.Errorf("secret printed: %s", out)
		}
		if !strings.Contains(out, "svc") {
			t.Errorf("client id missing, so the test proves nothing: %s", out)
		}
	}
}
