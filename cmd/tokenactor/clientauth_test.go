package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/oauthtest"
	"github.com/tokenactor/tokenactor/strategy"
)

// rsaTestKey is made once: an RSA key takes a while to generate.
var rsaTestKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func newECTestKey(t *testing.T, curve elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// writePEM writes the PEM blocks to name in dir, with mode, and returns
// its path.
func writePEM(t *testing.T, dir, name string, mode os.FileMode, blocks ...*pem.Block) string {
	t.Helper()
	var data []byte
	for _, b := range blocks {
		data = append(data, pem.EncodeToMemory(b)...)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // past the umask
		t.Fatal(err)
	}
	return path
}

// pkcs8 is key as a PKCS #8 "PRIVATE KEY" block.
func pkcs8(t *testing.T, key crypto.Signer) *pem.Block {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return &pem.Block{Type: "PRIVATE KEY", Bytes: der}
}

// certBlocks are cert's certificate and its key, as PEM blocks.
func certBlocks(t *testing.T, cert tls.Certificate) (*pem.Block, *pem.Block) {
	t.Helper()
	return &pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}, pkcs8(t, cert.PrivateKey.(crypto.Signer))
}

// trusting is a transport that trusts srv's certificate.
func trusting(t *testing.T, srv *oauthtest.Server) *http.Transport {
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// assertionOf returns the claims and header of the client assertion of
// the last request to e, failing the test if it carried none or a secret.
func assertionOf(t *testing.T, srv *oauthtest.Server, e oauthtest.Endpoint) (header, claims map[string]any) {
	t.Helper()
	req, ok := srv.LastRequest(e)
	if !ok {
		t.Fatalf("no request to the %s endpoint", e)
	}
	if req.Form.Has("client_secret") || req.Header.Get("Authorization") != "" {
		t.Errorf("%s request carried a secret besides the assertion", e)
	}
	parts := strings.Split(req.Form.Get("client_assertion"), ".")
	if len(parts) != 3 {
		t.Fatalf("%s request: no client assertion", e)
	}
	decode := func(s string) map[string]any {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	return decode(parts[0]), decode(parts[1])
}

// noKeyMaterial fails the test if text holds a part of the base64 body of
// a PEM file: a key's bytes never reach an output.
func noKeyMaterial(t *testing.T, text string, pemFile string) {
	t.Helper()
	data, err := os.ReadFile(pemFile)
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(data), "\n") {
		if len(line) >= 16 && !strings.HasPrefix(line, "-----") && strings.Contains(text, line[:16]) {
			t.Errorf("output holds bytes of %s:\n%s", pemFile, text)
		}
	}
}

// Client credentials with a key of each kind and PEM form: the token
// request carries an assertion signed with it, and the token works.
func TestTokenWithClientKeyAgainstOAuthTest(t *testing.T) {
	ec := newECTestKey(t, elliptic.P256())
	ecDER, err := x509.MarshalECPrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tests := []struct {
		name, alg string
		key       crypto.Signer
		block     *pem.Block
	}{
		{name: "RSA PKCS #8", alg: "RS256", key: rsaTestKey(), block: pkcs8(t, rsaTestKey())},
		{name: "RSA PKCS #1", alg: "RS256", key: rsaTestKey(), block: &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaTestKey())}},
		{name: "EC PKCS #8", alg: "ES256", key: ec, block: pkcs8(t, ec)},
		{name: "EC SEC 1", alg: "ES256", key: ec, block: &pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}},
		{name: "Ed25519", alg: "EdDSA", key: ed, block: pkcs8(t, ed)},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := oauthtest.NewServer(oauthtest.WithClientKey("svc", tt.key.Public()))
			defer srv.Close()
			path := writePEM(t, dir, strings.Repeat("k", i+1)+".pem", 0o600, tt.block)
			c := newCLI(t, strategy.EnvClientID, "svc", strategy.EnvTokenURL, srv.TokenURL())
			r := c.run("token", "-client-key", path, "-client-key-id", "k1")
			if r.code != exitOK || !resourceAccepts(t, srv, strings.TrimSpace(r.stdout)) {
				t.Fatalf("token: exit %d, stderr:\n%s", r.code, r.stderr)
			}
			h, claims := assertionOf(t, srv, oauthtest.EndpointToken)
			if h["alg"] != tt.alg || h["kid"] != "k1" || claims["iss"] != "svc" || claims["aud"] != srv.TokenURL() {
				t.Errorf("assertion header %v, claims %v; want alg %s, kid k1, iss svc, aud the token endpoint", h, claims, tt.alg)
			}
			noKeyMaterial(t, r.stdout+r.stderr, path)

			// The same from the environment, and what status says.
			c.env[envClientKeyFile] = path
			if r := c.run("token"); r.code != exitOK {
				t.Errorf("token with %s: exit %d, stderr:\n%s", envClientKeyFile, r.code, r.stderr)
			}
			r = c.run("status", "-check")
			if want := "private key " + path + " (" + tt.alg + "; from -client-key)"; r.code != exitOK || !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, "issued a new token") {
				t.Errorf("status -check: exit %d, want %q in stdout:\n%s%s", r.code, want, r.stdout, r.stderr)
			}
		})
	}
}

// A session logged in with a key remembers the key's path, refreshes,
// checks and logs out with it, and says what to do when the file is gone.
func TestSessionWithClientKeyAgainstOAuthTest(t *testing.T) {
	key := newECTestKey(t, elliptic.P256())
	srv := oauthtest.NewServer(oauthtest.WithClientKey("cli", key.Public()), oauthtest.WithAutoApprove(),
		oauthtest.WithPollInterval(time.Second))
	defer srv.Close()
	keyPath := writePEM(t, t.TempDir(), "cli.pem", 0o600, pkcs8(t, key))
	c := newCLI(t, strategy.EnvIssuer, srv.URL)
	store := strategy.NewFileStore(c.env[strategy.EnvConfigDir])

	r := c.run("login", "-client-id", "cli", "-client-key", keyPath, "-client-key-id", "k1")
	if r.code != exitOK {
		t.Fatalf("login: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	for _, e := range []oauthtest.Endpoint{oauthtest.EndpointDeviceAuthorization, oauthtest.EndpointToken} {
		if h, claims := assertionOf(t, srv, e); h["kid"] != "k1" || claims["sub"] != "cli" {
			t.Errorf("%s request: assertion header %v, claims %v", e, h, claims)
		}
	}
	remembered := clientFilesPath(store, "default")
	data, err := os.ReadFile(remembered)
	if err != nil {
		t.Fatal(err)
	}
	var saved map[string]any
	if err := json.Unmarshal(data, &saved); err != nil {
		t.Fatal(err)
	}
	if want := map[string]any{"version": 1.0, "client_id": "cli", "token_url": srv.TokenURL(), "client_key_file": keyPath, "client_key_id": "k1"}; !equalJSON(saved, want) {
		t.Errorf("remembered %v, want %v", saved, want)
	}
	if fi, _ := os.Stat(remembered); fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", remembered, fi.Mode().Perm())
	}
	noKeyMaterial(t, string(data)+r.stderr, keyPath)

	// token refreshes an expired session with the remembered key.
	expire := func() {
		t.Helper()
		sess, err := store.Load(t.Context(), "default")
		if err != nil {
			t.Fatal(err)
		}
		sess.ExpiresAt = time.Now().Add(-time.Minute)
		if err := store.Save(t.Context(), "default", sess); err != nil {
			t.Fatal(err)
		}
	}
	expire()
	r = c.run("token")
	if r.code != exitOK || !resourceAccepts(t, srv, strings.TrimSpace(r.stdout)) {
		t.Fatalf("token: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if req, _ := srv.LastRequest(oauthtest.EndpointToken); req.Form.Get("grant_type") != "refresh_token" {
		t.Errorf("token sent grant_type %q, want a refresh", req.Form.Get("grant_type"))
	}
	assertionOf(t, srv, oauthtest.EndpointToken)

	// status -check introspects with it, the assertion addressed to the
	// introspection endpoint.
	r = c.run("status", "-check")
	if r.code != exitOK || !strings.Contains(r.stdout, "the session is active") || !strings.Contains(r.stdout, "private key "+keyPath+" (ES256, key ID k1; saved with profile default)") {
		t.Errorf("status -check: exit %d, stdout:\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, claims := assertionOf(t, srv, oauthtest.EndpointIntrospection); claims["aud"] != srv.IntrospectionURL() {
		t.Errorf("introspection assertion aud %v, want %s", claims["aud"], srv.IntrospectionURL())
	}

	// Logging in again needs no flag: the key comes with the session.
	delete(c.env, strategy.EnvIssuer)
	r = c.run("login")
	if r.code != exitOK || !strings.Contains(r.stderr, "client ID cli and client key "+keyPath+" saved with profile default") {
		t.Fatalf("login again: exit %d, stderr:\n%s", r.code, r.stderr)
	}

	// The key file gone: token and logout say which file and what to do,
	// and nothing is sent without the key.
	moved := keyPath + ".moved"
	if err := os.Rename(keyPath, moved); err != nil {
		t.Fatal(err)
	}
	expire()
	before := srv.Stats().Requests[oauthtest.EndpointToken]
	r = c.run("token")
	wantMsg := "the client key file " + keyPath + ", saved with profile default by 'tokenactor login': no such file"
	if r.code != exitUsage || r.stdout != "" || !strings.Contains(r.stderr, wantMsg) || !strings.Contains(r.stderr, "Pass -client-key with the file's new place") {
		t.Errorf("token without the key file: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if n := srv.Stats().Requests[oauthtest.EndpointToken]; n != before {
		t.Errorf("%d token requests sent without the key", n-before)
	}
	r = c.run("logout")
	if r.code != exitUsage || !strings.Contains(r.stderr, wantMsg) || !strings.Contains(r.stderr, "The session is kept") {
		t.Errorf("logout without the key file: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if _, err := store.Load(t.Context(), "default"); err != nil {
		t.Errorf("the session was not kept: %v", err)
	}

	// -client-key names the new place for this run.
	if r := c.run("token", "-client-key", moved); r.code != exitOK {
		t.Errorf("token -client-key: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	r = c.run("logout", "-client-key", moved)
	if r.code != exitOK || !strings.Contains(r.stderr, "Revoked the refresh token") {
		t.Fatalf("logout: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if _, claims := assertionOf(t, srv, oauthtest.EndpointRevocation); claims["aud"] != srv.RevocationURL() {
		t.Errorf("revocation assertion aud %v, want %s", claims["aud"], srv.RevocationURL())
	}
	if _, err := os.Stat(remembered); !os.IsNotExist(err) {
		t.Errorf("logout left %s: %v", remembered, err)
	}
	if _, err := os.Stat(moved); err != nil {
		t.Errorf("logout touched the key file: %v", err)
	}
}

// equalJSON compares decoded JSON objects.
func equalJSON(a, b map[string]any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// A client with a certificate: client credentials with a certificate and
// its key in one file or two, and a session logged in, checked and logged
// out with it.
func TestClientCertificateAgainstOAuthTest(t *testing.T) {
	svcCert, err := oauthtest.NewClientCertificate("svc")
	if err != nil {
		t.Fatal(err)
	}
	cliCert, err := oauthtest.NewClientCertificate("cli")
	if err != nil {
		t.Fatal(err)
	}
	srv := oauthtest.NewTLSServer(oauthtest.WithClientCertificate("svc", svcCert.Leaf), oauthtest.WithClientCertificate("cli", cliCert.Leaf),
		oauthtest.WithAutoApprove(), oauthtest.WithPollInterval(time.Second))
	defer srv.Close()
	dir := t.TempDir()
	certBlock, keyBlock := certBlocks(t, svcCert)
	combined := writePEM(t, dir, "svc.pem", 0o600, certBlock, keyBlock)

	c := newCLI(t, strategy.EnvClientID, "svc", strategy.EnvTokenURL, srv.TokenURL())
	c.transport = trusting(t, srv)
	if r := c.run("token", "-client-cert", combined); r.code != exitOK || r.stdout == "" {
		t.Errorf("token -client-cert: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if req, _ := srv.LastRequest(oauthtest.EndpointToken); req.Form.Has("client_secret") || req.Form.Has("client_assertion") || req.Form.Get("client_id") != "svc" {
		t.Errorf("token request %v: want client_id alone", req.Form)
	}
	noPrivate := writePEM(t, dir, "svc.crt", 0o644, certBlock)
	if r := c.run("token"); r.code != exitUsage || !strings.Contains(r.stderr, "TOKENACTOR_CLIENT_SECRET") {
		t.Errorf("token without a certificate: exit %d, stderr:\n%s", r.code, r.stderr)
	}

	// A session: login, status -check, logout, each with the certificate.
	cliCertBlock, cliKeyBlock := certBlocks(t, cliCert)
	certPath := writePEM(t, dir, "cli.crt", 0o644, cliCertBlock)
	keyPath := writePEM(t, dir, "cli.key", 0o600, cliKeyBlock)
	s := newCLI(t, strategy.EnvIssuer, srv.URL)
	s.transport = c.transport
	r := s.run("login", "-client-id", "cli", "-client-cert", certPath, "-client-cert-key", keyPath)
	if r.code != exitOK {
		t.Fatalf("login: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	r = s.run("status", "-check")
	if r.code != exitOK || !strings.Contains(r.stdout, "the session is active") || !strings.Contains(r.stdout, "TLS client certificate "+certPath+" (subject CN=cli, valid until") {
		t.Errorf("status -check: exit %d, stdout:\n%s%s", r.code, r.stdout, r.stderr)
	}
	if req, _ := srv.LastRequest(oauthtest.EndpointIntrospection); req.Form.Get("client_id") != "cli" || req.Form.Has("client_assertion") {
		t.Errorf("introspection request %v: want client_id alone", req.Form)
	}
	if r := s.run("token"); r.code != exitOK {
		t.Errorf("token: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if r := s.run("logout"); r.code != exitOK || !strings.Contains(r.stderr, "Revoked the refresh token") {
		t.Errorf("logout: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if n := srv.Stats().Revocations; n != 1 {
		t.Errorf("%d revocations, want 1", n)
	}

	// The certificate's file alone, without its key, is refused before
	// any request.
	r = c.run("token", "-client-cert", noPrivate)
	if r.code != exitUsage || !strings.Contains(r.stderr, "-client-cert (TOKENACTOR_CLIENT_CERT_FILE) "+noPrivate+": no private key in it, only certificate; give the certificate's key with -client-cert-key") {
		t.Errorf("certificate without key: exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

// Files that cannot be a key are refused before any request, with a
// message naming the flag, the variable and the file, and never a byte of
// the file.
func TestClientKeyFileErrors(t *testing.T) {
	srv := oauthtest.NewServer()
	defer srv.Close()
	dir := t.TempDir()
	ec := newECTestKey(t, elliptic.P256())
	short, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := oauthtest.NewClientCertificate("svc")
	if err != nil {
		t.Fatal(err)
	}
	otherCert, err := oauthtest.NewClientCertificate("other")
	if err != nil {
		t.Fatal(err)
	}
	certBlock, _ := certBlocks(t, cert)
	_, otherKey := certBlocks(t, otherCert)
	junk := make([]byte, 256)
	rand.Read(junk)
	write := func(name, content string, mode os.FileMode) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(path, mode)
		return path
	}
	encryptedPKCS1 := &pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,00112233445566778899AABBCCDDEEFF"}, Bytes: junk}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{name: "missing file", args: []string{"-client-key", filepath.Join(dir, "nope.pem")}, want: "-client-key (TOKENACTOR_CLIENT_KEY_FILE) " + filepath.Join(dir, "nope.pem") + ": no such file"},
		{name: "directory", args: []string{"-client-key", dir}, want: ": a directory, not a regular file"},
		{name: "empty", args: []string{"-client-key", write("empty.pem", "", 0o600)}, want: ": not PEM: want a PEM private key"},
		{name: "not PEM", args: []string{"-client-key", write("text.pem", "ssh-ed25519 AAAAC3Nza...\n", 0o600)}, want: ": not PEM"},
		{name: "malformed PEM", args: []string{"-client-key", write("broken.pem", "-----BEGIN PRIVATE KEY-----\n!!!not base64!!!\n-----END PRIVATE KEY-----\n", 0o600)}, want: ": a PEM block in it is malformed"},
		{name: "garbage key", args: []string{"-client-key", writePEM(t, dir, "garbage.pem", 0o600, &pem.Block{Type: "PRIVATE KEY", Bytes: junk})}, want: ": its PRIVATE KEY block is not a valid key"},
		{name: "encrypted PKCS #8", args: []string{"-client-key", writePEM(t, dir, "enc8.pem", 0o600, &pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: junk})}, want: ": the private key is encrypted"},
		{name: "encrypted PKCS #1", args: []string{"-client-key", writePEM(t, dir, "enc1.pem", 0o600, encryptedPKCS1)}, want: ": the private key is encrypted"},
		{name: "OpenSSH", args: []string{"-client-key", writePEM(t, dir, "id_ed25519", 0o600, &pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: junk})}, want: ": an OpenSSH private key"},
		{name: "certificate only", args: []string{"-client-key", writePEM(t, dir, "cert.pem", 0o600, certBlock)}, want: ": no private key in it, only certificate"},
		{name: "world-readable", args: []string{"-client-key", writePEM(t, dir, "open.pem", 0o644, pkcs8(t, ec))}, want: ": mode 0644 lets every user read the private key: chmod 600"},
		{name: "short RSA", args: []string{"-client-key", writePEM(t, dir, "short.pem", 0o600, pkcs8(t, short))}, want: ": an RSA key of 1024 bits; private_key_jwt needs 2048 or more"},
		{name: "P-384", args: []string{"-client-key", writePEM(t, dir, "p384.pem", 0o600, pkcs8(t, newECTestKey(t, elliptic.P384())))}, want: ": an EC key on P-384"},
		{name: "certificate with another key", args: []string{"-client-cert", writePEM(t, dir, "svc.crt", 0o644, certBlock), "-client-cert-key", writePEM(t, dir, "other.key", 0o600, otherKey)}, want: "-client-cert-key (TOKENACTOR_CLIENT_CERT_KEY_FILE) " + filepath.Join(dir, "other.key") + ": the private key does not belong to the certificate"},
		{name: "certificate that is a key", args: []string{"-client-cert", writePEM(t, dir, "k.crt", 0o600, pkcs8(t, ec))}, want: "-client-cert (TOKENACTOR_CLIENT_CERT_FILE) " + filepath.Join(dir, "k.crt") + ": no PEM certificate in it"},
		{name: "key and certificate", args: []string{"-client-key", "a.pem", "-client-cert", "b.pem"}, want: "-client-key (TOKENACTOR_CLIENT_KEY_FILE) and -client-cert (TOKENACTOR_CLIENT_CERT_FILE) are two ways for the client to authenticate: give one"},
		{name: "key ID without key", args: []string{"-client-key-id", "k1"}, want: "-client-key-id (TOKENACTOR_CLIENT_KEY_ID) needs -client-key"},
		{name: "certificate key without certificate", env: map[string]string{envClientCertKeyFile: "x.key"}, want: "-client-cert-key (TOKENACTOR_CLIENT_CERT_KEY_FILE) needs -client-cert"},
		{name: "key and a secret", args: []string{"-client-key", writePEM(t, dir, "good.pem", 0o600, pkcs8(t, ec))}, env: map[string]string{strategy.EnvClientSecret: "s3cret"}, want: "TOKENACTOR_CLIENT_SECRET: set while a key or a TLS client certificate authenticates the client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCLI(t, strategy.EnvClientID, "svc", strategy.EnvTokenURL, srv.TokenURL())
			for k, v := range tt.env {
				c.env[k] = v
			}
			// (logout is tested with a session to end: without one it has
			// nothing to do and reads no key.)
			for _, cmd := range []string{"token", "status", "login"} {
				if cmd == "login" && tt.name == "key and a secret" {
					continue // login reads no client secret
				}
				r := c.run(append([]string{cmd}, tt.args...)...)
				if r.code != exitUsage || r.stdout != "" || !strings.Contains(r.stderr, tt.want) {
					t.Errorf("%s: exit %d, stdout %q, stderr:\n%s\nwant exit 2 and %q", cmd, r.code, r.stdout, r.stderr, tt.want)
				}
				for _, a := range tt.args {
					noKeyMaterial(t, r.stderr, a)
				}
			}
		})
	}
	if n := srv.Stats().Requests[oauthtest.EndpointToken]; n != 0 {
		t.Errorf("%d token requests sent with unusable key files", n)
	}
}

// A list of remembered key files that others may change, or that is not
// what login writes, is refused: it would let them choose the key the
// next refresh presents.
func TestRememberedKeyFilesMustBeTrustworthy(t *testing.T) {
	c := newCLI(t)
	store := strategy.NewFileStore(c.env[strategy.EnvConfigDir])
	seed(t, c, newAuthServer(t))
	path := clientFilesPath(store, "default")
	for name, tt := range map[string]struct {
		content string
		mode    os.FileMode
		want    string
	}{
		"group-writable": {content: `{"version":1,"client_key_file":"/k.pem"}`, mode: 0o620, want: "mode 0620 lets other users change it (chmod 600)"},
		"relative path":  {content: `{"version":1,"client_key_file":"k.pem"}`, mode: 0o600, want: "it does not name one key or one certificate by absolute path"},
		"both":           {content: `{"version":1,"client_key_file":"/k.pem","client_cert_file":"/c.pem"}`, mode: 0o600, want: "it does not name one key or one certificate"},
		"future version": {content: `{"version":2,"client_key_file":"/k.pem"}`, mode: 0o600, want: "unknown version 2"},
		"not JSON":       {content: `client_key_file=/k.pem`, mode: 0o600, want: "not the JSON tokenactor writes"},
	} {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(path, []byte(tt.content), tt.mode); err != nil {
				t.Fatal(err)
			}
			os.Chmod(path, tt.mode)
			r := c.run("token")
			if r.code != exitFailure || !strings.Contains(r.stderr, path+" cannot be used: "+tt.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 1 and %q", r.code, r.stderr, tt.want)
			}
		})
	}
	os.Remove(path)
	if err := os.Symlink(filepath.Join(t.TempDir(), "elsewhere"), path); err != nil {
		t.Fatal(err)
	}
	if r := c.run("token"); r.code != exitFailure || !strings.Contains(r.stderr, "not a regular file") {
		t.Errorf("a symbolic link: exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

// A key or certificate itself given where its file's name goes (a CI
// secret put in TOKENACTOR_CLIENT_KEY_FILE, say) is refused before any
// request, and the message never repeats it: it would print the private
// key to a log.
func TestKeyMaterialInsteadOfFileName(t *testing.T) {
	srv := oauthtest.NewServer()
	defer srv.Close()
	ec := newECTestKey(t, elliptic.P256())
	key := string(pem.EncodeToMemory(pkcs8(t, ec)))
	cert, err := oauthtest.NewClientCertificate("svc")
	if err != nil {
		t.Fatal(err)
	}
	certBlock, keyBlock := certBlocks(t, cert)
	certPEM, certKeyPEM := string(pem.EncodeToMemory(certBlock)), string(pem.EncodeToMemory(keyBlock))
	goodCert := writePEM(t, t.TempDir(), "svc.crt", 0o600, certBlock, keyBlock)
	// secretLines are the base64 lines of every PEM given.
	var secretLines []string
	for _, p := range []string{key, certPEM, certKeyPEM} {
		for _, line := range strings.Split(p, "\n") {
			if len(line) >= 16 && !strings.HasPrefix(line, "-----") {
				secretLines = append(secretLines, line[:16])
			}
		}
	}
	// The same, base64-encoded on one line, as a CI secret often is: the
	// PEM text, and the key's DER bytes alone, in both alphabets.
	keyDER := pkcs8(t, ec).Bytes
	encoded := map[string]string{
		"PEM":         base64.StdEncoding.EncodeToString([]byte(key)),
		"DER":         base64.StdEncoding.EncodeToString(keyDER),
		"DER, URL":    base64.RawURLEncoding.EncodeToString(keyDER),
		"certificate": base64.StdEncoding.EncodeToString(certBlock.Bytes),
	}
	ecD, err := ec.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	jwkD := base64.RawURLEncoding.EncodeToString(ecD)
	jwk := `{"kty":"EC","crv":"P-256","d":"` + jwkD + `"}`
	for _, e := range encoded {
		secretLines = append(secretLines, e[8:24], e[len(e)-24:len(e)-8])
	}
	secretLines = append(secretLines, jwkD[:16])
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{name: "key flag", args: []string{"-client-key", key}, want: "-client-key (TOKENACTOR_CLIENT_KEY_FILE) holds PEM data, not a file name"},
		{name: "key variable", env: map[string]string{envClientKeyFile: key}, want: "-client-key (TOKENACTOR_CLIENT_KEY_FILE) holds PEM data, not a file name"},
		{name: "key variable, one line", env: map[string]string{envClientKeyFile: strings.ReplaceAll(key, "\n", " ")}, want: "-client-key (TOKENACTOR_CLIENT_KEY_FILE) holds PEM data, not a file name"},
		{name: "certificate flag", args: []string{"-client-cert", certPEM + certKeyPEM}, want: "-client-cert (TOKENACTOR_CLIENT_CERT_FILE) holds PEM data, not a file name"},
		{name: "certificate key variable", args: []string{"-client-cert", goodCert}, env: map[string]string{envClientCertKeyFile: certKeyPEM}, want: "-client-cert-key (TOKENACTOR_CLIENT_CERT_KEY_FILE) holds PEM data, not a file name"},
		{name: "key variable, base64 PEM", env: map[string]string{envClientKeyFile: encoded["PEM"]}, want: "-client-key (TOKENACTOR_CLIENT_KEY_FILE) holds base64-encoded key or certificate data, not a file name"},
		{name: "key flag, base64 DER", args: []string{"-client-key", encoded["DER"]}, want: "-client-key (TOKENACTOR_CLIENT_KEY_FILE) holds base64-encoded key or certificate data, not a file name"},
		{name: "key variable, base64url DER", env: map[string]string{envClientKeyFile: encoded["DER, URL"]}, want: "-client-key (TOKENACTOR_CLIENT_KEY_FILE) holds base64-encoded key or certificate data, not a file name"},
		{name: "certificate flag, base64 DER", args: []string{"-client-cert", encoded["certificate"]}, want: "-client-cert (TOKENACTOR_CLIENT_CERT_FILE) holds base64-encoded key or certificate data, not a file name"},
		{name: "key variable, base64 DER and a space", env: map[string]string{envClientKeyFile: encoded["DER"] + " "}, want: "-client-key (TOKENACTOR_CLIENT_KEY_FILE) holds base64-encoded key or certificate data, not a file name"},
		{name: "key variable, JWK", env: map[string]string{envClientKeyFile: jwk}, want: "-client-key (TOKENACTOR_CLIENT_KEY_FILE) holds JSON (a JWK?), not a file name"},
		{name: "key flag, a name too long", args: []string{"-client-key", "keys/" + strings.Repeat("k", 300)}, want: "-client-key (TOKENACTOR_CLIENT_KEY_FILE) is not a file name: a part of it is 300 characters long"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newCLI(t, strategy.EnvClientID, "svc", strategy.EnvTokenURL, srv.TokenURL())
			for k, v := range tt.env {
				c.env[k] = v
			}
			for _, cmd := range []string{"token", "status", "login", "logout"} {
				r := c.run(append([]string{cmd}, tt.args...)...)
				if r.code != exitUsage || !strings.Contains(r.stderr, tt.want) {
					t.Errorf("%s: exit %d, stderr:\n%s\nwant exit 2 and %q", cmd, r.code, r.stderr, tt.want)
				}
				for _, line := range secretLines {
					if strings.Contains(r.stdout+r.stderr, line) {
						t.Errorf("%s: the output repeats the PEM data given:\n%s", cmd, r.stderr)
						break
					}
				}
			}
		})
	}
	if n := srv.Stats().Requests[oauthtest.EndpointToken]; n != 0 {
		t.Errorf("%d token requests sent", n)
	}
}

// The list of remembered key files is never read through a link: a link
// to a list naming another key is refused, saying what the path holds.
func TestRememberedKeyFilesThroughALink(t *testing.T) {
	c := newCLI(t)
	store := strategy.NewFileStore(c.env[strategy.EnvConfigDir])
	path := clientFilesPath(store, "default")
	planted := filepath.Join(t.TempDir(), "planted")
	if err := os.WriteFile(planted, []byte(`{"version":1,"client_key_file":"/planted/key.pem"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(planted, path); err != nil {
		t.Fatal(err)
	}
	files, err := loadClientFiles(store, "default", strategy.Session{})
	var cfe *clientFilesError
	if !errors.As(err, &cfe) || files.Key != "" || !strings.Contains(err.Error(), "a symbolic link, not a regular file") {
		t.Errorf("loadClientFiles = %+v, %v; want no files and a *clientFilesError naming the link", files, err)
	}
}

// File names, however odd, are not taken for base64 key data.
func TestFileNamesAreNotBase64KeyData(t *testing.T) {
	for _, name := range []string{
		"key.pem", "/run/secrets/clientkey", "MIIB", "MIIBkey", "MyKeyFile",
		"/var/run/secrets/kubernetes/io/serviceaccount/tokenactor/clientkey",
		"C:/Users/svc/keys/client", "secrets/MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
		"MAA", "{3F2504E0-4F89-11D3-9A0C-0305E82C3301}/key.pem", "/Users/me/" + strings.Repeat("é", 200) + "/client.pem",
		"/home/me/" + strings.Repeat("鍵", 120) + ".pem", "/home/Jane Doe/keys/client key.pem",
	} {
		if base64KeyData(name) {
			t.Errorf("%q taken for base64 key data", name)
		}
	}
}

// With -profile, token and status read no credentials from the
// environment: a service's key there does not replace the key the
// profile was logged in with. A flag on the command line still does.
func TestProfileIgnoresTheEnvironmentsKey(t *testing.T) {
	cliKey, svcKey := newECTestKey(t, elliptic.P256()), newECTestKey(t, elliptic.P256())
	srv := oauthtest.NewServer(oauthtest.WithClientKey("cli", cliKey.Public()), oauthtest.WithClientKey("svc", svcKey.Public()),
		oauthtest.WithAutoApprove(), oauthtest.WithPollInterval(time.Second))
	defer srv.Close()
	dir := t.TempDir()
	cliPath := writePEM(t, dir, "cli.pem", 0o600, pkcs8(t, cliKey))
	svcPath := writePEM(t, dir, "svc.pem", 0o600, pkcs8(t, svcKey))
	c := newCLI(t, strategy.EnvIssuer, srv.URL)
	if r := c.run("login", "-profile", "work", "-client-id", "cli", "-client-key", cliPath); r.code != exitOK {
		t.Fatalf("login: exit %d\n%s", r.code, r.stderr)
	}
	expireSession(t, c, "work")
	c.env[strategy.EnvClientID] = "svc"
	c.env[envClientKeyFile] = svcPath
	if r := c.run("token", "-profile", "work"); r.code != exitOK {
		t.Errorf("token -profile work: exit %d\n%s", r.code, r.stderr)
	}
	if r := c.run("status", "-profile", "work"); !strings.Contains(r.stdout, cliPath) || strings.Contains(r.stdout, svcPath) {
		t.Errorf("status -profile work shows:\n%s%s", r.stdout, r.stderr)
	}
	if r := c.run("status", "-profile", "work", "-client-key", svcPath); !strings.Contains(r.stdout, svcPath) {
		t.Errorf("status -profile work -client-key svc.pem shows:\n%s%s", r.stdout, r.stderr)
	}
}

// expireSession makes profile's saved access token expired, so that the
// next use refreshes it.
func expireSession(t *testing.T, c *cli, profile string) {
	t.Helper()
	store := strategy.NewFileStore(c.env[strategy.EnvConfigDir])
	sess, err := store.Load(t.Context(), profile)
	if err != nil {
		t.Fatal(err)
	}
	sess.ExpiresAt = time.Now().Add(-time.Minute)
	if err := store.Save(t.Context(), profile, sess); err != nil {
		t.Fatal(err)
	}
}

// Logging in again at another server does not sign with the key files
// saved for the first, and says so.
func TestLoginAtAnotherServerLeavesTheSavedKey(t *testing.T) {
	key := newECTestKey(t, elliptic.P256())
	a := oauthtest.NewServer(oauthtest.WithClientKey("cli", key.Public()), oauthtest.WithAutoApprove(), oauthtest.WithPollInterval(time.Second))
	defer a.Close()
	b := oauthtest.NewServer(oauthtest.WithClient("cli", ""), oauthtest.WithAutoApprove(), oauthtest.WithPollInterval(time.Second)) // cli is a public client there
	defer b.Close()
	keyPath := writePEM(t, t.TempDir(), "cli.pem", 0o600, pkcs8(t, key))
	c := newCLI(t)
	if r := c.run("login", "-issuer", a.URL, "-client-id", "cli", "-client-key", keyPath); r.code != exitOK {
		t.Fatalf("login at A: exit %d\n%s", r.code, r.stderr)
	}
	r := c.run("login", "-issuer", b.URL, "-client-id", "cli")
	if r.code != exitOK || !strings.Contains(r.stderr, "Not using the key files saved with profile default: they are for the server at "+a.URL) {
		t.Errorf("login at B: exit %d\n%s", r.code, r.stderr)
	}
	if req, ok := b.LastRequest(oauthtest.EndpointDeviceAuthorization); !ok || req.Form.Has("client_assertion") {
		t.Errorf("login at B: device request sent %t, with an assertion signed with A's key", ok)
	}
	// At A again, the key saved with the first login is used once more.
	if r := c.run("login", "-issuer", a.URL, "-client-id", "cli", "-client-key", keyPath); r.code != exitOK {
		t.Fatalf("login at A again: exit %d\n%s", r.code, r.stderr)
	}
	if r := c.run("login", "-issuer", a.URL); r.code != exitOK || !strings.Contains(r.stderr, "client key "+keyPath) {
		t.Errorf("login at A, the key remembered: exit %d\n%s", r.code, r.stderr)
	}
}

// The list of key files belongs to the session it was saved with: a
// session saved since for another client or server (a login that crashed
// between its two writes) is not refreshed with them. A list written
// without the session's client (an older one) goes with any session.
func TestRememberedKeyFilesBelongToTheirSession(t *testing.T) {
	key := newECTestKey(t, elliptic.P256())
	srv := oauthtest.NewServer(oauthtest.WithClientKey("cli", key.Public()), oauthtest.WithAutoApprove(), oauthtest.WithPollInterval(time.Second))
	defer srv.Close()
	keyPath := writePEM(t, t.TempDir(), "cli.pem", 0o600, pkcs8(t, key))
	c := newCLI(t, strategy.EnvIssuer, srv.URL)
	if r := c.run("login", "-client-id", "cli", "-client-key", keyPath); r.code != exitOK {
		t.Fatalf("login: exit %d\n%s", r.code, r.stderr)
	}
	store := strategy.NewFileStore(c.env[strategy.EnvConfigDir])
	for _, tt := range []struct {
		name     string
		sess     strategy.Session
		withList bool
	}{
		{"another client", strategy.Session{TokenURL: srv.TokenURL(), ClientID: "other"}, false},
		{"another server", strategy.Session{TokenURL: srv.URL + "/other/token", ClientID: "cli"}, false},
		{"the same", strategy.Session{TokenURL: srv.TokenURL(), ClientID: "cli"}, true},
	} {
		tt.sess.AccessToken, tt.sess.RefreshToken = tokenactor.NewSecretToken("a"), tokenactor.NewSecretToken("r")
		tt.sess.ExpiresAt = time.Now().Add(time.Hour)
		if err := store.Save(t.Context(), "default", tt.sess); err != nil {
			t.Fatal(err)
		}
		if r := c.run("status"); strings.Contains(r.stdout, keyPath) != tt.withList {
			t.Errorf("%s: status shows the key %t, want %t:\n%s%s", tt.name, !tt.withList, tt.withList, r.stdout, r.stderr)
		}
	}
	// An older list, without the session's client, still counts.
	old := `{"version":1,"client_key_file":"` + keyPath + `"}`
	if err := os.WriteFile(clientFilesPath(store, "default"), []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := store.Save(t.Context(), "default", strategy.Session{TokenURL: srv.TokenURL(), ClientID: "other",
		RefreshToken: tokenactor.NewSecretToken("r")}); err != nil {
		t.Fatal(err)
	}
	if r := c.run("status"); !strings.Contains(r.stdout, keyPath) {
		t.Errorf("an older list: status does not show the key:\n%s%s", r.stdout, r.stderr)
	}
}

// A server that refuses the client's key gets advice about the key, not
// about a secret the client does not use.
func TestRefusedKeyAdvice(t *testing.T) {
	registered, used := newECTestKey(t, elliptic.P256()), newECTestKey(t, elliptic.P256())
	srv := oauthtest.NewServer(oauthtest.WithClientKey("svc", registered.Public()))
	defer srv.Close()
	keyPath := writePEM(t, t.TempDir(), "svc.pem", 0o600, pkcs8(t, used))
	c := newCLI(t, strategy.EnvClientID, "svc", strategy.EnvTokenURL, srv.TokenURL())
	r := c.run("token", "-client-key", keyPath)
	if r.code != exitNotAuthenticated || !strings.Contains(r.stderr, "The server refused the client's -client-key") || strings.Contains(r.stderr, strategy.EnvClientSecret) {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

func TestSameURL(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"https://idp.example/token", "https://idp.example/token", true},
		{"https://IDP.example:443/token", "https://idp.example/token", true},
		{"http://127.0.0.1:80/token", "HTTP://127.0.0.1/token", true},
		{"https://[::1]:443/t", "https://[::1]/t", true},
		{"https://idp.example/realms/a/token", "https://idp.example/realms/b/token", false},
		{"https://idp.example/token", "http://idp.example/token", false},
		{"https://idp.example:8443/token", "https://idp.example/token", false},
		{"https://idp.example/Token", "https://idp.example/token", false},
		{"", "", false},
		{"%zz", "%zz", false},
	} {
		if got := sameURL(tt.a, tt.b); got != tt.want {
			t.Errorf("sameURL(%q, %q) = %t, want %t", tt.a, tt.b, got, tt.want)
		}
	}
}
