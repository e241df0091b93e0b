package strategy_test

import (
	"crypto/tls"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/oauthtest"
	"github.com/tokenactor/tokenactor/strategy"
)

// env returns a Getenv reading from m.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestAutoDetectionOrder(t *testing.T) {
	dirWithSession := t.TempDir()
	strategy.NewFileStore(dirWithSession).Save(t.Context(), "work", strategy.Session{
		TokenURL: "https://auth.example/token", RefreshToken: tokenactor.NewSecretToken("rt"),
	})
	explicit := &strategy.AccessKeyConfig{TokenURL: "https://auth.example/token", ClientID: "svc", ClientSecret: "s3cret"}
	tests := []struct {
		name string
		cfg  strategy.AutoConfig
		env  map[string]string
		want string // Source, or the error
	}{
		{
			name: "explicit config wins over everything",
			cfg:  strategy.AutoConfig{AccessKey: explicit},
			env:  map[string]string{"TOKENACTOR_ACCESS_KEY": "a.b", "TOKENACTOR_TOKEN_URL": "https://x.example/t"},
			want: "config: access key",
		},
		{
			name: "explicit OAuth",
			cfg:  strategy.AutoConfig{OAuth: &strategy.OAuthConfig{Store: strategy.NewMemoryStore()}},
			want: "config: OAuth session",
		},
		{
			name: "access key from the environment",
			env:  map[string]string{"TOKENACTOR_ACCESS_KEY": "svc.s3cret", "TOKENACTOR_TOKEN_URL": "https://auth.example/token", "TOKENACTOR_CONFIG_DIR": dirWithSession, "TOKENACTOR_PROFILE": "work"},
			want: "environment: TOKENACTOR_ACCESS_KEY",
		},
		{
			name: "token URL from config",
			cfg:  strategy.AutoConfig{TokenURL: "https://auth.example/token"},
			env:  map[string]string{"TOKENACTOR_ACCESS_KEY": "svc.s3cret"},
			want: "environment: TOKENACTOR_ACCESS_KEY",
		},
		{
			name: "client id and secret from the environment",
			env:  map[string]string{"TOKENACTOR_CLIENT_ID": "svc", "TOKENACTOR_CLIENT_SECRET": "s3cret", "TOKENACTOR_TOKEN_URL": "https://auth.example/token"},
			want: "environment: TOKENACTOR_CLIENT_ID",
		},
		{
			name: "saved profile",
			env:  map[string]string{"TOKENACTOR_CONFIG_DIR": dirWithSession, "TOKENACTOR_PROFILE": "work"},
			want: "profile work in " + filepath.Join(dirWithSession, "work.json"),
		},
		{
			name: "profile from config",
			cfg:  strategy.AutoConfig{Profile: "work"},
			env:  map[string]string{"TOKENACTOR_CONFIG_DIR": dirWithSession, "TOKENACTOR_PROFILE": "other"},
			want: "profile work in " + filepath.Join(dirWithSession, "work.json"),
		},
		{
			name: "nothing",
			env:  map[string]string{"TOKENACTOR_CONFIG_DIR": t.TempDir()},
			want: "error: ErrNotAuthenticated",
		},
		{
			name: "malformed key is reported, not skipped",
			env:  map[string]string{"TOKENACTOR_ACCESS_KEY": "nodot", "TOKENACTOR_CONFIG_DIR": dirWithSession, "TOKENACTOR_PROFILE": "work"},
			want: "error: strategy: TOKENACTOR_ACCESS_KEY: strategy: access key must be <client id>.<secret>: no dot",
		},
		{
			name: "key without token URL",
			env:  map[string]string{"TOKENACTOR_ACCESS_KEY": "svc.s3cret"},
			want: "error: strategy: TOKENACTOR_TOKEN_URL: unset, and needed with TOKENACTOR_ACCESS_KEY (or set TOKENACTOR_ISSUER)",
		},
		{
			name: "client id without secret",
			env:  map[string]string{"TOKENACTOR_CLIENT_ID": "svc", "TOKENACTOR_TOKEN_URL": "https://auth.example/token"},
			want: "error: strategy: TOKENACTOR_CLIENT_SECRET: unset while TOKENACTOR_CLIENT_ID is set",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Getenv = env(tt.env)
			s, err := strategy.NewAuto(tt.cfg)
			var got string
			switch {
			case errors.Is(err, tokenactor.ErrNotAuthenticated):
				got = "error: ErrNotAuthenticated"
			case err != nil:
				got = "error: " + err.Error()
			default:
				got = s.Source()
				s.Close()
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestAutoNothingFoundSaysWhatToDo(t *testing.T) {
	_, err := strategy.NewAuto(strategy.AutoConfig{Getenv: env(map[string]string{"TOKENACTOR_CONFIG_DIR": "/nonexistent/tokenactor"})})
	if !errors.Is(err, strategy.ErrNoCredentials) {
		t.Fatalf("got %v, want ErrNoCredentials", err)
	}
	for _, want := range []string{"TOKENACTOR_ACCESS_KEY", "TOKENACTOR_CLIENT_ID", "/nonexistent/tokenactor/default.json"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not mention %s", err, want)
		}
	}
}

func TestAutoCorruptProfileIsReported(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "default.json"), []byte("{oops"), 0o600)
	_, err := strategy.NewAuto(strategy.AutoConfig{Getenv: env(map[string]string{"TOKENACTOR_CONFIG_DIR": dir})})
	var ce *strategy.CorruptSessionError
	if !errors.As(err, &ce) {
		t.Fatalf("got %v, want *CorruptSessionError", err)
	}
}

func TestAutoEnvironmentKeyGetsTokens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &grantServer{lifetime: 60}
		s, err := strategy.NewAuto(strategy.AutoConfig{
			HTTPClient: memClient(srv),
			Getenv:     env(map[string]string{"TOKENACTOR_ACCESS_KEY": "svc.s3cret", "TOKENACTOR_TOKEN_URL": "https://auth.example/token"}),
		})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		got := []string{mustToken(t, s)}
		s.Invalidate()
		got = append(got, mustToken(t, s))
		time.Sleep(time.Minute)
		got = append(got, mustToken(t, s))
		if diff := cmp.Diff([]string{"token-1", "token-2", "token-3"}, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}

func TestDefaultConfigDir(t *testing.T) {
	t.Setenv("TOKENACTOR_CONFIG_DIR", "/custom/dir")
	got, err := strategy.DefaultConfigDir()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("/custom/dir", got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if runtime.GOOS != "linux" {
		return // os.UserConfigDir reads XDG_CONFIG_HOME on Linux only
	}
	t.Setenv("TOKENACTOR_CONFIG_DIR", "")
	t.Setenv("XDG_CONFIG_HOME", "/xdg")
	got, _ = strategy.DefaultConfigDir()
	if diff := cmp.Diff("/xdg/tokenactor", got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// With a key or a certificate, TOKENACTOR_CLIENT_ID alone is client
// credentials authenticated with it, a secret beside it is refused, and a
// saved session refreshes with the key.
func TestAutoWithClientKeyOrCertificate(t *testing.T) {
	key := newEdKey()
	cert := newCert(t, "mtls")
	srv := oauthtest.NewTLSServer(oauthtest.WithClientKey("svc", key.Public()), oauthtest.WithClientCertificate("mtls", cert.Leaf))
	defer srv.Close()
	mtls := strategy.NewMTLSClient(cert, roots(srv))
	defer mtls.CloseIdleConnections()
	trusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots(srv)}}}
	defer trusting.CloseIdleConnections()
	ck := &strategy.ClientKey{Signer: key}

	get := func(t *testing.T, cfg strategy.AutoConfig, vars map[string]string) (string, error) {
		t.Helper()
		cfg.Getenv = env(vars)
		s, err := strategy.NewAuto(cfg)
		if err != nil {
			return "", err
		}
		defer s.Close()
		_, err = s.Get(t.Context())
		return s.Source(), err
	}
	idOnly := func(id string) map[string]string {
		return map[string]string{"TOKENACTOR_CLIENT_ID": id, "TOKENACTOR_TOKEN_URL": srv.TokenURL()}
	}
	if src, err := get(t, strategy.AutoConfig{ClientKey: ck, HTTPClient: trusting}, idOnly("svc")); err != nil || src != "environment: TOKENACTOR_CLIENT_ID" {
		t.Errorf("key: source %q, err %v", src, err)
	}
	if req, _ := srv.LastRequest(oauthtest.EndpointToken); !req.Form.Has("client_assertion") || req.Form.Get("grant_type") != "client_credentials" {
		t.Errorf("key: the grant carried no assertion: %v", req.Form)
	}
	if src, err := get(t, strategy.AutoConfig{TLSClientAuth: true, HTTPClient: mtls}, idOnly("mtls")); err != nil || src != "environment: TOKENACTOR_CLIENT_ID" {
		t.Errorf("certificate: source %q, err %v", src, err)
	}

	// A session saved for the key's client refreshes with the key.
	dir := t.TempDir()
	strategy.NewFileStore(dir).Save(t.Context(), "default", strategy.Session{
		TokenURL: srv.TokenURL(), ClientID: "svc", RefreshToken: tokenactor.NewSecretToken("rt-unknown"),
	})
	_, err := get(t, strategy.AutoConfig{ClientKey: ck, HTTPClient: trusting}, map[string]string{"TOKENACTOR_CONFIG_DIR": dir})
	if oe := refusal(t, err); oe.Code != "invalid_grant" {
		t.Errorf("refresh of an unknown token: %v, want invalid_grant (the client authenticated)", err)
	}
	if req, _ := srv.LastRequest(oauthtest.EndpointToken); !req.Form.Has("client_assertion") || req.Form.Get("grant_type") != "refresh_token" {
		t.Errorf("the refresh carried no assertion: %v", req.Form)
	}

	for _, tt := range []struct {
		name string
		cfg  strategy.AutoConfig
		env  map[string]string
		want string
	}{
		{name: "key and access key", cfg: strategy.AutoConfig{ClientKey: ck}, env: map[string]string{"TOKENACTOR_ACCESS_KEY": "svc.s3cret"}, want: "TOKENACTOR_ACCESS_KEY"},
		{name: "key and secret", cfg: strategy.AutoConfig{ClientKey: ck}, env: map[string]string{"TOKENACTOR_CLIENT_ID": "svc", "TOKENACTOR_CLIENT_SECRET": "s3cret"}, want: "TOKENACTOR_CLIENT_SECRET"},
		{name: "certificate and secret", cfg: strategy.AutoConfig{TLSClientAuth: true, HTTPClient: mtls}, env: map[string]string{"TOKENACTOR_CLIENT_SECRET": "s3cret"}, want: "TOKENACTOR_CLIENT_SECRET"},
		{name: "key and certificate", cfg: strategy.AutoConfig{ClientKey: ck, TLSClientAuth: true, HTTPClient: mtls}, want: "AutoConfig.ClientKey"},
		{name: "certificate without a client", cfg: strategy.AutoConfig{TLSClientAuth: true}, want: "AutoConfig.HTTPClient"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Getenv = env(tt.env)
			_, err := strategy.NewAuto(tt.cfg)
			var ce *strategy.ConfigError
			if !errors.As(err, &ce) || ce.Field != tt.want {
				t.Errorf("err = %v, want a *ConfigError for %s", err, tt.want)
			}
		})
	}
}
