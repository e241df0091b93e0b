package httpauth

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/tokenactor/tokenactor"
)

// ErrDPoPUnsupported is returned by [Transport.RoundTrip] when the
// strategy hands out a DPoP-bound token (token type "DPoP", RFC 9449) but
// does not implement [DPoPProver]: without the key the token is bound to,
// no resource server would accept it.
var ErrDPoPUnsupported = errors.New("httpauth: the token is DPoP-bound but Transport.Strategy cannot sign DPoP proofs")

// A DPoPProver signs DPoP proofs (RFC 9449 §4) with the key a strategy's
// tokens are bound to. The key stays with the strategy: a Transport asks
// for one proof per request. The strategies of package strategy with a
// DPoPKey implement it.
//
// Implementations must be safe for concurrent use.
type DPoPProver interface {
	// DPoPProof returns a new proof for a request with method to u that
	// carries accessToken: a fresh jti, htm, htu (u without query and
	// fragment), iat, ath (the token's SHA-256) and the nonce last
	// remembered for u's origin, if any.
	DPoPProof(method string, u *url.URL, accessToken tokenactor.SecretToken) (string, error)
	// DPoPNonce remembers a nonce a server at u's origin gave in a
	// DPoP-Nonce header, for the proofs sent there from now on.
	DPoPNonce(u *url.URL, nonce string)
}

// isDPoP reports whether tok must be sent with a DPoP proof.
func isDPoP(tok tokenactor.ServiceToken) bool {
	return strings.EqualFold(tok.TokenType, "DPoP")
}

// sendDPoP sends a clone of req with body, "Authorization: DPoP <token>"
// and a fresh proof (RFC 9449 §7.1). Every DPoP-Nonce header in an answer
// is remembered (§9). If the server asks for a nonce (a 401 with
// error="use_dpop_nonce") and the body can be sent again, the request is
// sent once more with a proof carrying it, and the second answer is
// returned, whatever it is.
func (t *Transport) sendDPoP(req *http.Request, body io.ReadCloser, tok tokenactor.ServiceToken) (*http.Response, error) {
	prover, ok := t.Strategy.(DPoPProver)
	if !ok {
		closeReader(body)
		return nil, ErrDPoPUnsupported
	}
	resp, err := t.sendProof(prover, req, body, tok)
	if err != nil || !nonceChallenge(resp) || !replayable(req) {
		return resp, err
	}
	if req.GetBody != nil && body != nil && body != http.NoBody {
		if body, err = req.GetBody(); err != nil {
			return resp, nil // the challenge is the more useful answer
		}
	}
	discard(resp)
	return t.sendProof(prover, req, body, tok)
}

// sendProof sends one attempt of sendDPoP.
func (t *Transport) sendProof(prover DPoPProver, req *http.Request, body io.ReadCloser, tok tokenactor.ServiceToken) (*http.Response, error) {
	proof, err := prover.DPoPProof(req.Method, req.URL, tok.AccessToken)
	if err != nil {
		closeReader(body)
		return nil, &DPoPError{Err: err}
	}
	out := req.Clone(req.Context())
	out.Body = body
	out.Header.Set("Authorization", "DPoP "+tok.AccessToken.Reveal())
	out.Header.Set("DPoP", proof)
	resp, err := t.base().RoundTrip(out)
	if err == nil {
		if n := resp.Header.Get("DPoP-Nonce"); n != "" {
			prover.DPoPNonce(req.URL, n)
		}
	}
	return resp, err
}

// nonceChallenge reports whether resp asks for a DPoP nonce: a 401 whose
// DPoP challenge has error="use_dpop_nonce", with a DPoP-Nonce header
// (RFC 9449 §9).
func nonceChallenge(resp *http.Response) bool {
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("DPoP-Nonce") == "" {
		return false
	}
	for _, c := range parseChallenges(resp.Header.Values("WWW-Authenticate")) {
		if strings.EqualFold(c.scheme, "DPoP") && c.params["error"] == "use_dpop_nonce" {
			return true
		}
	}
	return false
}

// A DPoPError reports that a DPoP proof could not be made for a request:
// the strategy's key failed to sign. It wraps the strategy's error, which
// never holds the key.
type DPoPError struct {
	// Err is the strategy's error.
	Err error
}

// Error describes the failure.
func (e *DPoPError) Error() string { return "httpauth: DPoP proof: " + e.Err.Error() }

// Unwrap returns the strategy's error.
func (e *DPoPError) Unwrap() error { return e.Err }

func closeReader(r io.ReadCloser) {
	if r != nil {
		r.Close()
	}
}
