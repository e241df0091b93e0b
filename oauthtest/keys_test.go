package oauthtest_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/tokenactor/tokenactor/oauthtest"
)

const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

func ecKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// signed signs claims with key (ES256), with the extra header fields and
// the public key embedded as jwk when embed is set.
func signed(t *testing.T, key crypto.Signer, header map[string]any, embed bool, claims map[string]any) string {
	t.Helper()
	opts := &jose.SignerOptions{EmbedJWK: embed}
	for k, v := range header {
		opts = opts.WithHeader(jose.HeaderKey(k), v)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// unsigned returns a JWS with the header and claims given and no valid
// signature: for alg "none" and algorithm confusion.
func unsigned(header, claims map[string]any, sig string) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + "." + sig
}

func TestClientAssertionChecks(t *testing.T) {
	clk := newTestClock()
	key := ecKey(t)
	srv := oauthtest.NewServer(oauthtest.WithClock(clk.Now), oauthtest.WithClientKey("svc", key.Public()))
	defer srv.Close()
	now := clk.Now().Unix()
	good := func() map[string]any {
		return map[string]any{"iss": "svc", "sub": "svc", "aud": srv.TokenURL(), "jti": randomID(t), "iat": now, "exp": now + 60}
	}
	with := func(k string, v any) map[string]any {
		c := good()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	replayed := signed(t, key, nil, false, good())
	if r := assertionRequest(t, srv, replayed, nil); r.status != http.StatusOK {
		t.Fatalf("a good assertion: %d %s", r.status, r.raw)
	}
	hmacKey, _ := json.Marshal(key.Public())
	tests := []struct {
		name      string
		assertion string
		extra     url.Values
		status    int
		code      string
	}{
		{name: "issuer as audience", assertion: signed(t, key, nil, false, with("aud", srv.URL)), status: 200},
		{name: "audience list", assertion: signed(t, key, nil, false, with("aud", []string{"x", srv.TokenURL()})), status: 200},
		{name: "replayed jti", assertion: replayed, status: 401, code: "invalid_client"},
		{name: "wrong key", assertion: signed(t, ecKey(t), nil, false, good()), status: 401, code: "invalid_client"},
		{name: "alg none", assertion: unsigned(map[string]any{"alg": "none"}, good(), ""), status: 401, code: "invalid_client"},
		{name: "HS256 with the public key", assertion: unsigned(map[string]any{"alg": "HS256"}, good(), base64.RawURLEncoding.EncodeToString(hmacKey)), status: 401, code: "invalid_client"},
		{name: "expired", assertion: signed(t, key, nil, false, with("exp", now-1)), status: 401, code: "invalid_client"},
		{name: "no exp", assertion: signed(t, key, nil, false, with("exp", nil)), status: 401, code: "invalid_client"},
		{name: "exp past any date", assertion: signed(t, key, nil, false, with("exp", 1e300)), status: 401, code: "invalid_client"},
		{name: "fractional exp", assertion: signed(t, key, nil, false, with("exp", float64(now)+30.5)), status: 200},
		{name: "lives an hour", assertion: signed(t, key, nil, false, with("exp", now+3600)), status: 401, code: "invalid_client"},
		{name: "not yet valid", assertion: signed(t, key, nil, false, with("nbf", now+30)), status: 401, code: "invalid_client"},
		{name: "no jti", assertion: signed(t, key, nil, false, with("jti", nil)), status: 401, code: "invalid_client"},
		{name: "iss is not sub", assertion: signed(t, key, nil, false, with("iss", "other")), status: 401, code: "invalid_client"},
		{name: "wrong audience", assertion: signed(t, key, nil, false, with("aud", "https://elsewhere/token")), status: 401, code: "invalid_client"},
		{name: "unknown client", assertion: signed(t, key, nil, false, with("sub", "nobody")), status: 401, code: "invalid_client"},
		{name: "malformed", assertion: "a.b", status: 401, code: "invalid_client"},
		{name: "client_id differs", assertion: signed(t, key, nil, false, good()), extra: url.Values{"client_id": {"other"}}, status: 401, code: "invalid_client"},
		{name: "and a secret", assertion: signed(t, key, nil, false, good()), extra: url.Values{"client_secret": {"x"}}, status: 400, code: "invalid_request"},
		{name: "wrong type", assertion: signed(t, key, nil, false, good()), extra: url.Values{"client_assertion_type": {"urn:x"}}, status: 401, code: "invalid_client"},
		{name: "no type", assertion: signed(t, key, nil, false, good()), extra: url.Values{"client_assertion_type": {""}}, status: 401, code: "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := assertionRequest(t, srv, tt.assertion, tt.extra)
			if tt.status == 200 {
				if r.status != 200 {
					t.Errorf("got %d %s, want 200", r.status, r.raw)
				}
				return
			}
			wantError(t, r, tt.status, tt.code)
		})
	}
}

// assertionRequest asks for a client credentials token with assertion,
// the form fields in extra replacing the usual ones.
func assertionRequest(t *testing.T, srv *oauthtest.Server, assertion string, extra url.Values) reply {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {jwtBearer}, "client_assertion": {assertion}}
	for k, v := range extra {
		form[k] = v
	}
	return post(t, srv.TokenURL(), auth{}, form)
}

func randomID(t *testing.T) string {
	t.Helper()
	b := make([]byte, 12)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestDPoPTokenEndpointChecks(t *testing.T) {
	clk := newTestClock()
	key := ecKey(t)
	srv := oauthtest.NewServer(oauthtest.WithClock(clk.Now))
	defer srv.Close()
	now := clk.Now().Unix()
	good := func() map[string]any {
		return map[string]any{"jti": randomID(t), "htm": "POST", "htu": srv.TokenURL(), "iat": now}
	}
	with := func(k string, v any) map[string]any {
		c := good()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	typ := map[string]any{"typ": "dpop+jwt"}
	pub, _ := json.Marshal(jose.JSONWebKey{Key: key.Public()})
	priv, _ := json.Marshal(jose.JSONWebKey{Key: key})
	var privJWK map[string]any
	json.Unmarshal(priv, &privJWK)
	var pubJWK map[string]any
	json.Unmarshal(pub, &pubJWK)
	tests := []struct {
		name   string
		proofs []string
		status int
		code   string
	}{
		{name: "good", proofs: []string{signed(t, key, typ, true, good())}, status: 200},
		{name: "htu in upper case", proofs: []string{signed(t, key, typ, true, with("htu", strings.ToUpper(srv.URL)+"/token"))}, status: 200},
		{name: "no typ", proofs: []string{signed(t, key, nil, true, good())}, status: 400, code: "invalid_dpop_proof"},
		{name: "no jwk", proofs: []string{signed(t, key, typ, false, good())}, status: 400, code: "invalid_dpop_proof"},
		{name: "private jwk", proofs: []string{unsigned(map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": privJWK}, good(), "x")}, status: 400, code: "invalid_dpop_proof"},
		{name: "alg none", proofs: []string{unsigned(map[string]any{"typ": "dpop+jwt", "alg": "none", "jwk": pubJWK}, good(), "")}, status: 400, code: "invalid_dpop_proof"},
		{name: "two headers", proofs: []string{signed(t, key, typ, true, good()), signed(t, key, typ, true, good())}, status: 400, code: "invalid_dpop_proof"},
		{name: "wrong method", proofs: []string{signed(t, key, typ, true, with("htm", "GET"))}, status: 400, code: "invalid_dpop_proof"},
		{name: "wrong URL", proofs: []string{signed(t, key, typ, true, with("htu", srv.ResourceURL()))}, status: 400, code: "invalid_dpop_proof"},
		{name: "query in htu", proofs: []string{signed(t, key, typ, true, with("htu", srv.TokenURL()+"?a=b"))}, status: 400, code: "invalid_dpop_proof"},
		{name: "stale iat", proofs: []string{signed(t, key, typ, true, with("iat", now-120))}, status: 400, code: "invalid_dpop_proof"},
		{name: "future iat", proofs: []string{signed(t, key, typ, true, with("iat", now+120))}, status: 400, code: "invalid_dpop_proof"},
		{name: "no iat", proofs: []string{signed(t, key, typ, true, with("iat", nil))}, status: 400, code: "invalid_dpop_proof"},
		{name: "no jti", proofs: []string{signed(t, key, typ, true, with("jti", nil))}, status: 400, code: "invalid_dpop_proof"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := dpopTokenRequest(t, srv, tt.proofs...)
			if tt.status == 200 {
				if r.status != 200 || r.str("token_type") != "DPoP" {
					t.Errorf("got %d %s, want 200 with token_type DPoP", r.status, r.raw)
				}
				return
			}
			wantError(t, r, tt.status, tt.code)
		})
	}

	t.Run("reused jti", func(t *testing.T) {
		p := signed(t, key, typ, true, good())
		dpopTokenRequest(t, srv, p)
		wantError(t, dpopTokenRequest(t, srv, p), 400, "invalid_dpop_proof")
	})
}

func TestDPoPNonceAtTokenEndpoint(t *testing.T) {
	clk := newTestClock()
	key := ecKey(t)
	srv := oauthtest.NewServer(oauthtest.WithClock(clk.Now), oauthtest.WithDPoPNonce())
	defer srv.Close()
	typ := map[string]any{"typ": "dpop+jwt"}
	proof := func(nonce string) string {
		c := map[string]any{"jti": randomID(t), "htm": "POST", "htu": srv.TokenURL(), "iat": clk.Now().Unix()}
		if nonce != "" {
			c["nonce"] = nonce
		}
		return signed(t, key, typ, true, c)
	}
	r := dpopTokenRequest(t, srv, proof(""))
	wantError(t, r, 400, "use_dpop_nonce")
	nonce := r.header.Get("DPoP-Nonce")
	if nonce == "" {
		t.Fatal("no DPoP-Nonce header with use_dpop_nonce")
	}
	wantError(t, dpopTokenRequest(t, srv, proof("not-it")), 400, "use_dpop_nonce")
	if r := dpopTokenRequest(t, srv, proof(nonce)); r.status != 200 {
		t.Errorf("with the nonce: %d %s", r.status, r.raw)
	}
	srv.RotateDPoPNonce()
	r = dpopTokenRequest(t, srv, proof(nonce))
	wantError(t, r, 400, "use_dpop_nonce")
	if r.header.Get("DPoP-Nonce") == nonce {
		t.Error("the rotated nonce is still given")
	}
}

// dpopTokenRequest asks for a client credentials token with the default
// client and one DPoP header per proof.
func dpopTokenRequest(t *testing.T, srv *oauthtest.Server, proofs ...string) reply {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	req, err := http.NewRequest(http.MethodPost, srv.TokenURL(), strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(oauthtest.DefaultClientID, oauthtest.DefaultClientSecret)
	for _, p := range proofs {
		req.Header.Add("DPoP", p)
	}
	return do(t, req)
}

// A client certificate is asked for over TLS only; a server without TLS
// refuses a certificate client.
func TestClientCertificateNeedsTLS(t *testing.T) {
	cert, err := oauthtest.NewClientCertificate("svc")
	if err != nil {
		t.Fatal(err)
	}
	srv := oauthtest.NewServer(oauthtest.WithClientCertificate("svc", cert.Leaf))
	defer srv.Close()
	if srv.Certificate() != nil {
		t.Error("a server without TLS has a certificate")
	}
	r := post(t, srv.TokenURL(), auth{id: "svc"}, url.Values{"grant_type": {"client_credentials"}})
	wantError(t, r, 401, "invalid_client")
	if !strings.Contains(r.str("error_description"), "certificate") {
		t.Errorf("description %q does not say a certificate is needed", r.str("error_description"))
	}
	if time.Until(cert.Leaf.NotAfter) < 23*time.Hour {
		t.Errorf("certificate valid until %v, want a day", cert.Leaf.NotAfter)
	}
}

// The metadata names private_key_jwt once a client key is registered, and
// the certificate methods on a TLS server (RFC 8414 §2, RFC 8705 §3.3).
func TestMetadataKeyMethods(t *testing.T) {
	srv := oauthtest.NewTLSServer(oauthtest.WithClientKey("svc", ecKey(t).Public()))
	defer srv.Close()
	client := tlsClient(srv)
	defer client.CloseIdleConnections()
	resp, err := client.Get(srv.MetadataURL())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m struct {
		Methods  []string `json:"token_endpoint_auth_methods_supported"`
		Algs     []string `json:"token_endpoint_auth_signing_alg_values_supported"`
		Bound    bool     `json:"tls_client_certificate_bound_access_tokens"`
		DPoPAlgs []string `json:"dpop_signing_alg_values_supported"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	want := []string{"client_secret_basic", "client_secret_post", "none", "private_key_jwt", "tls_client_auth", "self_signed_tls_client_auth"}
	if d := cmp.Diff(want, m.Methods); d != "" || !m.Bound || len(m.Algs) != 3 || len(m.DPoPAlgs) != 3 {
		t.Errorf("methods (-want +got):\n%s\nalgs %v, bound %v, DPoP algs %v", d, m.Algs, m.Bound, m.DPoPAlgs)
	}
}

// tlsClient trusts srv's certificate and presents none.
func tlsClient(srv *oauthtest.Server) *http.Client {
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// Introspection shows what a token is bound to (RFC 9449 §6.2).
func TestIntrospectionShowsDPoPBinding(t *testing.T) {
	clk := newTestClock()
	key := ecKey(t)
	srv := oauthtest.NewServer(oauthtest.WithClock(clk.Now))
	defer srv.Close()
	proof := signed(t, key, map[string]any{"typ": "dpop+jwt"}, true,
		map[string]any{"jti": randomID(t), "htm": "POST", "htu": srv.TokenURL(), "iat": clk.Now().Unix()})
	r := dpopTokenRequest(t, srv, proof)
	if r.status != 200 {
		t.Fatalf("token: %d %s", r.status, r.raw)
	}
	got := introspect(t, srv, r.str("access_token"))
	cnf, _ := got.body["cnf"].(map[string]any)
	jkt, _ := cnf["jkt"].(string)
	// The RFC 7638 thumbprint as the JOSE library computes it.
	sum, err := (&jose.JSONWebKey{Key: key.Public()}).Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if want := base64.RawURLEncoding.EncodeToString(sum); got.str("token_type") != "DPoP" || jkt != want {
		t.Errorf("introspection %s: want token_type DPoP and jkt %s", got.raw, want)
	}
}

// Revocation and introspection authenticate a key client as the token
// endpoint does: an assertion addressed to the endpoint called, the
// issuer or the token endpoint is accepted, one addressed to another
// endpoint, signed with another key or replayed is refused.
func TestClientAssertionAtRevocationAndIntrospection(t *testing.T) {
	clk := newTestClock()
	key := ecKey(t)
	srv := oauthtest.NewServer(oauthtest.WithClock(clk.Now), oauthtest.WithClientKey("svc", key.Public()))
	defer srv.Close()
	now := clk.Now().Unix()
	claims := func(aud string) map[string]any {
		return map[string]any{"iss": "svc", "sub": "svc", "aud": aud, "jti": randomID(t), "iat": now, "exp": now + 60}
	}
	call := func(endpoint, assertion, tok string) reply {
		return post(t, endpoint, auth{}, url.Values{"client_assertion_type": {jwtBearer}, "client_assertion": {assertion}, "token": {tok}})
	}
	r := assertionRequest(t, srv, signed(t, key, nil, false, claims(srv.TokenURL())), nil)
	if r.status != http.StatusOK {
		t.Fatalf("token: %d %s", r.status, r.raw)
	}
	tok := r.str("access_token")

	for _, ep := range []struct{ name, url, other string }{
		{"introspection", srv.IntrospectionURL(), srv.RevocationURL()},
		{"revocation", srv.RevocationURL(), srv.IntrospectionURL()},
	} {
		t.Run(ep.name, func(t *testing.T) {
			for _, aud := range []string{ep.url, srv.URL, srv.TokenURL()} {
				if r := call(ep.url, signed(t, key, nil, false, claims(aud)), tok); r.status != http.StatusOK {
					t.Errorf("aud %s: %d %s, want 200", aud, r.status, r.raw)
				}
			}
			replayed := signed(t, key, nil, false, claims(ep.url))
			if r := call(ep.url, replayed, tok); r.status != http.StatusOK {
				t.Fatalf("first use: %d %s", r.status, r.raw)
			}
			for name, assertion := range map[string]string{
				"another endpoint": signed(t, key, nil, false, claims(ep.other)),
				"another key":      signed(t, ecKey(t), nil, false, claims(ep.url)),
				"replayed":         replayed,
			} {
				t.Run(name, func(t *testing.T) {
					wantError(t, call(ep.url, assertion, tok), http.StatusUnauthorized, "invalid_client")
				})
			}
		})
	}
}

// Revocation and introspection authenticate a certificate client as the
// token endpoint does, and refuse it without its certificate.
func TestClientCertificateAtRevocationAndIntrospection(t *testing.T) {
	cert, err := oauthtest.NewClientCertificate("svc")
	if err != nil {
		t.Fatal(err)
	}
	srv := oauthtest.NewTLSServer(oauthtest.WithClientCertificate("svc", cert.Leaf))
	defer srv.Close()
	without := tlsClient(srv)
	defer without.CloseIdleConnections()
	with := tlsClient(srv)
	with.Transport.(*http.Transport).TLSClientConfig.Certificates = []tls.Certificate{cert}
	defer with.CloseIdleConnections()
	send := func(c *http.Client, u string, form url.Values) reply {
		req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		r := reply{status: resp.StatusCode, header: resp.Header}
		json.NewDecoder(resp.Body).Decode(&r.body)
		return r
	}
	r := send(with, srv.TokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {"svc"}})
	tok := r.str("access_token")
	if r.status != http.StatusOK || tok == "" {
		t.Fatalf("token: %d %v", r.status, r.body)
	}
	for _, u := range []string{srv.IntrospectionURL(), srv.RevocationURL()} {
		r := send(without, u, url.Values{"client_id": {"svc"}, "token": {tok}})
		wantError(t, r, http.StatusUnauthorized, "invalid_client")
		if !strings.Contains(r.str("error_description"), "must present its TLS client certificate") {
			t.Errorf("%s without the certificate: %q", u, r.str("error_description"))
		}
	}
	if r := send(with, srv.IntrospectionURL(), url.Values{"client_id": {"svc"}, "token": {tok}}); r.status != http.StatusOK || r.body["active"] != true {
		t.Errorf("introspection with the certificate: %d %v", r.status, r.body)
	}
	if r := send(with, srv.RevocationURL(), url.Values{"client_id": {"svc"}, "token": {tok}}); r.status != http.StatusOK || srv.Stats().Revocations != 1 {
		t.Errorf("revocation with the certificate: %d %v, %d revocations", r.status, r.body, srv.Stats().Revocations)
	}
}
