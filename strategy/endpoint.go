package strategy

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/tokenactor/tokenactor"
)

const (
	// maxBodySize bounds every response body read from an authorization
	// server. Token responses are a few kilobytes; a larger body is refused
	// rather than buffered.
	maxBodySize = 1 << 20

	// maxLifetime is the longest expires_in accepted. Access tokens live
	// minutes to hours; a lifetime beyond a year is a server bug (or a
	// number in the wrong unit), and caching such a token would keep a
	// revoked credential in use indefinitely.
	maxLifetime = 366 * 24 * time.Hour

	// defaultTimeout bounds a whole token request made with the default
	// HTTP client.
	defaultTimeout = 30 * time.Second
)

// An AuthStyle says how a client authenticates to the token endpoint
// (RFC 6749 §2.3.1).
type AuthStyle int

const (
	// AuthStyleBasic sends the client ID and secret in an HTTP Basic
	// Authorization header, each form-encoded first as RFC 6749 §2.3.1
	// requires. It is the zero value and the method every server must
	// support.
	AuthStyleBasic AuthStyle = iota
	// AuthStyleBody sends client_id and client_secret as form parameters
	// in the request body, for servers that do not accept Basic.
	AuthStyleBody
)

// String names the style.
func (s AuthStyle) String() string {
	switch s {
	case AuthStyleBasic:
		return "basic"
	case AuthStyleBody:
		return "body"
	}
	return "AuthStyle(" + strconv.Itoa(int(s)) + ")"
}

// clientAuth is how a client identifies itself to an authorization server.
// A public client (no secret) always sends client_id in the body
// (RFC 6749 §2.3.1, RFC 8628 §3.1), whatever the style.
type clientAuth struct {
	id     string
	secret tokenactor.SecretToken
	style  AuthStyle
	key    *ClientKey // private_key_jwt instead of a secret; nil for none
}

// apply adds the client's credentials to a request about to be sent.
func (a clientAuth) apply(req *http.Request, form url.Values) {
	if a.secret.IsZero() || a.style == AuthStyleBody {
		if a.id != "" {
			form.Set("client_id", a.id)
		}
		if !a.secret.IsZero() {
			form.Set("client_secret", a.secret.Reveal())
		}
		return
	}
	creds := url.QueryEscape(a.id) + ":" + url.QueryEscape(a.secret.Reveal())
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(creds)))
}

// defaultHTTPClient returns the client used when a config has none: a
// whole-request timeout, and no redirects, so a POST carrying credentials is
// never replayed (as a GET, without its body) to another address.
func defaultHTTPClient() *http.Client {
	return &http.Client{
		Timeout: defaultTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// An endpoint posts form-encoded requests to one authorization server URL
// and reads its JSON answers. It holds no mutable state; it is safe for
// concurrent use.
type endpoint struct {
	url    string
	dpop   *dpopProver // signs a DPoP proof per request; nil for none
	client *http.Client
	auth   clientAuth
	clock  clock.Clock
}

// A tokenResponse is a successful token endpoint answer (RFC 6749 §5.1),
// with expires_in already turned into an absolute time.
type tokenResponse struct {
	accessToken  tokenactor.SecretToken
	tokenType    string
	expiresAt    time.Time // zero if the server gave no lifetime
	refreshToken tokenactor.SecretToken
	scope        string
}

// serviceToken returns the part of r a service needs.
func (r tokenResponse) serviceToken() tokenactor.ServiceToken {
	return tokenactor.ServiceToken{AccessToken: r.accessToken, TokenType: r.tokenType, ExpiresAt: r.expiresAt}
}

// token posts a grant to the token endpoint and parses the answer. Its
// errors are an *OAuthError, *HTTPError, *InvalidResponseError or
// *NetworkError.
func (e *endpoint) token(ctx context.Context, form url.Values) (tokenResponse, error) {
	status, header, body, err := e.post(ctx, e.url, form)
	if err == nil && e.dpop.retry(e.url, status, header, body) {
		status, header, body, err = e.post(ctx, e.url, form)
	}
	if err != nil {
		return tokenResponse{}, err
	}
	// The lifetime counts from receipt: the moment the answer is here.
	now := e.clock.Now()
	if status < 200 || status > 299 {
		return tokenResponse{}, e.refusal(status, header, body, now, form)
	}
	return parseTokenResponse(status, body, now)
}

// refusal is errorResponse for an answer to form, with every secret the
// request carried (the client secret, a refresh token, a device code)
// masked in the text the server sent back: a server that echoes its input
// in error_description must not put a credential into an error message,
// a log line or an event.
func (e *endpoint) refusal(status int, h http.Header, body []byte, now time.Time, form url.Values) error {
	secrets := []string{e.auth.secret.Reveal()}
	for _, name := range secretParams {
		secrets = append(secrets, form[name]...)
	}
	return redact(errorResponse(status, h, body, now), secrets)
}

// secretParams are the request parameters that carry credentials.
var secretParams = []string{"client_secret", "refresh_token", "device_code", "code", "code_verifier", "password", "assertion", "client_assertion"}

// post sends form with the client's credentials and returns the answer,
// its body read up to maxBodySize. A body over the limit comes back as nil
// with an *InvalidResponseError for a success status, and as nil without an
// error otherwise (the status alone then describes the failure).
func (e *endpoint) post(ctx context.Context, u string, form url.Values) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("strategy: bad endpoint URL: %w", err)
	}
	e.auth.apply(req, form)
	if err := e.auth.key.addAssertion(form, e.auth.id, e.url, e.clock.Now()); err != nil {
		return 0, nil, nil, err
	}
	if err := e.dpop.prove(req); err != nil {
		return 0, nil, nil, err
	}
	encoded := form.Encode()
	req.Body = io.NopCloser(strings.NewReader(encoded))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(encoded)), nil }
	req.ContentLength = int64(len(encoded))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")

	resp, err := e.client.Do(req)
	if err != nil {
		return 0, nil, nil, &NetworkError{Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodySize+1))
	if err != nil {
		return 0, nil, nil, &NetworkError{Err: err}
	}
	if len(body) > maxBodySize {
		if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
			return 0, nil, nil, &InvalidResponseError{Reason: "body over 1 MiB"}
		}
		body = nil
	}
	return resp.StatusCode, resp.Header, body, nil
}

// errorResponse turns a non-success answer into an *OAuthError when its body
// is an RFC 6749 §5.2 error object, and into an *HTTPError otherwise.
func errorResponse(status int, h http.Header, body []byte, now time.Time) error {
	ra := parseRetryAfter(status, h, now)
	if oe := parseOAuthError(status, body); oe != nil {
		oe.retryAfter = ra
		return oe
	}
	return &HTTPError{StatusCode: status, ContentType: printable(h.Get("Content-Type"), 64), retryAfter: ra}
}

// parseOAuthError returns the error object in body, or nil if body is not
// JSON with a non-empty string "error" field.
func parseOAuthError(status int, body []byte) *OAuthError {
	var raw struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		URI         string `json:"error_uri"`
	}
	if json.Unmarshal(body, &raw) != nil || raw.Error == "" {
		return nil
	}
	return &OAuthError{StatusCode: status, Code: raw.Error, Description: raw.Description, URI: raw.URI}
}

// rawTokenResponse is the wire form of RFC 6749 §5.1. Fields whose type
// varies between servers are decoded by hand.
type rawTokenResponse struct {
	AccessToken  *string         `json:"access_token"`
	TokenType    string          `json:"token_type"`
	ExpiresIn    json.RawMessage `json:"expires_in"`
	RefreshToken string          `json:"refresh_token"`
	Scope        json.RawMessage `json:"scope"`
	Error        string          `json:"error"`
}

// parseTokenResponse parses a success answer received at now. A body that is
// an error object (some servers answer 200 with {"error": ...}) becomes an
// *OAuthError; anything unusable an *InvalidResponseError.
//
// expires_in may be a JSON number or a numeric string (both are seen in the
// wild). Absent, it leaves expiresAt zero: the lifetime is unknown and the
// token is used until a service rejects it. Zero, negative, non-finite or
// over a year, it is refused: a token that is already expired would make the
// cache ask for a new one on every call.
func parseTokenResponse(status int, body []byte, now time.Time) (tokenResponse, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return tokenResponse{}, &InvalidResponseError{Reason: "empty body"}
	}
	if body[0] != '{' {
		return tokenResponse{}, &InvalidResponseError{Reason: "body is not a JSON object"}
	}
	var raw rawTokenResponse
	if err := json.Unmarshal(body, &raw); err != nil {
		return tokenResponse{}, &InvalidResponseError{Reason: jsonReason(err, len(body))}
	}
	if raw.Error != "" && raw.AccessToken == nil {
		return tokenResponse{}, parseOAuthError(status, body)
	}
	if raw.AccessToken == nil || *raw.AccessToken == "" {
		return tokenResponse{}, &InvalidResponseError{Reason: "missing access_token"}
	}
	if !headerSafe(*raw.AccessToken) {
		return tokenResponse{}, &InvalidResponseError{Reason: "access_token has characters not allowed in a header"}
	}
	if !headerSafe(raw.RefreshToken) {
		return tokenResponse{}, &InvalidResponseError{Reason: "refresh_token has characters not allowed in a header"}
	}
	tokenType, err := parseTokenType(raw.TokenType)
	if err != nil {
		return tokenResponse{}, err
	}
	lifetime, err := parseExpiresIn(raw.ExpiresIn)
	if err != nil {
		return tokenResponse{}, err
	}
	r := tokenResponse{
		accessToken:  tokenactor.NewSecretToken(*raw.AccessToken),
		tokenType:    tokenType,
		refreshToken: tokenactor.NewSecretToken(raw.RefreshToken),
		scope:        parseScope(raw.Scope),
	}
	if lifetime > 0 {
		r.expiresAt = now.Add(lifetime)
	}
	return r, nil
}

// jsonReason describes an error decoding a body of size n without quoting
// the body.
func jsonReason(err error, n int) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF):
		return "empty"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated JSON"
	case errors.As(err, &syntaxErr) && syntaxErr.Offset >= int64(n) && strings.HasPrefix(syntaxErr.Error(), "unexpected end"):
		return "truncated JSON"
	case errors.As(err, &typeErr):
		return "field " + printable(typeErr.Field, 64) + " has the wrong JSON type"
	}
	return "malformed JSON"
}

// parseTokenType returns the token type, "Bearer" when absent (as most
// clients assume) and normalised to "Bearer" in any letter case.
func parseTokenType(s string) (string, error) {
	if s == "" || strings.EqualFold(s, "bearer") {
		return "Bearer", nil
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return "", &InvalidResponseError{Reason: "token_type is not a valid scheme name"}
		}
	}
	if len(s) > 64 {
		return "", &InvalidResponseError{Reason: "token_type too long"}
	}
	return s, nil
}

// parseExpiresIn returns the lifetime in raw, or zero if raw is absent or
// null.
func parseExpiresIn(raw json.RawMessage) (time.Duration, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	text := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &text); err != nil {
			return 0, &InvalidResponseError{Reason: "expires_in is not a number"}
		}
	}
	secs, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
	switch {
	case err != nil || math.IsNaN(secs) || math.IsInf(secs, 0):
		return 0, &InvalidResponseError{Reason: "expires_in is not a number"}
	case secs <= 0:
		return 0, &InvalidResponseError{Reason: "expires_in is not positive"}
	case secs > maxLifetime.Seconds():
		return 0, &InvalidResponseError{Reason: "expires_in is over a year"}
	}
	return time.Duration(secs * float64(time.Second)), nil
}

// parseScope accepts a space-separated string (RFC 6749 §3.3) or, leniently,
// an array of strings. Anything else is ignored: scope is informational.
func parseScope(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return strings.Join(list, " ")
	}
	return ""
}

// headerSafe reports whether s can go into an HTTP header value as is: no
// control characters, no non-ASCII bytes.
func headerSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}
