package strategy

import (
	"crypto"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/tokenactor/tokenactor"
)

// clientAssertionType is the client_assertion_type of a JWT client
// assertion (RFC 7523 §2.2).
const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// defaultAssertionLifetime is how long a client assertion is valid when
// ClientKey.Lifetime is zero: long enough for a request to arrive, short
// enough that a leaked one is soon useless.
const defaultAssertionLifetime = time.Minute

// A ClientKey authenticates a client with a private key instead of a
// shared secret: private_key_jwt, the JWT client assertion of RFC 7523
// §2.2 as profiled by OpenID Connect Core §9. For each token request the
// client signs a new JWT whose iss and sub are the client ID, aud is the
// token endpoint URL (or Audience), jti is random, and which expires after
// Lifetime; it is sent as client_assertion with client_assertion_type
// urn:ietf:params:oauth:client-assertion-type:jwt-bearer, and no secret
// is sent. The server verifies it with the public key registered for the
// client, so the private key never leaves the process (or the hardware
// holding it).
//
// Set it as the ClientKey of [AccessKeyConfig], [OAuthConfig],
// [DeviceCodeConfig] or [EndpointConfig] (revocation, introspection),
// with ClientSecret empty.
//
// Printing a ClientKey with any fmt verb, log/slog or encoding/json shows
// the key ID and the algorithm, never the key. The zero value has no
// Signer and is refused by the configs. A ClientKey is read-only once in a
// config; it is safe for concurrent use if its Signer is (the standard
// library's keys are).
type ClientKey struct {
	// Signer is the private key: an *rsa.PrivateKey of 2048 bits or more
	// (signs RS256), an *ecdsa.PrivateKey on P-256 (ES256), an
	// ed25519.PrivateKey (EdDSA), or any crypto.Signer whose public key is
	// one of those, such as a key in a hardware module. Required.
	Signer crypto.Signer
	// KeyID is sent as the JWS "kid" header so the server can pick the key
	// among those registered for the client. Empty sends none.
	KeyID string
	// Lifetime is how long each assertion is valid. Zero means one minute;
	// it must not be negative.
	Lifetime time.Duration
	// Audience is the aud claim. Empty means the URL of the endpoint the
	// request goes to: the token endpoint, as OpenID Connect Core §9 asks
	// (the device authorization endpoint for that request, the revocation
	// or introspection endpoint for [Revoke] and [Introspect]: see
	// [EndpointConfig.ClientKey]). Set it to the server's issuer
	// identifier for a server that asks for that.
	Audience string
}

// check reports what makes k unusable, as a *ConfigError for field.
func (k *ClientKey) check(field string) error {
	if _, err := signingAlg(k.Signer); err != nil {
		return &ConfigError{Field: field + ".Signer", Reason: err.Error()}
	}
	if k.Lifetime < 0 {
		return &ConfigError{Field: field + ".Lifetime", Reason: "negative"}
	}
	return nil
}

// newClientAuth checks how the client id of the config named cfg
// authenticates, and returns the clientAuth its endpoints send. It is the
// one place every config that authenticates a client goes through:
// at most one of a secret, a key and a TLS client certificate (one of them
// when required, for a confidential client), a key that can sign, an HTTP
// client to present the certificate with, and a known style.
func newClientAuth(cfg, id, secret string, key *ClientKey, tlsAuth bool, client *http.Client, style AuthStyle, required bool) (clientAuth, error) {
	if err := checkClientAuth(cfg, secret, key, tlsAuth, required); err != nil {
		return clientAuth{}, err
	}
	if tlsAuth && client == nil {
		return clientAuth{}, &ConfigError{Field: cfg + ".HTTPClient", Reason: "nil: TLSClientAuth needs a client that presents a certificate (see NewMTLSClient)"}
	}
	if !style.valid() {
		return clientAuth{}, &ConfigError{Field: cfg + ".AuthStyle", Reason: "unknown style " + style.String()}
	}
	return clientAuth{id: id, secret: tokenactor.NewSecretToken(secret), style: style, key: key}, nil
}

// checkClientAuth checks the client authentication of the config named
// cfg: at most one of a secret, a key and a TLS client certificate, and
// one of them when required (a confidential client) is true.
func checkClientAuth(cfg, secret string, key *ClientKey, tlsAuth, required bool) error {
	n := 0
	for _, set := range []bool{secret != "", key != nil, tlsAuth} {
		if set {
			n++
		}
	}
	switch {
	case n > 1:
		return &ConfigError{Field: cfg + ".ClientSecret", Reason: "set only one of ClientSecret, ClientKey and TLSClientAuth"}
	case n == 0 && required:
		return &ConfigError{Field: cfg + ".ClientSecret", Reason: "empty"}
	case key != nil:
		return key.check(cfg + ".ClientKey")
	}
	return nil
}

// assertionClaims are the claims of a client assertion (RFC 7523 §3).
type assertionClaims struct {
	Issuer    string `json:"iss"`
	Subject   string `json:"sub"`
	Audience  string `json:"aud"`
	ID        string `json:"jti"`
	IssuedAt  int64  `json:"iat"`
	ExpiresAt int64  `json:"exp"`
}

// addAssertion adds a fresh client assertion for clientID to form, for a
// request made at now to the endpoint whose URL is tokenURL. A nil k adds
// nothing. Its error, a *SigningError, never holds the key.
func (k *ClientKey) addAssertion(form url.Values, clientID, tokenURL string, now time.Time) error {
	if k == nil {
		return nil
	}
	life := k.Lifetime
	if life == 0 {
		life = defaultAssertionLifetime
	}
	if k.Audience != "" {
		tokenURL = k.Audience
	}
	jwt, err := signJWT(k.Signer, jwsHeader{typ: "JWT", kid: k.KeyID}, assertionClaims{
		Issuer: clientID, Subject: clientID, Audience: tokenURL, ID: newJTI(),
		IssuedAt: now.Unix(), ExpiresAt: now.Add(life).Unix(),
	})
	if err != nil {
		return &SigningError{What: "client assertion", Err: err}
	}
	form.Set("client_assertion_type", clientAssertionType)
	form.Set("client_assertion", jwt)
	return nil
}

// A SigningError reports that a JWT could not be signed: a client
// assertion or a DPoP proof. The key in a hardware module or a remote
// service may be unreachable. It names what was being signed and wraps
// the signer's error; it never holds the key.
type SigningError struct {
	// What names the JWT: "client assertion" or "DPoP proof".
	What string
	// Err is the signer's error.
	Err error
}

// Error describes the failure.
func (e *SigningError) Error() string {
	return "strategy: signing the " + e.What + " failed: " + e.Err.Error()
}

// Unwrap returns the signer's error.
func (e *SigningError) Unwrap() error { return e.Err }

// clientKeyView is what a ClientKey prints as.
type clientKeyView struct {
	KeyID     string
	Algorithm string
	Lifetime  time.Duration
}

func (k ClientKey) view() clientKeyView {
	return clientKeyView{KeyID: k.KeyID, Algorithm: keyKind(k.Signer), Lifetime: k.Lifetime}
}

// Format prints the key ID, the algorithm and the lifetime, for every
// verb; never the key.
func (k ClientKey) Format(f fmt.State, verb rune) {
	formatMasked(f, verb, k.view(), "strategy.ClientKey")
}

// LogValue makes log/slog print the key ID and the algorithm only.
func (k ClientKey) LogValue() slog.Value {
	return slog.GroupValue(slog.String("key_id", k.KeyID), slog.String("algorithm", keyKind(k.Signer)))
}

// MarshalJSON encodes the key ID and the algorithm only.
func (k ClientKey) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		KeyID     string `json:"key_id,omitempty"`
		Algorithm string `json:"algorithm"`
	}{k.KeyID, keyKind(k.Signer)})
}
