package strategy_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/strategy"
)

// TestStrategiesPrintTheirFacts checks what each strategy prints: its type
// (for %#v) and its non-secret facts, the same for every verb.
func TestStrategiesPrintTheirFacts(t *testing.T) {
	ak, err := strategy.NewAccessKey(strategy.AccessKeyConfig{TokenURL: "https://auth.example/token", ClientID: "svc", ClientSecret: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	defer ak.Close()
	oauth := newOAuth(t, strategy.OAuthConfig{Store: strategy.NewMemoryStore(), Profile: "work", ClientSecret: "s3cret"})
	device, err := strategy.NewDeviceCode(strategy.DeviceCodeConfig{
		DeviceAuthURL: "https://auth.example/device", TokenURL: "https://auth.example/token",
		ClientID: "cli", ClientSecret: "s3cret", Store: strategy.NewMemoryStore(), Profile: "cli",
		Prompt: func(strategy.DeviceAuthorization) {},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer device.Close()
	static := strategy.NewStatic(tokenactor.ServiceToken{AccessToken: tokenactor.NewSecretToken("s3cret"), TokenType: "Bearer"})

	tests := []struct {
		name string
		give any
		want []string // %v, %+v, %#v, %s
	}{
		{
			name: "access key", give: ak,
			want: []string{"{}", "{}", "strategy.AccessKeyStrategy{}", "{}"},
		},
		{
			name: "oauth", give: oauth,
			want: []string{"{work}", "{Profile:work}", `strategy.OAuthStrategy{Profile:"work"}`, "{work}"},
		},
		{
			name: "device code", give: device,
			want: []string{
				"{https://auth.example/device https://auth.example/token cli cli}",
				"{DeviceAuthURL:https://auth.example/device TokenURL:https://auth.example/token ClientID:cli Profile:cli}",
				`strategy.DeviceCodeStrategy{DeviceAuthURL:"https://auth.example/device", TokenURL:"https://auth.example/token", ClientID:"cli", Profile:"cli"}`,
				"{https://auth.example/device https://auth.example/token cli cli}",
			},
		},
		{
			name: "static", give: static,
			want: []string{
				"{{[REDACTED] Bearer 0001-01-01 00:00:00 +0000 UTC}}",
				"{Token:{AccessToken:[REDACTED] TokenType:Bearer ExpiresAt:0001-01-01 00:00:00 +0000 UTC}}",
				`strategy.StaticStrategy{Token:tokenactor.ServiceToken{AccessToken:tokenactor.SecretToken([REDACTED]), TokenType:"Bearer", ExpiresAt:time.Date(1, time.January, 1, 0, 0, 0, 0, time.UTC)}}`,
				"{{[REDACTED] Bearer 0001-01-01 00:00:00 +0000 UTC}}",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
				got = append(got, fmt.Sprintf(verb, tt.give))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestConfigsMarshalWithTheSecretMasked checks the JSON form of each
// config: its data fields, the secret masked.
func TestConfigsMarshalWithTheSecretMasked(t *testing.T) {
	tests := []struct {
		name string
		give any
		want string
	}{
		{
			name: "access key",
			give: strategy.AccessKeyConfig{TokenURL: "https://auth.example/token", ClientID: "svc", ClientSecret: "s3cret", Scopes: []string{"a"}, AuthStyle: strategy.AuthStyleBody},
			want: `{"token_url":"https://auth.example/token","client_id":"svc","client_secret":"[REDACTED]","auth_style":"body","scopes":["a"]}`,
		},
		{
			name: "oauth without secret",
			give: strategy.OAuthConfig{Profile: "work"},
			want: `{"client_secret":"[EMPTY]","auth_style":"basic","profile":"work"}`,
		},
		{
			name: "device code, by pointer",
			give: &strategy.DeviceCodeConfig{DeviceAuthURL: "https://auth.example/device", ClientID: "cli", ClientSecret: "s3cret", Prompt: func(strategy.DeviceAuthorization) {}},
			want: `{"device_auth_url":"https://auth.example/device","client_id":"cli","client_secret":"[REDACTED]","auth_style":"basic"}`,
		},
		{
			name: "auto, with an explicit access key config",
			give: strategy.AutoConfig{
				AccessKey: &strategy.AccessKeyConfig{TokenURL: "https://auth.example/token", ClientID: "svc", ClientSecret: "s3cret"},
				Profile:   "work", EndpointParams: url.Values{"client_assertion": {"s3cret"}}, Getenv: func(string) string { return "" },
			},
			want: `{"access_key":{"token_url":"https://auth.example/token","client_id":"svc","client_secret":"[REDACTED]","auth_style":"basic"},"auth_style":"basic","profile":"work"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.give)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(b)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// An AutoConfig prints like the other configs: its EndpointParams, which
// may carry anything, and its callbacks are left out, for every verb and
// log/slog.
func TestAutoConfigNeverPrintsItsParams(t *testing.T) {
	cfg := strategy.AutoConfig{
		TokenURL: "https://auth.example/token", Profile: "work",
		EndpointParams: url.Values{"client_assertion": {"hunter2-secret"}},
		OAuth:          &strategy.OAuthConfig{ClientID: "svc", ClientSecret: "hunter2-secret"},
	}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("cfg", "cfg", cfg)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("cfg", "cfg", &cfg)
	for _, out := range []string{
		fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%s", cfg),
		fmt.Sprintf("%q", cfg), fmt.Sprint(&cfg), logged.String(),
	} {
		if strings.Contains(out, "hunter2") {
			t.Errorf("a secret printed: %s", out)
		}
		if !strings.Contains(out, "work") {
			t.Errorf("the profile is missing, so the test proves nothing: %s", out)
		}
	}
}
