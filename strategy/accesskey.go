package strategy

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/benbjohnson/clock"

	"github.com/tokenactor/tokenactor"
)

// An AccessKeyConfig describes a confidential client that obtains tokens
// with the client credentials grant (RFC 6749 §4.4).
//
// Printing an AccessKeyConfig with any fmt verb or log/slog masks
// ClientSecret, and leaves ClientKey and DPoPKey out.
type AccessKeyConfig struct {
	// TokenURL is the token endpoint. It must be https, or http on a
	// loopback host. Empty means the one Issuer's metadata names.
	TokenURL string
	// Issuer is the authorization server's issuer URL, used when TokenURL
	// is empty: the first grant finds the token endpoint in the server's
	// metadata (see [Discovery]).
	Issuer string
	// Discovery fetches and caches Issuer's metadata. Nil means a
	// Discovery of the strategy's own.
	Discovery *Discovery
	// ClientID and ClientSecret are the client's credentials. ClientID is
	// required; ClientSecret is, unless ClientKey or TLSClientAuth
	// authenticates the client instead.
	ClientID, ClientSecret string
	// ClientKey authenticates the client with a signed JWT instead of a
	// secret (private_key_jwt, RFC 7523 §2.2); see [ClientKey]. Nil for
	// none. It excludes ClientSecret.
	ClientKey *ClientKey
	// TLSClientAuth says the client authenticates with the certificate
	// HTTPClient presents (RFC 8705 §2, tls_client_auth or
	// self_signed_tls_client_auth): only client_id is sent. See
	// [NewMTLSClient]. False, the zero value, means ClientSecret or
	// ClientKey authenticates it.
	TLSClientAuth bool
	// DPoPKey, when set, asks for tokens bound to this key with DPoP
	// (RFC 9449): every token request carries a proof signed with it, and
	// httpauth signs a proof with it for each request the token goes on
	// (see [AccessKeyStrategy.DPoPProof]). It must be an RSA, ECDSA P-256
	// or Ed25519 key, and should be one used for nothing else. Nil asks
	// for bearer tokens.
	DPoPKey crypto.Signer
	// Scopes are sent space-separated as "scope" when not empty.
	Scopes []string
	// Audience is sent as "audience" when set (an extension several
	// servers use to pick the API a token is for).
	Audience string
	// Resource is sent as "resource" when set: the API the token is for
	// (RFC 8707). Several resources go in EndpointParams.
	Resource string
	// EndpointParams are sent with every token request, after the
	// parameters above. Setting one the strategy sets itself (grant_type,
	// client_id, client_secret) or that a field above sets is a
	// *ConfigError.
	EndpointParams url.Values
	// AuthStyle says how the credentials are sent. The zero value is HTTP
	// Basic (RFC 6749 §2.3.1); AuthStyleDetect finds what the server
	// accepts.
	AuthStyle AuthStyle
	// HTTPClient sends the token requests. Nil means a client with a 30 s
	// timeout. Whatever the client, each request is bounded by 30 s and a
	// redirect is refused with a *RedirectError (the client is not changed).
	HTTPClient *http.Client
	// Clock turns expires_in into ExpiresAt. When set it is also given to
	// the cache (tokenactor.WithClock, after the caller's options), so both
	// read the same time. Nil means the system clock; set Clock, not a
	// tokenactor.WithClock option, to give the strategy and its cache
	// another.
	Clock clock.Clock
}

// accessKeyConfigView is AccessKeyConfig without its methods and with the
// secret masked, for printing.
type accessKeyConfigView struct {
	TokenURL     string
	ClientID     string
	ClientSecret tokenactor.SecretToken
	Scopes       []string
	Audience     string
	AuthStyle    AuthStyle
	HTTPClient   *http.Client
	Clock        clock.Clock
}

func (c AccessKeyConfig) view() accessKeyConfigView {
	return accessKeyConfigView{
		TokenURL: c.TokenURL, ClientID: c.ClientID, ClientSecret: tokenactor.NewSecretToken(c.ClientSecret),
		Scopes: c.Scopes, Audience: c.Audience, AuthStyle: c.AuthStyle, HTTPClient: c.HTTPClient, Clock: c.Clock,
	}
}

// Format prints the config with ClientSecret masked, for every verb.
func (c AccessKeyConfig) Format(f fmt.State, verb rune) {
	formatMasked(f, verb, c.view(), "strategy.AccessKeyConfig")
}

// LogValue makes log/slog print the config with ClientSecret masked.
func (c AccessKeyConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("token_url", c.TokenURL),
		slog.String("client_id", c.ClientID),
		slog.Any("client_secret", tokenactor.NewSecretToken(c.ClientSecret)),
	)
}

// An AccessKeyStrategy obtains access tokens for a service with the OAuth 2.0
// client credentials grant (RFC 6749 §4.4) and keeps them fresh in a
// [tokenactor.Cache]. The client's key is its own refresh credential: every
// token is renewable, and a refresh is a new grant.
//
// Create one with [NewAccessKey]; the zero value is not usable. It is safe
// for concurrent use. Call Close when done.
type AccessKeyStrategy struct {
	cache *tokenactor.Cache[tokenactor.ServiceToken]
	dpop  *dpopProver // nil without a DPoPKey
}

var _ tokenactor.AuthStrategy = (*AccessKeyStrategy)(nil)

// NewAccessKey returns a strategy for cfg. It checks cfg (a *ConfigError if
// it cannot work) and sends no request: the first Get does. opts tune
// the cache (refresh window, timeout, backoff, event hook).
func NewAccessKey(cfg AccessKeyConfig, opts ...tokenactor.Option) (*AccessKeyStrategy, error) {
	clk, opts := cacheClock(cfg.Clock, opts)
	cfg.Clock = clk
	r, err := cfg.refresher()
	if err != nil {
		return nil, err
	}
	return &AccessKeyStrategy{cache: tokenactor.New[tokenactor.ServiceToken](r, opts...), dpop: r.ep.dpop}, nil
}

// Refresher returns the [tokenactor.Refresher] behind [NewAccessKey]: each
// call makes a client credentials grant. Use it to build a cache of your
// own around it, for example one whose tokens a fleet shares through
// store.Wrap. It checks cfg like NewAccessKey and sends no request.
//
// A config with a DPoPKey is refused with [ErrDPoPShared]: see
// [AccessKeyConfig.DPoPKey] and the package documentation on fleets.
func (cfg AccessKeyConfig) Refresher() (tokenactor.Refresher[tokenactor.ServiceToken], error) {
	if cfg.DPoPKey != nil {
		return nil, ErrDPoPShared
	}
	return cfg.refresher()
}

func (cfg AccessKeyConfig) refresher() (*clientCredentials, error) {
	if cfg.TokenURL != "" || cfg.Issuer == "" {
		if err := checkTokenURL("AccessKeyConfig.TokenURL", cfg.TokenURL); err != nil {
			return nil, err
		}
	} else if err := checkIssuer("AccessKeyConfig.Issuer", cfg.Issuer); err != nil {
		return nil, err
	}
	if cfg.ClientID == "" {
		return nil, &ConfigError{Field: "AccessKeyConfig.ClientID", Reason: "empty"}
	}
	auth, err := newClientAuth("AccessKeyConfig", cfg.ClientID, cfg.ClientSecret, cfg.ClientKey, cfg.TLSClientAuth, cfg.HTTPClient, cfg.AuthStyle, true)
	if err != nil {
		return nil, err
	}
	clk := cfg.Clock
	if clk == nil {
		clk = clock.New()
	}
	params := requestParams{scopes: cfg.Scopes, audience: cfg.Audience, resource: cfg.Resource, extra: cfg.EndpointParams}
	form, err := params.form("AccessKeyConfig", url.Values{"grant_type": {"client_credentials"}})
	if err != nil {
		return nil, err
	}
	dpop, err := newDPoPProver("AccessKeyConfig.DPoPKey", cfg.DPoPKey, clk)
	if err != nil {
		return nil, err
	}
	ep := newEndpoint(cfg.TokenURL, cfg.HTTPClient, auth, clk)
	ep.memo = new(styleMemo)
	ep.dpop = dpop
	r := &clientCredentials{ep: ep, form: form.Encode()}
	if cfg.TokenURL == "" {
		r.issuer, r.discovery = cfg.Issuer, cfg.Discovery
		if r.discovery == nil {
			r.discovery = &Discovery{HTTPClient: cfg.HTTPClient}
		}
	}
	return r, nil
}

// Get returns a valid access token, following the engine's refresh
// model (see [tokenactor.Cache.Get]): at once while fresh, else after the
// one grant in flight. Refusals of the server are an *OAuthError matching
// ErrLoginRequired or ErrTemporary, wrapped with tokenactor.ErrTokenExpired
// once a token expired.
func (s *AccessKeyStrategy) Get(ctx context.Context) (tokenactor.ServiceToken, error) {
	return s.cache.Get(ctx)
}

// Invalidate reports that a service rejected the current token (HTTP 401):
// the next Get waits for a new grant.
func (s *AccessKeyStrategy) Invalidate() { s.cache.Invalidate() }

// InvalidateIf is Invalidate for one token: it drops the cached token only
// if rejected reports true for it (see [tokenactor.Reject]).
func (s *AccessKeyStrategy) InvalidateIf(rejected func(tokenactor.ServiceToken) bool) {
	s.cache.InvalidateIf(rejected)
}

// Close stops the strategy's cache and waits for a grant in flight to be
// cancelled. It is idempotent and returns nil.
func (s *AccessKeyStrategy) Close() error { return s.cache.Close() }

// Format prints the strategy's type only, for every verb: fmt would
// otherwise print its unexported state, credentials included, for a verb
// it does not support on pointers (%s, %q).
func (s *AccessKeyStrategy) Format(f fmt.State, verb rune) {
	formatMasked(f, verb, accessKeyStrategyView{}, "strategy.AccessKeyStrategy")
}

// clientCredentials is the Refresher of an AccessKeyStrategy. It is
// immutable after construction.
type clientCredentials struct {
	ep   *endpoint // its url is empty when issuer is set
	form string    // the encoded grant: grant_type, scope, audience, extra parameters

	issuer    string // when set, the token endpoint is found in its metadata
	discovery *Discovery
}

// Refresh requests a token with the client credentials grant: for client
// credentials, renewing is authenticating again, so previous is not used. A
// refresh_token in the answer is ignored: RFC 6749 §4.4.3 says there should
// be none, and the key renews the token anyway.
func (r *clientCredentials) Refresh(ctx context.Context, _ *tokenactor.Entry[tokenactor.ServiceToken]) (tokenactor.Entry[tokenactor.ServiceToken], error) {
	form, _ := url.ParseQuery(r.form) // encoded by NewAccessKey; a fresh copy per request
	ep := r.ep
	if r.issuer != "" {
		md, err := r.discovery.Metadata(ctx, r.issuer)
		if err != nil {
			return tokenactor.Entry[tokenactor.ServiceToken]{}, err
		}
		if md.TokenEndpoint == "" {
			return tokenactor.Entry[tokenactor.ServiceToken]{}, &ConfigError{Field: "AccessKeyConfig.Issuer", Reason: "the server's metadata names no token_endpoint"}
		}
		one := *r.ep
		one.url = md.TokenEndpoint
		ep = &one
	}
	resp, err := ep.token(ctx, form)
	if err != nil {
		return tokenactor.Entry[tokenactor.ServiceToken]{}, err
	}
	return tokenactor.Entry[tokenactor.ServiceToken]{Value: resp.serviceToken(), ExpiresAt: resp.expiresAt, RefreshAt: resp.refreshAt}, nil
}

// Errors of ParseAccessKey. They never contain the key.
var (
	// ErrAccessKeyMissingDot reports a key without the "." between its ID
	// and its secret.
	ErrAccessKeyMissingDot = errors.New("strategy: access key must be <client id>.<secret>: no dot")
	// ErrAccessKeyEmptyID reports a key whose part before the first dot is
	// empty.
	ErrAccessKeyEmptyID = errors.New("strategy: access key has an empty client id")
	// ErrAccessKeyEmptySecret reports a key whose part after the first dot
	// is empty.
	ErrAccessKeyEmptySecret = errors.New("strategy: access key has an empty secret")
)

// An AccessKey is a client ID and secret written as one string,
// "<id>.<secret>". Its secret prints as a mask with every fmt verb, slog and
// encoding/json. The zero value is an empty key. It is a value, safe for
// concurrent use.
type AccessKey struct {
	// ID is the client ID, the part before the first dot.
	ID string
	// Secret is the client secret, everything after the first dot.
	Secret tokenactor.SecretToken
}

// ParseAccessKey splits "<id>.<secret>" at the first dot (the secret may
// contain dots). Surrounding white space, as a trailing newline in a file or
// environment variable, is ignored. Errors are ErrAccessKeyMissingDot,
// ErrAccessKeyEmptyID and ErrAccessKeyEmptySecret; none contains the key.
func ParseAccessKey(s string) (AccessKey, error) {
	id, sec, ok := strings.Cut(strings.TrimSpace(s), ".")
	switch {
	case !ok:
		return AccessKey{}, ErrAccessKeyMissingDot
	case id == "":
		return AccessKey{}, ErrAccessKeyEmptyID
	case sec == "":
		return AccessKey{}, ErrAccessKeyEmptySecret
	}
	return AccessKey{ID: id, Secret: tokenactor.NewSecretToken(sec)}, nil
}

// Config returns an AccessKeyConfig for this key and token endpoint, with
// the other fields at their zero values.
func (k AccessKey) Config(tokenURL string) AccessKeyConfig {
	return AccessKeyConfig{TokenURL: tokenURL, ClientID: k.ID, ClientSecret: k.Secret.Reveal()}
}
