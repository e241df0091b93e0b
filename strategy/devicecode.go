package strategy

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/tokenactor/tokenactor"
)

// Device flow constants (RFC 8628).
const (
	// defaultPollInterval is the polling interval when the server gives
	// none (RFC 8628 §3.2).
	defaultPollInterval = 5 * time.Second
	// slowDownStep is added to the interval on each slow_down (§3.5).
	slowDownStep = 5 * time.Second
	// maxPollInterval bounds the interval a server (or repeated slow_down
	// and failures) can impose, so a login still notices its expiry.
	maxPollInterval = 5 * time.Minute
	// maxDeviceCodeLifetime bounds the device code's expires_in.
	maxDeviceCodeLifetime = 24 * time.Hour
	// maxURILength bounds a verification URI shown to the user, so a
	// hostile server cannot flood the terminal through Prompt.
	maxURILength = 2048
	// deviceCodeGrant is the grant type of the device access token request
	// (§3.4).
	deviceCodeGrant = "urn:ietf:params:oauth:grant-type:device_code"
)

var (
	// ErrAccessDenied reports that the user declined the device login
	// (RFC 8628 §3.5 access_denied). It matches ErrLoginRequired; the
	// server's *OAuthError is wrapped too.
	ErrAccessDenied = fmt.Errorf("%w: the user denied the device login", ErrLoginRequired)
	// ErrDeviceCodeExpired reports that the user did not finish the device
	// login in time (RFC 8628 §3.5 expired_token, or the code's expires_in
	// passed). It matches ErrLoginRequired.
	ErrDeviceCodeExpired = fmt.Errorf("%w: the device code expired before the login finished", ErrLoginRequired)
)

// A DeviceAuthorization is what the user needs to finish a device login
// (RFC 8628 §3.2): a code to enter at a URL. None of it is secret; the
// device code the client polls with is kept out of it.
type DeviceAuthorization struct {
	// UserCode is the code the user enters.
	UserCode string
	// VerificationURI is where the user enters it.
	VerificationURI string
	// VerificationURIComplete, if the server sent it, is a URL that carries
	// the user code, for a link or QR code.
	VerificationURIComplete string
	// ExpiresAt is when the codes stop working.
	ExpiresAt time.Time
	// Interval is how long the client waits between polls, at first.
	Interval time.Duration
}

// A DeviceCodeConfig describes a public or confidential client that logs a
// user in with the device authorization grant (RFC 8628), and where the
// session is kept.
//
// Printing a DeviceCodeConfig with any fmt verb masks ClientSecret.
type DeviceCodeConfig struct {
	// DeviceAuthURL is the device authorization endpoint (RFC 8628 §3.1).
	// Empty means the one Issuer's metadata names.
	DeviceAuthURL string
	// TokenURL is the token endpoint. Empty means the one Issuer's
	// metadata names.
	TokenURL string
	// Issuer is the authorization server's issuer URL, used for the
	// endpoints left empty: Login finds them in the server's metadata (see
	// [Discovery]).
	Issuer string
	// Discovery fetches and caches Issuer's metadata. Nil means a
	// Discovery of the strategy's own.
	Discovery *Discovery
	// ClientID identifies the client. Required.
	ClientID string
	// ClientSecret authenticates a confidential client; empty for a public
	// client (most CLIs), which sends only client_id.
	ClientSecret string
	// ClientKey authenticates the client with a signed JWT instead of a
	// secret (private_key_jwt); see [ClientKey]. Nil for none. It excludes
	// ClientSecret.
	ClientKey *ClientKey
	// DPoPKey, when set, asks for DPoP-bound tokens (RFC 9449); see
	// [OAuthConfig.DPoPKey]. Nil asks for bearer tokens.
	DPoPKey crypto.Signer
	// AuthStyle says how a client secret is sent. The zero value is HTTP
	// Basic (RFC 6749 §2.3.1).
	AuthStyle AuthStyle
	// Scopes are sent space-separated as "scope" when not empty. Ask for
	// offline_access (or the server's equivalent) to get a refresh token.
	Scopes []string
	// Audience is sent as "audience" when set.
	Audience string
	// Resource is sent as "resource" when set (RFC 8707).
	Resource string
	// EndpointParams are sent with the device authorization request, as
	// in [AccessKeyConfig].
	EndpointParams url.Values
	// Store keeps the session. Required.
	Store TokenStore
	// Profile names the session in the store. Empty means "default".
	Profile string
	// Prompt is called once per login, from Login's goroutine, with the code
	// and URL to show the user. It should return promptly. Required.
	Prompt func(DeviceAuthorization)
	// HTTPClient sends the requests. Nil means a client with a 30 s timeout.
	// Whatever the client, each request is bounded by 30 s and a redirect
	// is refused with a *RedirectError (the client is not changed).
	HTTPClient *http.Client
	// Clock paces the polling and turns expires_in into ExpiresAt. When set
	// it is also given to the cache (tokenactor.WithClock, after the
	// caller's options). Nil means the system clock.
	Clock clock.Clock
}

// deviceCodeConfigView is DeviceCodeConfig without methods and with the
// secret masked, for printing.
type deviceCodeConfigView struct {
	DeviceAuthURL string
	TokenURL      string
	ClientID      string
	ClientSecret  tokenactor.SecretToken
	AuthStyle     AuthStyle
	Scopes        []string
	Audience      string
	Store         TokenStore
	Profile       string
}

// Format prints the config with ClientSecret masked, for every verb.
func (c DeviceCodeConfig) Format(f fmt.State, verb rune) {
	formatMasked(f, verb, deviceCodeConfigView{
		DeviceAuthURL: c.DeviceAuthURL, TokenURL: c.TokenURL, ClientID: c.ClientID,
		ClientSecret: tokenactor.NewSecretToken(c.ClientSecret), AuthStyle: c.AuthStyle,
		Scopes: c.Scopes, Audience: c.Audience, Store: c.Store, Profile: c.Profile,
	}, "strategy.DeviceCodeConfig")
}

// A DeviceCodeStrategy logs a user in with the OAuth 2.0 device
// authorization grant (RFC 8628), for CLIs and devices without a browser,
// and then serves the session like an [OAuthStrategy]: its Get,
// Invalidate and Close are those of the embedded OAuthStrategy, over the
// same store and profile.
//
// [DeviceCodeStrategy.Login] runs the flow: it requests a device code
// (§3.1), shows the user code and verification URI through the config's
// Prompt (§3.3), and polls the token endpoint (§3.4) at the server's
// interval (5 s if none), adding 5 s on slow_down and backing off on
// network errors, until the user approves, denies (ErrAccessDenied), the
// code expires (ErrDeviceCodeExpired), or ctx ends. The session is then
// saved to the store.
//
// Create one with [NewDeviceCode]; the zero value is not usable. Get
// and Invalidate are safe for concurrent use with each other and with
// Login. Call Close when done.
type DeviceCodeStrategy struct {
	*OAuthStrategy

	cfg        DeviceCodeConfig // immutable; Profile, HTTPClient and Clock set
	deviceAuth *endpoint
	token      *endpoint
	form       string // scope and audience, encoded
}

// NewDeviceCode returns a strategy for cfg. It checks cfg (a *ConfigError
// if it cannot work) and sends no request.
func NewDeviceCode(cfg DeviceCodeConfig, opts ...tokenactor.Option) (*DeviceCodeStrategy, error) {
	if cfg.Issuer != "" {
		if err := checkIssuer("DeviceCodeConfig.Issuer", cfg.Issuer); err != nil {
			return nil, err
		}
		if cfg.Discovery == nil {
			cfg.Discovery = &Discovery{HTTPClient: cfg.HTTPClient}
		}
	}
	if cfg.DeviceAuthURL != "" || cfg.Issuer == "" {
		if err := checkTokenURL("DeviceCodeConfig.DeviceAuthURL", cfg.DeviceAuthURL); err != nil {
			return nil, err
		}
	}
	if cfg.TokenURL != "" || cfg.Issuer == "" {
		if err := checkTokenURL("DeviceCodeConfig.TokenURL", cfg.TokenURL); err != nil {
			return nil, err
		}
	}
	if cfg.ClientID == "" {
		return nil, &ConfigError{Field: "DeviceCodeConfig.ClientID", Reason: "empty"}
	}
	if cfg.Prompt == nil {
		return nil, &ConfigError{Field: "DeviceCodeConfig.Prompt", Reason: "nil: the user must be shown the code"}
	}
	if cfg.Profile == "" {
		cfg.Profile = DefaultProfile
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = defaultHTTPClient()
	}
	auth, err := newClientAuth("DeviceCodeConfig", cfg.ClientID, cfg.ClientSecret, cfg.ClientKey, false, cfg.HTTPClient, cfg.AuthStyle, false)
	if err != nil {
		return nil, err
	}
	clk, _ := cacheClock(cfg.Clock, nil)
	oauth, err := NewOAuth(OAuthConfig{
		Store: cfg.Store, Profile: cfg.Profile, TokenURL: cfg.TokenURL, ClientID: cfg.ClientID,
		ClientSecret: cfg.ClientSecret, AuthStyle: cfg.AuthStyle, HTTPClient: cfg.HTTPClient, Clock: cfg.Clock,
		ClientKey: cfg.ClientKey, DPoPKey: cfg.DPoPKey,
	}, opts...)
	if err != nil {
		return nil, err
	}
	cfg.Clock = clk
	cfg.ClientKey, cfg.DPoPKey = nil, nil // kept in auth and oauth only, as the secret below
	// The secret lives on in auth only, masked: fmt prints unexported
	// fields without calling their methods, so a copy in cfg would show in
	// clear with %v of the strategy.
	cfg.ClientSecret = ""
	params := requestParams{scopes: cfg.Scopes, audience: cfg.Audience, resource: cfg.Resource, extra: cfg.EndpointParams}
	form, err := params.form("DeviceCodeConfig", url.Values{})
	if err != nil {
		oauth.Close()
		return nil, err
	}
	memo := new(styleMemo)
	return &DeviceCodeStrategy{
		OAuthStrategy: oauth,
		cfg:           cfg,
		deviceAuth:    &endpoint{url: cfg.DeviceAuthURL, client: cfg.HTTPClient, auth: auth, clock: clk, memo: memo, name: "device authorization"},
		token:         &endpoint{url: cfg.TokenURL, client: cfg.HTTPClient, auth: auth, clock: clk, memo: memo, dpop: oauth.r.dpop},
		form:          form.Encode(),
	}, nil
}

// Format prints the strategy's endpoints, client ID and profile, for every
// verb (see [AccessKeyStrategy.Format]).
func (s *DeviceCodeStrategy) Format(f fmt.State, verb rune) {
	formatMasked(f, verb, deviceCodeStrategyView{
		DeviceAuthURL: s.cfg.DeviceAuthURL, TokenURL: s.cfg.TokenURL, ClientID: s.cfg.ClientID, Profile: s.cfg.Profile,
	}, "strategy.DeviceCodeStrategy")
}

// Login runs the device flow (see [DeviceCodeStrategy]) and saves the
// session under the profile, replacing any session there. It returns when
// the session is saved, or with an error: ErrAccessDenied,
// ErrDeviceCodeExpired, an *OAuthError or another endpoint error, or ctx's
// error. A saved session that cannot be read (*CorruptSessionError) is not
// replaced: remove it first (Logout).
//
// Once the server has answered with tokens, they are saved even if ctx
// ends meanwhile. An answer refused (say, for its lifetime) that carries a
// refresh token is saved too, as a session Get will refresh, and Login
// returns the refusal.
//
// After Login, Get serves the new session at once, even if Get failed
// shortly before.
func (s *DeviceCodeStrategy) Login(ctx context.Context) (Session, error) {
	deviceAuth, token, err := s.endpoints(ctx)
	if err != nil {
		return Session{}, err
	}
	da, deviceCode, err := s.authorize(ctx, deviceAuth)
	if err != nil {
		return Session{}, err
	}
	s.cfg.Prompt(da)
	resp, err := s.poll(ctx, token, da, deviceCode)
	if err != nil && resp.refreshToken.IsZero() {
		return Session{}, err
	}
	sess := Session{
		TokenURL: token.url, ClientID: s.cfg.ClientID,
		AccessToken: resp.accessToken, TokenType: resp.tokenType, ExpiresAt: resp.expiresAt,
		RefreshToken: resp.refreshToken, Scope: resp.scope, RefreshAt: resp.refreshAt,
	}
	// The server has issued the tokens and the device code is spent: a
	// caller giving up now must not lose them.
	pctx, cancel := persistContext(ctx)
	defer cancel()
	if serr := s.save(pctx, sess); serr != nil {
		return Session{}, errors.Join(err, serr)
	}
	// The session cached before the login is not served again, and a
	// failure before it (no session yet) is forgotten with its backoff.
	s.cache.Reset()
	if err != nil {
		return Session{}, fmt.Errorf("strategy: device login answer refused, its refresh token saved: %w", err)
	}
	return sess, nil
}

// save stores sess under the profile's lock, refusing to replace a file
// that cannot be read.
func (s *DeviceCodeStrategy) save(ctx context.Context, sess Session) error {
	unlock, err := s.cfg.Store.Lock(ctx, s.cfg.Profile)
	if err != nil {
		return err
	}
	defer unlock()
	var corrupt *CorruptSessionError
	if _, err := s.cfg.Store.Load(ctx, s.cfg.Profile); errors.As(err, &corrupt) {
		return err
	}
	return s.cfg.Store.Save(ctx, s.cfg.Profile, sess)
}

// endpoints returns the device authorization and token endpoints: those
// configured, and for those left empty the ones the issuer's metadata
// names.
func (s *DeviceCodeStrategy) endpoints(ctx context.Context) (deviceAuth, token *endpoint, err error) {
	if s.deviceAuth.url != "" && s.token.url != "" {
		return s.deviceAuth, s.token, nil
	}
	md, err := s.cfg.Discovery.Metadata(ctx, s.cfg.Issuer)
	if err != nil {
		return nil, nil, err
	}
	d, t := *s.deviceAuth, *s.token
	if d.url == "" {
		if md.DeviceAuthorizationEndpoint == "" {
			return nil, nil, &ConfigError{Field: "DeviceCodeConfig.Issuer", Reason: "the server's metadata names no device_authorization_endpoint"}
		}
		d.url = md.DeviceAuthorizationEndpoint
	}
	if t.url == "" {
		if md.TokenEndpoint == "" {
			return nil, nil, &ConfigError{Field: "DeviceCodeConfig.Issuer", Reason: "the server's metadata names no token_endpoint"}
		}
		t.url = md.TokenEndpoint
	}
	return &d, &t, nil
}

// authorize makes the device authorization request (RFC 8628 §3.1) at ep.
func (s *DeviceCodeStrategy) authorize(ctx context.Context, ep *endpoint) (da DeviceAuthorization, deviceCode tokenactor.SecretToken, err error) {
	form, _ := url.ParseQuery(s.form)
	err = ep.call(ctx, form, func(status int, h http.Header, body []byte, now time.Time, sc *scrubber) error {
		if status < 200 || status > 299 {
			return errorResponse(status, h, body, now)
		}
		if da, deviceCode, err = parseDeviceAuthorization(status, body, now); err == nil {
			err = sc.checkAuthorization(da)
		}
		return err
	})
	return da, deviceCode, err
}

// poll makes device access token requests (§3.4) until one ends the flow
// (§3.5).
func (s *DeviceCodeStrategy) poll(ctx context.Context, token *endpoint, da DeviceAuthorization, deviceCode tokenactor.SecretToken) (tokenResponse, error) {
	interval := da.Interval
	for {
		if err := s.sleep(ctx, interval); err != nil {
			return tokenResponse{}, err
		}
		if !s.cfg.Clock.Now().Before(da.ExpiresAt) {
			return tokenResponse{}, ErrDeviceCodeExpired
		}
		resp, err := token.token(ctx, url.Values{
			"grant_type":  {deviceCodeGrant},
			"device_code": {deviceCode.Reveal()},
		})
		if err == nil || !resp.refreshToken.IsZero() {
			return resp, err // a refused answer with a refresh token ends the login too
		}
		var oe *OAuthError
		switch {
		case errors.As(err, &oe) && oe.Code == "authorization_pending":
		case errors.As(err, &oe) && oe.Code == "slow_down":
			interval = min(interval+slowDownStep, maxPollInterval)
		case errors.As(err, &oe) && oe.Code == "access_denied":
			return tokenResponse{}, fmt.Errorf("%w: %w", ErrAccessDenied, err)
		case errors.As(err, &oe) && oe.Code == "expired_token":
			return tokenResponse{}, fmt.Errorf("%w: %w", ErrDeviceCodeExpired, err)
		case ctx.Err() != nil:
			return tokenResponse{}, fmt.Errorf("strategy: device login: %w", ctx.Err())
		case errors.Is(err, ErrTemporary):
			// §3.5: on timeouts and server trouble, poll less often.
			interval = min(2*interval, maxPollInterval)
		default:
			return tokenResponse{}, err
		}
	}
}

// sleep waits d on the strategy's clock, or until ctx ends.
func (s *DeviceCodeStrategy) sleep(ctx context.Context, d time.Duration) error {
	t := s.cfg.Clock.Timer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("strategy: device login: %w", ctx.Err())
	}
}

// parseDeviceAuthorization parses a device authorization response
// (RFC 8628 §3.2) with a success status, received at now. It returns the
// device code separately, as a secret. An error object without a device
// code is an *OAuthError; other errors are *InvalidResponseError and never
// quote the body.
//
// verification_url (Google's older spelling) is accepted for
// verification_uri. An absent or non-positive interval means 5 s; one
// under a second is raised to 1 s and one over 5 minutes is capped. expires_in is required, positive and at most a day.
func parseDeviceAuthorization(status int, body []byte, now time.Time) (DeviceAuthorization, tokenactor.SecretToken, error) {
	fail := func(reason string) (DeviceAuthorization, tokenactor.SecretToken, error) {
		return DeviceAuthorization{}, tokenactor.SecretToken{}, &InvalidResponseError{Reason: reason}
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return fail("body is not a JSON object")
	}
	var raw struct {
		DeviceCode              string          `json:"device_code"`
		UserCode                string          `json:"user_code"`
		VerificationURI         string          `json:"verification_uri"`
		VerificationURL         string          `json:"verification_url"`
		VerificationURIComplete string          `json:"verification_uri_complete"`
		ExpiresIn               json.RawMessage `json:"expires_in"`
		Interval                json.RawMessage `json:"interval"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return fail(jsonReason(err, len(body)))
	}
	if raw.DeviceCode == "" {
		if oe := parseOAuthError(status, body); oe != nil {
			return DeviceAuthorization{}, tokenactor.SecretToken{}, oe // an error object, with a success status
		}
	}
	if raw.VerificationURI == "" {
		raw.VerificationURI = raw.VerificationURL
	}
	switch {
	case raw.DeviceCode == "":
		return fail("missing device_code")
	case raw.UserCode == "":
		return fail("missing user_code")
	case raw.VerificationURI == "":
		return fail("missing verification_uri")
	case !printableURL(raw.VerificationURI) || raw.VerificationURIComplete != "" && !printableURL(raw.VerificationURIComplete):
		return fail("verification URI is not an http(s) URL")
	case len(raw.VerificationURI) > maxURILength || len(raw.VerificationURIComplete) > maxURILength:
		return fail("verification URI is over 2048 bytes")
	case !printableText(raw.UserCode) || len(raw.UserCode) > 64:
		return fail("user_code is not short printable text")
	}
	lifetime, err := parseExpiresIn(raw.ExpiresIn)
	switch {
	case err != nil:
		return DeviceAuthorization{}, tokenactor.SecretToken{}, err
	case lifetime == 0:
		return fail("missing expires_in")
	case lifetime > maxDeviceCodeLifetime:
		return fail("expires_in is over a day")
	}
	interval := defaultPollInterval
	if len(raw.Interval) > 0 && string(raw.Interval) != "null" {
		var secs float64
		if json.Unmarshal(raw.Interval, &secs) != nil {
			return fail("interval is not a number")
		}
		switch {
		case secs > maxPollInterval.Seconds():
			interval = maxPollInterval
		case secs >= 1:
			interval = time.Duration(secs * float64(time.Second))
		case secs > 0:
			interval = time.Second // polling faster than once a second is never right
		}
	}
	return DeviceAuthorization{
		UserCode: raw.UserCode, VerificationURI: raw.VerificationURI,
		VerificationURIComplete: raw.VerificationURIComplete,
		ExpiresAt:               expiryAt(now, lifetime), Interval: interval,
	}, tokenactor.NewSecretToken(raw.DeviceCode), nil
}

// printableURL reports whether s is an absolute http(s) URL safe to print
// to a terminal.
func printableURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && printableText(s)
}

// printableText reports whether s has no control characters, so showing
// it cannot drive a terminal.
func printableText(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}
