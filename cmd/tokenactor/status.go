package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/strategy"
)

const statusSynopsis = `status [flags]

Shows which credentials 'tokenactor token' would use, and for a saved
session who it belongs to, until when its access token is valid and where
it is stored. It never shows a token, a secret or a password in a URL.

Without -check it reads only the environment, the session file and the
client's key or certificate file, and says the server was not asked: a session that looks valid there may have
been revoked. With -check it asks the server and reports its answer:
token introspection (RFC 7662) where the server's metadata advertises it,
else a refresh of the session (or a new grant for client credentials).

Environment:
  TOKENACTOR_ACCESS_KEY      "<client id>.<secret>" for client credentials
  TOKENACTOR_CLIENT_ID       client credentials as two variables, with
  TOKENACTOR_CLIENT_SECRET
  TOKENACTOR_TOKEN_URL       token endpoint for the above; overrides the one
                             saved with a session
  TOKENACTOR_ISSUER          issuer URL whose metadata names the endpoints
  TOKENACTOR_CLIENT_KEY_FILE, TOKENACTOR_CLIENT_CERT_FILE
                             the client's private key or certificate, for
                             a client without a secret (see the flags)
  TOKENACTOR_PROFILE         profile of the saved session ("default")
  TOKENACTOR_CONFIG_DIR      directory of saved sessions (default: the user
                             config directory + /tokenactor)

Exit status: 0 authenticated (with -check: the server said so), 1 failure,
2 bad flag or setting, 3 not authenticated, the session is over, or (with
-check) the server refused it, 4 server or network unavailable (with
-check).`

func runStatus(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	profile := fs.String("profile", "", "show the session saved for this profile, even if credentials are set in the environment (default $TOKENACTOR_PROFILE or \"default\")")
	issuer := envFlag(fs, e, "issuer", strategy.EnvIssuer, "issuer `url` whose metadata names the introspection endpoint")
	check := fs.Bool("check", false, "ask the server whether the credentials or the session are still good")
	auth := addAuthFlags(fs, e)
	timeout := fs.Duration("timeout", 30*time.Second, "with -check, give up after this long")
	if done, code := parseFlags(e, fs, statusSynopsis, args); done {
		return code
	}
	if *timeout <= 0 {
		return usageError(e, "status", "-timeout must be positive")
	}
	creds, code := resolveCreds(ctx, e, "status", auth, *profile)
	if code != exitOK {
		return code
	}
	tokenURL := e.getenv(strategy.EnvTokenURL)
	auto, counter, f, code := newAuto(ctx, e, "status", *profile, tokenURL, *issuer, nil, creds)
	if auto == nil {
		return code
	}
	defer auto.Close()
	f.timeout = *timeout

	w := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	defer w.Flush()
	row(w, "credentials", auto.Source())
	var sess *strategy.Session
	code = exitOK
	switch auto.Strategy().(type) {
	case *strategy.AccessKeyStrategy:
		row(w, "kind", "client credentials (service to service)")
		row(w, "client", envClientID(e))
		switch {
		case tokenURL != "":
			row(w, "token url", redactURL(tokenURL))
		case *issuer != "":
			row(w, "issuer", redactURL(*issuer))
		}
	case *strategy.OAuthStrategy:
		sess, code = describeSession(ctx, e, w, *profile)
	}
	if code != exitOK {
		return code
	}
	if creds != nil {
		row(w, "client auth", creds.describe())
	}
	if !*check {
		row(w, "server", "not asked (run 'tokenactor status -check' to ask it)")
		return exitOK
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if sess != nil {
		answered, code := introspectSession(ctx, e, w, *sess, *issuer, creds, f)
		if answered {
			return code
		}
	}
	// Ask for a token, and if none came from the server (the saved one was
	// still valid), reject it so that the server is asked.
	before := counter.sent.Load()
	tok, err := auto.Get(ctx)
	if err == nil && counter.sent.Load() == before {
		tokenactor.Reject(auto, tok)
		tok, err = auto.Get(ctx)
	}
	if err != nil {
		w.Flush()
		return f.at(ctx).report(e, err)
	}
	if counter.sent.Load() == before {
		row(w, "server", "not asked: no request was needed")
		return exitOK
	}
	what := "issued a new token"
	if sess != nil {
		what = "refreshed the session"
	}
	row(w, "server", what+": the access token is "+validity(tok.ExpiresAt, time.Now()))
	return exitOK
}

// introspectSession asks the introspection endpoint the server advertises
// about sess's refresh token (its access token if it has none), and writes
// the answer. answered is false when there is no such endpoint or it would
// not answer this client; the caller then checks with a refresh.
func introspectSession(ctx context.Context, e *env, w *tabwriter.Writer, sess strategy.Session, issuer string, creds *clientCreds, f failure) (answered bool, code int) {
	if issuer == "" {
		issuer = issuerOf(sess.TokenURL)
	}
	if issuer == "" {
		return false, exitOK
	}
	client, _ := e.clientFor(creds)
	md, err := (&strategy.Discovery{HTTPClient: client}).Metadata(ctx, issuer)
	if err != nil || md.IntrospectionEndpoint == "" {
		return false, exitOK
	}
	tok, hint := sess.RefreshToken, strategy.HintRefreshToken
	if tok.IsZero() {
		tok, hint = sess.AccessToken, strategy.HintAccessToken
	}
	in, err := strategy.Introspect(ctx, creds.endpointConfig(md.IntrospectionEndpoint, sess.ClientID, client), tok, hint)
	switch {
	case errors.Is(err, strategy.ErrLoginRequired):
		return false, exitOK // this client may not introspect
	case err != nil:
		w.Flush()
		f.endpoint, f.url = "introspection endpoint", md.IntrospectionEndpoint
		return true, f.at(ctx).report(e, err)
	case !in.Active:
		row(w, "server", "the session is not active (revoked or expired), said "+redactURL(md.IntrospectionEndpoint))
		w.Flush()
		fmt.Fprintln(e.stderr, "The server ended the session. Run 'tokenactor login'.")
		return true, exitNotAuthenticated
	}
	row(w, "server", "the session is active, said "+redactURL(md.IntrospectionEndpoint))
	return true, exitOK
}

// describeSession writes what the saved session says, and returns exit 3 if
// it can no longer be used.
func describeSession(ctx context.Context, e *env, w io.Writer, flagProfile string) (*strategy.Session, int) {
	store, name, err := profileStore(e, flagProfile)
	if err != nil {
		return nil, fail(e, "status", err)
	}
	sess, err := store.Load(ctx, name)
	if err != nil {
		return nil, fail(e, "status", err)
	}
	row(w, "kind", "user session (refresh token)")
	row(w, "profile", name)
	row(w, "stored in", store.Path(name))
	if who := subject(sess.AccessToken.Reveal()); who != "" {
		row(w, "user", who)
	}
	row(w, "client", sess.ClientID)
	tokenURL := redactURL(sess.TokenURL)
	if u := e.getenv(strategy.EnvTokenURL); u != "" {
		tokenURL = redactURL(u) + " (from " + strategy.EnvTokenURL + ")"
	}
	row(w, "token url", tokenURL)
	if sess.Scope != "" {
		row(w, "scope", printable(sess.Scope))
	}
	now := time.Now()
	row(w, "access token", validity(sess.ExpiresAt, now)+" (as saved)")
	refreshable := !sess.RefreshToken.IsZero()
	if refreshable {
		row(w, "refresh", "yes: a new access token is fetched when needed")
	} else {
		row(w, "refresh", "no refresh token: log in again when the access token expires")
	}
	if !refreshable && !sess.ExpiresAt.IsZero() && !now.Before(sess.ExpiresAt) {
		if tw, ok := w.(*tabwriter.Writer); ok {
			tw.Flush()
		}
		fmt.Fprintln(e.stderr, "The session is over. Run 'tokenactor login'.")
		return nil, exitNotAuthenticated
	}
	return &sess, exitOK
}

// printable replaces control characters in s, so text from a file or a
// server cannot drive the terminal.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}

func row(w io.Writer, k, v string) { fmt.Fprintf(w, "%s\t%s\n", k, v) }

// validity describes an expiry time relative to now.
func validity(exp, now time.Time) string {
	switch {
	case exp.IsZero():
		return "no expiry given by the server"
	case now.Before(exp):
		return fmt.Sprintf("valid until %s (in %v)", exp.Local().Format(time.DateTime+" MST"), exp.Sub(now).Round(time.Second))
	}
	return fmt.Sprintf("expired at %s (%v ago)", exp.Local().Format(time.DateTime+" MST"), now.Sub(exp).Round(time.Second))
}

// envClientID returns the client ID of the credentials in the environment.
func envClientID(e *env) string {
	if raw := e.getenv(strategy.EnvAccessKey); raw != "" {
		if key, err := strategy.ParseAccessKey(raw); err == nil {
			return key.ID + " (from " + strategy.EnvAccessKey + ")"
		}
	}
	return e.getenv(strategy.EnvClientID) + " (from " + strategy.EnvClientID + ")"
}

// maxJWT bounds the token subject will decode.
const maxJWT = 16 << 10

// subject returns who an access token belongs to, if it is a JWT naming
// them (preferred_username, email or sub, in that order), else "". It does
// not verify the token: this is for display only. Anything unprintable or
// over 200 bytes is left out.
func subject(token string) string {
	parts := strings.Split(token, ".")
	if len(token) > maxJWT || len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return ""
	}
	var claims struct {
		PreferredUsername string `json:"preferred_username"`
		Email             string `json:"email"`
		Sub               string `json:"sub"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return ""
	}
	for _, s := range []string{claims.PreferredUsername, claims.Email, claims.Sub} {
		if s != "" && len(s) <= 200 && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) < 0 {
			return s
		}
	}
	return ""
}
