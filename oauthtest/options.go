package oauthtest

import "time"

// An Option configures a [Server] made by [NewServer] or [New].
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// Defaults of a [Server] made without options.
const (
	// DefaultClientID and DefaultClientSecret are the credentials of the
	// client registered when no [WithClient] option is given.
	DefaultClientID     = "test-client"
	DefaultClientSecret = "test-secret"
	// DefaultLifetime is the lifetime of access tokens.
	DefaultLifetime = time.Hour
	// DefaultPollInterval is the device flow's polling interval
	// (RFC 8628 §3.2: 5 s when the server names none).
	DefaultPollInterval = 5 * time.Second
	// DefaultDeviceCodeLifetime is how long a device code may be polled.
	DefaultDeviceCodeLifetime = 10 * time.Minute
)

// An AuthStyle is a way for a client to authenticate to the server
// (RFC 6749 §2.3.1).
type AuthStyle int

const (
	// AuthStyleAny accepts both HTTP Basic and credentials in the body. It
	// is the zero value and the default.
	AuthStyleAny AuthStyle = iota
	// AuthStyleBasic accepts only an HTTP Basic Authorization header
	// (client_secret_basic); a secret in the body is invalid_client.
	AuthStyleBasic
	// AuthStylePost accepts only client_id and client_secret in the body
	// (client_secret_post); a Basic header is invalid_client.
	AuthStylePost
)

// config is a server's settings. Options fill it before the server starts;
// afterwards it is guarded by Server.mu and changed only by the Set methods.
type config struct {
	now                func() time.Time
	clients            map[string]string // client ID → secret; "" is a public client
	lifetime           time.Duration
	refreshLifetime    time.Duration
	refreshIn          time.Duration
	latency            time.Duration
	authStyle          AuthStyle
	pollInterval       time.Duration
	deviceCodeLifetime time.Duration
	autoApprove        bool
	requiredScope      string
	requiredAudience   string
	requiredResource   string

	keys keyConfig // clients with keys or certificates, DPoP (assertion.go)
}

// WithClient registers a client with its secret. An empty secret makes a
// public client (RFC 6749 §2.1), which identifies itself by client_id in
// the body and has no secret to check, as command-line tools using the
// device flow do. Given at least once, it replaces the default client
// ([DefaultClientID]); given twice for one ID, the last secret wins.
func WithClient(id, secret string) Option {
	return optionFunc(func(c *config) {
		if c.clients == nil {
			c.clients = make(map[string]string)
		}
		c.clients[id] = secret
	})
}

// WithClock sets the clock that decides issue times, expiry and the device
// flow's polling interval. The default is [time.Now]; nil keeps it. A
// fake clock plugs in by its method value, such as mock.Now of a
// github.com/benbjohnson/clock Mock. The
// clock does not drive [WithLatency], which waits in real time (fake time
// inside a testing/synctest bubble).
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) {
		if now != nil {
			c.now = now
		}
	})
}

// WithLifetime sets the lifetime of access tokens, sent as expires_in in
// whole seconds (RFC 6749 §5.1) and rounded down to them. The default is
// [DefaultLifetime]. Zero or negative: tokens never expire and expires_in
// is left out of responses.
func WithLifetime(d time.Duration) Option {
	return optionFunc(func(c *config) { c.lifetime = d })
}

// WithRefreshLifetime sets how long a refresh token may be used. The
// default, zero or negative, is forever (until rotated or revoked).
func WithRefreshLifetime(d time.Duration) Option {
	return optionFunc(func(c *config) { c.refreshLifetime = d })
}

// WithRefreshIn adds a refresh_in hint, in whole seconds, to token
// responses: when the server advises the client to refresh. The default,
// zero or negative, sends none.
func WithRefreshIn(d time.Duration) Option {
	return optionFunc(func(c *config) { c.refreshIn = d })
}

// WithLatency makes the token, device authorization, revocation and
// introspection endpoints wait d before answering, as a remote server
// does; a request whose context ends first gets no answer. The default,
// zero or negative, is no wait.
func WithLatency(d time.Duration) Option {
	return optionFunc(func(c *config) { c.latency = d })
}

// WithAuthStyle sets which client authentication the server accepts. The
// default is [AuthStyleAny]. Public clients are not affected: they send
// only client_id in the body.
func WithAuthStyle(s AuthStyle) Option {
	return optionFunc(func(c *config) { c.authStyle = s })
}

// WithPollInterval sets the device flow's polling interval, sent rounded
// up to whole seconds (RFC 8628 §3.2) and enforced: a poll sooner than the
// interval after the previous one gets slow_down and adds 5 s to the
// interval (§3.5). The default is [DefaultPollInterval]. Zero or negative:
// no interval is sent or enforced.
func WithPollInterval(d time.Duration) Option {
	return optionFunc(func(c *config) { c.pollInterval = d })
}

// WithDeviceCodeLifetime sets how long a device code stays valid; polling
// it later gets expired_token. The default is [DefaultDeviceCodeLifetime];
// zero or negative keeps it.
func WithDeviceCodeLifetime(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d > 0 {
			c.deviceCodeLifetime = d
		}
	})
}

// WithAutoApprove approves every device authorization request as it is
// made, as if the user had entered the code at once. The default leaves
// requests pending until the approval page or [Server.Approve] decides.
func WithAutoApprove() Option {
	return optionFunc(func(c *config) { c.autoApprove = true })
}

// WithRequiredScope makes client credentials and device authorization
// requests whose scope parameter lacks scope fail with invalid_scope
// (RFC 6749 §5.2). The default requires none.
func WithRequiredScope(scope string) Option {
	return optionFunc(func(c *config) { c.requiredScope = scope })
}

// WithRequiredAudience makes client credentials and device authorization
// requests without audience=aud fail with invalid_target. The default
// requires none.
func WithRequiredAudience(aud string) Option {
	return optionFunc(func(c *config) { c.requiredAudience = aud })
}

// WithRequiredResource makes client credentials and device authorization
// requests without resource=uri (RFC 8707) fail with invalid_target. The
// default requires none.
func WithRequiredResource(uri string) Option {
	return optionFunc(func(c *config) { c.requiredResource = uri })
}

func newConfig(opts []Option) config {
	c := config{
		now:                time.Now,
		lifetime:           DefaultLifetime,
		pollInterval:       DefaultPollInterval,
		deviceCodeLifetime: DefaultDeviceCodeLifetime,
	}
	for _, o := range opts {
		o.apply(&c)
	}
	if c.clients == nil {
		c.clients = map[string]string{DefaultClientID: DefaultClientSecret}
	}
	return c
}
