package oauth2adapt_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/oauth2adapt"
)

// A cache keeps a token from an x/oauth2 client credentials config fresh.
func ExampleRefresher() {
	// A token endpoint for the example; yours is the authorization server's.
	tokenEndpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"fresh-token","token_type":"bearer","expires_in":3600}`)
	}))
	defer tokenEndpoint.Close()

	cfg := clientcredentials.Config{
		ClientID:     "my-service",
		ClientSecret: "from-your-secret-store",
		TokenURL:     tokenEndpoint.URL,
	}
	// Token takes no context, so give the source a client with a timeout.
	httpClient := &http.Client{Timeout: 10 * time.Second, Transport: tokenEndpoint.Client().Transport}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, httpClient)

	cache := tokenactor.New(oauth2adapt.Refresher(cfg.TokenSource(ctx)))
	defer cache.Close()

	tok, err := cache.Get(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tok.TokenType, tok.AccessToken.Reveal(), tok.AccessToken)
	// Output: Bearer fresh-token [REDACTED]
}

// Any AuthStrategy serves code written against x/oauth2.
func ExampleTokenSource() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "server saw %q", r.Header.Get("Authorization"))
	}))
	defer api.Close()

	var s tokenactor.AuthStrategy = strategyFunc(func(context.Context) (tokenactor.ServiceToken, error) {
		return tokenactor.ServiceToken{AccessToken: tokenactor.NewSecretToken("s3cr3t"), TokenType: "Bearer"}, nil
	})
	client := &http.Client{Transport: &oauth2.Transport{
		Source: oauth2adapt.TokenSource(s),
		Base:   api.Client().Transport,
	}}
	resp, err := client.Get(api.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))
	// Output: server saw "Bearer s3cr3t"
}

// An *http.Client for code built on x/oauth2: a 401 is reported to the
// strategy, and the next request carries a new token.
func ExampleNewClient() {
	issued := 0
	cache := tokenactor.New(tokenactor.RefresherFunc[tokenactor.ServiceToken](func(ctx context.Context, _ *tokenactor.Entry[tokenactor.ServiceToken]) (tokenactor.Entry[tokenactor.ServiceToken], error) {
		issued++
		tok := tokenactor.ServiceToken{AccessToken: tokenactor.NewSecretToken(fmt.Sprintf("token-%d", issued)), TokenType: "Bearer"}
		return tokenactor.Entry[tokenactor.ServiceToken]{Value: tok}, nil
	}))
	defer cache.Close()

	// An API that has revoked token-1.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer token-1" {
			w.WriteHeader(http.StatusUnauthorized)
		}
		fmt.Fprintf(w, "server saw %q", r.Header.Get("Authorization"))
	}))
	defer api.Close()

	client := oauth2adapt.NewClient(cache, api.Client().Transport)
	for range 2 {
		resp, err := client.Get(api.URL)
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, string(body))
	}
	// Output:
	// 401 server saw "Bearer token-1"
	// 200 server saw "Bearer token-2"
}
