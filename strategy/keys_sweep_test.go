package strategy_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/oauthtest"
	"github.com/tokenactor/tokenactor/strategy"
)

// keyNeedles are the encodings of a private key's secret numbers an
// output could leak them in: decimal, hex, base64 and base64url of the
// big-endian bytes.
func keyNeedles(secrets ...[]byte) []string {
	var out []string
	for _, b := range secrets {
		out = append(out,
			hex.EncodeToString(b), strings.ToUpper(hex.EncodeToString(b)),
			base64.StdEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b),
			fmt.Sprint(b), // []byte with %v
		)
	}
	return out
}

// echoKeyServer refuses every token request with a description echoing
// the client assertion and DPoP proof it got, as a careless server might,
// and keeps them. A request with a DPoP proof but no nonce is first sent
// back with use_dpop_nonce; the refusal of the retry then echoes the first
// attempt's assertion and proof too, which the client sent and must mask.
type echoKeyServer struct {
	mu     sync.Mutex
	signed []string // every assertion and proof received
	prev   string   // what the challenged attempt sent, for its retry's answer
}

func (e *echoKeyServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	a, proof := r.PostForm.Get("client_assertion"), r.Header.Get("DPoP")
	sent := a + " " + url.QueryEscape(a) + " " + proof
	e.mu.Lock()
	e.signed = append(e.signed, a, proof)
	prev := e.prev
	e.prev = ""
	challenge := proof != "" && !hasNonce(proof)
	if challenge {
		e.prev = sent
	}
	e.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if challenge {
		w.Header().Set("DPoP-Nonce", "n-1")
	}
	w.WriteHeader(http.StatusBadRequest)
	if challenge {
		json.NewEncoder(w).Encode(map[string]string{"error": "use_dpop_nonce", "error_description": "nonce please " + sent})
		return
	}
	json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client", "error_description": "bad " + sent + " earlier " + prev})
}

// hasNonce reports whether a DPoP proof carries a nonce claim.
func hasNonce(proof string) bool {
	parts := strings.Split(proof, ".")
	if len(parts) != 3 {
		return false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct {
		Nonce string `json:"nonce"`
	}
	return err == nil && json.Unmarshal(payload, &claims) == nil && claims.Nonce != ""
}

// Private keys never appear in any output: configs, keys, strategies,
// errors, events and logs, through every fmt verb, log/slog and JSON.
// Neither do the client assertions and DPoP proofs signed with them,
// which a server may echo, in a later attempt's answer too.
func TestPrivateKeysNeverAppear(t *testing.T) {
	sw := newSweep()
	keys := testKeys()
	rsaKey, ecKey, edKey := keys["RS256"].(*rsa.PrivateKey), keys["ES256"].(*ecdsa.PrivateKey), keys["EdDSA"].(ed25519.PrivateKey)
	ecD, err := ecKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	needles := keyNeedles(rsaKey.D.Bytes(), rsaKey.Primes[0].Bytes(), rsaKey.Primes[1].Bytes(), ecD, edKey.Seed())
	needles = append(needles, rsaKey.D.String(), ecKey.D.String()) // the decimal form %v prints

	echoed := &echoKeyServer{}
	echo := httptest.NewServer(echoed)
	defer echo.Close()
	good := oauthtest.NewServer(oauthtest.WithClientKey("svc", ecKey.Public()))
	defer good.Close()

	var signed []string // the assertions and proofs sent
	for name, signer := range keys {
		ck := &strategy.ClientKey{Signer: signer, KeyID: "kid-" + name}
		sw.print("client key", ck)
		sw.print("client key value", *ck)
		for _, tokenURL := range []string{echo.URL + "/token", good.TokenURL()} {
			cfg := strategy.AccessKeyConfig{TokenURL: tokenURL, ClientID: "svc", ClientKey: ck, DPoPKey: signer}
			sw.print("access key config", cfg)
			sw.print("access key config pointer", &cfg)
			s, err := strategy.NewAccessKey(cfg, sw.hook())
			if err != nil {
				t.Fatal(err)
			}
			sw.print("access key strategy", s)
			sw.token("access key " + name)(s.Get(t.Context()))
			proof, err := s.DPoPProof("GET", &url.URL{Scheme: "https", Host: "api.example", Path: "/x"}, tokenactor.NewSecretToken("at-"+marker))
			sw.err("proof", err)
			signed = append(signed, proof)
			s.Close()
		}
		// Revocation and introspection with the key, at a server that
		// echoes the assertion and at one that checks it.
		for _, base := range []string{echo.URL, good.URL} {
			for _, ep := range []string{"/revoke", "/introspect"} {
				ecfg := strategy.EndpointConfig{URL: base + ep, ClientID: "svc", ClientKey: ck}
				sw.print("endpoint config", ecfg)
				sw.print("endpoint config pointer", &ecfg)
				sw.err("revoke "+name, strategy.Revoke(t.Context(), ecfg, tokenactor.NewSecretToken("at-"+marker), ""))
				in, err := strategy.Introspect(t.Context(), ecfg, tokenactor.NewSecretToken("at-"+marker), "")
				sw.err("introspect "+name, err)
				sw.print("introspection", in)
			}
		}
		acfg := strategy.AutoConfig{ClientKey: ck, Getenv: func(k string) string {
			return map[string]string{strategy.EnvClientID: "svc", strategy.EnvTokenURL: echo.URL + "/token"}[k]
		}}
		sw.print("auto config", acfg)
		if as, err := strategy.NewAuto(acfg, sw.hook()); err != nil {
			t.Fatal(err)
		} else {
			sw.print("auto strategy", as)
			sw.token("auto " + name)(as.Get(t.Context()))
			as.Close()
		}
		ocfg := strategy.OAuthConfig{Store: strategy.NewMemoryStore(), ClientKey: ck, DPoPKey: signer}
		dcfg := strategy.DeviceCodeConfig{
			DeviceAuthURL: echo.URL + "/device", TokenURL: echo.URL + "/token", ClientID: "cli",
			ClientKey: ck, DPoPKey: signer, Store: strategy.NewMemoryStore(), Prompt: func(strategy.DeviceAuthorization) {},
		}
		sw.print("oauth config", ocfg)
		sw.print("device config", dcfg)
		os, err := strategy.NewOAuth(ocfg, sw.hook())
		if err != nil {
			t.Fatal(err)
		}
		sw.print("oauth strategy", os)
		sw.print("oauth strategy value", *os)
		os.Close()
		ds, err := strategy.NewDeviceCode(dcfg, sw.hook())
		if err != nil {
			t.Fatal(err)
		}
		_, err = ds.Login(t.Context())
		sw.err("device login", err)
		sw.print("device strategy", ds)
		sw.print("device strategy value", *ds)
		ds.Close()
	}
	if req, ok := good.LastRequest(oauthtest.EndpointToken); ok {
		signed = append(signed, req.Form.Get("client_assertion"), req.Header.Get("DPoP"))
	}
	for _, e := range []oauthtest.Endpoint{oauthtest.EndpointRevocation, oauthtest.EndpointIntrospection} {
		if req, ok := good.LastRequest(e); ok && req.Form.Has("client_assertion") {
			signed = append(signed, req.Form.Get("client_assertion"))
		} else {
			t.Errorf("no assertion reached the %s endpoint", e)
		}
	}
	_, err = strategy.AccessKeyConfig{TokenURL: echo.URL, ClientID: "svc", ClientKey: &strategy.ClientKey{Signer: edKey}, DPoPKey: edKey}.Refresher()
	sw.err("refresher", err)

	outputs, bytes := sw.check(t) // the usual secrets, too
	sw.mu.Lock()
	defer sw.mu.Unlock()
	all := map[string][]string{"slog": {sw.logged.String()}}
	for k, v := range sw.outputs {
		all[k] = v
	}
	echoed.mu.Lock()
	signed = append(signed, echoed.signed...)
	echoed.mu.Unlock()
	for _, s := range signed {
		if s != "" {
			needles = append(needles, s, strings.Split(s, ".")[2])
		}
	}
	for name, outs := range all {
		for _, out := range outs {
			for _, n := range needles {
				if strings.Contains(out, n) {
					t.Errorf("%s: private key material or a signed JWT in output: %.200s", name, out)
				}
			}
		}
	}
	if !sw.errs["*strategy.OAuthError"] {
		t.Error("no refusal was driven: the echo server was not reached")
	}
	t.Logf("keys: outputs searched=%d (%d bytes), needles=%d", outputs, bytes, len(needles))
}
