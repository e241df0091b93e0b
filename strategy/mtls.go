package strategy

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
)

// NewMTLSClient returns an *http.Client that presents cert on every TLS
// connection and trusts the servers roots vouches for (nil: the system's
// roots), for mutual TLS (RFC 8705):
//
//   - as the HTTPClient of an [AccessKeyConfig] with TLSClientAuth, it
//     authenticates the client to the token endpoint with the certificate
//     (§2) instead of a secret, and as that of an [EndpointConfig] with
//     TLSClientAuth, to the revocation and introspection endpoints;
//   - its Transport as the Base of an httpauth.Transport presents the
//     same certificate to the resource servers, which is what a
//     certificate-bound token (§3, cnf "x5t#S256") requires: such a token
//     is refused on a connection without the certificate it is bound to.
//
// Like the client used when a config has none, it gives up on a request
// after 30 s and does not follow redirects. Its Transport is a clone of
// http.DefaultTransport (a new *http.Transport if that was replaced), with
// its own connections. The client is safe for concurrent use.
func NewMTLSClient(cert tls.Certificate, roots *x509.CertPool) *http.Client {
	t, ok := http.DefaultTransport.(*http.Transport)
	if ok {
		t = t.Clone()
	} else {
		t = &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true}
	}
	t.TLSClientConfig = &tls.Config{
		Certificates: []tls.Certificate{cert},
		RootCAs:      roots,
		MinVersion:   tls.VersionTLS12,
	}
	c := defaultHTTPClient()
	c.Transport = t
	return c
}
