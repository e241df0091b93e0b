package strategy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/tokenactor/tokenactor"
)

// An EndpointConfig names an authorization server endpoint other than the
// token endpoint (revocation, introspection) and the client that calls it.
// The client authenticates as it does to the token endpoint, with the
// same fields as [AccessKeyConfig]: a secret, a key (ClientKey) or a TLS
// client certificate (TLSClientAuth), or not at all for a public client.
//
// The zero value is not usable: URL and ClientID are required. Printing an
// EndpointConfig with any fmt verb or encoding/json masks ClientSecret and
// leaves ClientKey out.
type EndpointConfig struct {
	// URL is the endpoint. It must be https, or http on a loopback host.
	URL string
	// ClientID identifies the client; a public client sends it alone.
	ClientID string
	// ClientSecret authenticates a confidential client; empty for a public
	// one, or one that authenticates with ClientKey or TLSClientAuth.
	ClientSecret string
	// ClientKey authenticates the client with a signed JWT instead of a
	// secret (private_key_jwt, RFC 7523 §2.2); see [ClientKey]. Nil for
	// none. It excludes ClientSecret and TLSClientAuth.
	//
	// The assertion's aud is URL, the endpoint called, unless
	// ClientKey.Audience names another. RFC 7523 §3 leaves the value to
	// the server ("its own identity"), OpenID Connect Core §9 names only
	// the token endpoint, and servers disagree at the other endpoints:
	// Okta requires the URL invoked, exactly; Keycloak's revocation
	// endpoint wants the realm's issuer; RFC 9126 and FAPI 2.0 make the
	// issuer a value every server should accept. The URL called is the
	// choice that needs no other setting (an EndpointConfig does not know
	// the issuer or the token endpoint), that is accepted where the
	// endpoint's own URL is the rule, and that cannot be spent at another
	// endpoint of the same server. oauthtest accepts it, the issuer and
	// the token endpoint. For a server that wants the issuer, set
	// ClientKey.Audience to it: the same ClientKey then serves the token
	// strategies too, wherever the server takes the issuer everywhere.
	ClientKey *ClientKey
	// TLSClientAuth says the client authenticates with the certificate
	// HTTPClient presents (RFC 8705 §2): only client_id is sent, as by
	// [AccessKeyConfig.TLSClientAuth]. HTTPClient is then required (see
	// [NewMTLSClient]). It excludes ClientSecret and ClientKey.
	TLSClientAuth bool
	// AuthStyle says how a client secret is sent; the zero value is HTTP
	// Basic.
	AuthStyle AuthStyle
	// HTTPClient sends the request. Nil means a client with a 30 s timeout
	// that does not follow redirects.
	HTTPClient *http.Client
	// Clock reads the time for Retry-After dates and introspection
	// expiry. Nil means the system clock.
	Clock clock.Clock
}

// endpointConfigView is EndpointConfig with its secret masked, for
// printing.
type endpointConfigView struct {
	URL          string
	ClientID     string
	ClientSecret tokenactor.SecretToken
	AuthStyle    AuthStyle
}

// Format prints the config with ClientSecret masked, for every verb.
func (c EndpointConfig) Format(f fmt.State, verb rune) {
	formatMasked(f, verb, endpointConfigView{URL: c.URL, ClientID: c.ClientID,
		ClientSecret: tokenactor.NewSecretToken(c.ClientSecret), AuthStyle: c.AuthStyle}, "strategy.EndpointConfig")
}

// MarshalJSON encodes the config with ClientSecret masked (see
// [AccessKeyConfig.MarshalJSON]).
func (c EndpointConfig) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		URL          string                 `json:"url,omitempty"`
		ClientID     string                 `json:"client_id,omitempty"`
		ClientSecret tokenactor.SecretToken `json:"client_secret"`
		AuthStyle    string                 `json:"auth_style"`
	}{c.URL, c.ClientID, tokenactor.NewSecretToken(c.ClientSecret), c.AuthStyle.String()})
}

// endpoint checks c and returns the endpoint to post to, named name in
// errors.
func (c EndpointConfig) endpoint(name string) (*endpoint, error) {
	if err := checkTokenURL("EndpointConfig.URL", c.URL); err != nil {
		return nil, err
	}
	if c.ClientID == "" {
		return nil, &ConfigError{Field: "EndpointConfig.ClientID", Reason: "empty"}
	}
	auth, err := newClientAuth("EndpointConfig", c.ClientID, c.ClientSecret, c.ClientKey, c.TLSClientAuth, c.HTTPClient, c.AuthStyle, false)
	if err != nil {
		return nil, err
	}
	clk := c.Clock
	if clk == nil {
		clk = clock.New()
	}
	ep := newEndpoint(c.URL, c.HTTPClient, auth, clk)
	ep.name = name
	return ep, nil
}

// exchange posts form and returns the body of a success answer, or the
// endpoint's error, with the request's secrets masked.
func (e *endpoint) exchange(ctx context.Context, form url.Values) ([]byte, error) {
	var out []byte
	err := e.call(ctx, form, func(status int, h http.Header, body []byte, now time.Time, _ *scrubber) error {
		if status < 200 || status > 299 {
			return errorResponse(status, h, body, now)
		}
		out = body
		return nil
	})
	return out, err
}

// Token type hints of RFC 7009 §2.1 and RFC 7662 §2.1.
const (
	HintAccessToken  = "access_token"
	HintRefreshToken = "refresh_token"
)

// Revoke asks the revocation endpoint cfg.URL to revoke token (RFC 7009
// §2.1); hint, if not empty, says what kind of token it is (HintAccessToken
// or HintRefreshToken). Revoking a refresh token usually ends its whole
// session. It returns nil when the server answered 200, which it also does
// for a token it does not know (§2.2): afterwards the token is not usable.
// Errors are an *OAuthError (unsupported_token_type, invalid_client: a
// wrong secret or key, no or another client certificate; it matches
// ErrLoginRequired), an *HTTPError, a *NetworkError (Endpoint
// "revocation"), a *SigningError (cfg.ClientKey could not sign), or a
// *ConfigError; none contains the token, a secret or a key.
func Revoke(ctx context.Context, cfg EndpointConfig, token tokenactor.SecretToken, hint string) error {
	ep, err := cfg.endpoint("revocation")
	if err != nil {
		return err
	}
	form := url.Values{"token": {token.Reveal()}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	_, err = ep.exchange(ctx, form)
	return err
}

// An Introspection is what an introspection endpoint says about a token
// (RFC 7662 §2.2). Only Active is always there.
type Introspection struct {
	// Active reports whether the token is currently usable: issued by the
	// server, not expired and not revoked.
	Active bool
	// Scope, ClientID, Username and Subject describe an active token when
	// the server says.
	Scope, ClientID, Username, Subject string
	// ExpiresAt is the token's expiry; zero if not given.
	ExpiresAt time.Time
}

// Introspect asks the introspection endpoint cfg.URL about token (RFC 7662
// §2.1), with hint as in [Revoke]. An inactive token is not an error: the
// result's Active is false. Errors are those of Revoke (Endpoint
// "introspection") and an *InvalidResponseError for an answer that is not
// an introspection response.
func Introspect(ctx context.Context, cfg EndpointConfig, token tokenactor.SecretToken, hint string) (Introspection, error) {
	ep, err := cfg.endpoint("introspection")
	if err != nil {
		return Introspection{}, err
	}
	form := url.Values{"token": {token.Reveal()}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	body, err := ep.exchange(ctx, form)
	if err != nil {
		return Introspection{}, err
	}
	return parseIntrospection(body)
}

// parseIntrospection parses an introspection response (RFC 7662 §2.2).
// Errors are an *InvalidResponseError that never quotes the body; the
// strings of an active token are bounded and printable.
func parseIntrospection(body []byte) (Introspection, error) {
	body = bytes.TrimSpace(body)
	var raw struct {
		Active   *bool   `json:"active"`
		Scope    string  `json:"scope"`
		ClientID string  `json:"client_id"`
		Username string  `json:"username"`
		Sub      string  `json:"sub"`
		Exp      float64 `json:"exp"`
	}
	if len(body) == 0 || body[0] != '{' {
		return Introspection{}, &InvalidResponseError{Reason: "body is not a JSON object", Endpoint: "introspection"}
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return Introspection{}, &InvalidResponseError{Reason: jsonReason(err, len(body)), Endpoint: "introspection"}
	}
	if raw.Active == nil {
		return Introspection{}, &InvalidResponseError{Reason: "missing active", Endpoint: "introspection"}
	}
	in := Introspection{Active: *raw.Active}
	if in.Active {
		in.Scope, in.ClientID = printable(raw.Scope, 512), printable(raw.ClientID, 200)
		in.Username, in.Subject = printable(raw.Username, 200), printable(raw.Sub, 200)
		if raw.Exp > 0 && raw.Exp < 1e11 {
			in.ExpiresAt = time.Unix(int64(raw.Exp), 0)
		}
	}
	return in, nil
}
