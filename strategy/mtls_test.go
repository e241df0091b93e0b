package strategy_test

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"strings"
	"testing"

	"github.com/tokenactor/tokenactor/httpauth"
	"github.com/tokenactor/tokenactor/oauthtest"
	"github.com/tokenactor/tokenactor/strategy"
)

func newCert(t *testing.T, cn string) tls.Certificate {
	t.Helper()
	c, err := oauthtest.NewClientCertificate(cn)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func roots(srv *oauthtest.Server) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(srv.Certificate())
	return p
}

// A client authenticates with its certificate, and the token it gets is
// usable only on connections presenting that certificate.
func TestMTLSClientAuthAndBoundToken(t *testing.T) {
	cert := newCert(t, "svc")
	srv := oauthtest.NewTLSServer(oauthtest.WithClientCertificate("svc", cert.Leaf))
	defer srv.Close()
	hc := strategy.NewMTLSClient(cert, roots(srv))
	defer hc.CloseIdleConnections()
	s, err := strategy.NewAccessKey(strategy.AccessKeyConfig{
		TokenURL: srv.TokenURL(), ClientID: "svc", TLSClientAuth: true, HTTPClient: hc,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	with := &http.Client{Transport: &httpauth.Transport{Strategy: s, Origins: []string{srv.URL}, Base: hc.Transport}}
	resp, err := with.Get(srv.ResourceURL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("with the certificate: status %d, want 200", resp.StatusCode)
	}
	req, _ := srv.LastRequest(oauthtest.EndpointToken)
	if req.Form.Has("client_secret") || req.Header.Get("Authorization") != "" || req.Form.Get("client_id") != "svc" {
		t.Errorf("token request: form %v, Authorization %q; want client_id only", req.Form, req.Header.Get("Authorization"))
	}

	// The same token over a connection with another certificate (a
	// stolen token replayed elsewhere) is refused.
	other := strategy.NewMTLSClient(newCert(t, "thief"), roots(srv))
	defer other.CloseIdleConnections()
	without := &http.Client{Transport: &httpauth.Transport{Strategy: s, Origins: []string{srv.URL}, Base: other.Transport}}
	resp, err = without.Get(srv.ResourceURL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "RFC 8705") {
		t.Errorf("with another certificate: status %d %q, want 401 for a certificate-bound token", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}

func TestMTLSWrongOrMissingCertificate(t *testing.T) {
	registered := newCert(t, "svc")
	srv := oauthtest.NewTLSServer(oauthtest.WithClientCertificate("svc", registered.Leaf))
	defer srv.Close()
	tests := []struct {
		name string
		give *http.Client
		want string
	}{
		{name: "wrong certificate", give: strategy.NewMTLSClient(newCert(t, "svc"), roots(srv)), want: "not the one registered"},
		{name: "no certificate", give: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots(srv)}}}, want: "must present its TLS client certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer tt.give.CloseIdleConnections()
			s, err := strategy.NewAccessKey(strategy.AccessKeyConfig{
				TokenURL: srv.TokenURL(), ClientID: "svc", TLSClientAuth: true, HTTPClient: tt.give,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			_, err = s.Get(t.Context())
			oe := refusal(t, err)
			if oe.Code != "invalid_client" || !strings.Contains(oe.Description, tt.want) {
				t.Errorf("refusal = %q %q, want invalid_client: %s", oe.Code, oe.Description, tt.want)
			}
		})
	}
}
