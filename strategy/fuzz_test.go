package strategy

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tokenactor/tokenactor/fakeclock"
)

// FuzzParseTokenResponse checks that no body makes the token parser panic,
// that a token it accepts is usable in a header with a sane lifetime, and
// that its errors never quote the body.
func FuzzParseTokenResponse(f *testing.F) {
	for _, seed := range []string{
		`{"access_token":"at","token_type":"Bearer","expires_in":3600,"refresh_token":"rt","scope":"a b"}`,
		`{"access_token":"at","expires_in":"60"}`,
		`{"access_token":"at","expires_in":-1}`,
		`{"access_token":"at","expires_in":1e12}`,
		`{"access_token":"at","expires_in":0}`,
		`{"error":"invalid_grant","error_description":"nope"}`,
		`{"access_token":"at","expi`,
		`<html>502</html>`,
		`{"access_token":"at","scope":["a","b"],"token_type":"dpop"}`,
		``,
	} {
		f.Add(seed)
	}
	now := fakeclock.Start
	f.Fuzz(func(t *testing.T, body string) {
		got, err := parseTokenResponse(http.StatusOK, []byte(body), now)
		if err != nil {
			if len(body) > 40 && strings.Contains(err.Error(), body) {
				t.Fatalf("error quotes the body: %v", err)
			}
			return
		}
		if got.accessToken.IsZero() || !headerSafe(got.accessToken.Reveal()) {
			t.Fatalf("accepted an unusable access token")
		}
		if got.tokenType == "" || !headerSafe(got.tokenType) {
			t.Fatalf("accepted token type %q", got.tokenType)
		}
		if !got.expiresAt.IsZero() && (!got.expiresAt.After(now) || got.expiresAt.Sub(now) > maxLifetime) {
			t.Fatalf("accepted lifetime %v", got.expiresAt.Sub(now))
		}
	})
}
