package strategy

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf16"
)

// redacted replaces a secret found in text a server sent.
const redacted = "[REDACTED]"

// A scrubber masks, in text an authorization server sent back, every secret
// one exchange with it carried: the client secret, the Basic credentials,
// every credential parameter of the form (a refresh token, a device code,
// a client assertion) and every DPoP proof. An exchange can take more than
// one request (a DPoP nonce challenge, a second authentication style), each
// signing a fresh assertion and proof; the scrubber learns each as it is
// sent, so an answer that echoes an earlier request's is masked too. A
// server that echoes its input (in error_description, an error page, a
// Content-Type, a redirect's Location) must not put a credential into an
// error, a log line or an event.
//
// Each secret is looked for in every spelling a server is known to echo it
// in: as is, URL-encoded (spaces as "+" and as "%20", hex in either case),
// JSON-escaped, and base64 (standard and URL alphabets, padded or not),
// alone and as the "id:secret" pair of an Authorization: Basic header.
//
// A scrubber belongs to one exchange, used by one goroutine at a time.
type scrubber struct {
	needles []string // longest first, so a spelling containing another is masked whole
	seen    map[string]bool
}

// secretParams are the request parameters that carry credentials.
var secretParams = []string{"client_secret", "refresh_token", "token", "device_code", "code", "code_verifier", "password", "assertion", "client_assertion"}

// newScrubber returns the scrubber for an exchange of a client with auth
// whose first request carries form.
func newScrubber(auth clientAuth, form url.Values) *scrubber {
	s := &scrubber{seen: map[string]bool{}}
	if sec := auth.secret.Reveal(); sec != "" {
		s.add(sec)
		// The Authorization: Basic value, as clientAuth.apply writes it and
		// as a server that decodes and re-encodes it might.
		for _, pair := range []string{url.QueryEscape(auth.id) + ":" + url.QueryEscape(sec), auth.id + ":" + sec} {
			s.addNeedles(base64Spellings(pair))
		}
	}
	s.addForm(form)
	return s
}

// addForm learns the credential parameters of form.
func (s *scrubber) addForm(form url.Values) {
	for _, name := range secretParams {
		for _, v := range form[name] {
			s.add(v)
		}
	}
}

// add learns secret, in every spelling. An empty secret is ignored.
func (s *scrubber) add(secret string) {
	if secret != "" {
		s.addNeedles(spellings(secret))
	}
}

func (s *scrubber) addNeedles(spelled []string) {
	for _, n := range spelled {
		if n != "" && !s.seen[n] {
			s.seen[n] = true
			s.needles = append(s.needles, n)
		}
	}
	slices.SortStableFunc(s.needles, func(a, b string) int { return len(b) - len(a) })
}

// spellings returns the ways sec may come back in text.
func spellings(sec string) []string {
	q := url.QueryEscape(sec)
	pct := strings.ReplaceAll(q, "+", "%20")
	out := []string{sec, q, pct, lowerHex(q), lowerHex(pct), url.PathEscape(sec)}
	out = append(out, jsonEscaped(sec)...)
	return append(out, base64Spellings(sec)...)
}

// jsonEscaped returns sec as the content of a JSON string literal, in
// every combination of the optional escapes encoders differ in: "<", ">"
// and "&" (Go's HTML-safe default), "/" as "\/", non-ASCII runes as
// \uXXXX, and the case of hex digits.
func jsonEscaped(sec string) []string {
	var out []string
	for flags := range 16 {
		html, slash, ascii, upper := flags&1 != 0, flags&2 != 0, flags&4 != 0, flags&8 != 0
		var b strings.Builder
		u := func(r rune) {
			if upper {
				fmt.Fprintf(&b, `\u%04X`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		}
		for _, r := range sec {
			switch {
			case r == '"' || r == '\\':
				b.WriteByte('\\')
				b.WriteRune(r)
			case r == '\n':
				b.WriteString(`\n`)
			case r == '\r':
				b.WriteString(`\r`)
			case r == '\t':
				b.WriteString(`\t`)
			case r < 0x20, r == 0x2028, r == 0x2029, html && (r == '<' || r == '>' || r == '&'):
				u(r)
			case slash && r == '/':
				b.WriteString(`\/`)
			case ascii && r > 0xffff:
				hi, lo := utf16.EncodeRune(r)
				u(hi)
				u(lo)
			case ascii && r >= 0x80:
				u(r)
			default:
				b.WriteRune(r)
			}
		}
		out = append(out, b.String())
	}
	return out
}

func base64Spellings(s string) []string {
	b := []byte(s)
	return []string{
		base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b),
		base64.URLEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b),
	}
}

// lowerHex returns a percent-encoded string with its hex digits in lower
// case.
func lowerHex(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1], b[i+2] = toLower(b[i+1]), toLower(b[i+2])
		}
	}
	return string(b)
}

func toLower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// text returns t with every secret masked.
func (s *scrubber) text(t string) string {
	for _, n := range s.needles {
		if strings.Contains(t, n) {
			t = strings.ReplaceAll(t, n, redacted)
		}
	}
	return t
}

// clean reports whether t holds no secret.
func (s *scrubber) clean(t string) bool {
	for _, n := range s.needles {
		if strings.Contains(t, n) {
			return false
		}
	}
	return true
}

// scrub returns err with the secrets masked in every field a server
// controls, keeping its type: an *OAuthError's code, description and URI,
// an *HTTPError's content type, a *RedirectError's location, an
// *InvalidResponseError's reason, a *NetworkError's cause. Any other error
// whose message holds a secret (a transport error quoting a malformed
// answer, say) is replaced by one with the masked message that still
// matches what the original matched with errors.Is.
func (s *scrubber) scrub(err error) error {
	if err == nil || len(s.needles) == 0 {
		return err
	}
	switch e := err.(type) {
	case *OAuthError:
		e.Code, e.Description, e.URI = s.text(e.Code), s.text(e.Description), s.text(e.URI)
	case *HTTPError:
		e.ContentType = s.text(e.ContentType)
	case *RedirectError:
		e.Location = s.text(e.Location)
	case *InvalidResponseError:
		e.Reason = s.text(e.Reason)
	case *NetworkError:
		e.Err = s.scrub(e.Err)
	default:
		// An error of another package: its text is all there is to mask.
		if msg := err.Error(); !s.clean(msg) {
			return &scrubbedError{msg: s.text(msg), cause: err}
		}
	}
	return err
}

// A scrubbedError is an error whose message held a secret: it prints the
// masked message and matches, with errors.Is, what the original matched.
// It does not unwrap, so nothing reaches the original's text.
type scrubbedError struct {
	msg   string
	cause error
}

func (e *scrubbedError) Error() string { return e.msg }

func (e *scrubbedError) Is(target error) bool { return errors.Is(e.cause, target) }

// minEcho is the shortest secret whose presence in a value a server issued
// makes the value refused: a shorter one would refuse honest values that
// happen to contain it.
const minEcho = 8

// carries reports whether t contains a secret of at least minEcho bytes, in
// any spelling.
func (s *scrubber) carries(t string) bool {
	for _, n := range s.needles {
		if len(n) >= minEcho && strings.Contains(t, n) {
			return true
		}
	}
	return false
}

// checkIssued refuses a token response whose access token or token type
// carries a secret of the request: it would be sent to the API (a refresh
// token or client secret echoed as the access token reaches another
// party), or shown. The granted scope, informational, is masked instead.
func (s *scrubber) checkIssued(r *tokenResponse) error {
	if s.carries(r.accessToken.Reveal()) || s.carries(r.tokenType) {
		return &InvalidResponseError{Reason: "the issued token carries a credential of the request"}
	}
	r.scope = s.text(r.scope)
	return nil
}

// checkAuthorization refuses a device authorization whose text, shown to
// the user, carries a secret of the request.
func (s *scrubber) checkAuthorization(da DeviceAuthorization) error {
	if s.carries(da.UserCode) || s.carries(da.VerificationURI) || s.carries(da.VerificationURIComplete) {
		return &InvalidResponseError{Reason: "the device authorization carries a credential of the request"}
	}
	return nil
}
