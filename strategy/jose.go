package strategy

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/cryptosigner"
)

// errKeyType reports a key that is not one of the three kinds signed with
// here.
var errKeyType = errors.New("not an RSA, ECDSA P-256 or Ed25519 key")

// signingAlg returns the JWS algorithm a key signs with: RS256 for RSA
// (2048 bits or more), ES256 for ECDSA on P-256, EdDSA for Ed25519. The
// three are those RFC 9449 and OpenID Connect servers support most widely;
// one algorithm per key type keeps a key from being used two ways.
func signingAlg(s crypto.Signer) (alg jose.SignatureAlgorithm, err error) {
	if s == nil {
		return "", errors.New("nil")
	}
	defer func() {
		if recover() != nil { // a typed nil key: (*ecdsa.PrivateKey)(nil).Public panics
			alg, err = "", errors.New("nil")
		}
	}()
	switch pub := s.Public().(type) {
	case *rsa.PublicKey:
		if pub.N.BitLen() < 2048 {
			return "", errors.New("RSA key shorter than 2048 bits")
		}
		return jose.RS256, nil
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() {
			return "", errors.New("ECDSA key not on P-256 (ES256)")
		}
		return jose.ES256, nil
	case ed25519.PublicKey:
		return jose.EdDSA, nil
	}
	return "", errKeyType
}

// jwsHeader is what a signed JWT says about itself.
type jwsHeader struct {
	typ      string // "typ", empty for none
	kid      string // "kid", empty for none
	embedJWK bool   // put the public key in "jwk" (RFC 9449 §4.2)
}

// signJWT signs claims as a compact JWS with s. It fails only if the key
// cannot sign (a hardware key gone) or claims cannot be encoded; the error
// never holds the key.
func signJWT(s crypto.Signer, h jwsHeader, claims any) (string, error) {
	signer, err := newJWTSigner(s, h)
	if err != nil {
		return "", err
	}
	return signWith(signer, claims)
}

// newJWTSigner returns a signer of JWTs with s and the header h. The
// signer keeps no state between signatures, so one may serve concurrent
// calls.
func newJWTSigner(s crypto.Signer, h jwsHeader) (jose.Signer, error) {
	alg, err := signingAlg(s)
	if err != nil {
		return nil, err
	}
	opts := &jose.SignerOptions{EmbedJWK: h.embedJWK}
	if h.typ != "" {
		opts = opts.WithType(jose.ContentType(h.typ))
	}
	if h.kid != "" {
		opts = opts.WithHeader("kid", h.kid)
	}
	return jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: cryptosigner.Opaque(s)}, opts)
}

// signWith signs claims as a compact JWS with signer.
func signWith(signer jose.Signer, claims any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

// newJTI returns a random JWT ID: 16 bytes, base64url.
func newJTI() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails (crypto/rand documents it)
	return base64.RawURLEncoding.EncodeToString(b)
}

// keyKind names a key's algorithm for printing, never its material.
func keyKind(s crypto.Signer) string {
	if s == nil {
		return "none"
	}
	alg, err := signingAlg(s)
	if err != nil {
		return "unsupported key"
	}
	return string(alg)
}
