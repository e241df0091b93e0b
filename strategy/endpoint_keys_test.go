package strategy_test

import (
	"crypto/tls"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/oauthtest"
	"github.com/tokenactor/tokenactor/strategy"
)

// issuedTo returns an access token srv issued to the client of cfg, by the
// client credentials grant.
func issuedTo(t *testing.T, cfg strategy.AccessKeyConfig) tokenactor.SecretToken {
	t.Helper()
	s, err := strategy.NewAccessKey(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tok, err := s.Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

// onlyAssertion fails the test unless req authenticated with a client
// assertion alone, and returns the assertion's aud.
func onlyAssertion(t *testing.T, srv *oauthtest.Server, e oauthtest.Endpoint) any {
	t.Helper()
	req, ok := srv.LastRequest(e)
	if !ok {
		t.Fatalf("no request to the %s endpoint", e)
	}
	if req.Form.Has("client_secret") || req.Header.Get("Authorization") != "" {
		t.Errorf("%s request: a secret or an Authorization header besides the assertion", e)
	}
	if got := req.Form.Get("client_assertion_type"); got != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		t.Errorf("%s request: client_assertion_type = %q", e, got)
	}
	return jwtPart(t, req.Form.Get("client_assertion"), 1)["aud"]
}

// Revocation and introspection authenticate with a key of each kind, the
// assertion addressed to the endpoint called.
func TestRevokeAndIntrospectWithClientKey(t *testing.T) {
	for alg, key := range testKeys() {
		t.Run(alg, func(t *testing.T) {
			srv := oauthtest.NewServer(oauthtest.WithClientKey("svc", key.Public()))
			defer srv.Close()
			ck := &strategy.ClientKey{Signer: key, KeyID: "k1"}
			tok := issuedTo(t, strategy.AccessKeyConfig{TokenURL: srv.TokenURL(), ClientID: "svc", ClientKey: ck})

			introspect := strategy.EndpointConfig{URL: srv.IntrospectionURL(), ClientID: "svc", ClientKey: ck}
			in, err := strategy.Introspect(t.Context(), introspect, tok, strategy.HintAccessToken)
			if err != nil || !in.Active || in.ClientID != "svc" {
				t.Fatalf("introspection = %+v, %v; want the token active, issued to svc", in, err)
			}
			if aud := onlyAssertion(t, srv, oauthtest.EndpointIntrospection); aud != srv.IntrospectionURL() {
				t.Errorf("introspection assertion aud = %v, want %s", aud, srv.IntrospectionURL())
			}

			revoke := strategy.EndpointConfig{URL: srv.RevocationURL(), ClientID: "svc", ClientKey: ck}
			if err := strategy.Revoke(t.Context(), revoke, tok, strategy.HintAccessToken); err != nil {
				t.Fatal(err)
			}
			if aud := onlyAssertion(t, srv, oauthtest.EndpointRevocation); aud != srv.RevocationURL() {
				t.Errorf("revocation assertion aud = %v, want %s", aud, srv.RevocationURL())
			}
			if n := srv.Stats().Revocations; n != 1 {
				t.Errorf("%d revocations, want 1", n)
			}
			if in, err := strategy.Introspect(t.Context(), introspect, tok, ""); err != nil || in.Active {
				t.Errorf("after revocation: introspection = %+v, %v; want inactive", in, err)
			}
		})
	}
}

// With ClientKey.Audience set to the issuer, as servers that want the
// issuer everywhere ask, the same key serves the token endpoint and the
// others.
func TestEndpointClientKeyAudience(t *testing.T) {
	key := newEdKey()
	srv := oauthtest.NewServer(oauthtest.WithClientKey("svc", key.Public()))
	defer srv.Close()
	ck := &strategy.ClientKey{Signer: key, Audience: srv.URL}
	tok := issuedTo(t, strategy.AccessKeyConfig{TokenURL: srv.TokenURL(), ClientID: "svc", ClientKey: ck})
	err := strategy.Revoke(t.Context(), strategy.EndpointConfig{URL: srv.RevocationURL(), ClientID: "svc", ClientKey: ck}, tok, "")
	if err != nil {
		t.Fatal(err)
	}
	if aud := onlyAssertion(t, srv, oauthtest.EndpointRevocation); aud != srv.URL {
		t.Errorf("aud = %v, want the issuer %s", aud, srv.URL)
	}
}

// A key the server does not know, an assertion addressed to another
// endpoint and a missing certificate are refused: an *OAuthError naming
// the endpoint, matching ErrLoginRequired.
func TestEndpointKeyRefusals(t *testing.T) {
	right, wrong := newECKey(), newECKey()
	cert := newCert(t, "mtls")
	srv := oauthtest.NewTLSServer(oauthtest.WithClientKey("svc", right.Public()), oauthtest.WithClientCertificate("mtls", cert.Leaf))
	defer srv.Close()
	trusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots(srv)}}}
	defer trusting.CloseIdleConnections()
	tok := issuedTo(t, strategy.AccessKeyConfig{TokenURL: srv.TokenURL(), ClientID: "svc", ClientKey: &strategy.ClientKey{Signer: right}, HTTPClient: trusting})
	tests := []struct {
		name     string
		cfg      strategy.EndpointConfig
		wantDesc string
	}{
		{name: "wrong key", cfg: strategy.EndpointConfig{ClientID: "svc", ClientKey: &strategy.ClientKey{Signer: wrong}}, wantDesc: "signature does not verify"},
		{name: "another endpoint's audience", cfg: strategy.EndpointConfig{ClientID: "svc", ClientKey: &strategy.ClientKey{Signer: right, Audience: srv.URL + "/elsewhere"}}, wantDesc: "aud is not this server"},
		{name: "no certificate", cfg: strategy.EndpointConfig{ClientID: "mtls", TLSClientAuth: true}, wantDesc: "must present its TLS client certificate"},
	}
	for _, tt := range tests {
		for _, endpoint := range []struct{ name, url string }{{"revocation", srv.RevocationURL()}, {"introspection", srv.IntrospectionURL()}} {
			t.Run(tt.name+"/"+endpoint.name, func(t *testing.T) {
				cfg := tt.cfg
				cfg.URL, cfg.HTTPClient = endpoint.url, trusting
				var err error
				if endpoint.name == "revocation" {
					err = strategy.Revoke(t.Context(), cfg, tok, "")
				} else {
					_, err = strategy.Introspect(t.Context(), cfg, tok, "")
				}
				oe := refusal(t, err)
				if oe.Code != "invalid_client" || oe.Endpoint != endpoint.name || !strings.Contains(oe.Description, tt.wantDesc) {
					t.Errorf("refusal = %q %q from %q, want invalid_client with %q from %s", oe.Code, oe.Description, oe.Endpoint, tt.wantDesc, endpoint.name)
				}
			})
		}
	}
	if n := srv.Stats().Revocations; n != 0 {
		t.Errorf("%d revocations accepted, want none", n)
	}
}

// A client certificate authenticates revocation and introspection, with
// only client_id in the request.
func TestRevokeAndIntrospectWithClientCertificate(t *testing.T) {
	cert := newCert(t, "svc")
	srv := oauthtest.NewTLSServer(oauthtest.WithClientCertificate("svc", cert.Leaf))
	defer srv.Close()
	hc := strategy.NewMTLSClient(cert, roots(srv))
	defer hc.CloseIdleConnections()
	tok := issuedTo(t, strategy.AccessKeyConfig{TokenURL: srv.TokenURL(), ClientID: "svc", TLSClientAuth: true, HTTPClient: hc})

	introspect := strategy.EndpointConfig{URL: srv.IntrospectionURL(), ClientID: "svc", TLSClientAuth: true, HTTPClient: hc}
	if in, err := strategy.Introspect(t.Context(), introspect, tok, ""); err != nil || !in.Active {
		t.Fatalf("introspection = %+v, %v; want the token active", in, err)
	}
	revoke := strategy.EndpointConfig{URL: srv.RevocationURL(), ClientID: "svc", TLSClientAuth: true, HTTPClient: hc}
	if err := strategy.Revoke(t.Context(), revoke, tok, strategy.HintAccessToken); err != nil {
		t.Fatal(err)
	}
	for _, e := range []oauthtest.Endpoint{oauthtest.EndpointIntrospection, oauthtest.EndpointRevocation} {
		req, _ := srv.LastRequest(e)
		if req.Form.Has("client_secret") || req.Form.Has("client_assertion") || req.Header.Get("Authorization") != "" || req.Form.Get("client_id") != "svc" {
			t.Errorf("%s request: form %v, Authorization %q; want client_id only", e, req.Form, req.Header.Get("Authorization"))
		}
	}
	if in, err := strategy.Introspect(t.Context(), introspect, tok, ""); err != nil || in.Active {
		t.Errorf("after revocation: introspection = %+v, %v; want inactive", in, err)
	}
}

// An EndpointConfig that cannot authenticate is refused before any
// request, naming the field.
func TestEndpointClientAuthConfigErrors(t *testing.T) {
	srv := oauthtest.NewServer()
	defer srv.Close()
	tests := []struct {
		name string
		give strategy.EndpointConfig
		want string
	}{
		{name: "key and secret", give: strategy.EndpointConfig{ClientSecret: "x", ClientKey: &strategy.ClientKey{Signer: newEdKey()}}, want: "EndpointConfig.ClientSecret"},
		{name: "key and TLS", give: strategy.EndpointConfig{TLSClientAuth: true, HTTPClient: http.DefaultClient, ClientKey: &strategy.ClientKey{Signer: newEdKey()}}, want: "EndpointConfig.ClientSecret"},
		{name: "nil signer", give: strategy.EndpointConfig{ClientKey: &strategy.ClientKey{}}, want: "EndpointConfig.ClientKey.Signer"},
		{name: "negative lifetime", give: strategy.EndpointConfig{ClientKey: &strategy.ClientKey{Signer: newEdKey(), Lifetime: -1}}, want: "EndpointConfig.ClientKey.Lifetime"},
		{name: "TLS without a client", give: strategy.EndpointConfig{TLSClientAuth: true}, want: "EndpointConfig.HTTPClient"},
		{name: "unknown style", give: strategy.EndpointConfig{AuthStyle: 9}, want: "EndpointConfig.AuthStyle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.give.URL, tt.give.ClientID = srv.RevocationURL(), "svc"
			err := strategy.Revoke(t.Context(), tt.give, tokenactor.NewSecretToken("t"), "")
			var ce *strategy.ConfigError
			if !errors.As(err, &ce) || ce.Field != tt.want {
				t.Errorf("Revoke: err = %v, want a *ConfigError for %s", err, tt.want)
			}
			tt.give.URL = srv.IntrospectionURL()
			_, err = strategy.Introspect(t.Context(), tt.give, tokenactor.NewSecretToken("t"), "")
			if !errors.As(err, &ce) || ce.Field != tt.want {
				t.Errorf("Introspect: err = %v, want a *ConfigError for %s", err, tt.want)
			}
		})
	}
	if st := srv.Stats(); st.Requests[oauthtest.EndpointRevocation]+st.Requests[oauthtest.EndpointIntrospection] != 0 {
		t.Errorf("requests sent for configs that cannot work: %v", st.Requests)
	}
}

// A key that cannot sign fails the call with a *SigningError, and nothing
// is sent.
func TestEndpointClientKeySigningFailure(t *testing.T) {
	srv := oauthtest.NewServer()
	defer srv.Close()
	cfg := strategy.EndpointConfig{URL: srv.RevocationURL(), ClientID: "svc", ClientKey: &strategy.ClientKey{Signer: failingSigner{newECKey()}}}
	err := strategy.Revoke(t.Context(), cfg, tokenactor.NewSecretToken("t"), "")
	var se *strategy.SigningError
	if !errors.As(err, &se) || se.What != "client assertion" {
		t.Errorf("err = %v, want a *SigningError for the client assertion", err)
	}
	if n := srv.Stats().Requests[oauthtest.EndpointRevocation]; n != 0 {
		t.Errorf("%d revocation requests sent without an assertion", n)
	}
}
