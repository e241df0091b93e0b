package strategy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"

	"github.com/benbjohnson/clock"

	"github.com/tokenactor/tokenactor"
)

// Environment variables read by [NewAuto] and [DefaultConfigDir].
const (
	// EnvAccessKey holds a one-string access key, "<client id>.<secret>"
	// (see ParseAccessKey).
	EnvAccessKey = "TOKENACTOR_ACCESS_KEY"
	// EnvClientID and EnvClientSecret hold client credentials as two
	// variables, an alternative to EnvAccessKey.
	EnvClientID     = "TOKENACTOR_CLIENT_ID"
	EnvClientSecret = "TOKENACTOR_CLIENT_SECRET"
	// EnvTokenURL is the token endpoint for credentials from the
	// environment, and overrides the one saved with a profile's session.
	EnvTokenURL = "TOKENACTOR_TOKEN_URL"
	// EnvProfile names the profile to use; "default" if unset.
	EnvProfile = "TOKENACTOR_PROFILE"
	// EnvConfigDir is the directory of saved sessions; by default
	// os.UserConfigDir()/tokenactor.
	EnvConfigDir = "TOKENACTOR_CONFIG_DIR"
	// EnvIssuer is the authorization server's issuer URL, whose metadata
	// names the token endpoint when EnvTokenURL is unset.
	EnvIssuer = "TOKENACTOR_ISSUER"
)

// ErrNoCredentials reports that NewAuto found no credentials anywhere. It
// matches tokenactor.ErrNotAuthenticated.
var ErrNoCredentials = fmt.Errorf("strategy: no credentials found: %w", tokenactor.ErrNotAuthenticated)

// DefaultConfigDir returns the directory of saved sessions: $TOKENACTOR_CONFIG_DIR
// if set, else os.UserConfigDir()/tokenactor (~/.config/tokenactor on
// Linux, ~/Library/Application Support/tokenactor on macOS,
// %AppData%\tokenactor on Windows).
func DefaultConfigDir() (string, error) { return configDir(os.Getenv) }

func configDir(getenv func(string) string) (string, error) {
	if dir := getenv(EnvConfigDir); dir != "" {
		return dir, nil
	}
	base, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("strategy: no config directory (set %s): %w", EnvConfigDir, err)
	}
	return filepath.Join(base, "tokenactor"), nil
}

// An AutoConfig says where [NewAuto] looks for credentials. Every field is
// optional; the zero value detects from the environment and the default
// profile store.
type AutoConfig struct {
	// AccessKey, if not nil, is used as is: explicit configuration wins.
	AccessKey *AccessKeyConfig
	// OAuth, if not nil and AccessKey is nil, is used as is.
	OAuth *OAuthConfig
	// TokenURL is the token endpoint for credentials found in the
	// environment when TOKENACTOR_TOKEN_URL is unset.
	TokenURL string
	// Issuer is the authorization server's issuer URL, for credentials
	// found in the environment when neither TOKENACTOR_TOKEN_URL nor
	// TokenURL is set: the token endpoint is found in its metadata.
	// Empty means $TOKENACTOR_ISSUER.
	Issuer string
	// Discovery fetches and caches Issuer's metadata. Nil means one of the
	// strategy's own.
	Discovery *Discovery
	// Scopes, Audience, Resource and EndpointParams are sent with the
	// token requests of the strategy chosen from the environment or the
	// store (see AccessKeyConfig and OAuthConfig).
	Scopes         []string
	Audience       string
	Resource       string
	EndpointParams url.Values
	// AuthStyle says how a client secret from the environment is sent
	// (see AccessKeyConfig).
	AuthStyle AuthStyle
	// ClientKey authenticates the client with a signed JWT instead of a
	// secret (private_key_jwt; see [ClientKey]): the client of
	// TOKENACTOR_CLIENT_ID, which then needs no TOKENACTOR_CLIENT_SECRET,
	// or that of the saved session. Nil for none.
	ClientKey *ClientKey
	// TLSClientAuth says the client authenticates with the certificate
	// HTTPClient presents (RFC 8705; see [AccessKeyConfig.TLSClientAuth]),
	// as ClientKey does with a key. HTTPClient is then required.
	//
	// With ClientKey or TLSClientAuth, a secret in the environment
	// (TOKENACTOR_ACCESS_KEY, TOKENACTOR_CLIENT_SECRET) is a *ConfigError:
	// a client authenticates one way. Setting both is one too.
	TLSClientAuth bool
	// Store holds saved sessions. Nil means a FileStore in
	// DefaultConfigDir().
	Store TokenStore
	// Profile names the saved session. Empty means $TOKENACTOR_PROFILE, or
	// "default".
	Profile string
	// HTTPClient and Clock are given to the strategy chosen from the
	// environment or the store (see AccessKeyConfig).
	HTTPClient *http.Client
	Clock      clock.Clock
	// Getenv reads environment variables. Nil means os.Getenv.
	Getenv func(string) string
}

// autoConfigView is what an AutoConfig prints as: its data fields, with
// the explicit configs printing themselves masked. EndpointParams (which
// may carry anything, credentials included) and Getenv are left out, as
// from every config of this package.
type autoConfigView struct {
	AccessKey     *AccessKeyConfig
	OAuth         *OAuthConfig
	TokenURL      string
	Issuer        string
	Scopes        []string
	Audience      string
	Resource      string
	AuthStyle     AuthStyle
	ClientKey     *ClientKey
	TLSClientAuth bool
	Store         TokenStore
	Profile       string
	HTTPClient    *http.Client
	Clock         clock.Clock
}

func (c AutoConfig) view() autoConfigView {
	return autoConfigView{
		AccessKey: c.AccessKey, OAuth: c.OAuth, TokenURL: c.TokenURL, Issuer: c.Issuer,
		Scopes: c.Scopes, Audience: c.Audience, Resource: c.Resource, AuthStyle: c.AuthStyle,
		ClientKey: c.ClientKey, TLSClientAuth: c.TLSClientAuth, Store: c.Store, Profile: c.Profile,
		HTTPClient: c.HTTPClient, Clock: c.Clock,
	}
}

// Format prints the config without EndpointParams and Getenv, and with the
// explicit configs' secrets masked, for every verb.
func (c AutoConfig) Format(f fmt.State, verb rune) {
	formatMasked(f, verb, c.view(), "strategy.AutoConfig")
}

// LogValue makes log/slog print where the config looks for credentials.
func (c AutoConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("token_url", c.TokenURL),
		slog.String("issuer", c.Issuer),
		slog.String("profile", c.Profile),
	)
}

// MarshalJSON encodes the config's data fields, the explicit configs with
// their secrets masked (see [AccessKeyConfig.MarshalJSON]).
func (c AutoConfig) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		AccessKey *AccessKeyConfig `json:"access_key,omitempty"`
		OAuth     *OAuthConfig     `json:"oauth,omitempty"`
		TokenURL  string           `json:"token_url,omitempty"`
		Issuer    string           `json:"issuer,omitempty"`
		Scopes    []string         `json:"scopes,omitempty"`
		Audience  string           `json:"audience,omitempty"`
		Resource  string           `json:"resource,omitempty"`
		AuthStyle string           `json:"auth_style"`
		Profile   string           `json:"profile,omitempty"`
	}{c.AccessKey, c.OAuth, c.TokenURL, c.Issuer, c.Scopes, c.Audience, c.Resource, c.AuthStyle.String(), c.Profile})
}

// closingStrategy is what every strategy of this package is.
type closingStrategy interface {
	tokenactor.AuthStrategy
	Close() error
}

// An AutoStrategy is the strategy [NewAuto] chose. Get, Invalidate,
// InvalidateIf and Close go to it.
//
// Create one with NewAuto; the zero value is not usable. It is safe for
// concurrent use. Call Close when done.
type AutoStrategy struct {
	inner  closingStrategy
	source string
}

var _ tokenactor.AuthStrategy = (*AutoStrategy)(nil)

// NewAuto picks credentials in this order and returns a strategy for the
// first found:
//
//  1. cfg.AccessKey, then cfg.OAuth: explicit configuration;
//  2. TOKENACTOR_ACCESS_KEY, then TOKENACTOR_CLIENT_ID with
//     TOKENACTOR_CLIENT_SECRET (or alone, with cfg.ClientKey or
//     cfg.TLSClientAuth): client credentials (an AccessKeyStrategy) at
//     TOKENACTOR_TOKEN_URL or cfg.TokenURL;
//  3. a session saved in the store under the profile (an OAuthStrategy),
//     refreshed at TOKENACTOR_TOKEN_URL if set, else at the URL saved
//     with it;
//
// and otherwise fails with an error matching ErrNoCredentials and
// tokenactor.ErrNotAuthenticated. Credentials that are present but broken
// (a malformed key, a client ID without a secret, a corrupt session file)
// are reported, not skipped. NewAuto reads the store but sends no request.
func NewAuto(cfg AutoConfig, opts ...tokenactor.Option) (*AutoStrategy, error) {
	getenv := cfg.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	switch {
	case cfg.AccessKey != nil:
		s, err := NewAccessKey(*cfg.AccessKey, opts...)
		return wrapAuto(s, err, "config: access key")
	case cfg.OAuth != nil:
		s, err := NewOAuth(*cfg.OAuth, opts...)
		return wrapAuto(s, err, "config: OAuth session")
	}

	keyed := cfg.ClientKey != nil || cfg.TLSClientAuth
	switch {
	case cfg.ClientKey != nil && cfg.TLSClientAuth:
		return nil, &ConfigError{Field: "AutoConfig.ClientKey", Reason: "set only one of ClientKey and TLSClientAuth"}
	case cfg.TLSClientAuth && cfg.HTTPClient == nil:
		return nil, &ConfigError{Field: "AutoConfig.HTTPClient", Reason: "nil: TLSClientAuth needs a client that presents a certificate (see NewMTLSClient)"}
	}
	keyedSecret := func(name string) error {
		return &ConfigError{Field: name, Reason: "set while a key or a TLS client certificate authenticates the client: a client authenticates one way; unset it"}
	}

	tokenURL := getenv(EnvTokenURL)
	if tokenURL == "" {
		tokenURL = cfg.TokenURL
	}
	issuer := cfg.Issuer
	if issuer == "" {
		issuer = getenv(EnvIssuer)
	}
	envKey := func(source, id, secret string) (*AutoStrategy, error) {
		if tokenURL == "" && issuer == "" {
			return nil, &ConfigError{Field: EnvTokenURL, Reason: "unset, and needed with " + source + " (or set " + EnvIssuer + ")"}
		}
		s, err := NewAccessKey(AccessKeyConfig{
			TokenURL: tokenURL, Issuer: issuer, Discovery: cfg.Discovery, ClientID: id, ClientSecret: secret,
			ClientKey: cfg.ClientKey, TLSClientAuth: cfg.TLSClientAuth,
			Scopes: cfg.Scopes, Audience: cfg.Audience, Resource: cfg.Resource, EndpointParams: cfg.EndpointParams,
			AuthStyle: cfg.AuthStyle, HTTPClient: cfg.HTTPClient, Clock: cfg.Clock,
		}, opts...)
		return wrapAuto(s, err, "environment: "+source)
	}
	if raw := getenv(EnvAccessKey); raw != "" {
		if keyed {
			return nil, keyedSecret(EnvAccessKey)
		}
		key, err := ParseAccessKey(raw)
		if err != nil {
			return nil, fmt.Errorf("strategy: %s: %w", EnvAccessKey, err)
		}
		return envKey(EnvAccessKey, key.ID, key.Secret.Reveal())
	}
	id, secret := getenv(EnvClientID), getenv(EnvClientSecret)
	switch {
	case keyed && secret != "":
		return nil, keyedSecret(EnvClientSecret)
	case keyed && id != "":
		return envKey(EnvClientID, id, "")
	case id != "" && secret != "":
		return envKey(EnvClientID, id, secret)
	case id != "":
		return nil, &ConfigError{Field: EnvClientSecret, Reason: "unset while " + EnvClientID + " is set"}
	case secret != "":
		return nil, &ConfigError{Field: EnvClientID, Reason: "unset while " + EnvClientSecret + " is set"}
	}

	profile := cfg.Profile
	if profile == "" {
		profile = getenv(EnvProfile)
	}
	if profile == "" {
		profile = DefaultProfile
	}
	store, where := cfg.Store, "the configured store"
	if store == nil {
		dir, err := configDir(getenv)
		if err != nil {
			return nil, err
		}
		fs := NewFileStore(dir)
		store, where = fs, fs.Path(profile)
	}
	if err := checkProfile(profile); err != nil {
		return nil, err
	}
	if _, err := store.Load(context.Background(), profile); err != nil {
		if errors.Is(err, ErrNoSession) {
			return nil, fmt.Errorf("%w: set %s, or %s and %s, or log in to save a session in %s",
				ErrNoCredentials, EnvAccessKey, EnvClientID, EnvClientSecret, where)
		}
		return nil, err
	}
	s, err := NewOAuth(OAuthConfig{
		Store: store, Profile: profile, TokenURL: getenv(EnvTokenURL), ClientKey: cfg.ClientKey,
		Scopes: cfg.Scopes, Audience: cfg.Audience, Resource: cfg.Resource, EndpointParams: cfg.EndpointParams,
		HTTPClient: cfg.HTTPClient, Clock: cfg.Clock,
	}, opts...)
	return wrapAuto(s, err, "profile "+profile+" in "+where)
}

// wrapAuto returns s as an AutoStrategy, or err (s is then a nil pointer
// and is not used).
func wrapAuto(s closingStrategy, err error, source string) (*AutoStrategy, error) {
	if err != nil {
		return nil, err
	}
	return &AutoStrategy{inner: s, source: source}, nil
}

// Source says where the credentials came from, for example
// "environment: TOKENACTOR_ACCESS_KEY" or "profile default in
// /home/me/.config/tokenactor/default.json". It never contains a secret.
func (s *AutoStrategy) Source() string { return s.source }

// Strategy returns the strategy chosen: an *AccessKeyStrategy or an
// *OAuthStrategy.
func (s *AutoStrategy) Strategy() tokenactor.AuthStrategy { return s.inner }

// Get returns a token from the chosen strategy.
func (s *AutoStrategy) Get(ctx context.Context) (tokenactor.ServiceToken, error) {
	return s.inner.Get(ctx)
}

// Invalidate reports that a service rejected the current token.
func (s *AutoStrategy) Invalidate() {
	if inv, ok := s.inner.(interface{ Invalidate() }); ok {
		inv.Invalidate()
	}
}

// InvalidateIf reports that a service rejected one token (see
// [tokenactor.Reject]).
func (s *AutoStrategy) InvalidateIf(rejected func(tokenactor.ServiceToken) bool) {
	if inv, ok := s.inner.(interface {
		InvalidateIf(func(tokenactor.ServiceToken) bool)
	}); ok {
		inv.InvalidateIf(rejected)
	} else if inv, ok := s.inner.(interface{ Invalidate() }); ok {
		inv.Invalidate() // a strategy that cannot tell tokens apart
	}
}

// Close closes the chosen strategy.
func (s *AutoStrategy) Close() error { return s.inner.Close() }

// Format prints where the credentials came from, for every verb (see
// [AccessKeyStrategy.Format]).
func (s *AutoStrategy) Format(f fmt.State, verb rune) {
	formatMasked(f, verb, autoStrategyView{Source: s.source}, "strategy.AutoStrategy")
}
