package oauthtest_test

import (
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/tokenactor/tokenactor/oauthtest"
)

// Whatever client assertion and DPoP proof a client sends, the token
// endpoint answers a success or an RFC 6749 §5.2 error, never a panic; and
// an assertion for a registered key is never accepted without a valid
// signature (the fuzzer cannot forge one).
func FuzzKeyParsers(f *testing.F) {
	f.Add("eyJhbGciOiJFZERTQSJ9.eyJpc3MiOiJzdmMiLCJzdWIiOiJzdmMifQ.AAAA", "")
	f.Add("", "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwiY3J2IjoiUC0yNTYiLCJ4IjoiIiwieSI6IiJ9fQ.e30.")
	f.Add("a.b.c", "x.y.z")
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJzdmMiLCJpc3MiOiJzdmMifQ.", `eyJ0eXAiOiJkcG9wK2p3dCIsImp3ayI6eyJrdHkiOiJSU0EiLCJuIjoiIiwiZSI6IkFRQUIifX0.e30.`)
	pub := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public() // a key the fuzzer cannot sign with
	f.Fuzz(func(t *testing.T, assertion, proof string) {
		srv := oauthtest.New("http://issuer.example", oauthtest.WithClientKey("svc", pub))
		form := url.Values{"grant_type": {"client_credentials"}}
		if assertion != "" {
			form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
			form.Set("client_assertion", assertion)
		} else {
			form.Set("client_id", oauthtest.DefaultClientID)
			form.Set("client_secret", oauthtest.DefaultClientSecret)
		}
		req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if proof != "" {
			req.Header.Set("DPoP", proof)
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		if w.Code == http.StatusOK {
			if assertion != "" {
				t.Errorf("an assertion was accepted for a key nobody holds")
			}
			return
		}
		var e struct {
			Error string `json:"error"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" {
			t.Errorf("%d with a body that is not an RFC 6749 error: %q", w.Code, w.Body)
		}
	})
}
