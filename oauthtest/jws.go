package oauthtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
)

// The verification here is written against RFC 7515 with the standard
// library alone, independently of the JOSE library clients sign with, so
// a test catches a client that signs something only its own library
// accepts.

// maxJWT bounds a JWT the server parses.
const maxJWT = 8 << 10

// A jws is a parsed compact JWS whose signature is not yet checked.
type jws struct {
	header struct {
		Alg string          `json:"alg"`
		Typ string          `json:"typ"`
		Kid string          `json:"kid"`
		JWK json.RawMessage `json:"jwk"`
	}
	payload   []byte
	signed    []byte // the signing input: header "." payload, as sent
	signature []byte
}

// parseJWS splits and decodes a compact JWS (RFC 7515 §7.1).
func parseJWS(s string) (*jws, error) {
	if len(s) > maxJWT {
		return nil, errors.New("larger than 8 KiB")
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a compact JWS")
	}
	var j jws
	h, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil || json.Unmarshal(h, &j.header) != nil {
		return nil, errors.New("malformed header")
	}
	if j.payload, err = base64.RawURLEncoding.DecodeString(parts[1]); err != nil {
		return nil, errors.New("malformed payload")
	}
	if j.signature, err = base64.RawURLEncoding.DecodeString(parts[2]); err != nil {
		return nil, errors.New("malformed signature")
	}
	j.signed = []byte(parts[0] + "." + parts[1])
	return &j, nil
}

// verify checks the signature with pub, for the one algorithm its key
// type signs with (RS256, ES256, EdDSA): an alg that does not fit the key
// is refused, so "none" and HMAC with a public key as secret never pass.
func (j *jws) verify(pub crypto.PublicKey) error {
	bad := errors.New("signature does not verify")
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if j.header.Alg != "RS256" {
			return errors.New("alg " + j.header.Alg + " does not fit an RSA key")
		}
		sum := sha256.Sum256(j.signed)
		if rsa.VerifyPKCS1v15(k, crypto.SHA256, sum[:], j.signature) != nil {
			return bad
		}
	case *ecdsa.PublicKey:
		if j.header.Alg != "ES256" || k.Curve != elliptic.P256() {
			return errors.New("alg " + j.header.Alg + " does not fit the ECDSA key")
		}
		if len(j.signature) != 64 {
			return bad
		}
		sum := sha256.Sum256(j.signed)
		r, s := new(big.Int).SetBytes(j.signature[:32]), new(big.Int).SetBytes(j.signature[32:])
		if !ecdsa.Verify(k, sum[:], r, s) {
			return bad
		}
	case ed25519.PublicKey:
		if j.header.Alg != "EdDSA" {
			return errors.New("alg " + j.header.Alg + " does not fit an Ed25519 key")
		}
		if !ed25519.Verify(k, j.signed, j.signature) {
			return bad
		}
	default:
		return errors.New("unsupported key type")
	}
	return nil
}

// A jwk is the public part of a JSON Web Key (RFC 7517) of the three
// kinds verified here.
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	D   string `json:"d,omitempty"` // must be absent: a private key
}

// parseJWK returns the public key in raw and its RFC 7638 thumbprint,
// base64url: the jkt a DPoP-bound token is bound to (RFC 9449 §6.1).
func parseJWK(raw json.RawMessage) (crypto.PublicKey, string, error) {
	var k jwk
	if len(raw) == 0 || json.Unmarshal(raw, &k) != nil {
		return nil, "", errors.New("no jwk header")
	}
	if k.D != "" {
		return nil, "", errors.New("jwk holds a private key")
	}
	dec := base64.RawURLEncoding.DecodeString
	var pub crypto.PublicKey
	var canonical string // RFC 7638 §3.2: required members, sorted
	switch {
	case k.Kty == "EC" && k.Crv == "P-256":
		x, err1 := dec(k.X)
		y, err2 := dec(k.Y)
		if err1 != nil || err2 != nil || len(x) != 32 || len(y) != 32 {
			return nil, "", errors.New("malformed EC jwk")
		}
		p, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			return nil, "", errors.New("EC jwk not on P-256")
		}
		pub = p
		canonical = `{"crv":"P-256","kty":"EC","x":"` + k.X + `","y":"` + k.Y + `"}`
	case k.Kty == "OKP" && k.Crv == "Ed25519":
		x, err := dec(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, "", errors.New("malformed OKP jwk")
		}
		pub = ed25519.PublicKey(x)
		canonical = `{"crv":"Ed25519","kty":"OKP","x":"` + k.X + `"}`
	case k.Kty == "RSA":
		n, err1 := dec(k.N)
		e, err2 := dec(k.E)
		if err1 != nil || err2 != nil || len(n) < 256 || len(e) == 0 || len(e) > 4 {
			return nil, "", errors.New("malformed or short RSA jwk")
		}
		pub = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		canonical = `{"e":"` + k.E + `","kty":"RSA","n":"` + k.N + `"}`
	default:
		return nil, "", errors.New("jwk is not RSA, EC P-256 or Ed25519")
	}
	sum := sha256.Sum256([]byte(canonical))
	return pub, base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// audience is a JWT aud claim: one string or an array of them
// (RFC 7519 §4.1.3).
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

func (a audience) has(v string) bool {
	for _, s := range a {
		if s == v {
			return true
		}
	}
	return false
}
