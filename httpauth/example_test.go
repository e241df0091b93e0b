package httpauth_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/httpauth"
)

// staticToken is the simplest AuthStrategy; real code uses a caching one
// from package strategy.
type staticToken string

func (s staticToken) Get(context.Context) (tokenactor.ServiceToken, error) {
	return tokenactor.ServiceToken{AccessToken: tokenactor.NewSecretToken(string(s)), TokenType: "Bearer"}, nil
}

func ExampleNewClient() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "server saw %q", r.Header.Get("Authorization"))
	}))
	defer api.Close()

	client := httpauth.NewClient(staticToken("s3cr3t"), api.URL)
	defer client.CloseIdleConnections()

	resp, err := client.Get(api.URL + "/v1/things")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))
	// Output: server saw "Bearer s3cr3t"
}

func ExampleTransport() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "authorized: %t", r.Header.Get("Authorization") != "")
	}))
	defer api.Close()

	client := &http.Client{Transport: &httpauth.Transport{
		Strategy: staticToken("s3cr3t"),
		Origins:  []string{"https://api.example.com"}, // not api.URL
		Base:     api.Client().Transport,
	}}
	resp, err := client.Get(api.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))
	// Output: authorized: false
}
