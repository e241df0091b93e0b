package oauth2adapt

import (
	"net/http"

	"golang.org/x/oauth2"

	"github.com/tokenactor/tokenactor"
)

// NewClient returns an *http.Client that authorizes every request with a
// token from s through an [oauth2.Transport] over base (nil means
// http.DefaultTransport), and reports every 401 answer to s with
// [tokenactor.Reject], so the next request carries a new token.
//
// Use it, or [Transport], rather than oauth2.NewClient(ctx,
// TokenSource(s)): oauth2.NewClient wraps the source in
// oauth2.ReuseTokenSource, which keeps handing out a token a server
// rejected until that token's expiry, whatever s knows. (It also adds the
// token to requests bound for any host; to limit where the token goes and
// retry a rejected request once, use httpauth instead.)
func NewClient(s tokenactor.AuthStrategy, base http.RoundTripper) *http.Client {
	return &http.Client{Transport: &Transport{Strategy: s, Base: base}}
}

// A Transport is an [http.RoundTripper] for code written against x/oauth2:
// it gets a token from Strategy with the request's context for each
// request, sends the request through an [oauth2.Transport] (which sets the
// Authorization header on a copy, never on the caller's request), and when
// the answer is 401 reports that token to Strategy with [tokenactor.Reject].
// The 401 is returned as it is; the request is not retried.
//
// Strategy is required; Base may be nil (http.DefaultTransport). Do not
// change the fields after the first request. A Transport is safe for
// concurrent use if Strategy and Base are.
type Transport struct {
	// Strategy supplies the tokens. Required.
	Strategy tokenactor.AuthStrategy
	// Base sends the requests. Nil means http.DefaultTransport.
	Base http.RoundTripper
}

// RoundTrip sends req with a token. It returns when the answer's header
// has arrived or sending failed; req.Body is closed even on error, as the
// RoundTripper contract requires. A failure to get a token is returned
// unwrapped, as the strategy reported it.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.Strategy == nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, errNilStrategy
	}
	tok, err := t.Strategy.Get(req.Context())
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	// One token per request: the static source hands oauth2.Transport
	// exactly the token this request carries, so a 401 is pinned on it.
	next := &oauth2.Transport{Source: oauth2.StaticTokenSource(oauthToken(tok)), Base: t.Base}
	resp, err := next.RoundTrip(req)
	if err == nil && resp.StatusCode == http.StatusUnauthorized {
		tokenactor.Reject(t.Strategy, tok)
	}
	return resp, err
}

// CloseIdleConnections closes the idle connections of Base (or of
// http.DefaultTransport) if it has such a method, so
// http.Client.CloseIdleConnections reaches the connection pool.
func (t *Transport) CloseIdleConnections() {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	if c, ok := base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// oauthToken converts tok for x/oauth2.
func oauthToken(tok tokenactor.ServiceToken) *oauth2.Token {
	return &oauth2.Token{AccessToken: tok.AccessToken.Reveal(), TokenType: tok.TokenType, Expiry: tok.ExpiresAt}
}
