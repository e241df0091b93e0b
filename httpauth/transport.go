// Package httpauth sends HTTP requests with an access token: make a client
// with [NewClient] (one origin) or a [Transport] (several origins, your own
// base transport), and every request to a trusted origin carries
// "Authorization: <type> <token>", and no other request does. On a 401 the
// rejected token is dropped once for all the requests that saw it
// ([tokenactor.Reject]) and the request is retried with a new one.
//
// The tokens come from any [tokenactor.AuthStrategy]: a strategy of package
// strategy (client credentials, a user session), a
// *tokenactor.Cache[tokenactor.ServiceToken] (for example one sharing its
// token through package store), or your own. For code written against
// golang.org/x/oauth2, see package oauth2adapt.
package httpauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/internal/urls"
)

// ErrNoOrigins is returned by [Transport.RoundTrip] when Transport.Origins is
// empty: a transport that trusts no origin would silently send every request
// without a token, which hides a configuration mistake behind 401 answers.
var ErrNoOrigins = errors.New("httpauth: Transport.Origins is empty")

// An OriginError reports an entry of Transport.Origins that is not an
// absolute http or https URL with a host.
type OriginError struct {
	// Index is the entry's position in Origins.
	Index int
	// Origin is the offending entry with its user info masked as "xxxxx"
	// (a user name can be a token too), or empty if it is not a URL at
	// all: an entry may hold a credential by mistake, and errors end up in
	// logs.
	Origin string
	// Reason says what is wrong with it.
	Reason string
}

// Error describes the entry and what is wrong with it.
func (e *OriginError) Error() string {
	if e.Origin == "" {
		return fmt.Sprintf("httpauth: origin %d: %s", e.Index, e.Reason)
	}
	return fmt.Sprintf("httpauth: origin %d %q: %s", e.Index, e.Origin, e.Reason)
}

// A Transport is an [http.RoundTripper] that adds
// "Authorization: <type> <token>" to each request bound for one of its
// Origins, with the token from Strategy.
//
// # Which requests get the token
//
// Only requests whose scheme, host and port match an entry of Origins
// exactly (the host compared without regard to case, a missing port taken as
// the scheme's default); an Authorization header the caller set on such a
// request is replaced. Any other request, including the later hops of a
// redirect that leaves the trusted origins, is passed to Base unchanged, so
// the token never travels there. This is stricter than net/http on purpose:
// when an [http.Client] follows a redirect it keeps a caller-set
// Authorization header for the same host name on any port, for subdomains,
// and from https to http. Headers this Transport adds are never seen by the
// Client, so they are never copied; each hop comes back through RoundTrip
// and is judged by Origins.
//
// # DPoP
//
// A token of type "DPoP" (RFC 9449) is sent as "Authorization: DPoP
// <token>" with a DPoP header holding a new proof for the request, signed
// by Strategy, which must implement [DPoPProver] (else RoundTrip returns
// [ErrDPoPUnsupported]). A DPoP-Nonce header in any answer is handed to
// the strategy, which remembers it for the origin; a 401 asking for a
// nonce (a DPoP challenge with error="use_dpop_nonce", among any others
// in WWW-Authenticate) is retried once with it when the body can be sent
// again. A nonce challenge is not a rejection of the token: if it stands,
// the 401 is returned and the token kept.
//
// # Rejected tokens
//
// When the server answers 401 Unauthorized, RoundTrip asks Strategy for a
// token again. If it gets the same token, it reports the rejection with
// [tokenactor.Reject] (token-specific with [tokenactor.Cache] and the caching
// strategies), so the rejected token is not served again, and asks once more.
// If it then holds a different token and the request body can be sent again
// (no body, or [http.Request.GetBody] set, as [http.NewRequest] does for
// in-memory bodies), it retries the request once with that token and
// returns the second answer, whatever it is. Otherwise it returns the 401.
// Many requests rejected with one token cause one refresh, not one each.
//
// If the retry is refused too, the server rejects fresh tokens (the client
// lacks a permission, the token is for another audience): later 401s with
// that token are returned as they are, without asking for another, until a
// request with it is accepted or the strategy renews it on its own. A
// server that rejects every token thus costs one extra refresh, not one
// per request.
//
// # Zero value and concurrency
//
// Strategy and Origins must be set; Base may be nil. Do not change the
// fields after the first request. A Transport is safe for concurrent use.
type Transport struct {
	// Strategy supplies the tokens. Required.
	Strategy tokenactor.AuthStrategy

	// Origins lists where the token may be sent, each an absolute URL of
	// which only scheme, host and port count: "https://api.example.com",
	// "http://127.0.0.1:8080". A path, if any, is ignored. Required.
	Origins []string

	// Base sends the requests. Nil means http.DefaultTransport.
	Base http.RoundTripper

	// Set once by the first RoundTrip, read-only afterwards.
	once    sync.Once
	allowed map[origin]bool
	err     error // what was wrong with Origins; nil if nothing

	// rejectedFresh is the token a retry was refused with, if no request
	// was accepted with it since (see futile). Any RoundTrip may set it.
	rejectedFresh atomic.Pointer[tokenactor.SecretToken]
}

// NewClient returns an *http.Client that sends the token from s to origin
// and to nowhere else, over a clone of http.DefaultTransport (or
// http.DefaultTransport itself, if it was replaced by a RoundTripper that is
// not an *http.Transport). Use
// [Transport] directly for several origins or another base transport.
func NewClient(s tokenactor.AuthStrategy, origin string) *http.Client {
	base := http.DefaultTransport
	if dt, ok := base.(*http.Transport); ok {
		base = dt.Clone() // its own connection pool, closed with the client's
	}
	return &http.Client{Transport: &Transport{Strategy: s, Origins: []string{origin}, Base: base}}
}

// RoundTrip sends req, with the token when req goes to a trusted origin. It
// does not modify req: it sends a clone. It returns when the answer's header
// has arrived or sending failed; a failure to get a token is returned
// wrapped, so errors.Is and errors.As see the strategy's error (for example
// tokenactor.ErrNotAuthenticated). As the RoundTripper contract requires,
// req.Body is closed even on error.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.once.Do(t.parseOrigins)
	if t.err != nil {
		closeBody(req)
		return nil, t.err
	}
	if t.Strategy == nil {
		closeBody(req)
		return nil, errors.New("httpauth: Transport.Strategy is nil")
	}
	if !t.allowed[originKey(req.URL)] {
		return t.base().RoundTrip(req)
	}

	ctx := req.Context()
	tok, err := t.Strategy.Get(ctx)
	if err != nil {
		closeBody(req)
		return nil, fmt.Errorf("httpauth: get token: %w", err)
	}
	resp, err := t.send(req, req.Body, tok)
	if err != nil {
		return resp, err
	}
	if resp.StatusCode != http.StatusUnauthorized {
		t.accepted(tok)
		return resp, nil
	}
	if t.futile(tok) || isDPoP(tok) && nonceChallenge(resp) {
		// A nonce challenge still standing (sendDPoP retried once, or
		// could not) says nothing against the token: it is kept.
		return resp, nil
	}

	next, ok := t.replacement(ctx, tok)
	if !ok || !replayable(req) {
		return resp, nil
	}
	body := req.Body
	if req.GetBody != nil && body != nil && body != http.NoBody {
		if body, err = req.GetBody(); err != nil {
			return resp, nil // the 401 is the more useful answer
		}
	}
	discard(resp)
	resp, err = t.send(req, body, next)
	if err == nil && resp.StatusCode == http.StatusUnauthorized {
		t.rejectedFresh.Store(&next.AccessToken)
	} else if err == nil {
		t.accepted(next)
	}
	return resp, err
}

// futile reports whether tok is a token the server rejected right after it
// was obtained to replace a rejected one: renewing it again would not help
// (the server rejects every token, for this client or this request), so a
// 401 with it is returned without asking for another.
func (t *Transport) futile(tok tokenactor.ServiceToken) bool {
	p := t.rejectedFresh.Load()
	return p != nil && *p == tok.AccessToken
}

// accepted notes that a request with tok got an answer other than 401: if
// it was marked futile, the server accepts it after all, and a later 401
// with it is a rejection again.
func (t *Transport) accepted(tok tokenactor.ServiceToken) {
	if p := t.rejectedFresh.Load(); p != nil && *p == tok.AccessToken {
		t.rejectedFresh.CompareAndSwap(p, nil)
	}
}

// replacement returns a token other than the rejected one, invalidating the
// strategy's cached token if it still hands out the rejected one. It reports
// false if there is none (Strategy cannot be told, or getting a token failed):
// the caller then returns the 401.
func (t *Transport) replacement(ctx context.Context, rejected tokenactor.ServiceToken) (tokenactor.ServiceToken, bool) {
	tok, err := t.Strategy.Get(ctx)
	if err != nil {
		return tokenactor.ServiceToken{}, false
	}
	if !sameToken(tok, rejected) {
		return tok, true // another request already caused a refresh
	}
	if !tokenactor.Reject(t.Strategy, rejected) {
		return tokenactor.ServiceToken{}, false
	}
	tok, err = t.Strategy.Get(ctx)
	if err != nil || sameToken(tok, rejected) {
		return tokenactor.ServiceToken{}, false
	}
	return tok, true
}

// send sends a clone of req with body and the token's Authorization header.
func (t *Transport) send(req *http.Request, body io.ReadCloser, tok tokenactor.ServiceToken) (*http.Response, error) {
	if isDPoP(tok) {
		return t.sendDPoP(req, body, tok)
	}
	out := req.Clone(req.Context())
	out.Body = body
	out.Header.Set("Authorization", authorization(tok))
	return t.base().RoundTrip(out)
}

func (t *Transport) base() http.RoundTripper {
	if t.Base != nil {
		return t.Base
	}
	return http.DefaultTransport
}

// parseOrigins fills allowed from Origins, or sets err.
func (t *Transport) parseOrigins() {
	if len(t.Origins) == 0 {
		t.err = ErrNoOrigins
		return
	}
	t.allowed = make(map[origin]bool, len(t.Origins))
	for i, o := range t.Origins {
		u, err := url.Parse(o)
		switch {
		case err != nil:
			t.err = &OriginError{Index: i, Reason: "not a URL"}
		case u.Scheme != "http" && u.Scheme != "https":
			t.err = &OriginError{Index: i, Origin: urls.Redact(u), Reason: `scheme must be "http" or "https"`}
		case u.Hostname() == "":
			t.err = &OriginError{Index: i, Origin: urls.Redact(u), Reason: "no host"}
		case u.User != nil:
			t.err = &OriginError{Index: i, Origin: urls.Redact(u), Reason: "user info is not allowed"}
		}
		if t.err != nil {
			t.allowed = nil
			return
		}
		t.allowed[originKey(u)] = true
	}
}

// An origin is a URL's scheme, host and port (RFC 6454), in lower case and
// with the port made explicit.
type origin struct {
	scheme, host, port string
}

// originKey returns u's origin, or the zero origin for a URL that is not
// http or https. It allocates only for a host with upper-case letters.
func originKey(u *url.URL) origin {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	switch {
	case scheme != "http" && scheme != "https":
		return origin{}
	case port != "":
	case scheme == "http":
		port = "80"
	default:
		port = "443"
	}
	return origin{scheme: scheme, host: strings.ToLower(u.Hostname()), port: port}
}

// authorization returns the header value for tok. A missing type means
// Bearer; "bearer" in any case is written "Bearer", as some servers compare
// it case-sensitively although RFC 6750 §2.1 does not.
func authorization(tok tokenactor.ServiceToken) string {
	typ := tok.TokenType
	if typ == "" || strings.EqualFold(typ, "bearer") {
		typ = "Bearer"
	}
	return typ + " " + tok.AccessToken.Reveal()
}

func sameToken(a, b tokenactor.ServiceToken) bool {
	return a.AccessToken.Reveal() == b.AccessToken.Reveal()
}

// replayable reports whether req's body can be sent a second time.
func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// discard closes the body of a 401 about to be retried, without reading
// it: a server that answers the header and then stalls the body must not
// hold up the retry. Closing unread costs the connection, once per
// rejected token.
func discard(resp *http.Response) {
	resp.Body.Close()
}

// CloseIdleConnections closes the idle connections of Base (or of
// http.DefaultTransport) if it has such a method, so
// http.Client.CloseIdleConnections reaches the connection pool, as it does
// for an *http.Transport.
func (t *Transport) CloseIdleConnections() {
	if c, ok := t.base().(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// Format prints the transport's Origins only, for every verb: Strategy may
// be a value that holds a token in fields fmt would print.
func (t *Transport) Format(f fmt.State, verb rune) {
	origins := t.printedOrigins()
	if verb == 'v' && f.Flag('#') {
		fmt.Fprintf(f, "httpauth.Transport{Origins:%#v}", origins)
		return
	}
	if verb == 'v' && f.Flag('+') {
		fmt.Fprintf(f, "{Origins:%v}", origins)
		return
	}
	fmt.Fprintf(f, "{%v}", origins)
}

// LogValue makes log/slog print the transport's Origins only.
func (t *Transport) LogValue() slog.Value {
	return slog.GroupValue(slog.Any("origins", t.printedOrigins()))
}

// printedOrigins are Origins as a Transport prints them: user info masked,
// an entry that is not a URL replaced by a note (either may hold a
// credential put there by mistake).
func (t *Transport) printedOrigins() []string {
	out := make([]string, len(t.Origins))
	for i, o := range t.Origins {
		if u, err := url.Parse(o); err != nil {
			out[i] = "(not a URL)"
		} else {
			out[i] = urls.Redact(u)
		}
	}
	return out
}
