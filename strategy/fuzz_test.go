package strategy

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

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
		`{"access_token":"at","expires_in":3600,"refresh_in":1800,"refresh_token":"rt"}`,
		`{"access_token":"at","expires_in":1e-10,"refresh_token":"rt-rotated"}`,
		`{"access_token":["at"],"refresh_token":"rt-rotated","refresh_in":"1e-9"}`,
		``,
	} {
		f.Add(seed)
	}
	now := fakeclock.Start
	f.Fuzz(func(t *testing.T, body string) {
		got, err := parseTokenResponse(http.StatusOK, []byte(body), now)
		if !got.refreshToken.IsZero() && !headerSafe(got.refreshToken.Reveal()) {
			t.Fatalf("kept an unusable refresh token")
		}
		if !got.refreshAt.IsZero() && (got.expiresAt.IsZero() || !got.refreshAt.After(now) || !got.refreshAt.Before(got.expiresAt)) {
			t.Fatalf("refresh hint %v outside (now, %v)", got.refreshAt, got.expiresAt)
		}
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
		da, code, err := parseDeviceAuthorization(http.StatusOK, []byte(body), now)
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

// FuzzParseRetryAfter checks that no Retry-After value makes the parser
// panic, that the delay it returns is within [0, maxRetryAfter] and only
// for 429 and 503, and that a delay written in either RFC 9110 form (delay
// seconds or an HTTP date) reads back as written.
func FuzzParseRetryAfter(f *testing.F) {
	now := fakeclock.Start
	for _, seed := range []string{
		"7", "0", "-5", "120", "99999999999999999", "1e3", " 30 ", "+30", "soon", "",
		now.Add(30 * time.Second).Format(http.TimeFormat),
		now.Add(-time.Hour).Format(http.TimeFormat),
		"Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994",
	} {
		f.Add(429, seed, int64(30))
	}
	f.Add(503, "", int64(-1))
	f.Add(500, "7", int64(1<<40))
	f.Fuzz(func(t *testing.T, status int, value string, secs int64) {
		h := http.Header{}
		h.Set("Retry-After", value)
		got := parseRetryAfter(status, h, now)
		if got < 0 || got > maxRetryAfter {
			t.Fatalf("Retry-After %q gave %v, outside [0, %v]", value, got, maxRetryAfter)
		}
		if status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable && got != 0 {
			t.Fatalf("status %d with Retry-After %q gave %v, want 0", status, value, got)
		}

		// Round trip: a delay the server writes is the delay read.
		want := min(max(time.Duration(min(max(secs, 0), int64(maxRetryAfter/time.Second)))*time.Second, 0), maxRetryAfter)
		for _, written := range []string{
			strconv.FormatInt(secs, 10),
			now.Add(time.Duration(min(max(secs, -1e9), 1e9)) * time.Second).Format(http.TimeFormat),
		} {
			h.Set("Retry-After", written)
			if got := parseRetryAfter(http.StatusTooManyRequests, h, now); got != want {
				t.Fatalf("Retry-After %q gave %v, want %v", written, got, want)
			}
		}
	})
}

// FuzzErrorResponse checks that no error answer of a token or device
// endpoint (any status, content type and body, as polls of RFC 8628 §3.5
// get too) makes the parser panic, that the result is always an *OAuthError
// or *HTTPError whose message is bounded and free of control characters,
// and that an *HTTPError never quotes the body.
func FuzzErrorResponse(f *testing.F) {
	for _, seed := range []string{
		`{"error":"invalid_grant","error_description":"refresh token revoked"}`,
		`{"error":"authorization_pending"}`,
		`{"error":"slow_down","error_uri":"https://a.example/e"}`,
		`{"error":"access_denied"}`,
		`{"error":"expired_token"}`,
		`{"error":""}`,
		`{"error":5}`,
		`{"error":"x\u001b[2J\nforged log line"}`,
		`<html>502 Bad Gateway</html>`,
		``,
	} {
		f.Add(400, "application/json", seed)
	}
	f.Add(503, "text/html", `<html>busy</html>`)
	f.Add(401, "", ``)
	now := fakeclock.Start
	f.Fuzz(func(t *testing.T, status int, contentType, body string) {
		h := http.Header{}
		h.Set("Content-Type", contentType)
		err := errorResponse(status, h, []byte(body), now)
		var oe *OAuthError
		var he *HTTPError
		switch {
		case errors.As(err, &oe):
			if oe.Code == "" {
				t.Fatal("OAuthError without a code")
			}
		case errors.As(err, &he):
			// The body does not show: the message is the one an empty body gets.
			if without := errorResponse(status, h, nil, now); err.Error() != without.Error() {
				t.Fatalf("HTTPError depends on the body: %v", err)
			}
		default:
			t.Fatalf("got %T, want *OAuthError or *HTTPError", err)
		}
		msg := err.Error()
		if utf8.RuneCountInString(msg) > 512 {
			t.Fatalf("message of %d runes", utf8.RuneCountInString(msg))
		}
		for _, r := range msg {
			if unicode.IsControl(r) {
				t.Fatalf("control character %U in %q", r, msg)
			}
		}
	})
}

// FuzzScrub checks that a secret echoed in server text, in any of the
// spellings the scrubber knows, inside any surrounding text, never
// survives scrubbing, and that the scrubber never panics.
func FuzzScrub(f *testing.F) {
	f.Add("cs/+ sécret&<x>", "rt-1/ab+c==", "you sent ", " back")
	f.Add("s3cret-s3cret", "rt-rt-rt-rt", "", "")
	f.Add("\u2028\"\\\u2028\"\\", "\U0001F600\U0001F600", "{", "}")
	f.Fuzz(func(t *testing.T, clientSecret, refreshToken, before, after string) {
		if strings.ContainsAny(clientSecret+refreshToken, "[]") || len(clientSecret) < 8 || len(refreshToken) < 8 {
			t.Skip("a secret shorter than 8 bytes, or with the mask's brackets, cannot be told from the text around it")
		}
		sc := newScrubber(clientAuth{id: "cli", secret: tokenactor.NewSecretToken(clientSecret)}, url.Values{"refresh_token": {refreshToken}})
		for _, sec := range []string{clientSecret, refreshToken} {
			if sec == "" {
				continue
			}
			for _, sp := range spellings(sec) {
				got := sc.text(before + sp + after)
				if !sc.clean(got) {
					t.Fatalf("a spelling survived: %q", got)
				}
				err := sc.scrub(&OAuthError{StatusCode: 400, Code: "x", Description: before + sp + after})
				if oe := err.(*OAuthError); !sc.clean(oe.Description) {
					t.Fatalf("an error kept a secret: %#v", err)
				}
			}
		}
	})
}

// FuzzParseExpiresIn checks that a lifetime is either refused or between a
// second and maxLifetime, never the zero that means "never expires".
func FuzzParseExpiresIn(f *testing.F) {
	for _, seed := range []string{`3600`, `"60"`, `1e-10`, `"1e-10"`, `0.0000000004`, `0`, `-1`, `1e308`, `"NaN"`, `null`, `true`, `""`, `"1e400"`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		d, err := parseExpiresIn(json.RawMessage(raw))
		switch {
		case err != nil:
		case raw == "" || raw == "null":
			if d != 0 {
				t.Fatalf("absent lifetime gave %v", d)
			}
		case d < minLifetime || d > maxLifetime:
			t.Fatalf("%s: accepted lifetime %v", raw, d)
		}
	})
}
