// Package oauth2adapt connects tokenactor to golang.org/x/oauth2, both ways.
//
// To call an API with a strategy's tokens from code built on x/oauth2, use
// [NewClient] (or [Transport]): a 401 answer is reported to the strategy,
// and the next request carries a new token. Do not build the client with
// oauth2.NewClient(ctx, TokenSource(s)): it wraps the source in
// oauth2.ReuseTokenSource, which keeps serving a rejected token until it
// expires. [TokenSource] is for APIs that take an oauth2.TokenSource and
// nothing else (cloud client libraries, gRPC credentials).
//
// The other way, [Refresher] lets a [tokenactor.Cache] keep a token from any
// oauth2.TokenSource fresh, with background refresh, one call in flight and
// backoff. The strategies themselves are in package strategy; package
// httpauth is the transport to use when x/oauth2 is not needed.
package oauth2adapt

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/oauth2"

	"github.com/tokenactor/tokenactor"
)

// errNilStrategy is returned by a Transport without a Strategy.
var errNilStrategy = errors.New("oauth2adapt: Transport.Strategy is nil")

// ErrNoAccessToken is returned when an oauth2.TokenSource hands back a token
// without an access token.
var ErrNoAccessToken = errors.New("oauth2adapt: token source returned no access token")

// ErrDPoP is returned for a DPoP-bound token (RFC 9449): each request with
// it needs a proof signed by the strategy's key, which x/oauth2 cannot add.
// Send such tokens with package httpauth instead.
var ErrDPoP = errors.New("oauth2adapt: a DPoP-bound token needs a proof on each request, which x/oauth2 cannot add; use httpauth")

// TokenSource returns s as an [oauth2.TokenSource], for code written against
// x/oauth2 that takes a source (cloud client libraries, gRPC credentials).
// To build an *http.Client, use [NewClient]: a client made with
// oauth2.NewClient from this source keeps serving a token a server
// rejected (see the package documentation).
//
// oauth2.TokenSource.Token takes no context, so Token calls s.Get with
// context.Background(): it returns when s has a token or fails. For the
// caching strategies that is bounded by the cache's refresh timeout (see
// tokenactor.WithRefreshTimeout). Errors from s are returned unwrapped, so
// errors.Is and errors.As see them as they are.
//
// Do not wrap the result in oauth2.ReuseTokenSource: s already caches, with
// a background refresh where ReuseTokenSource blocks every caller. The
// returned source is safe for concurrent use if s is.
func TokenSource(s tokenactor.AuthStrategy) oauth2.TokenSource {
	return strategySource{s}
}

// strategySource does not keep a context: a TokenSource outlives any one
// request, and a stored context would cancel every later Token call.
type strategySource struct {
	s tokenactor.AuthStrategy
}

func (src strategySource) Token() (*oauth2.Token, error) {
	tok, err := src.s.Get(context.Background())
	if err != nil {
		return nil, err
	}
	return oauthToken(tok)
}

// Refresher returns ts as a [tokenactor.Refresher], so a [tokenactor.Cache]
// can keep a token from any x/oauth2 source fresh:
//
//	cache := tokenactor.New(oauth2adapt.Refresher(cfg.TokenSource(ctx)))
//
// Every Refresh calls ts.Token; every entry is renewable and expires at the
// token's Expiry (never, if Expiry is zero). A token
// without an access token is an error matching [ErrNoAccessToken]; other
// errors from ts are wrapped, so errors.As still finds an
// *oauth2.RetrieveError.
//
// # What ts should be
//
// oauth2.TokenSource.Token takes no context, so the cache's refresh timeout
// and Close cannot interrupt it: give ts an HTTP client with a timeout (the
// oauth2.HTTPClient context value). Prefer a source that fetches a new token
// on every call, such as a func calling clientcredentials.Config.Token.
// A caching source (oauth2.ReuseTokenSource, which Config.TokenSource
// returns) hands back its current token until 10 s before expiry; the cache
// then stores the same token again, shrinks its refresh window to half the
// remaining lifetime (see tokenactor.WithRefreshWindow), and asks again
// later: a few extra calls per token, never a loop.
func Refresher(ts oauth2.TokenSource) tokenactor.Refresher[tokenactor.ServiceToken] {
	return tokenactor.RefresherFunc[tokenactor.ServiceToken](func(ctx context.Context, _ *tokenactor.Entry[tokenactor.ServiceToken]) (tokenactor.Entry[tokenactor.ServiceToken], error) {
		return fetch(ctx, ts)
	})
}

// fetch asks ts for a token: a new one, or its current one (see Refresher).
func fetch(ctx context.Context, ts oauth2.TokenSource) (tokenactor.Entry[tokenactor.ServiceToken], error) {
	var e tokenactor.Entry[tokenactor.ServiceToken]
	if err := ctx.Err(); err != nil {
		return e, err
	}
	tok, err := ts.Token()
	if err != nil {
		return e, fmt.Errorf("oauth2adapt: token source: %w", err)
	}
	if tok == nil || tok.AccessToken == "" {
		return e, ErrNoAccessToken
	}
	return tokenactor.Entry[tokenactor.ServiceToken]{
		Value: tokenactor.ServiceToken{
			AccessToken: tokenactor.NewSecretToken(tok.AccessToken),
			TokenType:   tok.Type(),
			ExpiresAt:   tok.Expiry,
		},
		ExpiresAt: tok.Expiry,
	}, nil
}
