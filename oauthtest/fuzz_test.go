package oauthtest_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tokenactor/tokenactor/oauthtest"
)

// Whatever a client sends to an endpoint taking a form, the answer is a
// success or a well-formed RFC 6749 §5.2 error, never a panic, and never
// cacheable.
func FuzzFormEndpoints(f *testing.F) {
	f.Add("/token", "application/x-www-form-urlencoded", "grant_type=client_credentials&client_id=test-client&client_secret=test-secret", "")
	f.Add("/token", "application/x-www-form-urlencoded", "grant_type=refresh_token&refresh_token=x", "Basic dGVzdC1jbGllbnQ6dGVzdC1zZWNyZXQ=")
	f.Add("/device_authorization", "application/x-www-form-urlencoded", "client_id=cli&scope=a%20b", "")
	f.Add("/revoke", "application/x-www-form-urlencoded; charset=utf-8", "token=t&client_id=cli", "")
	f.Add("/introspect", "application/x-www-form-urlencoded", "token=%zz", "Basic !!")
	f.Add("/token", "multipart/form-data; boundary=x", "--x--", "Bearer x")
	f.Fuzz(func(t *testing.T, path, contentType, body, authorization string) {
		switch path {
		case "/token", "/device_authorization", "/revoke", "/introspect":
		default:
			path = "/token"
		}
		srv := oauthtest.New("http://issuer.example", oauthtest.WithClient("cli", ""),
			oauthtest.WithClient(oauthtest.DefaultClientID, oauthtest.DefaultClientSecret))
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Authorization", authorization)
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)

		if got := w.Header().Get("Cache-Control"); got != "no-store" {
			t.Errorf("Cache-Control %q", got)
		}
		if w.Code == http.StatusOK {
			return
		}
		var e struct {
			Error string `json:"error"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" {
			t.Errorf("%d with a body that is not an RFC 6749 error: %q", w.Code, w.Body)
		}
		if w.Code != http.StatusBadRequest && w.Code != http.StatusUnauthorized && w.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("status %d", w.Code)
		}
	})
}
