package strategy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/strategy"
)

func ExampleDiscovery_Metadata() {
	// An authorization server on loopback that publishes its metadata
	// (RFC 8414) at its origin.
	var issuer string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/oauth-authorization-server" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{
			"issuer":              issuer,
			"token_endpoint":      issuer + "/oauth/token",
			"revocation_endpoint": issuer + "/oauth/revoke",
		})
	}))
	defer srv.Close()
	issuer = srv.URL

	var d strategy.Discovery // the zero value is ready; share one to share its cache
	md, err := d.Metadata(context.Background(), issuer)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(strings.TrimPrefix(md.TokenEndpoint, issuer))
	fmt.Println(strings.TrimPrefix(md.RevocationEndpoint, issuer))
	fmt.Println(md.DeviceAuthorizationEndpoint == "") // this server has none
	// Output:
	// /oauth/token
	// /oauth/revoke
	// true
}

func ExampleRevoke() {
	// A revocation endpoint (RFC 7009) on loopback.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		fmt.Println("revoking a", r.PostForm.Get("token_type_hint"), "for", r.PostForm.Get("client_id"))
	}))
	defer srv.Close()

	err := strategy.Revoke(context.Background(), strategy.EndpointConfig{URL: srv.URL, ClientID: "cli"},
		tokenactor.NewSecretToken("the-refresh-token"), strategy.HintRefreshToken)
	fmt.Println("revoked:", err == nil)
	// Output:
	// revoking a refresh_token for cli
	// revoked: true
}
