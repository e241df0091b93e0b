package httpauth_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/httpauth"
	"github.com/tokenactor/tokenactor/oauthtest"
	"github.com/tokenactor/tokenactor/strategy"
)

func newKey(t *testing.T) crypto.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// dpopStrategy returns a strategy with a DPoP key for srv, its clock at
// now (nil: the system clock).
func dpopStrategy(t *testing.T, srv *oauthtest.Server, key crypto.Signer, now *time.Time) *strategy.AccessKeyStrategy {
	t.Helper()
	var clk clock.Clock
	if now != nil {
		m := clock.NewMock()
		m.Set(*now)
		clk = m
	}
	s, err := strategy.NewAccessKey(strategy.AccessKeyConfig{
		TokenURL: srv.TokenURL(), ClientID: oauthtest.DefaultClientID, ClientSecret: oauthtest.DefaultClientSecret,
		DPoPKey: key, Clock: clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestDPoPThroughTransportWithNonce(t *testing.T) {
	srv := oauthtest.NewServer(oauthtest.WithDPoPNonce())
	defer srv.Close()
	s := dpopStrategy(t, srv, newKey(t), nil)
	c := httpauth.NewClient(s, srv.URL)
	defer c.CloseIdleConnections()

	for i := range 3 {
		if i == 2 {
			srv.RotateDPoPNonce() // the resource asks again, once
		}
		req, _ := http.NewRequest(http.MethodPost, srv.ResourceURL()+"?page=2#top", strings.NewReader("body"))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: status %d, %s", i, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	}
	st := srv.Stats()
	// Requests 0 and 1 carry the nonce the strategy learned at the token
	// endpoint, at the same origin; 2 gets a challenge after the rotation
	// and is retried with the new nonce.
	if st.Accepted != 3 || st.Rejected != 1 {
		t.Errorf("resource accepted %d and rejected %d, want 3 and 1", st.Accepted, st.Rejected)
	}
	last, _ := srv.LastRequest(oauthtest.EndpointResource)
	if got := last.Header.Get("Authorization"); !strings.HasPrefix(got, "DPoP ") {
		t.Errorf("Authorization scheme: %.5q, want DPoP", got)
	}
}

// challenge sends a request to the resource with the token and proof given
// and returns the status and the error of its challenge.
func challenge(t *testing.T, srv *oauthtest.Server, method, scheme string, tok tokenactor.SecretToken, proof string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.ResourceURL(), nil)
	req.Header.Set("Authorization", scheme+" "+tok.Reveal())
	if proof != "" {
		req.Header.Set("DPoP", proof)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	h := resp.Header.Get("WWW-Authenticate")
	_, code, _ := strings.Cut(h, `error="`)
	code, _, _ = strings.Cut(code, `"`)
	return resp.StatusCode, code
}

// The resource refuses each kind of bad proof with the RFC 9449 error.
func TestDPoPResourceRefusals(t *testing.T) {
	srv := oauthtest.NewServer(oauthtest.WithDPoPNonce())
	defer srv.Close()
	key := newKey(t)
	s := dpopStrategy(t, srv, key, nil)
	tok, err := s.Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	api, _ := url.Parse(srv.ResourceURL())
	tokenURL, _ := url.Parse(srv.TokenURL())
	mustProof := func(s *strategy.AccessKeyStrategy, method string, u *url.URL, tok tokenactor.SecretToken) string {
		p, err := s.DPoPProof(method, u, tok)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	// The strategy learned the nonce for the server's origin at the token
	// endpoint; strategies with the same key that did not are "fresh".
	old := time.Now().Add(-3 * time.Minute)
	stale := dpopStrategy(t, srv, key, &old)
	stale.DPoPNonce(api, nonceOf(t, srv))
	fresh := dpopStrategy(t, srv, key, nil)
	other := dpopStrategy(t, srv, newKey(t), nil)
	other.DPoPNonce(api, nonceOf(t, srv))
	reused := mustProof(s, "GET", api, tok.AccessToken)
	if status, code := challenge(t, srv, "GET", "DPoP", tok.AccessToken, reused); status != 200 {
		t.Fatalf("a good proof: %d %s", status, code)
	}

	tests := []struct {
		name, method, scheme, proof, want string
	}{
		{name: "wrong method", method: "POST", scheme: "DPoP", proof: mustProof(s, "GET", api, tok.AccessToken), want: "invalid_dpop_proof"},
		{name: "wrong URL", method: "GET", scheme: "DPoP", proof: mustProof(s, "GET", tokenURL, tok.AccessToken), want: "invalid_dpop_proof"},
		{name: "reused jti", method: "GET", scheme: "DPoP", proof: reused, want: "invalid_dpop_proof"},
		{name: "stale iat", method: "GET", scheme: "DPoP", proof: mustProof(stale, "GET", api, tok.AccessToken), want: "invalid_dpop_proof"},
		{name: "missing nonce", method: "GET", scheme: "DPoP", proof: mustProof(fresh, "GET", api, tok.AccessToken), want: "use_dpop_nonce"},
		{name: "ath mismatch", method: "GET", scheme: "DPoP", proof: mustProof(s, "GET", api, tokenactor.NewSecretToken("another")), want: "invalid_dpop_proof"},
		{name: "no proof", method: "GET", scheme: "DPoP", want: "invalid_dpop_proof"},
		{name: "another key", method: "GET", scheme: "DPoP", proof: mustProof(other, "GET", api, tok.AccessToken), want: "invalid_token"},
		{name: "sent as bearer", method: "GET", scheme: "Bearer", proof: mustProof(s, "GET", api, tok.AccessToken), want: "invalid_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, code := challenge(t, srv, tt.method, tt.scheme, tok.AccessToken, tt.proof)
			if status != http.StatusUnauthorized || code != tt.want {
				t.Errorf("answer %d %q, want 401 %q", status, code, tt.want)
			}
		})
	}
}

// nonceOf returns the server's current DPoP nonce: a strategy asking
// for a token learns it from a use_dpop_nonce refusal and sends it in the
// proof of its retry.
func nonceOf(t *testing.T, srv *oauthtest.Server) string {
	t.Helper()
	s := dpopStrategy(t, srv, newKey(t), nil)
	if _, err := s.Get(t.Context()); err != nil {
		t.Fatal(err)
	}
	last, _ := srv.LastRequest(oauthtest.EndpointToken)
	parts := strings.Split(last.Header.Get("DPoP"), ".")
	if len(parts) != 3 {
		t.Fatal("no DPoP proof on the token request")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ Nonce string }
	if err := json.Unmarshal(b, &c); err != nil || c.Nonce == "" {
		t.Fatalf("no nonce in the proof: %v", err)
	}
	return c.Nonce
}

// A body that cannot be sent again is not retried after a nonce
// challenge: the caller gets the 401.
func TestDPoPNonceChallengeUnreplayableBody(t *testing.T) {
	srv := oauthtest.NewServer(oauthtest.WithDPoPNonce())
	defer srv.Close()
	s := dpopStrategy(t, srv, newKey(t), nil)
	if _, err := s.Get(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv.RotateDPoPNonce()
	c := httpauth.NewClient(s, srv.URL)
	defer c.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodPost, srv.ResourceURL(), io.NopCloser(strings.NewReader("once")))
	req.GetBody = nil
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || srv.Stats().Rejected != 1 {
		t.Errorf("status %d after %d rejections, want one 401", resp.StatusCode, srv.Stats().Rejected)
	}
	// A nonce challenge says nothing against the token: it is kept.
	if n := srv.Stats().AccessTokens; n != 1 {
		t.Errorf("%d access tokens issued, want 1: the challenge made the token be replaced", n)
	}
}

// challengingResource answers 401 with a DPoP nonce challenge, in the
// WWW-Authenticate value challenge and with a new nonce each time, unless
// the proof carries the nonce accept; it counts its requests.
type challengingResource struct {
	challenge, accept string
	mu                sync.Mutex
	requests          int
}

func (c *challengingResource) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	c.requests++
	n := c.requests
	c.mu.Unlock()
	if c.accept != "" && proofClaims(r.Header.Get("DPoP"))["nonce"] == c.accept {
		return
	}
	nonce := c.accept
	if nonce == "" {
		nonce = fmt.Sprintf("n-%d", n)
	}
	w.Header().Set("DPoP-Nonce", nonce)
	w.Header().Set("WWW-Authenticate", c.challenge)
	w.WriteHeader(http.StatusUnauthorized)
}

func (c *challengingResource) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.requests
}

// proofClaims returns the claims of a DPoP proof, without checking it.
func proofClaims(jwt string) map[string]any {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	if err != nil || json.Unmarshal(b, &claims) != nil {
		return nil
	}
	return claims
}

// getChallenged sends one GET through a Transport with a DPoP strategy to
// res, and returns the final status, the requests res got and the access
// tokens issued.
func getChallenged(t *testing.T, res *challengingResource) (status, requests, tokens int) {
	t.Helper()
	as := oauthtest.NewServer()
	defer as.Close()
	s := dpopStrategy(t, as, newKey(t), nil)
	rs := httptest.NewServer(res)
	defer rs.Close()
	c := httpauth.NewClient(s, rs.URL)
	defer c.CloseIdleConnections()
	resp, err := c.Get(rs.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, res.count(), as.Stats().AccessTokens
}

// A resource that asks for a nonce again after the retry gets two
// requests, and its 401 back; the token, not at fault, is kept.
func TestDPoPNonceChallengeRetriedOnce(t *testing.T) {
	status, requests, tokens := getChallenged(t, &challengingResource{challenge: `DPoP error="use_dpop_nonce"`})
	if status != http.StatusUnauthorized || requests != 2 || tokens != 1 {
		t.Errorf("status %d after %d requests with %d tokens issued; want a 401 after 2 requests, with 1 token", status, requests, tokens)
	}
}

// The challenge is found in every form RFC 9110 §11.6.1 allows: among
// other challenges, with a token or a quoted value, parameter names in any
// case, spaces around "=".
func TestDPoPNonceChallengeForms(t *testing.T) {
	for _, challenge := range []string{
		`DPoP error="use_dpop_nonce"`,
		`Bearer realm="api", DPoP error="use_dpop_nonce"`,
		`Bearer realm="a, DPoP b", error="invalid_token", DPoP algs="ES256", error="use_dpop_nonce"`,
		`DPoP error=use_dpop_nonce`,
		`dpop ERROR="use_dpop_nonce", error_description="nonce required"`,
		`DPoP algs="ES256 EdDSA" , error = "use_dpop_nonce"`,
		`Negotiate abc==, DPoP error="use_dpop_nonce"`,
		`DPoP error="use\_dpop\_nonce"`,
	} {
		t.Run(challenge, func(t *testing.T) {
			status, requests, tokens := getChallenged(t, &challengingResource{challenge: challenge, accept: "N"})
			if status != http.StatusOK || requests != 2 || tokens != 1 {
				t.Errorf("status %d after %d requests with %d tokens issued; want 200 after 2 requests, with 1 token", status, requests, tokens)
			}
		})
	}
}

// Challenges that do not ask a DPoP client for a nonce are rejections of
// the token: the token is replaced.
func TestDPoPOtherChallengesReplaceTheToken(t *testing.T) {
	for _, challenge := range []string{
		`Bearer error="use_dpop_nonce"`,
		`DPoP error="invalid_token"`,
		`DPoP error_description="use_dpop_nonce"`,
		`DPoP realm="error=\"use_dpop_nonce\""`,
	} {
		t.Run(challenge, func(t *testing.T) {
			if _, _, tokens := getChallenged(t, &challengingResource{challenge: challenge}); tokens != 2 {
				t.Errorf("%d tokens issued, want 2: the 401 rejected the first", tokens)
			}
		})
	}
}

func TestDPoPTokenWithoutProver(t *testing.T) {
	st := strategy.NewStatic(tokenactor.ServiceToken{AccessToken: tokenactor.NewSecretToken("t"), TokenType: "DPoP"})
	c := httpauth.NewClient(st, "http://127.0.0.1:1")
	defer c.CloseIdleConnections()
	_, err := c.Get("http://127.0.0.1:1/x")
	if !errors.Is(err, httpauth.ErrDPoPUnsupported) {
		t.Errorf("err = %v, want ErrDPoPUnsupported", err)
	}
}

// A key that cannot sign makes the request fail with a *DPoPError before
// anything is sent.
func TestDPoPSigningFailure(t *testing.T) {
	srv := oauthtest.NewServer()
	defer srv.Close()
	var flaky flakySigner
	flaky.Signer = newEd(t)
	s := dpopStrategy(t, srv, &flaky, nil)
	if _, err := s.Get(t.Context()); err != nil {
		t.Fatal(err)
	}
	flaky.broken = true
	c := httpauth.NewClient(s, srv.URL)
	defer c.CloseIdleConnections()
	_, err := c.Get(srv.ResourceURL())
	var de *httpauth.DPoPError
	var se *strategy.SigningError
	if !errors.As(err, &de) || !errors.As(err, &se) {
		t.Errorf("err = %v, want a *DPoPError wrapping a *strategy.SigningError", err)
	}
	if n := srv.Stats().Requests[oauthtest.EndpointResource]; n != 0 {
		t.Errorf("%d requests reached the resource", n)
	}
}

func newEd(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// flakySigner fails once broken is set; set it only while no request
// is in flight.
type flakySigner struct {
	crypto.Signer
	broken bool
}

func (f *flakySigner) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	if f.broken {
		return nil, errors.New("key unplugged")
	}
	return f.Signer.Sign(r, d, o)
}

// Many requests at once share the strategy's key and nonce memory: after
// a nonce rotation each is challenged at most once and succeeds on its
// retry.
func TestDPoPConcurrentRequestsAcrossNonceRotation(t *testing.T) {
	srv := oauthtest.NewServer(oauthtest.WithDPoPNonce())
	defer srv.Close()
	s := dpopStrategy(t, srv, newKey(t), nil)
	c := httpauth.NewClient(s, srv.URL)
	defer c.CloseIdleConnections()

	const workers, each = 8, 10
	var wg sync.WaitGroup
	failures := make(chan string, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if w == 0 && i == each/2 {
					srv.RotateDPoPNonce()
				}
				resp, err := c.Get(srv.ResourceURL())
				if err != nil {
					failures <- err.Error()
					continue
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failures <- resp.Header.Get("WWW-Authenticate")
				}
			}
		})
	}
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Errorf("request failed: %s", f)
	}
	if st := srv.Stats(); st.Accepted != workers*each || st.Rejected > workers {
		t.Errorf("accepted %d, rejected %d; want %d accepted and at most one challenge per worker", st.Accepted, st.Rejected, workers*each)
	}
}

// A DPoP token the resource no longer accepts (revoked) is replaced like
// a bearer token: one refresh, and the retry carries a proof for the new
// token.
func TestDPoPRejectedTokenIsReplaced(t *testing.T) {
	srv := oauthtest.NewServer()
	defer srv.Close()
	s := dpopStrategy(t, srv, newKey(t), nil)
	tok, err := s.Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	srv.Revoke(tok.AccessToken.Reveal())
	c := httpauth.NewClient(s, srv.URL)
	defer c.CloseIdleConnections()
	resp, err := c.Get(srv.ResourceURL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status %d after the token was revoked, want 200 with a new one", resp.StatusCode)
	}
	if n := srv.Stats().AccessTokens; n != 2 {
		t.Errorf("%d tokens issued, want 2", n)
	}
}
