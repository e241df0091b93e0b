package strategy_test

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
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/google/go-cmp/cmp"

	"github.com/tokenactor/tokenactor/oauthtest"
	"github.com/tokenactor/tokenactor/strategy"
)

// testKeys are one key of each kind a ClientKey signs with, made once:
// an RSA key takes a while to generate.
var testKeys = sync.OnceValue(func() map[string]crypto.Signer {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return map[string]crypto.Signer{"RS256": rsaKey, "ES256": newECKey(), "EdDSA": newEdKey()}
})

func newECKey() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

func newEdKey() ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

// jwtPart decodes part i (0 header, 1 claims) of a compact JWT.
func jwtPart(t *testing.T, jwt string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestClientKeyAuthenticatesEachAlgorithm(t *testing.T) {
	for alg, key := range testKeys() {
		t.Run(alg, func(t *testing.T) {
			srv := oauthtest.NewServer(oauthtest.WithClientKey("svc", key.Public()))
			defer srv.Close()
			s, err := strategy.NewAccessKey(strategy.AccessKeyConfig{
				TokenURL: srv.TokenURL(), ClientID: "svc",
				ClientKey: &strategy.ClientKey{Signer: key, KeyID: "k1"},
			})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var assertions []string
			for range 2 {
				if _, err := s.Get(t.Context()); err != nil {
					t.Fatal(err)
				}
				s.Invalidate()
				req, _ := srv.LastRequest(oauthtest.EndpointToken)
				if req.Form.Has("client_secret") || req.Header.Get("Authorization") != "" {
					t.Error("a secret or Authorization header was sent besides the assertion")
				}
				if got := req.Form.Get("client_assertion_type"); got != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
					t.Errorf("client_assertion_type = %q", got)
				}
				assertions = append(assertions, req.Form.Get("client_assertion"))
			}
			if assertions[0] == assertions[1] {
				t.Error("the same assertion was sent twice: want a fresh one per request")
			}
			h, c := jwtPart(t, assertions[0], 0), jwtPart(t, assertions[0], 1)
			iat, exp := c["iat"].(float64), c["exp"].(float64)
			got := map[string]any{"alg": h["alg"], "kid": h["kid"], "iss": c["iss"], "sub": c["sub"], "aud": c["aud"], "life": exp - iat}
			want := map[string]any{"alg": alg, "kid": "k1", "iss": "svc", "sub": "svc", "aud": srv.TokenURL(), "life": 60.0}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("assertion (-want +got):\n%s", diff)
			}
			if c["jti"] == jwtPart(t, assertions[1], 1)["jti"] {
				t.Error("jti repeated")
			}
		})
	}
}

// refusal returns the *OAuthError in err, failing the test if there is
// none or if it does not match ErrLoginRequired.
func refusal(t *testing.T, err error) *strategy.OAuthError {
	t.Helper()
	var oe *strategy.OAuthError
	if !errors.As(err, &oe) {
		t.Fatalf("err = %v, want an *OAuthError", err)
	}
	if !errors.Is(err, strategy.ErrLoginRequired) {
		t.Errorf("err = %v, want it to match ErrLoginRequired", err)
	}
	return oe
}

func TestClientKeyRefusals(t *testing.T) {
	right, wrong := newECKey(), newECKey()
	tests := []struct {
		name     string
		give     strategy.ClientKey
		clock    clock.Clock
		wantDesc string
	}{
		{name: "wrong key", give: strategy.ClientKey{Signer: wrong}, wantDesc: "signature does not verify"},
		{name: "expired", give: strategy.ClientKey{Signer: right}, clock: clockAt(time.Now().Add(-5 * time.Minute)), wantDesc: "client assertion expired"},
		{name: "too long", give: strategy.ClientKey{Signer: right, Lifetime: time.Hour}, wantDesc: "longer than 10 minutes"},
		{name: "wrong audience", give: strategy.ClientKey{Signer: right, Audience: "https://elsewhere.example"}, wantDesc: "aud is not this server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := oauthtest.NewServer(oauthtest.WithClientKey("svc", right.Public()))
			defer srv.Close()
			s, err := strategy.NewAccessKey(strategy.AccessKeyConfig{
				TokenURL: srv.TokenURL(), ClientID: "svc", ClientKey: &tt.give, Clock: tt.clock,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			_, err = s.Get(t.Context())
			oe := refusal(t, err)
			if oe.Code != "invalid_client" || !strings.Contains(oe.Description, tt.wantDesc) {
				t.Errorf("refusal = %q %q, want invalid_client with %q", oe.Code, oe.Description, tt.wantDesc)
			}
		})
	}
}

// clockAt returns a fake clock set to t.
func clockAt(t time.Time) clock.Clock {
	m := clock.NewMock()
	m.Set(t)
	return m
}

// replayTransport sends every token request with the client assertion of
// the first one, as an attacker replaying a captured request would.
type replayTransport struct {
	mu    sync.Mutex
	first string
}

func (rt *replayTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, err
	}
	rt.mu.Lock()
	if rt.first == "" {
		rt.first = form.Get("client_assertion")
	}
	form.Set("client_assertion", rt.first)
	rt.mu.Unlock()
	out := req.Clone(req.Context())
	enc := form.Encode()
	out.Body, out.ContentLength = io.NopCloser(strings.NewReader(enc)), int64(len(enc))
	return http.DefaultTransport.RoundTrip(out)
}

func TestClientKeyReplayedAssertionRefused(t *testing.T) {
	key := newEdKey()
	srv := oauthtest.NewServer(oauthtest.WithClientKey("svc", key.Public()))
	defer srv.Close()
	s, err := strategy.NewAccessKey(strategy.AccessKeyConfig{
		TokenURL: srv.TokenURL(), ClientID: "svc", ClientKey: &strategy.ClientKey{Signer: key},
		HTTPClient: &http.Client{Transport: &replayTransport{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Get(t.Context()); err != nil {
		t.Fatal(err)
	}
	s.Invalidate()
	_, err = s.Get(t.Context())
	oe := refusal(t, err)
	if oe.Code != "invalid_client" || !strings.Contains(oe.Description, "jti already used") {
		t.Errorf("refusal = %q %q, want invalid_client: jti already used", oe.Code, oe.Description)
	}
	if strings.Contains(err.Error(), "eyJ") {
		t.Errorf("error shows a JWT: %v", err)
	}
}

// The refresh grant (OAuthStrategy) and the device flow authenticate with
// the key too.
func TestClientKeyOnRefreshAndDeviceFlow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		key := newECKey()
		// Tokens that expire within the adoption margin, so the second Get
		// refreshes instead of adopting the saved session.
		srv := oauthtest.New("http://127.0.0.1:9", oauthtest.WithClientKey("cli", key.Public()), oauthtest.WithAutoApprove(),
			oauthtest.WithLifetime(3*time.Second))
		s, err := strategy.NewDeviceCode(strategy.DeviceCodeConfig{
			DeviceAuthURL: srv.DeviceAuthorizationURL(), TokenURL: srv.TokenURL(), ClientID: "cli",
			ClientKey: &strategy.ClientKey{Signer: key}, Store: strategy.NewMemoryStore(),
			Prompt: func(strategy.DeviceAuthorization) {}, Scopes: []string{"offline_access"}, HTTPClient: memClient(srv),
		})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := s.Login(t.Context()); err != nil {
			t.Fatal(err)
		}
		s.Invalidate()
		if _, err := s.Get(t.Context()); err != nil {
			t.Fatal(err)
		}
		if st := srv.Stats(); st.Rotations != 1 {
			t.Errorf("rotations = %d, want 1: the refresh did not authenticate with the key", st.Rotations)
		}
		for _, e := range []oauthtest.Endpoint{oauthtest.EndpointDeviceAuthorization, oauthtest.EndpointToken} {
			req, _ := srv.LastRequest(e)
			if !req.Form.Has("client_assertion") {
				t.Errorf("%s request without client_assertion", e)
			}
		}
	})
}

func TestClientKeyConfigErrors(t *testing.T) {
	rsaShort, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		give strategy.AccessKeyConfig
		want string
	}{
		{name: "nil signer", give: strategy.AccessKeyConfig{ClientKey: &strategy.ClientKey{}}, want: "AccessKeyConfig.ClientKey.Signer"},
		{name: "typed nil", give: strategy.AccessKeyConfig{ClientKey: &strategy.ClientKey{Signer: (*ecdsa.PrivateKey)(nil)}}, want: "AccessKeyConfig.ClientKey.Signer"},
		{name: "short RSA", give: strategy.AccessKeyConfig{ClientKey: &strategy.ClientKey{Signer: rsaShort}}, want: "AccessKeyConfig.ClientKey.Signer"},
		{name: "P-384", give: strategy.AccessKeyConfig{ClientKey: &strategy.ClientKey{Signer: p384}}, want: "AccessKeyConfig.ClientKey.Signer"},
		{name: "negative lifetime", give: strategy.AccessKeyConfig{ClientKey: &strategy.ClientKey{Signer: newEdKey(), Lifetime: -1}}, want: "AccessKeyConfig.ClientKey.Lifetime"},
		{name: "key and secret", give: strategy.AccessKeyConfig{ClientSecret: "x", ClientKey: &strategy.ClientKey{Signer: newEdKey()}}, want: "AccessKeyConfig.ClientSecret"},
		{name: "secret and TLS", give: strategy.AccessKeyConfig{ClientSecret: "x", TLSClientAuth: true}, want: "AccessKeyConfig.ClientSecret"},
		{name: "TLS without a client", give: strategy.AccessKeyConfig{TLSClientAuth: true}, want: "AccessKeyConfig.HTTPClient"},
		{name: "nothing", give: strategy.AccessKeyConfig{}, want: "AccessKeyConfig.ClientSecret"},
		{name: "DPoP RSA short", give: strategy.AccessKeyConfig{ClientSecret: "x", DPoPKey: rsaShort}, want: "AccessKeyConfig.DPoPKey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.give.TokenURL, tt.give.ClientID = "https://as.example/token", "svc"
			_, err := strategy.NewAccessKey(tt.give)
			var ce *strategy.ConfigError
			if !errors.As(err, &ce) || ce.Field != tt.want {
				t.Errorf("err = %v, want a *ConfigError for %s", err, tt.want)
			}
		})
	}
	_, err = strategy.NewOAuth(strategy.OAuthConfig{Store: strategy.NewMemoryStore(), ClientSecret: "x", ClientKey: &strategy.ClientKey{Signer: newEdKey()}})
	var ce *strategy.ConfigError
	if !errors.As(err, &ce) || ce.Field != "OAuthConfig.ClientSecret" {
		t.Errorf("OAuthConfig with a secret and a key: err = %v, want a *ConfigError", err)
	}
}

// A signer that fails (a hardware key unplugged) is reported as a
// *SigningError, not sent.
func TestClientKeySigningFailure(t *testing.T) {
	srv := oauthtest.NewServer()
	defer srv.Close()
	s, err := strategy.NewAccessKey(strategy.AccessKeyConfig{
		TokenURL: srv.TokenURL(), ClientID: "svc", ClientKey: &strategy.ClientKey{Signer: failingSigner{newEdKey()}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.Get(t.Context())
	var se *strategy.SigningError
	if !errors.As(err, &se) || se.What != "client assertion" || !errors.Is(err, errUnplugged) {
		t.Errorf("err = %v, want a *SigningError wrapping the signer's error", err)
	}
	if n := srv.Stats().Requests[oauthtest.EndpointToken]; n != 0 {
		t.Errorf("%d token requests sent without an assertion", n)
	}
}

var errUnplugged = errors.New("key unplugged")

type failingSigner struct{ crypto.Signer }

func (failingSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errUnplugged
}

// Audience replaces the token endpoint URL, for servers that ask for
// their issuer identifier.
func TestClientKeyAudience(t *testing.T) {
	key := newEdKey()
	srv := oauthtest.NewServer(oauthtest.WithClientKey("svc", key.Public()))
	defer srv.Close()
	s, err := strategy.NewAccessKey(strategy.AccessKeyConfig{
		TokenURL: srv.TokenURL(), ClientID: "svc", ClientKey: &strategy.ClientKey{Signer: key, Audience: srv.URL},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Get(t.Context()); err != nil {
		t.Fatal(err)
	}
	req, _ := srv.LastRequest(oauthtest.EndpointToken)
	if got := jwtPart(t, req.Form.Get("client_assertion"), 1)["aud"]; got != srv.URL {
		t.Errorf("aud = %v, want the issuer %s", got, srv.URL)
	}
}

// With the token endpoint found through the issuer's metadata, the
// assertion's audience is that endpoint.
func TestClientKeyWithDiscovery(t *testing.T) {
	key := newEdKey()
	srv := oauthtest.NewServer(oauthtest.WithClientKey("svc", key.Public()))
	defer srv.Close()
	s, err := strategy.NewAccessKey(strategy.AccessKeyConfig{
		Issuer: srv.URL, ClientID: "svc", ClientKey: &strategy.ClientKey{Signer: key}, DPoPKey: newECKey(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tok, err := s.Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := srv.LastRequest(oauthtest.EndpointToken)
	if got := jwtPart(t, req.Form.Get("client_assertion"), 1)["aud"]; got != srv.TokenURL() || tok.TokenType != "DPoP" {
		t.Errorf("aud = %v, token type %q; want %s and DPoP", got, tok.TokenType, srv.TokenURL())
	}
}
