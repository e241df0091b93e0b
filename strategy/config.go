package strategy

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/benbjohnson/clock"

	"github.com/tokenactor/tokenactor"
)

// A ConfigError reports a strategy configuration that cannot work. It names
// the field, never its value.
type ConfigError struct {
	// Field is the configuration field at fault, for example
	// "AccessKeyConfig.TokenURL".
	Field string
	// Reason says what is wrong with it.
	Reason string
}

// Error describes the problem.
func (e *ConfigError) Error() string { return "strategy: " + e.Field + ": " + e.Reason }

// checkTokenURL requires an absolute http or https URL, and https unless the
// host is a loopback address: credentials must not cross a network in clear
// text (RFC 6749 §2.3.1 and §3.2 require TLS).
func checkTokenURL(field, raw string) error {
	if raw == "" {
		return &ConfigError{Field: field, Reason: "empty"}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return &ConfigError{Field: field, Reason: "not an absolute URL"}
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return &ConfigError{Field: field, Reason: "http is allowed only for loopback hosts; use https"}
	}
	return &ConfigError{Field: field, Reason: "scheme must be https"}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// newEndpoint builds the endpoint a strategy posts to, with the defaults
// for a nil client or clock.
func newEndpoint(tokenURL string, client *http.Client, auth clientAuth, clk clock.Clock) *endpoint {
	if client == nil {
		client = defaultHTTPClient()
	}
	return &endpoint{url: tokenURL, client: client, auth: auth, clock: clk}
}

// cacheClock returns the clock a strategy reads and the options for its
// cache. A configured clock is appended after opts, so it wins over any
// tokenactor.WithClock there and the two agree. Without one, the strategy
// reads the system clock, as the cache does unless opts say otherwise.
func cacheClock(clk clock.Clock, opts []tokenactor.Option) (clock.Clock, []tokenactor.Option) {
	if clk == nil {
		return clock.New(), opts
	}
	return clk, append(opts[:len(opts):len(opts)], tokenactor.WithClock(clk))
}

// formatMasked formats v (a copy of a config struct in a type without
// methods, its secrets already masked) for verb, honouring %+v and %#v,
// which shows the type as name.
func formatMasked(f fmt.State, verb rune, v any, name string) {
	switch {
	case verb == 'v' && f.Flag('#'):
		s := fmt.Sprintf("%#v", v)
		if i := strings.IndexByte(s, '{'); i >= 0 {
			s = name + s[i:]
		}
		fmt.Fprint(f, s)
	case verb == 'v' && f.Flag('+'):
		fmt.Fprintf(f, "%+v", v)
	default:
		fmt.Fprintf(f, "%v", v)
	}
}

// configJSON is the JSON form of every config of this package: its data
// fields, the client secret masked. Clients, clocks, stores, callbacks and
// EndpointParams (which may carry anything, credentials included) are left
// out.
type configJSON struct {
	DeviceAuthURL string                 `json:"device_auth_url,omitempty"`
	TokenURL      string                 `json:"token_url,omitempty"`
	Issuer        string                 `json:"issuer,omitempty"`
	ClientID      string                 `json:"client_id,omitempty"`
	ClientSecret  tokenactor.SecretToken `json:"client_secret"`
	AuthStyle     string                 `json:"auth_style"`
	Scopes        []string               `json:"scopes,omitempty"`
	Audience      string                 `json:"audience,omitempty"`
	Resource      string                 `json:"resource,omitempty"`
	Profile       string                 `json:"profile,omitempty"`
}

// MarshalJSON encodes the config with ClientSecret masked, so a config
// logged as JSON (log/slog's JSON handler, an encoder of a larger struct)
// never carries the secret. It is one-way: a config is data to configure
// with, not a place to persist a secret.
func (c AccessKeyConfig) MarshalJSON() ([]byte, error) {
	return json.Marshal(configJSON{
		TokenURL: c.TokenURL, Issuer: c.Issuer, ClientID: c.ClientID, ClientSecret: tokenactor.NewSecretToken(c.ClientSecret),
		AuthStyle: c.AuthStyle.String(), Scopes: c.Scopes, Audience: c.Audience, Resource: c.Resource,
	})
}

// MarshalJSON encodes the config with ClientSecret masked (see
// [AccessKeyConfig.MarshalJSON]).
func (c OAuthConfig) MarshalJSON() ([]byte, error) {
	return json.Marshal(configJSON{
		TokenURL: c.TokenURL, ClientID: c.ClientID, ClientSecret: tokenactor.NewSecretToken(c.ClientSecret),
		AuthStyle: c.AuthStyle.String(), Scopes: c.Scopes, Audience: c.Audience, Resource: c.Resource, Profile: c.Profile,
	})
}

// MarshalJSON encodes the config with ClientSecret masked (see
// [AccessKeyConfig.MarshalJSON]).
func (c DeviceCodeConfig) MarshalJSON() ([]byte, error) {
	return json.Marshal(configJSON{
		DeviceAuthURL: c.DeviceAuthURL, TokenURL: c.TokenURL, Issuer: c.Issuer, ClientID: c.ClientID,
		ClientSecret: tokenactor.NewSecretToken(c.ClientSecret), AuthStyle: c.AuthStyle.String(),
		Scopes: c.Scopes, Audience: c.Audience, Resource: c.Resource, Profile: c.Profile,
	})
}

// The views strategies print as (see [AccessKeyStrategy.Format]): named
// types, so %#v shows a type name formatMasked can replace.
type (
	accessKeyStrategyView  struct{}
	oauthStrategyView      struct{ Profile string }
	autoStrategyView       struct{ Source string }
	staticStrategyView     struct{ Token tokenactor.ServiceToken }
	deviceCodeStrategyView struct{ DeviceAuthURL, TokenURL, ClientID, Profile string }
)
