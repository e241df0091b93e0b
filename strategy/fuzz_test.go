package strategy

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

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

// FuzzParseSessionFile checks that no file content makes the session parser
// panic, and that a session it accepts survives a save and load unchanged.
func FuzzParseSessionFile(f *testing.F) {
	for _, seed := range []string{
		`{"version":1,"token_url":"https://a.example/t","client_id":"c","access_token":"at","token_type":"Bearer","expires_at":"2030-01-01T00:00:00Z","refresh_token":"rt","scope":"s"}`,
		`{"version":1,"refresh_token":"rt"}`,
		`{"version":2,"access_token":"at"}`,
		`{"version":1,"access_token":"a`,
		`{"version":1,"access_token":"at"} trailing`,
		`{"version":1,"access_token":"at","token_url":"ftp://x"}`,
		``,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data string) {
		sess, err := parseSessionFile("session.json", []byte(data))
		if err != nil {
			return
		}
		encoded, err := encodeSession(sess)
		if err != nil {
			t.Fatalf("encode accepted session: %v", err)
		}
		again, err := parseSessionFile("session.json", encoded)
		if err != nil {
			t.Fatalf("reparse: %v", err)
		}
		if fmt.Sprint(sessionParts(sess)) != fmt.Sprint(sessionParts(again)) {
			t.Fatalf("round trip changed the session:\n%v\n%v", sessionParts(sess), sessionParts(again))
		}
	})
}

func sessionParts(s Session) []string {
	return []string{s.TokenURL, s.ClientID, s.AccessToken.Reveal(), s.TokenType, s.ExpiresAt.UTC().Format(time.RFC3339Nano), s.RefreshToken.Reveal(), s.Scope}
}

// FuzzParseDeviceAuthorization checks that no device authorization response
// makes the parser panic, and that what it accepts is safe to show and
// bounded in time.
func FuzzParseDeviceAuthorization(f *testing.F) {
	for _, seed := range []string{
		`{"device_code":"d","user_code":"WDJB-MJHT","verification_uri":"https://a.example/device","expires_in":1800,"interval":5}`,
		`{"device_code":"d","user_code":"U","verification_url":"https://a.example/d","expires_in":"600"}`,
		`{"device_code":"d","user_code":"U","verification_uri":"javascript:alert(1)","expires_in":600}`,
		`{"device_code":"d","user_code":"\u001b[2J","verification_uri":"https://a.example/d","expires_in":600}`,
		`{"device_code":"d","user_code":"U","verification_uri":"https://a.example/d","expires_in":600,"interval":1e300}`,
		`{"device_code":"d"`,
		`[]`,
	} {
		f.Add(seed)
	}
	now := fakeclock.Start
	f.Fuzz(func(t *testing.T, body string) {
		da, code, err := parseDeviceAuthorization([]byte(body), now)
		if err != nil {
			return
		}
		switch {
		case code.IsZero() || da.UserCode == "":
			t.Fatal("accepted empty codes")
		case !printableText(da.UserCode) || !printableURL(da.VerificationURI):
			t.Fatalf("accepted unprintable text: %q %q", da.UserCode, da.VerificationURI)
		case da.Interval <= 0 || da.Interval > maxPollInterval:
			t.Fatalf("accepted interval %v", da.Interval)
		case !da.ExpiresAt.After(now) || da.ExpiresAt.Sub(now) > maxDeviceCodeLifetime:
			t.Fatalf("accepted lifetime %v", da.ExpiresAt.Sub(now))
		}
	})
}
