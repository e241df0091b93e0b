package oauthtest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tokenactor/tokenactor/oauthtest"
)

// Start a server, get a token with the client credentials grant using
// plain net/http, and use it at the protected resource.
func Example() {
	srv := oauthtest.NewServer(oauthtest.WithClient("my-service", "s3cret"))
	defer srv.Close()

	form := url.Values{"grant_type": {"client_credentials"}}
	req, err := http.NewRequest(http.MethodPost, srv.TokenURL(), strings.NewReader(form.Encode()))
	if err != nil {
		fmt.Println(err)
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("my-service", "s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.StatusCode, tok.TokenType, tok.ExpiresIn)

	api, err := http.NewRequest(http.MethodGet, srv.ResourceURL(), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	api.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	apiResp, err := http.DefaultClient.Do(api)
	if err != nil {
		fmt.Println(err)
		return
	}
	apiResp.Body.Close()
	fmt.Println("api:", apiResp.StatusCode)
	fmt.Println("tokens issued:", srv.Stats().AccessTokens)
	// Output:
	// 200 Bearer 3600
	// api: 200
	// tokens issued: 1
}

// Make the token endpoint refuse the next request with a rate limit, as a
// busy server does, to test a client's retry.
func ExampleServer_FailNext() {
	srv := oauthtest.NewServer()
	defer srv.Close()
	srv.FailNext(oauthtest.EndpointToken, 1, oauthtest.Failure{Status: http.StatusTooManyRequests, RetryAfter: 2 * time.Second})

	for range 2 {
		resp, err := http.PostForm(srv.TokenURL(), url.Values{
			"grant_type":    {"client_credentials"},
			"client_id":     {oauthtest.DefaultClientID},
			"client_secret": {oauthtest.DefaultClientSecret},
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// Output:
	// 429 2
	// 200
}
