package strategy

import (
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/benbjohnson/clock"
	"github.com/go-jose/go-jose/v4"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/internal/urls"
)

var (
	// ErrDPoPShared is returned by [AccessKeyConfig.Refresher] for a
	// config with a DPoPKey. A DPoP-bound token is usable only with the
	// key it is bound to (RFC 9449 §6), and a refresher handed out to be
	// wrapped in a fleet-shared cache (store.Wrap) would put tokens bound
	// to one replica's key where the others read them: every replica
	// without that key would be refused by the resource servers. Use
	// [NewAccessKey] in each replica instead; each binds its own tokens.
	ErrDPoPShared = errors.New("strategy: a DPoP-bound token cannot be shared: it is usable only with the key of the process that requested it")

	// ErrNoDPoPKey is returned by the DPoPProof method of a strategy made
	// without a DPoPKey: it asked for bearer tokens and has no key to sign
	// proofs with.
	ErrNoDPoPKey = errors.New("strategy: no DPoPKey configured")
)

// maxNonces bounds how many origins a DPoP key remembers a nonce for.
// A process talks to a handful of servers; past the bound the memory is
// cleared and servers ask again (one extra request each).
const maxNonces = 64

// A dpopProver signs DPoP proofs (RFC 9449 §4) with one key, and
// remembers the latest nonce each server gave (§8, §9). It is safe for
// concurrent use.
type dpopProver struct {
	signer jose.Signer // read-only; signs with the key, its public part in the header
	clock  clock.Clock // read-only

	mu     sync.Mutex
	nonces map[string]string // origin → latest nonce; guarded by mu
}

// newDPoPProver returns a prover for key, nil for a nil key, or a
// *ConfigError naming field if key cannot sign proofs.
func newDPoPProver(field string, key crypto.Signer, clk clock.Clock) (*dpopProver, error) {
	if key == nil {
		return nil, nil
	}
	signer, err := newJWTSigner(key, jwsHeader{typ: "dpop+jwt", embedJWK: true})
	if err != nil {
		return nil, &ConfigError{Field: field, Reason: err.Error()}
	}
	return &dpopProver{signer: signer, clock: clk, nonces: make(map[string]string)}, nil
}

// dpopClaims are the claims of a DPoP proof (RFC 9449 §4.2).
type dpopClaims struct {
	ID       string `json:"jti"`
	Method   string `json:"htm"`
	URI      string `json:"htu"`
	IssuedAt int64  `json:"iat"`
	Hash     string `json:"ath,omitempty"`
	Nonce    string `json:"nonce,omitempty"`
}

// proof returns a new proof for a request with method to u, bound to
// accessToken if it is not empty, carrying the nonce last remembered for
// u's origin. Its error is a *SigningError.
func (p *dpopProver) proof(method string, u *url.URL, accessToken string) (string, error) {
	c := dpopClaims{ID: newJTI(), Method: method, URI: htu(u), IssuedAt: p.clock.Now().Unix(), Nonce: p.nonce(u)}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		c.Hash = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	jwt, err := signWith(p.signer, c)
	if err != nil {
		return "", &SigningError{What: "DPoP proof", Err: err}
	}
	return jwt, nil
}

// htu is the htu claim for u: the URI without query and fragment
// (RFC 9449 §4.2).
func htu(u *url.URL) string {
	v := url.URL{Scheme: strings.ToLower(u.Scheme), Host: strings.ToLower(u.Host), Path: u.Path, RawPath: u.RawPath}
	return v.String()
}

// originOf is the key nonces are remembered under: u's origin.
func originOf(u *url.URL) string { return urls.Origin(u) }

func (p *dpopProver) nonce(u *url.URL) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.nonces[originOf(u)]
}

// setNonce remembers nonce for u's origin. An empty nonce, or one with
// characters RFC 9449 §8.1 does not allow, is ignored, as is any for a nil
// p.
func (p *dpopProver) setNonce(u *url.URL, nonce string) {
	if p == nil || nonce == "" || len(nonce) > 256 || !nonceSafe(nonce) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.nonces) >= maxNonces {
		clear(p.nonces)
	}
	p.nonces[originOf(u)] = nonce
}

// nonceSafe reports whether s is made of NQCHAR (RFC 9449 §8.1): printable
// ASCII without the double quote and the backslash.
func nonceSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// prove adds a DPoP header to a token request and returns the proof, for
// the scrubber. A nil p adds nothing.
func (p *dpopProver) prove(req *http.Request) (string, error) {
	if p == nil {
		return "", nil
	}
	proof, err := p.proof(req.Method, req.URL, "")
	if err != nil {
		return "", err
	}
	req.Header.Set("DPoP", proof)
	return proof, nil
}

// retry remembers the nonce of a token endpoint's answer and reports
// whether the request must be sent again: the server refused it with
// use_dpop_nonce and gave a nonce (RFC 9449 §8). A nil p never retries.
func (p *dpopProver) retry(u string, status int, h http.Header, body []byte) bool {
	if p == nil || h == nil {
		return false
	}
	parsed, err := url.Parse(u)
	nonce := h.Get("DPoP-Nonce")
	if err != nil || nonce == "" {
		return false
	}
	p.setNonce(parsed, nonce)
	oe := parseOAuthError(status, body)
	return status == http.StatusBadRequest && oe != nil && oe.Code == "use_dpop_nonce"
}

// DPoPProof returns a DPoP proof (RFC 9449 §4) for a request with method
// to u that carries accessToken, signed with the config's DPoPKey: a new
// jti, htm and htu (u without query and fragment), iat now, ath (the
// SHA-256 of the token) and the nonce last remembered for u's origin. It
// is what httpauth.Transport calls for each request with a DPoP token.
// Without a DPoPKey it returns [ErrNoDPoPKey]; if the key fails to sign, a
// *SigningError. It is safe for concurrent use.
func (s *AccessKeyStrategy) DPoPProof(method string, u *url.URL, accessToken tokenactor.SecretToken) (string, error) {
	return s.dpop.proofFor(method, u, accessToken)
}

// DPoPNonce remembers nonce, from a server's DPoP-Nonce header, for
// the proofs sent to u's origin from now on (RFC 9449 §8, §9). Nonces are
// kept for a bounded number of origins; an empty or malformed one is
// ignored, as is any without a DPoPKey. It is safe for concurrent use.
func (s *AccessKeyStrategy) DPoPNonce(u *url.URL, nonce string) { s.dpop.setNonce(u, nonce) }

// DPoPProof returns a DPoP proof for a request with the session's token,
// as [AccessKeyStrategy.DPoPProof] does. A [DeviceCodeStrategy] has it
// too.
func (s *OAuthStrategy) DPoPProof(method string, u *url.URL, accessToken tokenactor.SecretToken) (string, error) {
	return s.r.dpop.proofFor(method, u, accessToken)
}

// DPoPNonce remembers a server's nonce, as [AccessKeyStrategy.DPoPNonce]
// does.
func (s *OAuthStrategy) DPoPNonce(u *url.URL, nonce string) { s.r.dpop.setNonce(u, nonce) }

// proofFor is DPoPProof for a strategy whose prover is p.
func (p *dpopProver) proofFor(method string, u *url.URL, accessToken tokenactor.SecretToken) (string, error) {
	if p == nil {
		return "", ErrNoDPoPKey
	}
	return p.proof(method, u, accessToken.Reveal())
}
