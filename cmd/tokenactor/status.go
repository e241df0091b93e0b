package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/tokenactor/tokenactor/strategy"
)

const statusSynopsis = `status [flags]

Shows which credentials 'tokenactor token' would use, and for a saved
session who it belongs to, until when its access token is valid and where
it is stored. It never shows a token or a secret. Without -check it reads
only the environment and the session file; with -check it also gets a token
from the server.

Environment:
  TOKENACTOR_ACCESS_KEY      "<client id>.<secret>" for client credentials
  TOKENACTOR_CLIENT_ID       client credentials as two variables, with
  TOKENACTOR_CLIENT_SECRET
  TOKENACTOR_TOKEN_URL       token endpoint for the above; overrides the one
                             saved with a session
  TOKENACTOR_PROFILE         profile of the saved session ("default")
  TOKENACTOR_CONFIG_DIR      directory of saved sessions (default: the user
                             config directory + /tokenactor)

Exit status: 0 authenticated, 1 failure, 2 bad flag or setting,
3 not authenticated or the session is over, 4 server or network
unavailable (with -check).`

func runStatus(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	profile := fs.String("profile", "", "profile of the saved session (default $TOKENACTOR_PROFILE or \"default\")")
	check := fs.Bool("check", false, "also get a token from the server, to test the credentials")
	timeout := fs.Duration("timeout", 30*time.Second, "with -check, give up after this long")
	if done, code := parseFlags(e, fs, statusSynopsis, args); done {
		return code
	}
	auto, err := strategy.NewAuto(strategy.AutoConfig{Profile: *profile, Getenv: e.getenv})
	if err != nil {
		return fail(e, "status", err)
	}
	defer auto.Close()

	w := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	row(w, "credentials", auto.Source())
	code := exitOK
	switch auto.Strategy().(type) {
	case *strategy.AccessKeyStrategy:
		row(w, "kind", "client credentials (service to service)")
		row(w, "client", envClientID(e))
		row(w, "token url", e.getenv(strategy.EnvTokenURL))
	case *strategy.OAuthStrategy:
		code = describeSession(ctx, e, w, *profile)
	}
	if *check && code == exitOK {
		ctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		tok, err := auto.Get(ctx)
		if err != nil {
			w.Flush()
			return fail(e, "status", err)
		}
		row(w, "check", "the server issued a token, "+validity(tok.ExpiresAt, time.Now()))
	}
	w.Flush()
	return code
}

// describeSession writes what the saved session says, and returns exit 3 if
// it can no longer be used.
func describeSession(ctx context.Context, e *env, w io.Writer, flagProfile string) int {
	store, name, err := profileStore(e, flagProfile)
	if err != nil {
		return fail(e, "status", err)
	}
	sess, err := store.Load(ctx, name)
	if err != nil {
		return fail(e, "status", err)
	}
	row(w, "kind", "user session (refresh token)")
	row(w, "profile", name)
	row(w, "stored in", store.Path(name))
	if who := subject(sess.AccessToken.Reveal()); who != "" {
		row(w, "user", who)
	}
	row(w, "client", sess.ClientID)
	tokenURL := sess.TokenURL
	if u := e.getenv(strategy.EnvTokenURL); u != "" {
		tokenURL = u + " (from " + strategy.EnvTokenURL + ")"
	}
	row(w, "token url", tokenURL)
	if sess.Scope != "" {
		row(w, "scope", sess.Scope)
	}
	now := time.Now()
	row(w, "access token", validity(sess.ExpiresAt, now))
	refreshable := !sess.RefreshToken.IsZero()
	if refreshable {
		row(w, "refresh", "yes: a new access token is fetched when needed")
	} else {
		row(w, "refresh", "no refresh token: log in again when the access token expires")
	}
	if !refreshable && !sess.ExpiresAt.IsZero() && !now.Before(sess.ExpiresAt) {
		fmt.Fprintln(e.stderr, "The session is over. Run 'tokenactor login'.")
		return exitNotAuthenticated
	}
	return exitOK
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
