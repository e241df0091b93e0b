// Package benchmarks puts tokenactor beside the token caches Go services use
// today, driven through their public APIs by the scenarios of
// internal/benchkit: golang.org/x/oauth2's ReuseTokenSource,
// cloud.google.com/go/auth's NewCachedTokenProvider, aws-sdk-go-v2's
// CredentialsCache, and the keyed cache github.com/maypok86/otter/v2.
//
// It is a module of its own so that the library's go.mod stays lean.
package benchmarks

import (
	"context"
	"time"

	"cloud.google.com/go/auth"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/maypok86/otter/v2"
	"golang.org/x/oauth2"

	"github.com/tokenactor/tokenactor/internal/benchkit"
)

// Engines are the caches compared, tokenactor first.
var Engines = []benchkit.Engine{
	benchkit.Tokenactor("tokenactor"),
	{Name: "oauth2", New: newOAuth2},
	{Name: "googleauth", New: newGoogleAuth},
	{Name: "aws", New: newAWS},
	{Name: "otter", New: newOtter},
}

// oauth2Cache is oauth2.ReuseTokenSourceWithExpiry over the upstream.
type oauth2Cache struct{ ts oauth2.TokenSource }

func newOAuth2(u *benchkit.Upstream, window time.Duration) benchkit.Cache {
	src := oauth2Source{u: u}
	return oauth2Cache{ts: oauth2.ReuseTokenSourceWithExpiry(nil, src, window)}
}

// Get ignores ctx: oauth2.TokenSource.Token takes none.
func (c oauth2Cache) Get(context.Context) (string, error) {
	t, err := c.ts.Token()
	if err != nil {
		return "", err
	}
	return t.AccessToken, nil
}

type oauth2Source struct{ u *benchkit.Upstream }

func (s oauth2Source) Token() (*oauth2.Token, error) {
	t, err := s.u.Fetch(context.Background())
	if err != nil {
		return nil, err
	}
	return &oauth2.Token{AccessToken: t.Value, TokenType: "Bearer", Expiry: t.ExpiresAt}, nil
}

// googleAuthCache is auth.NewCachedTokenProvider (asynchronous refresh, the
// default) over the upstream.
type googleAuthCache struct{ tp auth.TokenProvider }

func newGoogleAuth(u *benchkit.Upstream, window time.Duration) benchkit.Cache {
	tp := auth.NewCachedTokenProvider(googleAuthProvider{u: u}, &auth.CachedTokenProviderOptions{ExpireEarly: window})
	return googleAuthCache{tp: tp}
}

func (c googleAuthCache) Get(ctx context.Context) (string, error) {
	t, err := c.tp.Token(ctx)
	if err != nil {
		return "", err
	}
	return t.Value, nil
}

type googleAuthProvider struct{ u *benchkit.Upstream }

func (p googleAuthProvider) Token(ctx context.Context) (*auth.Token, error) {
	t, err := p.u.Fetch(ctx)
	if err != nil {
		return nil, err
	}
	return &auth.Token{Value: t.Value, Type: "Bearer", Expiry: t.ExpiresAt}, nil
}

// awsCache is aws.NewCredentialsCache over the upstream, the token in
// AccessKeyID.
type awsCache struct{ cc *aws.CredentialsCache }

func newAWS(u *benchkit.Upstream, window time.Duration) benchkit.Cache {
	provider := aws.CredentialsProviderFunc(func(ctx context.Context) (aws.Credentials, error) {
		t, err := u.Fetch(ctx)
		if err != nil {
			return aws.Credentials{}, err
		}
		return aws.Credentials{AccessKeyID: t.Value, SecretAccessKey: "unused", CanExpire: true, Expires: t.ExpiresAt}, nil
	})
	cc := aws.NewCredentialsCache(provider, func(o *aws.CredentialsCacheOptions) { o.ExpiryWindow = window })
	return awsCache{cc: cc}
}

func (c awsCache) Get(ctx context.Context) (string, error) {
	creds, err := c.cc.Retrieve(ctx)
	if err != nil {
		return "", err
	}
	return creds.AccessKeyID, nil
}

// otterCache is an otter.Cache holding the token under one key: it expires
// with the token and is reloaded in the background from window before.
type otterCache struct {
	c      *otter.Cache[string, otterToken]
	loader otter.Loader[string, otterToken]
}

type otterToken struct {
	value     string
	expiresAt time.Time
}

const otterKey = "token"

func newOtter(u *benchkit.Upstream, window time.Duration) benchkit.Cache {
	c, loader := newOtterParts(u, window, 0)
	return otterCache{c: c, loader: loader}
}

// newOtterParts returns an otter cache whose entries expire with their
// token and are reloaded in the background from window before, holding at
// most max entries (0: no bound), and the loader that fetches from u.
func newOtterParts(u *benchkit.Upstream, window time.Duration, max int) (*otter.Cache[string, otterToken], otter.Loader[string, otterToken]) {
	c := otter.Must(&otter.Options[string, otterToken]{
		MaximumSize: max,
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[string, otterToken]) time.Duration {
			return time.Until(e.Value.expiresAt)
		}),
		RefreshCalculator: otter.RefreshWritingFunc(func(e otter.Entry[string, otterToken]) time.Duration {
			return time.Until(e.Value.expiresAt) - window
		}),
	})
	loader := otter.LoaderFunc[string, otterToken](func(ctx context.Context, _ string) (otterToken, error) {
		t, err := u.Fetch(ctx)
		if err != nil {
			return otterToken{}, err
		}
		return otterToken{value: t.Value, expiresAt: t.ExpiresAt}, nil
	})
	return c, loader
}

// Close stops the cache's maintenance goroutine.
func (c otterCache) Close() error {
	c.c.StopAllGoroutines()
	return nil
}

func (c otterCache) Get(ctx context.Context) (string, error) {
	t, err := c.c.Get(ctx, otterKey, c.loader)
	if err != nil {
		return "", err
	}
	return t.value, nil
}
