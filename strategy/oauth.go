package strategy

import (
	"context"
	"crypto"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/tokenactor/tokenactor"
)

// adoptMargin is how long a saved access token must still be valid for a
// strategy to adopt it instead of refreshing.
const adoptMargin = 5 * time.Second

// persistTimeout bounds saving tokens a server has issued, once the
// caller's context no longer does (see persistContext).
const persistTimeout = 30 * time.Second

// persistContext returns the context for saving tokens a server has just
// issued: not cancelled with ctx (the server has rotated or spent the old
// credential, so giving up now would lose the session), but bounded by
// persistTimeout.
func persistContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), persistTimeout)
}

// An OAuthConfig describes a long-lived user session kept in a
// [TokenStore] and renewed with the refresh token grant (RFC 6749 §6).
//
// Printing an OAuthConfig with any fmt verb masks ClientSecret.
type OAuthConfig struct {
	// Store holds the session. Required.
	Store TokenStore
	// Profile names the session in the store. Empty means "default".
	Profile string
	// TokenURL is the token endpoint. Empty means the one saved with the
	// session. It must be https, or http on a loopback host.
	TokenURL string
	// ClientID identifies the client. Empty means the one saved with the
	// session.
	ClientID string
	// ClientSecret authenticates a confidential client; empty for a public
	// client (a CLI), which sends only client_id.
	ClientSecret string
	// ClientKey authenticates the client with a signed JWT instead of a
	// secret (private_key_jwt); see [ClientKey]. Nil for none. It excludes
	// ClientSecret.
	ClientKey *ClientKey
	// DPoPKey, when set, asks for DPoP-bound tokens (RFC 9449), as
	// [AccessKeyConfig.DPoPKey] does. Every process sharing the session
	// through Store must use the same key: a token (and, for a public
	// client, a refresh token) bound to one key is refused with any other.
	// Nil asks for bearer tokens.
	DPoPKey crypto.Signer
	// AuthStyle says how a client secret is sent. The zero value is HTTP
	// Basic (RFC 6749 §2.3.1); AuthStyleDetect finds what the server
	// accepts.
	AuthStyle AuthStyle
	// Scopes, Audience, Resource and EndpointParams are sent with every
	// refresh request when set, as in [AccessKeyConfig]. A scope narrower
	// than the session's asks for a token with less access (RFC 6749 §6).
	Scopes         []string
	Audience       string
	Resource       string
	EndpointParams url.Values
	// HTTPClient sends the token requests. Nil means a client with a 30 s
	// timeout. Whatever the client, each request is bounded by 30 s and a
	// redirect is refused with a *RedirectError (the client is not changed).
	HTTPClient *http.Client
	// Clock turns expires_in into ExpiresAt and decides whether a saved
	// token is still valid. When set it is also given to the cache
	// (tokenactor.WithClock, after the caller's options). Nil means the
	// system clock; set Clock, not a tokenactor.WithClock option, to give
	// the strategy and its cache another.
	Clock clock.Clock
}

// oauthConfigView is OAuthConfig without methods and with the secret
// masked, for printing.
type oauthConfigView struct {
	Store        TokenStore
	Profile      string
	TokenURL     string
	ClientID     string
	ClientSecret tokenactor.SecretToken
	AuthStyle    AuthStyle
	HTTPClient   *http.Client
	Clock        clock.Clock
}

// Format prints the config with ClientSecret masked, for every verb.
func (c OAuthConfig) Format(f fmt.State, verb rune) {
	formatMasked(f, verb, oauthConfigView{
		Store: c.Store, Profile: c.Profile, TokenURL: c.TokenURL, ClientID: c.ClientID,
		ClientSecret: tokenactor.NewSecretToken(c.ClientSecret), AuthStyle: c.AuthStyle,
		HTTPClient: c.HTTPClient, Clock: c.Clock,
	}, "strategy.OAuthConfig")
}

// An OAuthStrategy serves access tokens from a persisted user session and
// renews them with the refresh token grant (RFC 6749 §6), in a
// [tokenactor.Cache].
//
// # Refresh token rotation
//
// Servers may rotate refresh tokens: each refresh returns a new one and
// the old one stops working; replaying it can revoke the whole session.
// Several processes (or strategies) can share one session through the
// store, so every refresh runs under the profile's store lock, and under it:
//
//   - the session is read from the store first; if it holds another access
//     token than the one this strategy has and that token is still valid
//     for a few seconds, another process already refreshed: the strategy
//     adopts that session and sends no request;
//   - otherwise it refreshes with the refresh token from the store (never
//     an older one it may still hold), and saves the new session durably
//     before the lock is released and before the access token is handed
//     to any caller.
//
// If saving fails, the new session is kept in memory, the refresh reports
// the error, and the next attempt saves it before anything else. After a
// failure in which the server may have rotated the token without the
// answer arriving (a connection lost mid-request), the next attempt can
// only use the refresh token it has; a server that detects reuse then
// answers invalid_grant, and the user must log in again.
//
// A store with no session (never logged in, or logged out) gives an error
// matching tokenactor.ErrNotAuthenticated; a refused refresh (invalid_grant)
// one matching ErrLoginRequired. Another process logging in again is picked
// up by the next refresh.
//
// Create one with [NewOAuth]; the zero value is not usable. It is safe for
// concurrent use. Call Close when done.
type OAuthStrategy struct {
	cache   *tokenactor.Cache[oauthEntry]
	r       *sessionRefresher
	store   TokenStore
	profile string
}

var _ tokenactor.AuthStrategy = (*OAuthStrategy)(nil)

// An oauthEntry is what the cache of an OAuthStrategy holds: the session as
// last saved, whose access token callers get.
type oauthEntry struct {
	sess Session
}

// NewOAuth returns a strategy for the session cfg.Store holds under
// cfg.Profile. It checks cfg (a *ConfigError if it cannot work) but reads
// nothing yet: the first Get loads the session.
func NewOAuth(cfg OAuthConfig, opts ...tokenactor.Option) (*OAuthStrategy, error) {
	r, opts, err := newSessionRefresher(cfg, opts)
	if err != nil {
		return nil, err
	}
	return &OAuthStrategy{cache: tokenactor.New[oauthEntry](r, opts...), r: r, store: r.cfg.Store, profile: r.cfg.Profile}, nil
}

func newSessionRefresher(cfg OAuthConfig, opts []tokenactor.Option) (*sessionRefresher, []tokenactor.Option, error) {
	if cfg.Store == nil {
		return nil, nil, &ConfigError{Field: "OAuthConfig.Store", Reason: "nil"}
	}
	// The client ID is the config's or the saved session's: refresh sets it.
	auth, err := newClientAuth("OAuthConfig", "", cfg.ClientSecret, cfg.ClientKey, false, cfg.HTTPClient, cfg.AuthStyle, false)
	if err != nil {
		return nil, nil, err
	}
	if cfg.Profile == "" {
		cfg.Profile = DefaultProfile
	}
	if err := checkProfile(cfg.Profile); err != nil {
		return nil, nil, &ConfigError{Field: "OAuthConfig.Profile", Reason: err.(*ConfigError).Reason}
	}
	if cfg.TokenURL != "" {
		if err := checkTokenURL("OAuthConfig.TokenURL", cfg.TokenURL); err != nil {
			return nil, nil, err
		}
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = defaultHTTPClient()
	}
	params := requestParams{scopes: cfg.Scopes, audience: cfg.Audience, resource: cfg.Resource, extra: cfg.EndpointParams}
	form, err := params.form("OAuthConfig", url.Values{"grant_type": {"refresh_token"}})
	if err != nil {
		return nil, nil, err
	}
	clk, opts := cacheClock(cfg.Clock, opts)
	cfg.Clock = clk
	dpop, err := newDPoPProver("OAuthConfig.DPoPKey", cfg.DPoPKey, clk)
	if err != nil {
		return nil, nil, err
	}
	return &sessionRefresher{cfg: cfg, auth: auth, form: form.Encode(), memo: new(styleMemo), dpop: dpop}, opts, nil
}

// Get returns a valid access token, following the engine's refresh
// model (see [tokenactor.Cache.Get]).
//
// A Get failing for want of a login (no session, a refused refresh token,
// an unreadable file) reads the store: if the saved session changed since
// the strategy last looked (another process logged in, a file was
// restored), the failure and its backoff are forgotten and Get tries once
// more at once (see [tokenactor.Cache.Reset]).
func (s *OAuthStrategy) Get(ctx context.Context) (tokenactor.ServiceToken, error) {
	e, err := s.cache.Get(ctx)
	if err != nil && ctx.Err() == nil && needsLogin(err) && s.r.replaced(ctx) {
		s.cache.Reset()
		e, err = s.cache.Get(ctx)
	}
	if err != nil {
		return tokenactor.ServiceToken{}, err
	}
	return e.sess.serviceToken(), nil
}

// Invalidate reports that a service rejected the current token (HTTP 401):
// the next Get waits for a refresh, or adopts a newer session from the
// store.
func (s *OAuthStrategy) Invalidate() { s.cache.Invalidate() }

// InvalidateIf is Invalidate for one token: it drops the cached token only
// if rejected reports true for it (see [tokenactor.Reject]).
func (s *OAuthStrategy) InvalidateIf(rejected func(tokenactor.ServiceToken) bool) {
	s.cache.InvalidateIf(func(e oauthEntry) bool { return rejected(e.sess.serviceToken()) })
}

// Logout deletes the saved session under the profile's lock and drops the
// cached token. This and every other strategy using the session then fail
// with an error matching tokenactor.ErrNotAuthenticated at their next
// refresh. It does not revoke the tokens at the server.
func (s *OAuthStrategy) Logout(ctx context.Context) error {
	unlock, err := s.store.Lock(ctx, s.profile)
	if err != nil {
		return err
	}
	defer unlock()
	if err := s.store.Delete(ctx, s.profile); err != nil {
		return err
	}
	s.cache.Invalidate()
	return nil
}

// Close stops the strategy's cache and waits for a refresh in flight to be
// cancelled. It is idempotent and returns nil. The saved session stays.
func (s *OAuthStrategy) Close() error { return s.cache.Close() }

// Format prints the strategy's profile only, for every verb (see
// [AccessKeyStrategy.Format]).
func (s *OAuthStrategy) Format(f fmt.State, verb rune) {
	formatMasked(f, verb, oauthStrategyView{Profile: s.profile}, "strategy.OAuthStrategy")
}

// sessionRefresher is the Refresher of an OAuthStrategy. The engine calls
// it at most once at a time, each call ordered after the previous one by
// the cache's loop, so its one mutable field needs no lock.
type sessionRefresher struct {
	cfg  OAuthConfig // immutable
	auth clientAuth  // the client's credentials, without its ID (see refresh)
	form string      // the encoded grant without the refresh token: grant_type and the config's parameters
	memo *styleMemo  // the client authentication style each token URL accepted

	// unsaved is a session a refresh obtained but could not save, and
	// rotatedFrom the refresh token it replaced. Owned by the call in
	// flight.
	unsaved     *Session
	rotatedFrom tokenactor.SecretToken

	// seen is the fingerprint of what the store held when the refresher
	// last read or wrote it. Written by the call in flight, read by any
	// failed Get.
	seen atomic.Pointer[[sha256.Size]byte]

	// dpop signs the DPoP proofs of the refreshes; immutable, nil
	// without a DPoPKey.
	dpop *dpopProver
}

// fingerprint identifies what Load returned, without keeping a secret: a
// hash of the session's tokens, or of the error's kind.
func fingerprint(sess Session, err error) *[sha256.Size]byte {
	h := sha256.New()
	if err != nil {
		fmt.Fprintf(h, "error %T %v", err, errors.Is(err, ErrNoSession))
	} else {
		fmt.Fprintf(h, "session %q %q", sess.AccessToken.Reveal(), sess.RefreshToken.Reveal())
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return &sum
}

// needsLogin reports whether err is a failure only a new session can end.
func needsLogin(err error) bool {
	var corrupt *CorruptSessionError
	return errors.Is(err, tokenactor.ErrNotAuthenticated) || errors.Is(err, ErrLoginRequired) || errors.As(err, &corrupt)
}

// replaced reports whether the store now holds something else than what
// the refresher last saw there.
func (r *sessionRefresher) replaced(ctx context.Context) bool {
	seen := r.seen.Load()
	if seen == nil {
		return false
	}
	return *fingerprint(r.cfg.Store.Load(ctx, r.cfg.Profile)) != *seen
}

// Refresh renews the session: it adopts a newer saved session, or
// refreshes. With no previous entry it loads the saved session, refreshing
// it first if its access token is no longer valid.
func (r *sessionRefresher) Refresh(ctx context.Context, previous *tokenactor.Entry[oauthEntry]) (tokenactor.Entry[oauthEntry], error) {
	if previous == nil {
		return r.renew(ctx, nil)
	}
	return r.renew(ctx, &previous.Value.sess)
}

// renew does the work under the profile's lock. current is the session
// the cache holds, nil if none.
func (r *sessionRefresher) renew(ctx context.Context, current *Session) (tokenactor.Entry[oauthEntry], error) {
	unlock, err := r.cfg.Store.Lock(ctx, r.cfg.Profile)
	if err != nil {
		return tokenactor.Entry[oauthEntry]{}, err
	}
	defer unlock()
	saved, err := r.cfg.Store.Load(ctx, r.cfg.Profile)
	r.seen.Store(fingerprint(saved, err))
	if err != nil {
		return tokenactor.Entry[oauthEntry]{}, err
	}
	if r.unsaved != nil {
		// A refresh we made is not saved yet. If the store still holds the
		// session it replaced, ours is the newest: save it now.
		pending := *r.unsaved
		if saved.RefreshToken != r.rotatedFrom {
			r.unsaved = nil // someone logged in again since; theirs wins
		} else if err := r.cfg.Store.Save(ctx, r.cfg.Profile, pending); err != nil {
			return tokenactor.Entry[oauthEntry]{}, err
		} else {
			r.unsaved = nil
			saved = pending
			r.seen.Store(fingerprint(saved, nil))
		}
	}
	now := r.cfg.Clock.Now()
	if r.adoptable(saved, current, now) {
		return entryOf(saved), nil
	}
	if saved.RefreshToken.IsZero() {
		return tokenactor.Entry[oauthEntry]{}, ErrSessionExpired
	}
	next, err := r.refresh(ctx, saved)
	if err != nil && next.RefreshToken.IsZero() {
		return tokenactor.Entry[oauthEntry]{}, err
	}
	// Saved even when the answer was refused: the server rotated the
	// refresh token, and the old one must never be sent again. Saved even
	// if the refresh timed out or the cache closed meanwhile, for the same
	// reason.
	pctx, cancel := persistContext(ctx)
	defer cancel()
	if serr := r.cfg.Store.Save(pctx, r.cfg.Profile, next); serr != nil {
		r.unsaved, r.rotatedFrom = &next, saved.RefreshToken
		if err != nil {
			return tokenactor.Entry[oauthEntry]{}, errors.Join(err, fmt.Errorf("strategy: rotated refresh token not saved, kept in memory: %w", serr))
		}
		return tokenactor.Entry[oauthEntry]{}, fmt.Errorf("strategy: refreshed session not saved, not used yet: %w", serr)
	}
	r.seen.Store(fingerprint(next, nil))
	if err != nil {
		return tokenactor.Entry[oauthEntry]{}, err
	}
	return entryOf(next), nil
}

// adoptable reports whether the saved session can be served as is: its
// access token is valid for adoptMargin more and it is not the token the
// cache holds (which is due for renewal, or was rejected).
func (r *sessionRefresher) adoptable(saved Session, current *Session, now time.Time) bool {
	if saved.AccessToken.IsZero() {
		return false
	}
	if current != nil && saved.AccessToken.Reveal() == current.AccessToken.Reveal() {
		return false
	}
	return saved.ExpiresAt.IsZero() || now.Add(adoptMargin).Before(saved.ExpiresAt)
}

// refresh makes the refresh token grant (RFC 6749 §6) for saved and returns
// the new session, and the server's refresh hint (zero if none). A server
// that does not rotate returns no refresh token; the old one is kept.
//
// If the answer is refused but carried a new refresh token, refresh returns
// the error with a session holding that refresh token and no access token:
// the caller saves it, so the rotated token is used next time.
func (r *sessionRefresher) refresh(ctx context.Context, saved Session) (Session, error) {
	tokenURL, clientID := r.cfg.TokenURL, r.cfg.ClientID
	if tokenURL == "" {
		tokenURL = saved.TokenURL
	}
	if clientID == "" {
		clientID = saved.ClientID
	}
	if tokenURL == "" {
		return Session{}, &ConfigError{Field: "OAuthConfig.TokenURL", Reason: "empty, and the saved session has none"}
	}
	if err := checkTokenURL("token URL", tokenURL); err != nil {
		return Session{}, err
	}
	auth := r.auth
	auth.id = clientID
	ep := &endpoint{url: tokenURL, client: r.cfg.HTTPClient, auth: auth, clock: r.cfg.Clock, memo: r.memo, dpop: r.dpop}
	form, _ := url.ParseQuery(r.form) // encoded by NewOAuth; a fresh copy per request
	form.Set("refresh_token", saved.RefreshToken.Reveal())
	resp, err := ep.token(ctx, form)
	if err != nil {
		if resp.refreshToken.IsZero() || resp.refreshToken == saved.RefreshToken {
			return Session{}, err
		}
		rotated := Session{TokenURL: tokenURL, ClientID: clientID, TokenType: saved.TokenType, RefreshToken: resp.refreshToken, Scope: saved.Scope}
		return rotated, err
	}
	next := Session{
		TokenURL: tokenURL, ClientID: clientID,
		AccessToken: resp.accessToken, TokenType: resp.tokenType, ExpiresAt: resp.expiresAt,
		RefreshToken: resp.refreshToken, Scope: resp.scope, RefreshAt: resp.refreshAt,
	}
	if next.RefreshToken.IsZero() {
		next.RefreshToken = saved.RefreshToken
	}
	if next.Scope == "" {
		next.Scope = saved.Scope
	}
	return next, nil
}

// entryOf makes the cache entry for a session. No entry is Final, even
// without a refresh token: renewing then means adopting a session
// another process saved (a new login), or reporting ErrSessionExpired.
// The server's refresh hint, if it gave one, is the entry's RefreshAt.
func entryOf(s Session) tokenactor.Entry[oauthEntry] {
	return tokenactor.Entry[oauthEntry]{Value: oauthEntry{sess: s}, ExpiresAt: s.ExpiresAt, RefreshAt: s.RefreshAt}
}
