package strategy_test

import (
	"context"
	"fmt"
	"time"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/oauthtest"
	"github.com/tokenactor/tokenactor/strategy"
)

// A server that says when to renew (refresh_in, as Microsoft's identity
// platform sends) sets the entry's RefreshAt: the cache renews the token in
// the background at that point instead of at ExpiresAt minus its refresh
// window.
func ExampleAccessKeyConfig_refreshIn() {
	srv := oauthtest.NewServer(
		oauthtest.WithClient("svc", "s3cret"),
		oauthtest.WithLifetime(time.Hour),
		oauthtest.WithRefreshIn(20*time.Minute),
	)
	defer srv.Close()

	r, err := strategy.AccessKeyConfig{TokenURL: srv.TokenURL(), ClientID: "svc", ClientSecret: "s3cret"}.Refresher()
	if err != nil {
		fmt.Println(err)
		return
	}
	e, err := r.Refresh(context.Background(), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("renewed", e.ExpiresAt.Sub(e.RefreshAt), "before it expires")

	// The same refresher in a cache; WithRefreshJitter spreads the refresh
	// points of many independent processes (off by default).
	c := tokenactor.New(r, tokenactor.WithRefreshJitter(0.5))
	defer c.Close()
	tok, err := c.Get(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tok.TokenType, tok.AccessToken)
	// Output:
	// renewed 40m0s before it expires
	// Bearer [REDACTED]
}
