package strategy

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/tokenactor/tokenactor"

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

// FuzzParseAccessKey checks that ParseAccessKey never panics, that a key it
// accepts puts back together into the trimmed input, and that no fmt verb
// prints the secret.
func FuzzParseAccessKey(f *testing.F) {
	for _, seed := range []string{"svc.s3cret", "a.b.c", ".x", "x.", "", ".", " id.secret\n", "nodot"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseAccessKey(s)
		if err != nil {
			return
		}
		if k.ID == "" || k.Secret.IsZero() {
			t.Fatalf("accepted an empty part")
		}
		if got := k.ID + "." + k.Secret.Reveal(); got != strings.TrimSpace(s) {
			t.Fatalf("round trip: got %q from %q", got, s)
		}
		// Printing must not depend on the secret: the same key with another
		// secret prints the same.
		other := AccessKey{ID: k.ID, Secret: tokenactor.NewSecretToken("other")}
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
			if got, want := fmt.Sprintf(verb, k), fmt.Sprintf(verb, other); got != want {
				t.Fatalf("%s depends on the secret: %s", verb, got)
			}
		}
	})
}
