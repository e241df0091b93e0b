package strategy_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"net/http"

	"github.com/tokenactor/tokenactor/httpauth"
	"github.com/tokenactor/tokenactor/oauthtest"
	"github.com/tokenactor/tokenactor/strategy"
)

// Authenticate a service with a private key instead of a client secret
// (private_key_jwt): the server knows only the public key.
func ExampleClientKey() {
	_, key, _ := ed25519.GenerateKey(rand.Reader) // in production: loaded, or in a KMS
	srv := oauthtest.NewServer(oauthtest.WithClientKey("billing", key.Public()))
	defer srv.Close()

	s, err := strategy.NewAccessKey(strategy.AccessKeyConfig{
		TokenURL:  srv.TokenURL(),
		ClientID:  "billing",
		ClientKey: &strategy.ClientKey{Signer: key, KeyID: "2026-12"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	tok, err := s.Get(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	req, _ := srv.LastRequest(oauthtest.EndpointToken)
	fmt.Println("token type:", tok.TokenType)
	fmt.Println("assertion type:", req.Form.Get("client_assertion_type"))
	fmt.Println("secret sent:", req.Form.Has("client_secret") || req.Header.Get("Authorization") != "")
	fmt.Printf("%+v\n", strategy.ClientKey{Signer: key, KeyID: "2026-12"}) // never the key
	// Output:
	// token type: Bearer
	// assertion type: urn:ietf:params:oauth:client-assertion-type:jwt-bearer
	// secret sent: false
	// {KeyID:2026-12 Algorithm:EdDSA Lifetime:0s}
}

// Ask for DPoP-bound tokens and call an API with them through httpauth,
// which signs a proof for each request with the strategy's key and
// answers the server's nonce challenges.
func ExampleAccessKeyConfig_dPoP() {
	srv := oauthtest.NewServer(oauthtest.WithDPoPNonce())
	defer srv.Close()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

	s, err := strategy.NewAccessKey(strategy.AccessKeyConfig{
		TokenURL: srv.TokenURL(), ClientID: oauthtest.DefaultClientID, ClientSecret: oauthtest.DefaultClientSecret,
		DPoPKey: key,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	client := httpauth.NewClient(s, srv.URL)
	defer client.CloseIdleConnections()

	resp, err := client.Get(srv.ResourceURL())
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	tok, _ := s.Get(context.Background())
	fmt.Println("token type:", tok.TokenType)
	fmt.Println("api:", resp.StatusCode)
	// Output:
	// token type: DPoP
	// api: 200
}

// Authenticate with a TLS client certificate (RFC 8705) and use the
// certificate-bound token through httpauth over the same certificate.
func ExampleNewMTLSClient() {
	cert, err := oauthtest.NewClientCertificate("billing")
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := oauthtest.NewTLSServer(oauthtest.WithClientCertificate("billing", cert.Leaf))
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())

	mtls := strategy.NewMTLSClient(cert, roots)
	defer mtls.CloseIdleConnections()
	s, err := strategy.NewAccessKey(strategy.AccessKeyConfig{
		TokenURL: srv.TokenURL(), ClientID: "billing", TLSClientAuth: true, HTTPClient: mtls,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	api := &http.Client{Transport: &httpauth.Transport{Strategy: s, Origins: []string{srv.URL}, Base: mtls.Transport}}
	resp, err := api.Get(srv.ResourceURL())
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println("api:", resp.StatusCode)
	// Output:
	// api: 200
}
