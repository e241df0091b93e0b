package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"time"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/strategy"
)

const tokenSynopsis = `token [flags]

Prints a valid access token on stdout, for shell scripts:

  curl -H "Authorization: Bearer $(tokenactor token)" https://api.example.com/

Credentials are detected in this order:
  1. with -profile, the session saved by 'tokenactor login' for that
     profile, even when credentials are set in the environment;
  2. TOKENACTOR_ACCESS_KEY ("<client id>.<secret>"), or TOKENACTOR_CLIENT_ID
     with TOKENACTOR_CLIENT_SECRET: client credentials at -token-url
     (TOKENACTOR_TOKEN_URL), or at the token endpoint the metadata of
     -issuer (TOKENACTOR_ISSUER) names;
  3. the session saved for TOKENACTOR_PROFILE, else "default", in
     TOKENACTOR_CONFIG_DIR or the user config directory; it is refreshed,
     and saved again, when needed.

Instead of a secret, the client may authenticate with a private key
(-client-key FILE, private_key_jwt) or a TLS client certificate
(-client-cert FILE): with client credentials TOKENACTOR_CLIENT_ID is then
set alone, and a saved session is refreshed with them. A session logged in
with a key or a certificate remembers their files, and is refreshed with
them without the flags; if a file is gone, token fails (exit 2) rather
than refresh without it.

The token printed is valid for at least -min-valid more: one that expires
sooner is refreshed first. -scope, -audience, -resource and -param are
sent with the token request (with a saved session, with its refresh).

Formats (-format):
  token            the access token alone, and a newline (the default)
  json             {"token": ..., "type": ..., "expires_at": RFC 3339 or null}
  exec-credential  a kubectl ExecCredential (client.authentication.k8s.io/v1),
                   for a kubeconfig user's exec credential plugin

The token is the only thing ever written to stdout; messages go to stderr.
Exit status: 0 token printed, 1 failure, 2 bad flag or setting (also: a
host that does not exist, a URL that is not an OAuth endpoint), 3 not
authenticated (log in or set credentials), 4 server or network
unavailable (try again later).`

// Output formats of the token command.
const (
	formatToken          = "token"
	formatJSON           = "json"
	formatExecCredential = "exec-credential"
)

// defaultMinValid is how long a printed token stays valid at least, unless
// -min-valid says otherwise: long enough for a script to use it.
const defaultMinValid = time.Minute

func runToken(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	profile := fs.String("profile", "", "use the session saved for this profile, even if credentials are set in the environment (default $TOKENACTOR_PROFILE or \"default\")")
	tokenURL := envFlag(fs, e, "token-url", strategy.EnvTokenURL, "token endpoint `url`")
	issuer := envFlag(fs, e, "issuer", strategy.EnvIssuer, "issuer `url` whose metadata (RFC 8414) names the token endpoint")
	req := addRequestFlags(fs, e)
	auth := addAuthFlags(fs, e)
	minValid := fs.Duration("min-valid", defaultMinValid, "print only a token valid for at least this long; refresh first if needed (0: any valid token)")
	format := fs.String("format", formatToken, "output format: token, json or exec-credential")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	if done, code := parseFlags(e, fs, tokenSynopsis, args); done {
		return code
	}
	switch {
	case *timeout <= 0:
		return usageError(e, "token", "-timeout must be positive")
	case *minValid < 0:
		return usageError(e, "token", "-min-valid must not be negative")
	case *format != formatToken && *format != formatJSON && *format != formatExecCredential:
		return usageError(e, "token", "-format must be token, json or exec-credential")
	}
	creds, code := resolveCreds(ctx, e, "token", auth, *profile)
	if code != exitOK {
		return code
	}
	auto, _, f, code := newAuto(ctx, e, "token", *profile, *tokenURL, *issuer, req, creds)
	if auto == nil {
		return code
	}
	defer auto.Close()
	f.timeout = *timeout
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	tok, err := validFor(ctx, auto, *minValid)
	if err != nil {
		return f.at(ctx).report(e, err)
	}
	out, err := render(*format, tok)
	if err != nil {
		return fail(e, "token", err)
	}
	fmt.Fprintln(e.stdout, out)
	return exitOK
}

// newAuto detects the credentials as the token and status commands do. An
// explicit -profile wins over credentials in the environment, which are
// then not read. The client authenticates with creds' key or certificate,
// if any. It returns nil and the exit code after reporting a problem.
func newAuto(ctx context.Context, e *env, cmd, profile, tokenURL, issuer string, req *requestFlags, creds *clientCreds) (*strategy.AutoStrategy, *countingTransport, failure, int) {
	f := failure{cmd: cmd, endpoint: "token endpoint", url: tokenURL, clientAuth: creds.flag()}
	cfg := strategy.AutoConfig{Profile: profile, TokenURL: tokenURL, Issuer: issuer}
	if req != nil {
		params, style, msg := req.values()
		if msg != "" {
			return nil, nil, f, usageError(e, cmd, msg)
		}
		cfg.Scopes, cfg.Audience, cfg.Resource, cfg.EndpointParams, cfg.AuthStyle = req.scopes(), *req.audience, *req.resource, params, style
	}
	client, counter := e.clientFor(creds)
	cfg.HTTPClient = client
	cfg.ClientKey, cfg.TLSClientAuth = creds.clientKey(), creds.tlsAuth()
	cfg.Discovery = &strategy.Discovery{HTTPClient: client}
	env := e.with(strategy.EnvTokenURL, tokenURL)
	if profile != "" {
		env = env.without(strategy.EnvAccessKey, strategy.EnvClientID, strategy.EnvClientSecret)
	}
	cfg.Getenv = env.getenv
	auto, err := strategy.NewAuto(cfg)
	if err != nil {
		code := f.report(e, err)
		if profile != "" && (e.getenv(strategy.EnvAccessKey) != "" || e.getenv(strategy.EnvClientID) != "") {
			fmt.Fprintln(e.stderr, "(-profile was given, so the client credentials set in the environment were not used.)")
		}
		return nil, nil, f, code
	}
	if _, ok := auto.Strategy().(*strategy.OAuthStrategy); ok && tokenURL == "" {
		f.url = savedTokenURL(ctx, e, profile)
	}
	return auto, counter, f, exitOK
}

// savedTokenURL returns the token URL saved with the profile's session,
// for messages; empty if there is none.
func savedTokenURL(ctx context.Context, e *env, profile string) string {
	store, name, err := profileStore(e, profile)
	if err != nil {
		return ""
	}
	sess, err := store.Load(ctx, name)
	if err != nil {
		return ""
	}
	return sess.TokenURL
}

// validFor returns a token valid for at least d more. A cached or saved
// token that expires sooner is rejected, so the strategy gets a new one;
// if the new one expires sooner too, the server's tokens are too short for
// d, and that is an error.
func validFor(ctx context.Context, s *strategy.AutoStrategy, d time.Duration) (tokenactor.ServiceToken, error) {
	tok, err := s.Get(ctx)
	if err != nil || lastsFor(tok, d) {
		return tok, err
	}
	tokenactor.Reject(s, tok)
	tok, err = s.Get(ctx)
	if err != nil || lastsFor(tok, d) {
		return tok, err
	}
	return tokenactor.ServiceToken{}, &strategy.ConfigError{Field: "-min-valid",
		Reason: fmt.Sprintf("the server issued a token valid for %v, less than %v; lower -min-valid",
			time.Until(tok.ExpiresAt).Round(time.Second), d)}
}

// lastsFor reports whether tok is valid for d more; a token without an
// expiry always is.
func lastsFor(tok tokenactor.ServiceToken, d time.Duration) bool {
	return tok.ExpiresAt.IsZero() || !time.Now().Add(d).After(tok.ExpiresAt)
}

// render formats tok for stdout.
func render(format string, tok tokenactor.ServiceToken) (string, error) {
	var expires *string
	if !tok.ExpiresAt.IsZero() {
		s := tok.ExpiresAt.UTC().Format(time.RFC3339)
		expires = &s
	}
	var v any
	switch format {
	case formatToken:
		return tok.AccessToken.Reveal(), nil
	case formatJSON:
		v = struct {
			Token     string  `json:"token"`
			Type      string  `json:"type"`
			ExpiresAt *string `json:"expires_at"`
		}{tok.AccessToken.Reveal(), tok.TokenType, expires}
	case formatExecCredential:
		// The client.authentication.k8s.io/v1 ExecCredential kubectl reads
		// from a credential plugin; expirationTimestamp tells it when to
		// run the plugin again.
		type status struct {
			Token               string  `json:"token"`
			ExpirationTimestamp *string `json:"expirationTimestamp,omitempty"`
		}
		v = struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Status     status `json:"status"`
		}{"client.authentication.k8s.io/v1", "ExecCredential", status{tok.AccessToken.Reveal(), expires}}
	}
	b, err := json.Marshal(v)
	return string(b), err
}

// usageError reports a problem with the command line and returns exit 2.
func usageError(e *env, cmd, msg string) int {
	fmt.Fprintf(e.stderr, "tokenactor %s: %s\nRun 'tokenactor %s --help' for the flags.\n", cmd, msg, cmd)
	return exitUsage
}
