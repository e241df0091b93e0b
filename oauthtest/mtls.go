package oauthtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/http/httptest"
	"time"
)

// NewTLSServer starts a [Server] like [NewServer], but over TLS (its URL
// is https) with a certificate of its own, and asking every client for a
// certificate, which it does not require: clients registered with
// [WithClientCertificate] authenticate with theirs (RFC 8705 §2), others
// as usual. An access token issued on a connection with a client
// certificate is bound to it (RFC 8705 §3): the protected resource then
// accepts it only on a connection presenting the same certificate.
//
// Trust the server with [Server.Certificate]. Call [Server.Close] when
// done.
func NewTLSServer(opts ...Option) *Server {
	s := newServer(opts)
	s.ts = httptest.NewUnstartedServer(s)
	s.ts.TLS = &tls.Config{ClientAuth: tls.RequestClientCert, MinVersion: tls.VersionTLS12}
	s.URL = "https://" + s.ts.Listener.Addr().String()
	s.ts.StartTLS()
	return s
}

// Certificate returns the TLS certificate of a server made by
// [NewTLSServer], for the root pool of its clients; nil for any other
// server.
func (s *Server) Certificate() *x509.Certificate {
	if s.ts == nil || s.ts.TLS == nil {
		return nil
	}
	return s.ts.Certificate()
}

// NewClientCertificate returns a new self-signed client certificate and
// its ECDSA P-256 key, valid for a day, with commonName as its subject:
// what [WithClientCertificate] registers and a client presents. Its error
// comes from the standard library's key generation or certificate
// encoding.
func NewClientCertificate(commonName string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: commonName},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}
