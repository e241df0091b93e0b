package oauth2adapt

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"

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
//
// A server that rejects every token (the client lacks a permission) would
// make each request renew the token. So a token obtained after a rejection
// and refused at its first use is not reported again: its 401s are
// returned as they are until a request with it is accepted or the strategy
// renews it on its own. Such a server costs one extra refresh, not one per
// request.
type Transport struct {
	// Strategy supplies the tokens. Required.
	Strategy tokenactor.AuthStrategy
	// Base sends the requests. Nil means http.DefaultTransport.
	Base http.RoundTripper

	// What the answers said about tokens; any RoundTrip reads and writes
	// them. rejected is the token last reported, until one is accepted;
	// accepted the token last accepted; futile a replacement refused at its
	// first use.
	rejected, accepted, futile atomic.Pointer[tokenactor.SecretToken]
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
	otok, err := oauthToken(tok)
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	// One token per request: the static source hands oauth2.Transport
	// exactly the token this request carries, so a 401 is pinned on it.
	next := &oauth2.Transport{Source: oauth2.StaticTokenSource(otok), Base: t.Base}
	resp, err := next.RoundTrip(req)
	switch {
	case err != nil:
	case resp.StatusCode == http.StatusUnauthorized:
		t.refused(tok)
	default:
		t.ok(tok)
	}
	return resp, err
}

// refused handles a 401 answer to a request made with tok.
func (t *Transport) refused(tok tokenactor.ServiceToken) {
	at := tok.AccessToken
	if is(t.futile.Load(), at) {
		return
	}
	if r := t.rejected.Load(); r != nil && *r != at && !is(t.accepted.Load(), at) {
		t.futile.Store(&at) // the replacement of a rejected token, refused at once
		return
	}
	t.rejected.Store(&at)
	tokenactor.Reject(t.Strategy, tok)
}

// ok handles any other answer to a request made with tok.
func (t *Transport) ok(tok tokenactor.ServiceToken) {
	at := tok.AccessToken
	if !is(t.accepted.Load(), at) {
		t.accepted.Store(&at)
		t.rejected.Store(nil)
	}
	if f := t.futile.Load(); is(f, at) {
		t.futile.CompareAndSwap(f, nil)
	}
}

func is(p *tokenactor.SecretToken, at tokenactor.SecretToken) bool { return p != nil && *p == at }

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

// oauthToken converts tok for x/oauth2, which can send only tokens that
// need no proof of possession.
func oauthToken(tok tokenactor.ServiceToken) (*oauth2.Token, error) {
	if strings.EqualFold(tok.TokenType, "DPoP") {
		return nil, ErrDPoP
	}
	return &oauth2.Token{AccessToken: tok.AccessToken.Reveal(), TokenType: tok.TokenType, Expiry: tok.ExpiresAt}, nil
}

// Format prints the transport's type only, for every verb: Strategy may be
// a value that holds a token in fields fmt would print.
func (t *Transport) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, "oauth2adapt.Transport{}")
		return
	}
	fmt.Fprint(f, "{}")
}

// LogValue makes log/slog print nothing of the transport's state.
func (t *Transport) LogValue() slog.Value { return slog.GroupValue() }
