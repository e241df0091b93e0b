package oauthtest

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"math"
	"net/http"
	"time"
)

// jwtBearerAssertion is the client_assertion_type of a JWT client
// assertion (RFC 7523 §2.2).
const jwtBearerAssertion = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// maxAssertionLifetime is the longest a client assertion may live: its
// exp may be at most this far after the time it arrives. RFC 7523 §3
// leaves the bound to the server; clients send a minute or so.
const maxAssertionLifetime = 10 * time.Minute

// keyConfig is the part of config about keys: clients that authenticate
// with a key or a certificate, and DPoP. Guarded by Server.mu once the
// server runs.
type keyConfig struct {
	keys      map[string]crypto.PublicKey // client ID → key of its assertions
	certs     map[string]string           // client ID → x5t#S256 of its certificate
	dpopNonce bool                        // DPoP proofs must carry the server's nonce
}

// WithClientKey registers a confidential client that authenticates with
// private_key_jwt (RFC 7523 §2.2, OpenID Connect Core §9): a JWT signed
// with the private key of pub, an *rsa.PublicKey (RS256), an
// *ecdsa.PublicKey on P-256 (ES256) or an ed25519.PublicKey (EdDSA). The
// server refuses with invalid_client an assertion that is not signed by
// that key, whose iss or sub is not the client ID, whose aud is not the
// token endpoint URL (or the issuer, or the URL of the endpoint called),
// that has expired or lives longer than 10 minutes, or whose jti was
// already used. Such a client has no secret; it may also be registered
// with [WithClient] to accept both.
func WithClientKey(id string, pub crypto.PublicKey) Option {
	return optionFunc(func(c *config) {
		if c.keys.keys == nil {
			c.keys.keys = make(map[string]crypto.PublicKey)
		}
		c.keys.keys[id] = pub
	})
}

// AddClientKey registers a client's key, or replaces it, as
// [WithClientKey] does.
func (s *Server) AddClientKey(id string, pub crypto.PublicKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.keys.keys == nil {
		s.cfg.keys.keys = make(map[string]crypto.PublicKey)
	}
	s.cfg.keys.keys[id] = pub
}

// WithClientCertificate registers a client that authenticates with a TLS
// client certificate (RFC 8705 §2.2, self_signed_tls_client_auth): it
// sends client_id, no secret, over a connection on which it presented
// cert, which the server recognises by its SHA-256 thumbprint. The server
// must be one from [NewTLSServer]. A client of this kind that presents no
// certificate, or another one, gets invalid_client.
func WithClientCertificate(id string, cert *x509.Certificate) Option {
	return optionFunc(func(c *config) {
		if c.keys.certs == nil {
			c.keys.certs = make(map[string]string)
		}
		c.keys.certs[id] = certThumbprint(cert)
	})
}

// certThumbprint is the x5t#S256 of cert (RFC 8705 §3.1).
func certThumbprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// peerThumbprint is the x5t#S256 of the certificate the client presented
// on r's connection, or "" if none.
func peerThumbprint(r *http.Request) string {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return ""
	}
	return certThumbprint(r.TLS.PeerCertificates[0])
}

// authenticateKey authenticates a client that uses a key (a client
// assertion) or a registered certificate. It reports false, and leaves the
// request to the secret-based checks, for any other client.
func (s *Server) authenticateKey(r *http.Request) (string, *oauthError, bool) {
	form := r.PostForm
	_, _, basic := basicAuth(r)
	_, secret := form["client_secret"]
	if _, ok := form["client_assertion_type"]; ok {
		if basic || secret {
			return "", invalidRequest("more than one client authentication method (RFC 6749 §2.3)"), true
		}
		id, oerr := s.authenticateAssertion(r)
		return id, oerr, true
	}
	if _, ok := form["client_assertion"]; ok {
		return "", invalidRequest("client_assertion without client_assertion_type (RFC 7521 §4.2)"), true
	}
	id := form.Get("client_id")
	s.mu.Lock()
	want, ok := s.cfg.keys.certs[id]
	s.mu.Unlock()
	switch {
	case !ok || basic || secret:
		return "", nil, false
	case peerThumbprint(r) == "":
		return "", invalidClient("client " + id + " must present its TLS client certificate (RFC 8705 §2)"), true
	case peerThumbprint(r) != want:
		return "", invalidClient("the TLS client certificate is not the one registered for client " + id), true
	}
	return id, nil, true
}

// assertionClaims are the claims of RFC 7523 §3 the server checks.
type assertionClaims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  audience `json:"aud"`
	ExpiresAt *float64 `json:"exp"`
	NotBefore *float64 `json:"nbf"`
	ID        string   `json:"jti"`
}

// authenticateAssertion checks a JWT client assertion (RFC 7523 §3) and
// returns the client it authenticates.
func (s *Server) authenticateAssertion(r *http.Request) (string, *oauthError) {
	form := r.PostForm
	if t := form.Get("client_assertion_type"); t != jwtBearerAssertion {
		return "", invalidClient("unsupported client_assertion_type")
	}
	j, err := parseJWS(form.Get("client_assertion"))
	if err != nil {
		return "", invalidClient("malformed client assertion: " + err.Error())
	}
	var c assertionClaims
	if json.Unmarshal(j.payload, &c) != nil {
		return "", invalidClient("malformed client assertion claims")
	}
	id := c.Subject
	switch {
	case id == "" || c.Issuer != id:
		return "", invalidClient("client assertion iss and sub must both be the client ID (RFC 7523 §3)")
	case form.Get("client_id") != "" && form.Get("client_id") != id:
		return "", invalidClient("client_id differs from the client assertion's sub")
	}
	s.mu.Lock()
	pub, known := s.cfg.keys.keys[id]
	now := s.cfg.now()
	s.mu.Unlock()
	if !known {
		return "", invalidClient("unknown client or no key registered for it")
	}
	if err := j.verify(pub); err != nil {
		return "", invalidClient("client assertion refused: " + err.Error() + " with the client's registered key")
	}
	switch {
	case !c.Audience.has(s.URL+pathToken) && !c.Audience.has(s.URL) && !c.Audience.has(s.URL+r.URL.Path):
		return "", invalidClient("client assertion aud is not this server: want its issuer, its token endpoint or the endpoint called")
	case c.ExpiresAt == nil:
		return "", invalidClient("client assertion has no exp")
	case !now.Before(unixTime(*c.ExpiresAt)):
		return "", invalidClient("client assertion expired")
	case unixTime(*c.ExpiresAt).Sub(now) > maxAssertionLifetime:
		return "", invalidClient("client assertion lives longer than 10 minutes")
	case c.NotBefore != nil && now.Before(unixTime(*c.NotBefore)):
		return "", invalidClient("client assertion not valid yet (nbf)")
	case c.ID == "":
		return "", invalidClient("client assertion has no jti")
	}
	s.mu.Lock()
	fresh := s.replay.use("assertion "+id+" "+c.ID, unixTime(*c.ExpiresAt), now)
	s.mu.Unlock()
	if !fresh {
		return "", invalidClient("client assertion jti already used (RFC 7523 §3)")
	}
	return id, nil
}

// unixTime turns a NumericDate (RFC 7519 §2) into a time. A value that
// is negative, not finite or past the year 5000 is the Unix epoch: a
// time long past, so an exp or iat holding it is refused.
func unixTime(secs float64) time.Time {
	if !(secs >= 0 && secs < 1e11) {
		return time.Unix(0, 0)
	}
	whole := math.Floor(secs)
	return time.Unix(int64(whole), int64((secs-whole)*1e9))
}

// maxReplay bounds the memory of used jti values. Past it, entries that
// expired are forgotten; if none did, the whole memory is cleared, which
// a test server can afford.
const maxReplay = 1 << 14

// A replayMemory remembers the jti values of assertions and proofs until
// they expire, to refuse a second use. Guarded by Server.mu.
type replayMemory struct {
	until map[string]time.Time // key → when it may be forgotten
}

// use records key until the time given and reports whether it was new.
func (m *replayMemory) use(key string, until, now time.Time) bool {
	if m.until == nil {
		m.until = make(map[string]time.Time)
	}
	if t, ok := m.until[key]; ok && now.Before(t) {
		return false
	}
	if len(m.until) >= maxReplay {
		for k, t := range m.until {
			if !now.Before(t) {
				delete(m.until, k)
			}
		}
		if len(m.until) >= maxReplay {
			clear(m.until)
		}
	}
	m.until[key] = until
	return true
}
