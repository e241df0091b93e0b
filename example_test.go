package tokenactor_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tokenactor/tokenactor"
)

// counter returns a Refresher that mints a numbered token valid for an
// hour on each call.
func counter() tokenactor.RefresherFunc[string] {
	issued := 0 // touched only by the cache's worker, one call at a time
	return func(ctx context.Context, previous *tokenactor.Entry[string]) (tokenactor.Entry[string], error) {
		issued++
		return tokenactor.Entry[string]{
			Value:     fmt.Sprintf("token-%d", issued),
			ExpiresAt: time.Now().Add(time.Hour),
		}, nil
	}
}

func ExampleNew() {
	fetch := func(ctx context.Context, previous *tokenactor.Entry[string]) (tokenactor.Entry[string], error) {
		return tokenactor.Entry[string]{Value: "token-1", ExpiresAt: time.Now().Add(time.Hour)}, nil
	}
	cache := tokenactor.New(tokenactor.RefresherFunc[string](fetch))
	defer cache.Close()

	tok, err := cache.Get(context.Background())
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println(tok)
	// Output: token-1
}

func ExampleCache_Invalidate() {
	cache := tokenactor.New[string](counter())
	defer cache.Close()
	ctx := context.Background()

	for range 2 {
		tok, err := cache.Get(ctx)
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		fmt.Println(tok)
		cache.Invalidate() // a server answered 401 with it
	}
	// Output:
	// token-1
	// token-2
}

func ExampleRefresher() {
	noCredentials := func(ctx context.Context, previous *tokenactor.Entry[string]) (tokenactor.Entry[string], error) {
		return tokenactor.Entry[string]{}, fmt.Errorf("no key in the environment: %w", tokenactor.ErrNotAuthenticated)
	}
	cache := tokenactor.New(tokenactor.RefresherFunc[string](noCredentials))
	defer cache.Close()

	_, err := cache.Get(context.Background())
	fmt.Println(errors.Is(err, tokenactor.ErrNotAuthenticated))
	fmt.Println(err)
	// Output:
	// true
	// tokenactor: authenticate: no key in the environment: tokenactor: not authenticated
}

func ExampleSecretToken() {
	tok := tokenactor.ServiceToken{AccessToken: tokenactor.NewSecretToken("s3cr3t"), TokenType: "Bearer"}
	fmt.Printf("%v\n%+v\n", tok.AccessToken, tok)
	fmt.Println(tok.TokenType + " " + tok.AccessToken.Reveal())
	// Output:
	// [REDACTED]
	// {AccessToken:[REDACTED] TokenType:Bearer ExpiresAt:0001-01-01 00:00:00 +0000 UTC}
	// Bearer s3cr3t
}
