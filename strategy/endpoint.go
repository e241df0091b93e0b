package strategy

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

	// defaultTimeout bounds every request to an authorization server,
	// answer body included, whatever the HTTP client and the context say:
	// a server that drips its answer must not hold a login or a refresh
	// for ever.
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
	case AuthStyleDetect:
		return "detect"
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
// whole-request timeout. Redirects are refused for every client (see
// endpoint.post).
func defaultHTTPClient() *http.Client {
	return &http.Client{Timeout: defaultTimeout}
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
	// memo remembers the style that worked, for AuthStyleDetect; shared by
	// the endpoints of one strategy, nil for none.
	memo *styleMemo
	// name is what errors call the endpoint; empty means "token".
	name string
}

// A tokenResponse is a successful token endpoint answer (RFC 6749 §5.1),
// with expires_in already turned into an absolute time.
type tokenResponse struct {
	accessToken  tokenactor.SecretToken
	tokenType    string
	expiresAt    time.Time // zero if the server gave no lifetime
	refreshAt    time.Time // the server's refresh hint; zero if none
	refreshToken tokenactor.SecretToken
	scope        string
}

// serviceToken returns the part of r a service needs.
func (r tokenResponse) serviceToken() tokenactor.ServiceToken {
	return tokenactor.ServiceToken{AccessToken: r.accessToken, TokenType: r.tokenType, ExpiresAt: r.expiresAt}
}

// token posts a grant to the token endpoint and parses the answer. Its
// errors are an *OAuthError, *HTTPError, *InvalidResponseError,
// *RedirectError or *NetworkError, with the request's secrets masked.
//
// When the answer carried a usable refresh token but is refused for
// another reason (no access token, a lifetime out of range, a bad token
// type), the refresh token comes back with the error: the server may have
// rotated the old one already.
func (e *endpoint) token(ctx context.Context, form url.Values) (r tokenResponse, err error) {
	err = e.call(ctx, form, func(status int, h http.Header, body []byte, now time.Time, sc *scrubber) error {
		if status < 200 || status > 299 {
			return errorResponse(status, h, body, now)
		}
		if r, err = parseTokenResponse(status, body, now); err == nil {
			err = sc.checkIssued(&r)
		}
		return err
	})
	return r, err
}

// call posts form to the endpoint and hands the answer, received at now,
// to parse, with the scrubber of the request for what parse keeps. Every
// error it returns, parse's included, has the request's secrets masked:
// this is where server text enters the package.
func (e *endpoint) call(ctx context.Context, form url.Values, parse func(status int, h http.Header, body []byte, now time.Time, sc *scrubber) error) error {
	sc := newScrubber(e.auth, nil) // the form's secrets, below, attempt by attempt
	for attempt := 0; ; attempt++ {
		// A fresh client assertion per request, known to the scrubber
		// with those of the earlier attempts.
		if err := e.auth.key.addAssertion(form, e.auth.id, e.url, e.clock.Now()); err != nil {
			return err
		}
		sc.addForm(form)
		status, header, body, err := e.post(ctx, form, sc)
		if err == nil && attempt == 0 && e.dpop.retry(e.url, status, header, body) {
			continue // once, with the nonce the server gave (RFC 9449 §8)
		}
		if err == nil {
			// A lifetime counts from receipt: the moment the answer is here.
			err = parse(status, header, body, e.clock.Now(), sc)
		}
		return e.named(sc.scrub(err))
	}
}

// post sends form with the client's credentials and returns the answer,
// its body read up to maxBodySize. A body over the limit comes back as nil
// with an *InvalidResponseError for a success status, and as nil without an
// error otherwise (the status alone then describes the failure). A
// redirect is refused (see [RedirectError]), whatever the client's own
// redirect policy. The whole exchange is bounded by defaultTimeout.
func (e *endpoint) post(ctx context.Context, form url.Values, sc *scrubber) (int, http.Header, []byte, error) {
	if e.auth.style == AuthStyleDetect && !e.auth.secret.IsZero() {
		return e.postDetect(ctx, form, sc)
	}
	ctx, cancel := context.WithTimeout(ctx, defaultTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, nil)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("strategy: bad endpoint URL: %w", err)
	}
	e.auth.apply(req, form)
	proof, err := e.dpop.prove(req)
	if err != nil {
		return 0, nil, nil, err
	}
	sc.add(proof)
	encoded := form.Encode()
	req.Body = io.NopCloser(strings.NewReader(encoded))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(encoded)), nil }
	req.ContentLength = int64(len(encoded))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")

	resp, err := noRedirects(e.client, sc).Do(req)
	if re, ok := asRedirect(err); ok {
		return 0, nil, nil, re
	}
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
	return &HTTPError{StatusCode: status, ContentType: h.Get("Content-Type"), retryAfter: ra}
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
	RefreshIn    json.RawMessage `json:"refresh_in"`
	Error        string          `json:"error"`
}

// parseTokenResponse parses a success answer received at now. A body that is
// an error object (some servers answer 200 with {"error": ...}) becomes an
// *OAuthError; anything unusable an *InvalidResponseError.
//
// expires_in and refresh_in are read by parseExpiresIn and parseRefreshIn.
// Once the body is a JSON object, a header-safe refresh_token in it comes
// back even with an error: the server may have rotated the old one, which
// must then never be sent again.
func parseTokenResponse(status int, body []byte, now time.Time) (tokenResponse, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return tokenResponse{}, &InvalidResponseError{Reason: "empty body"}
	}
	if body[0] != '{' {
		return tokenResponse{}, &InvalidResponseError{Reason: "body is not a JSON object"}
	}
	var raw rawTokenResponse
	err := json.Unmarshal(body, &raw)
	var typeErr *json.UnmarshalTypeError
	if err != nil && !errors.As(err, &typeErr) {
		return tokenResponse{}, &InvalidResponseError{Reason: jsonReason(err, len(body))}
	}
	// The decoder fills every field it can despite a type error, so a
	// refresh token is known from here on.
	var kept tokenResponse
	if raw.RefreshToken != "" && headerSafe(raw.RefreshToken) {
		kept.refreshToken = tokenactor.NewSecretToken(raw.RefreshToken)
	}
	refuse := func(err error) (tokenResponse, error) { return kept, err }
	switch {
	case err != nil:
		return refuse(&InvalidResponseError{Reason: jsonReason(err, len(body))})
	case raw.Error != "" && raw.AccessToken == nil:
		return refuse(parseOAuthError(status, body))
	case raw.AccessToken == nil || *raw.AccessToken == "":
		return refuse(&InvalidResponseError{Reason: "missing access_token"})
	case !headerSafe(*raw.AccessToken):
		return refuse(&InvalidResponseError{Reason: "access_token has characters not allowed in a header"})
	case !headerSafe(raw.RefreshToken):
		return refuse(&InvalidResponseError{Reason: "refresh_token has characters not allowed in a header"})
	}
	tokenType, err := parseTokenType(raw.TokenType)
	if err != nil {
		return refuse(err)
	}
	lifetime, err := parseExpiresIn(raw.ExpiresIn)
	if err != nil {
		return refuse(err)
	}
	r := tokenResponse{
		accessToken:  tokenactor.NewSecretToken(*raw.AccessToken),
		tokenType:    tokenType,
		refreshToken: kept.refreshToken,
		scope:        parseScope(raw.Scope),
	}
	if lifetime > 0 {
		r.expiresAt = expiryAt(now, lifetime)
		if hint := parseRefreshIn(raw.RefreshIn, lifetime); hint > 0 {
			r.refreshAt = expiryAt(now, hint)
		}
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
