package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/tokenactor/tokenactor/internal/safefile"
	"github.com/tokenactor/tokenactor/strategy"
)

// Environment variables of key-based client authentication: the client
// proves who it is with a private key (private_key_jwt, RFC 7523) or a
// TLS client certificate (RFC 8705) instead of a secret. They name files;
// key material is never read from the environment.
const (
	envClientKeyFile     = "TOKENACTOR_CLIENT_KEY_FILE"
	envClientKeyID       = "TOKENACTOR_CLIENT_KEY_ID"
	envClientKeyAudience = "TOKENACTOR_CLIENT_KEY_AUDIENCE"
	envClientCertFile    = "TOKENACTOR_CLIENT_CERT_FILE"
	envClientCertKeyFile = "TOKENACTOR_CLIENT_CERT_KEY_FILE"
)

// maxPEMFile bounds a key or certificate file: a PEM key or a chain of a
// few certificates is a few kilobytes.
const maxPEMFile = 1 << 20

// authFlags are the flags of key-based client authentication, each
// defaulting to its environment variable.
type authFlags struct {
	fs                                  *flag.FlagSet
	key, keyID, audience, cert, certKey *string
}

// addAuthFlags defines the key-based client authentication flags on fs.
func addAuthFlags(fs *flag.FlagSet, e *env) *authFlags {
	return &authFlags{
		fs:       fs,
		key:      envFlag(fs, e, "client-key", envClientKeyFile, "PEM private key `file` (RSA 2048+, EC P-256 or Ed25519) the client authenticates with instead of a secret (private_key_jwt)"),
		keyID:    envFlag(fs, e, "client-key-id", envClientKeyID, "key `id` sent as the kid of -client-key's assertions"),
		audience: envFlag(fs, e, "client-key-audience", envClientKeyAudience, "`aud` of -client-key's assertions (default: the URL of the endpoint called; some servers want their issuer)"),
		cert:     envFlag(fs, e, "client-cert", envClientCertFile, "PEM certificate `file` the client authenticates with over TLS (mutual TLS, RFC 8705)"),
		certKey:  envFlag(fs, e, "client-cert-key", envClientCertKeyFile, "PEM private key `file` of -client-cert (default: the -client-cert file, if it holds the key)"),
	}
}

// clientFiles names what a client authenticates with besides its ID: a
// key file (with the key ID and audience of its assertions) or a
// certificate and its key. Paths only, never key material: it is what a
// profile remembers (see saveClientFiles). The zero value names nothing.
type clientFiles struct {
	Key      string `json:"client_key_file,omitempty"`
	KeyID    string `json:"client_key_id,omitempty"`
	Audience string `json:"client_key_audience,omitempty"`
	Cert     string `json:"client_cert_file,omitempty"`
	CertKey  string `json:"client_cert_key_file,omitempty"`
}

func (f clientFiles) empty() bool { return f == clientFiles{} }

// withoutEnvironment returns the flags given on the command line, the
// values the TOKENACTOR_CLIENT_* variables gave the others dropped.
func (a *authFlags) withoutEnvironment() *authFlags {
	given := map[string]bool{}
	a.fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	pick := func(name string, v *string) *string {
		if given[name] {
			return v
		}
		return new(string)
	}
	return &authFlags{fs: a.fs, key: pick("client-key", a.key), keyID: pick("client-key-id", a.keyID),
		audience: pick("client-key-audience", a.audience), cert: pick("client-cert", a.cert), certKey: pick("client-cert-key", a.certKey)}
}

// files returns what the flags name, the paths made absolute so that a
// profile remembering them works from any directory, or a message in the
// user's words.
func (a *authFlags) files() (clientFiles, string) {
	f := clientFiles{Key: *a.key, KeyID: *a.keyID, Audience: *a.audience, Cert: *a.cert, CertKey: *a.certKey}
	switch {
	case f.Key != "" && f.Cert != "":
		return clientFiles{}, "-client-key (" + envClientKeyFile + ") and -client-cert (" + envClientCertFile + ") are two ways for the client to authenticate: give one"
	case f.Key == "" && f.KeyID != "":
		return clientFiles{}, "-client-key-id (" + envClientKeyID + ") needs -client-key (" + envClientKeyFile + ")"
	case f.Key == "" && f.Audience != "":
		return clientFiles{}, "-client-key-audience (" + envClientKeyAudience + ") needs -client-key (" + envClientKeyFile + ")"
	case f.Cert == "" && f.CertKey != "":
		return clientFiles{}, "-client-cert-key (" + envClientCertKeyFile + ") needs -client-cert (" + envClientCertFile + ")"
	}
	for _, fl := range []struct {
		name  string
		value string
	}{{"-client-key", f.Key}, {"-client-cert", f.Cert}, {"-client-cert-key", f.CertKey}} {
		// A key or certificate given itself, where its file's name goes
		// (a CI secret put in the variable): refused without repeating it,
		// as every message about a file names the file.
		if msg := notAFileName(fl.value); msg != "" {
			return clientFiles{}, fl.name + " (" + fileFlags[fl.name].env + ") " + msg
		}
	}
	for _, p := range []*string{&f.Key, &f.Cert, &f.CertKey} {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return clientFiles{}, fmt.Sprintf("cannot make %s an absolute path: %v", *p, err)
		}
		*p = abs
	}
	return f, ""
}

// clientCreds is what the client authenticates with, loaded from the
// files named: a key, or a certificate with its key. A nil *clientCreds
// authenticates with neither.
type clientCreds struct {
	files   clientFiles
	profile string // the profile that remembered the files; "" when flags named them
	key     *strategy.ClientKey
	cert    *tls.Certificate
	alg     string // the key's signing algorithm, for status
}

// A keyFileError reports a key or certificate file that cannot be used.
// It names the file, and the flag and variable or the profile that named
// it; it never holds the file's content.
type keyFileError struct {
	flag    string // "-client-key", "-client-cert" or "-client-cert-key"
	path    string
	profile string // the profile that remembered the path; "" for a flag
	reason  string
}

// fileFlags are the variables of the file flags, and what each file is.
var fileFlags = map[string]struct{ env, what string }{
	"-client-key":      {envClientKeyFile, "client key"},
	"-client-cert":     {envClientCertFile, "client certificate"},
	"-client-cert-key": {envClientCertKeyFile, "client certificate key"},
}

func (e *keyFileError) Error() string {
	if e.profile != "" {
		return fmt.Sprintf("the %s file %s, saved with profile %s by 'tokenactor login': %s", fileFlags[e.flag].what, e.path, e.profile, e.reason)
	}
	return fmt.Sprintf("%s (%s) %s: %s", e.flag, fileFlags[e.flag].env, e.path, e.reason)
}

// hint says what to do about the file.
func (e *keyFileError) hint() string {
	if e.profile != "" {
		login := "-client-key FILE"
		if e.flag != "-client-key" {
			login = "-client-cert FILE (and -client-cert-key FILE)"
		}
		return fmt.Sprintf("Pass %s with the file's new place, or run 'tokenactor login %s' to save it with the profile.", e.flag, login)
	}
	return "Fix " + e.flag + " (" + fileFlags[e.flag].env + ")."
}

// loadClientCreds reads the files named, remembered by profile ("" when
// flags named them). Nothing named is nil and no error; a file that cannot
// be used is a *keyFileError.
func loadClientCreds(files clientFiles, profile string) (*clientCreds, error) {
	if files.empty() {
		return nil, nil
	}
	c := &clientCreds{files: files, profile: profile}
	fail := func(flag, path, reason string) (*clientCreds, error) {
		return nil, &keyFileError{flag: flag, path: path, profile: profile, reason: reason}
	}
	if files.Key != "" {
		data, mode, reason := readPEMFile(files.Key)
		if reason != "" {
			return fail("-client-key", files.Key, reason)
		}
		signer, reason := parsePrivateKey(data)
		if reason == "" {
			reason = exposed(mode)
		}
		if reason == "" {
			c.alg, reason = signingAlg(signer)
		}
		if reason != "" {
			return fail("-client-key", files.Key, reason)
		}
		c.key = &strategy.ClientKey{Signer: signer, KeyID: files.KeyID, Audience: files.Audience}
		return c, nil
	}
	certPEM, _, reason := readPEMFile(files.Cert)
	if reason != "" {
		return fail("-client-cert", files.Cert, reason)
	}
	var chain [][]byte
	for rest := certPEM; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			chain = append(chain, b.Bytes)
		}
	}
	if len(chain) == 0 {
		return fail("-client-cert", files.Cert, "no PEM certificate in it (-----BEGIN CERTIFICATE-----)")
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return fail("-client-cert", files.Cert, "its first certificate is not a valid X.509 certificate")
	}
	keyFlag, keyPath := "-client-cert-key", files.CertKey
	if keyPath == "" {
		keyFlag, keyPath = "-client-cert", files.Cert
	}
	keyPEM, mode, reason := readPEMFile(keyPath)
	if reason != "" {
		return fail(keyFlag, keyPath, reason)
	}
	signer, reason := parsePrivateKey(keyPEM)
	switch {
	case reason != "" && files.CertKey == "":
		return fail(keyFlag, keyPath, reason+"; give the certificate's key with -client-cert-key ("+envClientCertKeyFile+")")
	case reason == "":
		reason = exposed(mode)
	}
	if reason != "" {
		return fail(keyFlag, keyPath, reason)
	}
	if pub, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(signer.Public()) {
		return fail(keyFlag, keyPath, "the private key does not belong to the certificate in "+files.Cert)
	}
	c.cert = &tls.Certificate{Certificate: chain, PrivateKey: signer, Leaf: leaf}
	return c, nil
}

// readPEMFile reads a key or certificate file and returns its content and
// mode, or why it cannot be read, in the user's words. It follows symbolic
// links (a mounted secret is one) but reads regular files only: a FIFO or
// a device could block or never end.
func readPEMFile(path string) ([]byte, fs.FileMode, string) {
	// Judged by the file opened, never by the path: nothing swapped in
	// can be read.
	f, fi, err := safefile.Open(path, true)
	if err != nil {
		return nil, 0, fileReason(err)
	}
	defer f.Close()
	if fi.Size() > maxPEMFile {
		return nil, 0, "larger than 1 MiB: not a PEM key or certificate"
	}
	data, err := io.ReadAll(io.LimitReader(f, maxPEMFile+1))
	if err != nil {
		return nil, 0, fileReason(err)
	}
	if len(data) > maxPEMFile {
		return nil, 0, "larger than 1 MiB: not a PEM key or certificate"
	}
	return data, fi.Mode(), ""
}

// fileReason says why a file could not be opened or read, without the
// path (the message names it already).
func fileReason(err error) string {
	var pe *fs.PathError
	var nr *safefile.NotRegularError
	switch {
	case errors.As(err, &nr):
		return nr.What()
	case errors.Is(err, fs.ErrNotExist):
		return "no such file"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied: it cannot be read by this user"
	case errors.As(err, &pe):
		return "cannot be read: " + pe.Err.Error()
	}
	return "cannot be read"
}

// exposed refuses a private key file that every user may read (mode bit
// 004), as ssh does: the key is the client's identity. Group read is
// allowed, for a key shared by a service's group. Windows has no such
// bits.
func exposed(mode fs.FileMode) string {
	if runtime.GOOS == "windows" || mode.Perm()&0o004 == 0 {
		return ""
	}
	return fmt.Sprintf("mode %04o lets every user read the private key: chmod 600 (or 640 to share it with a group)", mode.Perm())
}

// parsePrivateKey returns the first private key in a PEM file: PKCS #8
// ("PRIVATE KEY"), PKCS #1 ("RSA PRIVATE KEY") or SEC 1 ("EC PRIVATE
// KEY"), other blocks (certificates, EC parameters) skipped. An encrypted
// key, an OpenSSH key or no key is a reason in the user's words, which
// never quotes the file.
func parsePrivateKey(data []byte) (crypto.Signer, string) {
	var others []string
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if strings.Contains(b.Headers["Proc-Type"], "ENCRYPTED") || b.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, "the private key is encrypted, and tokenactor reads unencrypted keys only: decrypt it into a file only you can read ((umask 077; openssl pkey -in FILE -out PLAIN))"
		}
		var (
			key any
			err error
		)
		switch b.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(b.Bytes)
		case "OPENSSH PRIVATE KEY":
			return nil, "an OpenSSH private key: convert a copy to PKCS #8 PEM (ssh-keygen -p -m PKCS8 -f COPY)"
		default:
			others = append(others, printable(strings.ToLower(limit(b.Type, 40))))
			continue
		}
		if err != nil {
			return nil, "its " + b.Type + " block is not a valid key"
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, "its " + b.Type + " block holds a key that cannot sign"
		}
		return signer, ""
	}
	if len(others) == 0 {
		if bytes.Contains(data, []byte("-----BEGIN")) {
			return nil, "a PEM block in it is malformed"
		}
		return nil, "not PEM: want a PEM private key (-----BEGIN PRIVATE KEY-----)"
	}
	return nil, "no private key in it, only " + joinAnd(others)
}

// limit cuts s to n bytes.
func limit(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// signingAlg returns the JWS algorithm private_key_jwt signs with key, or
// why the key cannot be used for it.
func signingAlg(key crypto.Signer) (alg, reason string) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if n := k.N.BitLen(); n < 2048 {
			return "", fmt.Sprintf("an RSA key of %d bits; private_key_jwt needs 2048 or more", n)
		}
		return "RS256", ""
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return "", "an EC key on " + k.Curve.Params().Name + "; private_key_jwt here needs P-256 (ES256)"
		}
		return "ES256", ""
	case ed25519.PrivateKey:
		return "EdDSA", ""
	}
	return "", "a key of a kind private_key_jwt does not support: use RSA, EC P-256 or Ed25519"
}

// describe says what the client authenticates with, for status: never a
// key, only where it is and what it is.
func (c *clientCreds) describe() string {
	from := "from -client-key"
	if c.profile != "" {
		from = "saved with profile " + c.profile
	}
	if c.key != nil {
		s := "private key " + c.files.Key + " (" + c.alg
		if c.files.KeyID != "" {
			s += ", key ID " + printable(c.files.KeyID)
		}
		if c.files.Audience != "" {
			s += ", audience " + redactURL(c.files.Audience)
		}
		return s + "; " + from + ")"
	}
	if c.profile == "" {
		from = "from -client-cert"
	}
	leaf := c.cert.Leaf
	validity := "valid until " + leaf.NotAfter.Local().Format(time.DateTime+" MST")
	if now := time.Now(); now.After(leaf.NotAfter) {
		validity = "EXPIRED on " + leaf.NotAfter.Local().Format(time.DateTime+" MST")
	} else if now.Before(leaf.NotBefore) {
		validity = "not valid before " + leaf.NotBefore.Local().Format(time.DateTime+" MST")
	}
	return fmt.Sprintf("TLS client certificate %s (subject %s, %s; %s)", c.files.Cert, printable(limit(leaf.Subject.String(), 200)), validity, from)
}

// clientFor returns the HTTP client a command sends its requests with,
// presenting c's certificate if it has one, and the counter of its
// requests. Without a certificate it is e.httpClient.
func (e *env) clientFor(c *clientCreds) (*http.Client, *countingTransport) {
	if c == nil || c.cert == nil {
		return e.httpClient()
	}
	// A copy of the base transport that presents the certificate. Only an
	// *http.Transport can; tests that replace it with another kind do not
	// use certificates.
	var t *http.Transport
	if base, ok := e.transport.(*http.Transport); ok {
		t = base.Clone()
	} else if def, ok := http.DefaultTransport.(*http.Transport); ok && e.transport == nil {
		t = def.Clone()
	} else {
		t = &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true}
	}
	if t.TLSClientConfig == nil {
		t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	} else {
		t.TLSClientConfig = t.TLSClientConfig.Clone()
	}
	t.TLSClientConfig.Certificates = []tls.Certificate{*c.cert}
	withCert := *e
	withCert.transport = t
	return withCert.httpClient()
}

// clientKey returns c's key, nil for none.
func (c *clientCreds) clientKey() *strategy.ClientKey {
	if c == nil {
		return nil
	}
	return c.key
}

// flag names the flag of what c authenticates with, for messages; "" for
// a nil c.
func (c *clientCreds) flag() string {
	switch {
	case c == nil:
		return ""
	case c.cert != nil:
		return "-client-cert"
	}
	return "-client-key"
}

// tlsAuth reports whether c authenticates with a certificate.
func (c *clientCreds) tlsAuth() bool { return c != nil && c.cert != nil }

// endpointConfig returns the config of a revocation or introspection
// request at u by clientID, authenticated with c, sent with client.
func (c *clientCreds) endpointConfig(u, clientID string, client *http.Client) strategy.EndpointConfig {
	return strategy.EndpointConfig{URL: u, ClientID: clientID, ClientKey: c.clientKey(), TLSClientAuth: c.tlsAuth(), HTTPClient: client}
}

// envCredentials reports whether client credentials are set in the
// environment, which token and status use before a saved session.
func envCredentials(e *env) bool {
	return e.getenv(strategy.EnvAccessKey) != "" || e.getenv(strategy.EnvClientID) != "" || e.getenv(strategy.EnvClientSecret) != ""
}

// resolveCreds returns what the client of token and status authenticates
// with: the files the flags name, else, when the command uses the saved
// session (-profile given, or no client credentials in the environment),
// the files its profile remembers. With -profile the environment is not
// read: only flags given on the command line replace the saved files (a
// service's key in TOKENACTOR_CLIENT_KEY_FILE must not sign the refresh
// of a user's session). A remembered file that is gone or
// unusable is an error, never a silent fall back to no key: the refresh
// would then fail as invalid_client, or succeed as another kind of
// client. It returns the exit code after reporting a problem.
func resolveCreds(ctx context.Context, e *env, cmd string, a *authFlags, flagProfile string) (*clientCreds, int) {
	if flagProfile != "" {
		a = a.withoutEnvironment()
	}
	files, msg := a.files()
	if msg != "" {
		return nil, usageError(e, cmd, msg)
	}
	profile := ""
	if files.empty() && (flagProfile != "" || !envCredentials(e)) {
		var err error
		if files, profile, err = savedClientFiles(ctx, e, flagProfile); err != nil {
			return nil, fail(e, cmd, err)
		}
	}
	creds, err := loadClientCreds(files, profile)
	if err != nil {
		return nil, fail(e, cmd, err)
	}
	return creds, exitOK
}

// savedClientFiles returns the key files the profile's saved session
// remembers, and the profile's name; none if there is no readable session
// (the command reports that itself) or the profile name is not valid.
func savedClientFiles(ctx context.Context, e *env, flagProfile string) (clientFiles, string, error) {
	store, name, err := profileStore(e, flagProfile)
	if err != nil {
		return clientFiles{}, "", nil
	}
	sess, err := store.Load(ctx, name)
	if err != nil {
		return clientFiles{}, "", nil
	}
	files, err := loadClientFiles(store, name, sess)
	return files, name, err
}

// notAFileName says why v, given where a key's or a certificate's file
// name goes, is the key or certificate itself (PEM text, base64, a JWK),
// or no file name at all; "" if it may be a name. The message never
// repeats v.
func notAFileName(v string) string {
	t := strings.TrimSpace(v)
	switch {
	case strings.Contains(v, "-----BEGIN") || strings.ContainsAny(v, "\r\n"):
		return "holds PEM data, not a file name: put it in a file only you can read, and give that file's name"
	case base64KeyData(t):
		return "holds base64-encoded key or certificate data, not a file name: decode it into a file only you can read, and give that file's name"
	case strings.HasPrefix(strings.Join(strings.Fields(t), ""), `{"`) || strings.Contains(t, `"kty"`):
		return "holds JSON (a JWK?), not a file name: put the key in PEM form in a file only you can read, and give that file's name"
	}
	for _, part := range strings.Split(filepath.ToSlash(v), "/") {
		if n := nameLen(part); n > maxNameLen {
			return fmt.Sprintf("is not a file name: a part of it is %d characters long, more than a file system allows", n)
		}
	}
	return ""
}

// maxNameLen is the longest name of one file or directory the usual file
// systems allow, counted as nameLen counts: 255 UTF-16 units on NTFS and
// 255 characters on APFS (Linux's 255 bytes is stricter, and its open
// says so).
const maxNameLen = 255

// nameLen is the length of a name in UTF-16 units, which is never more
// than in bytes or less than in characters.
func nameLen(name string) int {
	n := 0
	for _, r := range name {
		if l := utf16.RuneLen(r); l > 0 {
			n += l
		} else {
			n++
		}
	}
	return n
}

// minDER is shorter than any key or certificate in DER (an Ed25519 key
// in PKCS #8 is 48 bytes): a shorter sequence is more likely a name that
// happens to decode, such as "MAA".
const minDER = 32

// base64KeyData reports whether v, given as a file name, is a key or a
// certificate in base64 (either alphabet, padded or not): PEM text, or one
// DER value filling the whole of what it decodes to. A real path almost
// never decodes, and never to either.
func base64KeyData(v string) bool {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(v)
		if err != nil {
			continue
		}
		if bytes.Contains(b, []byte("-----BEGIN")) {
			return true
		}
		var der asn1.RawValue
		if rest, err := asn1.Unmarshal(b, &der); err == nil && len(rest) == 0 && der.Tag == asn1.TagSequence && der.IsCompound && len(b) >= minDER {
			return true
		}
	}
	return false
}
