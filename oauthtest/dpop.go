package oauthtest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// dpopWindow is how far a DPoP proof's iat may be from the server's
// clock, either way (RFC 9449 §11.1 leaves it to the server; a few
// seconds to a minute is usual).
const dpopWindow = time.Minute

// dpopNonces is the nonce the server gives for DPoP proofs (RFC 9449 §8,
// §9). Guarded by Server.mu.
type dpopNonces struct {
	current string // "" until the first is needed
}

// WithDPoPNonce makes the server require a nonce of its own in every DPoP
// proof, at the token endpoint and at the protected resource (RFC 9449
// §8, §9). A proof without it, or with another one, is refused with
// use_dpop_nonce and the nonce to use in a DPoP-Nonce header: 400 with an
// error body at the token endpoint, 401 with
// WWW-Authenticate: DPoP error="use_dpop_nonce" at the resource. The
// default requires none.
func WithDPoPNonce() Option {
	return optionFunc(func(c *config) { c.keys.dpopNonce = true })
}

// RotateDPoPNonce replaces the server's DPoP nonce: proofs carrying the
// old one are refused with use_dpop_nonce from now on, and the new one is
// given with the refusal. It matters only with [WithDPoPNonce].
func (s *Server) RotateDPoPNonce() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nonces.current = randomHex(16)
}

// nonce returns the current nonce, making one if there is none. It must
// be called with s.mu held.
func (n *dpopNonces) nonce() string {
	if n.current == "" {
		n.current = randomHex(16)
	}
	return n.current
}

// A proofError is a DPoP proof refused (RFC 9449 §7.1, §8): code is
// invalid_dpop_proof or use_dpop_nonce; nonce, for use_dpop_nonce, the one
// to use.
type proofError struct {
	code, desc, nonce string
}

// tokenError is e as a token endpoint answer (RFC 9449 §5, §8).
func (e *proofError) tokenError(w http.ResponseWriter) *oauthError {
	if e.nonce != "" {
		w.Header().Set("DPoP-Nonce", e.nonce)
	}
	return &oauthError{status: http.StatusBadRequest, code: e.code, desc: e.desc}
}

// writeChallenge answers a resource request with a 401 DPoP challenge
// (RFC 9449 §7.1). desc must be printable ASCII without quotes, as
// RFC 6750 §3 requires of error_description.
func (s *Server) writeChallenge(w http.ResponseWriter, code, desc, nonce string) {
	s.reject()
	if nonce != "" {
		w.Header().Set("DPoP-Nonce", nonce)
	}
	w.Header().Set("WWW-Authenticate", `DPoP algs="RS256 ES256 EdDSA", error="`+code+`", error_description="`+desc+`"`)
	http.Error(w, code+": "+desc, http.StatusUnauthorized)
}

// dpopClaims are the claims of a DPoP proof (RFC 9449 §4.2).
type dpopClaims struct {
	ID       string   `json:"jti"`
	Method   string   `json:"htm"`
	URI      string   `json:"htu"`
	IssuedAt *float64 `json:"iat"`
	Hash     string   `json:"ath"`
	Nonce    string   `json:"nonce"`
}

// checkProof verifies the DPoP proof of r (RFC 9449 §4.3) for a request
// carrying accessToken ("" at the token endpoint), and returns the
// thumbprint of its key, or "" if r has no proof and none is needed.
func (s *Server) checkProof(r *http.Request, accessToken string) (string, *proofError) {
	values := r.Header.Values("DPoP")
	if len(values) == 0 && accessToken == "" {
		return "", nil
	}
	bad := func(desc string) (string, *proofError) {
		return "", &proofError{code: "invalid_dpop_proof", desc: desc}
	}
	if len(values) != 1 {
		return bad("exactly one DPoP header is required")
	}
	j, err := parseJWS(values[0])
	if err != nil {
		return bad("malformed DPoP proof: " + err.Error())
	}
	if j.header.Typ != "dpop+jwt" {
		return bad(`DPoP proof typ must be "dpop+jwt"`)
	}
	pub, jkt, err := parseJWK(j.header.JWK)
	if err != nil {
		return bad("DPoP proof jwk: " + err.Error())
	}
	if err := j.verify(pub); err != nil {
		return bad("DPoP proof " + err.Error())
	}
	var c dpopClaims
	if json.Unmarshal(j.payload, &c) != nil {
		return bad("malformed DPoP proof claims")
	}
	s.mu.Lock()
	now := s.cfg.now()
	needNonce := s.cfg.keys.dpopNonce
	nonce := ""
	if needNonce {
		nonce = s.nonces.nonce()
	}
	s.mu.Unlock()
	switch {
	case c.ID == "":
		return bad("DPoP proof has no jti")
	case c.Method != r.Method:
		return bad("DPoP proof htm is not the request's method")
	case !s.sameURI(c.URI, r):
		return bad("DPoP proof htu is not the request's URI")
	case c.IssuedAt == nil:
		return bad("DPoP proof has no iat")
	case unixTime(*c.IssuedAt).Before(now.Add(-dpopWindow)):
		return bad("DPoP proof iat is stale")
	case unixTime(*c.IssuedAt).After(now.Add(dpopWindow)):
		return bad("DPoP proof iat is in the future")
	case needNonce && c.Nonce != nonce:
		desc := "DPoP proof has no nonce"
		if c.Nonce != "" {
			desc = "DPoP proof nonce is not the current one"
		}
		return "", &proofError{code: "use_dpop_nonce", desc: desc, nonce: nonce}
	case accessToken != "" && c.Hash != tokenHash(accessToken):
		return bad("DPoP proof ath does not match the access token")
	}
	s.mu.Lock()
	fresh := s.replay.use("dpop "+jkt+" "+c.ID, now.Add(2*dpopWindow), now)
	s.mu.Unlock()
	if !fresh {
		return bad("DPoP proof jti already used")
	}
	return jkt, nil
}

// sameURI reports whether htu names the URI of r at this server, without
// query and fragment (RFC 9449 §4.3, compared after normalising scheme
// and host case).
func (s *Server) sameURI(htu string, r *http.Request) bool {
	u, err := url.Parse(htu)
	if err != nil || u.RawQuery != "" || u.Fragment != "" {
		return false
	}
	return strings.EqualFold(u.Scheme+"://"+u.Host, s.URL) && u.EscapedPath() == r.URL.EscapedPath()
}

// tokenHash is the ath of an access token (RFC 9449 §4.2).
func tokenHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// bind records that the access token of resp is bound to the DPoP key
// jkt and to the client certificate x5t (either may be empty), and makes
// the response say so: token_type DPoP (RFC 9449 §5). A refresh token
// issued to a public client is bound to jkt too (§5): a refresh with a
// proof by another key, or none, is then refused.
func (s *Server) bind(client string, resp tokenResponse, jkt, x5t string) tokenResponse {
	if jkt == "" && x5t == "" {
		return resp
	}
	s.mu.Lock()
	if t := s.tokens[resp.AccessToken]; t != nil {
		t.jkt, t.x5t = jkt, x5t
	}
	secret, confidential := s.cfg.clients[client]
	_, key := s.cfg.keys.keys[client]
	_, cert := s.cfg.keys.certs[client]
	public := confidential && secret == "" && !key && !cert
	if t := s.tokens[resp.RefreshToken]; t != nil && public {
		t.jkt = jkt
	}
	s.mu.Unlock()
	if jkt != "" {
		resp.TokenType = "DPoP"
	}
	return resp
}

// checkBoundRefresh refuses a refresh token grant whose refresh token is
// bound to a DPoP key (see bind) when the request's proof is by another
// key, or absent: invalid_grant, as for any refresh token the client may
// not use.
func (s *Server) checkBoundRefresh(r *http.Request, jkt string) *oauthError {
	if r.PostForm.Get("grant_type") != grantRefreshToken {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tokens[r.PostForm.Get("refresh_token")]; t != nil && t.jkt != "" && t.jkt != jkt {
		return invalidGrant("the refresh token is bound to another DPoP key (RFC 9449 section 5)")
	}
	return nil
}

// checkBound checks a resource request against what its token is bound
// to: the DPoP proof for a DPoP-bound token or a request with the DPoP
// scheme (RFC 9449 §7), the client certificate for a certificate-bound
// one (RFC 8705 §3). It answers a refusal itself and reports false then;
// true leaves the request to the checks every token gets.
func (s *Server) checkBound(w http.ResponseWriter, r *http.Request) bool {
	scheme, value, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	dpop := strings.EqualFold(scheme, "DPoP")
	s.mu.Lock()
	var jkt, x5t string
	if t := s.tokens[value]; t != nil {
		jkt, x5t = t.jkt, t.x5t
	}
	s.mu.Unlock()
	switch {
	case x5t != "" && peerThumbprint(r) != x5t:
		s.writeChallenge(w, "invalid_token", "the token is bound to a client certificate this request did not present (RFC 8705 section 3)", "")
		return false
	case !dpop && jkt != "":
		s.writeChallenge(w, "invalid_token", "a DPoP-bound token must be sent with the DPoP scheme and a proof (RFC 9449 section 7.2)", "")
		return false
	case !dpop:
		return true
	case value == "":
		s.writeChallenge(w, "invalid_token", "no access token", "")
		return false
	}
	got, perr := s.checkProof(r, value)
	if perr != nil {
		s.writeChallenge(w, perr.code, perr.desc, perr.nonce)
		return false
	}
	if jkt == "" || got != jkt {
		s.writeChallenge(w, "invalid_token", "the token is not bound to the key of the DPoP proof", "")
		return false
	}
	return true
}

// A confirmation is the cnf claim of a bound token: the thumbprint of
// the DPoP key (jkt, RFC 9449 §6.1) or of the client certificate
// (x5t#S256, RFC 8705 §3.1).
type confirmation struct {
	JKT     string `json:"jkt,omitempty"`
	X5TS256 string `json:"x5t#S256,omitempty"`
}

// confirm adds what t is bound to, if anything, to an introspection
// answer; a DPoP-bound access token has token_type DPoP. It must be
// called with s.mu held.
func (i *introspection) confirm(t *token) {
	if t.jkt == "" && t.x5t == "" {
		return
	}
	i.Cnf = &confirmation{JKT: t.jkt, X5TS256: t.x5t}
	if t.jkt != "" && !t.refresh {
		i.TokenType = "DPoP"
	}
}
