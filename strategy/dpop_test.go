package strategy_test

import (
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/oauthtest"
	"github.com/tokenactor/tokenactor/strategy"
)

func TestDPoPTokenRequestWithNonce(t *testing.T) {
	srv := oauthtest.NewServer(oauthtest.WithDPoPNonce())
	defer srv.Close()
	s, err := strategy.NewAccessKey(strategy.AccessKeyConfig{
		TokenURL: srv.TokenURL(), ClientID: oauthtest.DefaultClientID, ClientSecret: oauthtest.DefaultClientSecret,
		DPoPKey: newECKey(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tok, err := s.Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "DPoP" {
		t.Errorf("token type = %q, want DPoP", tok.TokenType)
	}
	// The first request is refused with use_dpop_nonce, the second
	// carries the nonce; the next grant sends it at once.
	s.Invalidate()
	if _, err := s.Get(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := srv.Stats().Requests[oauthtest.EndpointToken]; got != 3 {
		t.Errorf("token requests = %d, want 3 (a nonce challenge, then two grants)", got)
	}
	req, _ := srv.LastRequest(oauthtest.EndpointToken)
	proof := req.Header.Get("DPoP")
	h, c := jwtPart(t, proof, 0), jwtPart(t, proof, 1)
	jwk, _ := h["jwk"].(map[string]any)
	got := map[string]any{"typ": h["typ"], "alg": h["alg"], "kty": jwk["kty"], "d": jwk["d"], "htm": c["htm"], "htu": c["htu"], "ath": c["ath"], "has nonce": c["nonce"] != nil}
	want := map[string]any{"typ": "dpop+jwt", "alg": "ES256", "kty": "EC", "d": nil, "htm": "POST", "htu": srv.TokenURL(), "ath": nil, "has nonce": true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("proof (-want +got):\n%s", diff)
	}
}

// A proof whose iat is far from the server's clock is refused; the
// refusal comes back as the server's error, not retried.
func TestDPoPStaleProofRefused(t *testing.T) {
	srv := oauthtest.NewServer()
	defer srv.Close()
	s, err := strategy.NewAccessKey(strategy.AccessKeyConfig{
		TokenURL: srv.TokenURL(), ClientID: oauthtest.DefaultClientID, ClientSecret: oauthtest.DefaultClientSecret,
		DPoPKey: newEdKey(), Clock: clockAt(time.Now().Add(-5 * time.Minute)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.Get(t.Context())
	var oe *strategy.OAuthError
	if !errors.As(err, &oe) || oe.Code != "invalid_dpop_proof" || oe.Description != "DPoP proof iat is stale" {
		t.Errorf("err = %v, want invalid_dpop_proof: iat is stale", err)
	}
	if got := srv.Stats().Requests[oauthtest.EndpointToken]; got != 1 {
		t.Errorf("token requests = %d, want 1", got)
	}
}

func TestDPoPRefresherNotShared(t *testing.T) {
	_, err := strategy.AccessKeyConfig{
		TokenURL: "https://as.example/token", ClientID: "svc", ClientSecret: "x", DPoPKey: newEdKey(),
	}.Refresher()
	if !errors.Is(err, strategy.ErrDPoPShared) {
		t.Errorf("err = %v, want ErrDPoPShared", err)
	}
}

func TestDPoPProofWithoutKey(t *testing.T) {
	s, err := strategy.NewAccessKey(strategy.AccessKeyConfig{TokenURL: "https://as.example/token", ClientID: "svc", ClientSecret: "x"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.DPoPProof("GET", &url.URL{Scheme: "https", Host: "api.example"}, tokenactor.NewSecretToken("t"))
	if !errors.Is(err, strategy.ErrNoDPoPKey) {
		t.Errorf("err = %v, want ErrNoDPoPKey", err)
	}
}

func TestDPoPProofClaims(t *testing.T) {
	s, err := strategy.NewAccessKey(strategy.AccessKeyConfig{
		TokenURL: "https://as.example/token", ClientID: "svc", ClientSecret: "x", DPoPKey: newEdKey(),
		Clock: clockAt(time.Unix(1_800_000_000, 0)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u, _ := url.Parse("https://API.Example:8443/a%2Fb/c?q=1#frag")
	s.DPoPNonce(u, "n-1")
	s.DPoPNonce(u, "bad\"nonce") // not NQCHAR: ignored
	proof, err := s.DPoPProof("PUT", u, tokenactor.NewSecretToken("tok"))
	if err != nil {
		t.Fatal(err)
	}
	c := jwtPart(t, proof, 1)
	delete(c, "jti")
	want := map[string]any{
		"htm": "PUT", "htu": "https://api.example:8443/a%2Fb/c", "iat": 1.8e9, "nonce": "n-1",
		// base64url(SHA-256("tok")), computed with openssl dgst
		"ath": "GnZ0607njffhrEOak8P6jjyUV4TU3sn9jjARc4svHWI",
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
}

// Nonces are remembered per origin (RFC 6454): scheme, host in any case
// and port, a default port written or not.
func TestDPoPNonceOrigins(t *testing.T) {
	s, err := strategy.NewAccessKey(strategy.AccessKeyConfig{
		TokenURL: "https://as.example/token", ClientID: "svc", ClientSecret: "x", DPoPKey: newEdKey(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tt := range []struct {
		given, asked string
		same         bool
	}{
		{"https://api.example:443/a", "https://API.example/b", true},
		{"https://api.example/a", "https://api.example:443/b?q", true},
		{"http://api.example:80/a", "HTTP://api.example/b", true},
		{"https://[::1]:443/a", "https://[::1]/b", true},
		{"https://api.example/a", "http://api.example/b", false},
		{"https://api.example/a", "https://api.example:8443/b", false},
		{"http://api.example:443/a", "http://api.example/b", false},
		{"https://api.example/a", "https://other.example/b", false},
	} {
		given, _ := url.Parse(tt.given)
		asked, _ := url.Parse(tt.asked)
		nonce := "n-" + strings.NewReplacer(":", "", "/", "", "[", "", "]", "").Replace(tt.given)
		s.DPoPNonce(given, nonce)
		proof, err := s.DPoPProof("GET", asked, tokenactor.NewSecretToken("tok"))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := jwtPart(t, proof, 1)["nonce"].(string)
		if same := got == nonce; same != tt.same {
			t.Errorf("nonce given for %s, proof for %s carries %q; same origin: got %t, want %t", tt.given, tt.asked, got, same, tt.same)
		}
	}
}

// A device login and the refreshes after it get DPoP-bound tokens, and
// the strategy signs proofs for them.
func TestDPoPDeviceFlowAndRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := oauthtest.New("http://127.0.0.1:9", oauthtest.WithClient("cli", ""), oauthtest.WithAutoApprove(),
			oauthtest.WithDPoPNonce(), oauthtest.WithLifetime(3*time.Second))
		s, err := strategy.NewDeviceCode(strategy.DeviceCodeConfig{
			DeviceAuthURL: srv.DeviceAuthorizationURL(), TokenURL: srv.TokenURL(), ClientID: "cli",
			DPoPKey: newEdKey(), Store: strategy.NewMemoryStore(), Prompt: func(strategy.DeviceAuthorization) {},
			Scopes: []string{"offline_access"}, HTTPClient: memClient(srv),
		})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		sess, err := s.Login(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		s.Invalidate()
		tok, err := s.Get(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if sess.TokenType != "DPoP" || tok.TokenType != "DPoP" {
			t.Errorf("token types %q after login, %q after refresh; want DPoP", sess.TokenType, tok.TokenType)
		}
		if st := srv.Stats(); st.Rotations != 1 {
			t.Errorf("rotations = %d, want 1", st.Rotations)
		}
		// The strategy's proof is accepted at the resource with the token.
		api, _ := url.Parse(srv.ResourceURL())
		proof, err := s.DPoPProof(http.MethodGet, api, tok.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodGet, srv.ResourceURL(), nil)
		req.Header.Set("Authorization", "DPoP "+tok.AccessToken.Reveal())
		req.Header.Set("DPoP", proof)
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Errorf("resource: %d %s", w.Code, w.Header().Get("WWW-Authenticate"))
		}
	})
}

// Two processes sharing a public client's session must share its DPoP
// key: one with another key cannot refresh the session (the refresh token
// is bound too), and is told to log in again.
func TestDPoPSessionWithAnotherKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := oauthtest.New("http://127.0.0.1:9", oauthtest.WithClient("cli", ""), oauthtest.WithAutoApprove(),
			oauthtest.WithLifetime(3*time.Second))
		store := strategy.NewMemoryStore()
		login, err := strategy.NewDeviceCode(strategy.DeviceCodeConfig{
			DeviceAuthURL: srv.DeviceAuthorizationURL(), TokenURL: srv.TokenURL(), ClientID: "cli",
			DPoPKey: newEdKey(), Store: store, Prompt: func(strategy.DeviceAuthorization) {},
			Scopes: []string{"offline_access"}, HTTPClient: memClient(srv),
		})
		if err != nil {
			t.Fatal(err)
		}
		defer login.Close()
		if _, err := login.Login(t.Context()); err != nil {
			t.Fatal(err)
		}
		other, err := strategy.NewOAuth(strategy.OAuthConfig{Store: store, DPoPKey: newEdKey(), HTTPClient: memClient(srv)})
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		_, err = other.Get(t.Context()) // the saved token expires within the adoption margin: a refresh
		oe := refusal(t, err)
		if oe.Code != "invalid_grant" || !strings.Contains(oe.Description, "bound to another DPoP key") {
			t.Errorf("refusal = %q %q, want invalid_grant: bound to another DPoP key", oe.Code, oe.Description)
		}
	})
}

// Each kind of key binds tokens, and the server's thumbprint of it (the
// cnf jkt it shows at introspection) is the JOSE library's RFC 7638 one.
func TestDPoPEachKeyKind(t *testing.T) {
	for alg, key := range testKeys() {
		t.Run(alg, func(t *testing.T) {
			srv := oauthtest.NewServer()
			defer srv.Close()
			s, err := strategy.NewAccessKey(strategy.AccessKeyConfig{
				TokenURL: srv.TokenURL(), ClientID: oauthtest.DefaultClientID, ClientSecret: oauthtest.DefaultClientSecret, DPoPKey: key,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			tok, err := s.Get(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.PostForm(srv.IntrospectionURL(), url.Values{
				"token": {tok.AccessToken.Reveal()}, "client_id": {oauthtest.DefaultClientID}, "client_secret": {oauthtest.DefaultClientSecret},
			})
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var got struct {
				TokenType string `json:"token_type"`
				Cnf       struct {
					JKT string `json:"jkt"`
				} `json:"cnf"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
				t.Fatal(err)
			}
			sum, err := (&jose.JSONWebKey{Key: key.Public()}).Thumbprint(crypto.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			if want := base64.RawURLEncoding.EncodeToString(sum); got.TokenType != "DPoP" || got.Cnf.JKT != want {
				t.Errorf("introspection: %+v, want DPoP with jkt %s", got, want)
			}
		})
	}
}
