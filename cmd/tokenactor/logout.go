package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/tokenactor/tokenactor/strategy"
)

const logoutSynopsis = `logout [flags]

Ends the session 'tokenactor login' saved for the profile: it revokes the
refresh token at the server's revocation endpoint (RFC 7009), which ends
the session there, then removes the session file. It says what it did.

The revocation endpoint is -revoke-url (TOKENACTOR_REVOCATION_URL), else
the one the metadata of -issuer (TOKENACTOR_ISSUER) names, else the one the
metadata at the origin of the session's token URL names. A server without
one is told nothing: its tokens stay valid until they expire.

The client authenticates to the revocation endpoint with -client-key or
-client-cert when given, else with the files the session was logged in
with, else as a public client. If a remembered file is gone, the session
is kept (exit 2).

If the server cannot be reached or refuses the revocation, the session is
kept, so that logging out can be tried again; -local removes it without
contacting the server.

Exit status: 0 logged out (or nothing to do), 1 failure, 2 bad flag or
setting, 4 server or network unavailable (the session is kept).`

func runLogout(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("logout", flag.ContinueOnError)
	profile := fs.String("profile", "", "profile of the saved session (default $TOKENACTOR_PROFILE or \"default\")")
	revokeURL := envFlag(fs, e, "revoke-url", envRevocationURL, "revocation endpoint `url`")
	issuer := envFlag(fs, e, "issuer", strategy.EnvIssuer, "issuer `url` whose metadata names the revocation endpoint")
	local := fs.Bool("local", false, "only remove the saved session; do not contact the server")
	auth := addAuthFlags(fs, e)
	timeout := fs.Duration("timeout", 30*time.Second, "give up on the server after this long")
	if done, code := parseFlags(e, fs, logoutSynopsis, args); done {
		return code
	}
	if *timeout <= 0 {
		return usageError(e, "logout", "-timeout must be positive")
	}
	files, msg := auth.files()
	if msg != "" {
		return usageError(e, "logout", msg)
	}
	store, name, err := profileStore(e, *profile)
	if err != nil {
		return fail(e, "logout", err)
	}
	sess, err := store.Load(ctx, name)
	var corrupt *strategy.CorruptSessionError
	switch {
	case errors.Is(err, strategy.ErrNoSession):
		if err := saveClientFiles(store, name, clientFiles{}, strategy.Session{}); err != nil {
			return fail(e, "logout", err)
		}
		fmt.Fprintf(e.stderr, "No session saved for profile %s (%s); nothing to do.\n", name, store.Path(name))
		return exitOK
	case errors.As(err, &corrupt):
		*local = true // nothing in it can be revoked
	case err != nil:
		return fail(e, "logout", err)
	}
	keep := "The session is kept: run 'tokenactor logout' again later, or 'tokenactor logout -local' to remove it without revoking."
	if !*local {
		// The client authenticates to the revocation endpoint as it does
		// to the token endpoint: with the files given, else those the
		// profile remembers.
		origin := ""
		if files.empty() {
			if files, err = loadClientFiles(store, name, sess); err != nil {
				code := fail(e, "logout", err)
				fmt.Fprintln(e.stderr, keep)
				return code
			}
			origin = name
		}
		creds, err := loadClientCreds(files, origin)
		if err != nil {
			code := fail(e, "logout", err)
			fmt.Fprintln(e.stderr, keep)
			return code
		}
		ctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		if code := revokeSession(ctx, e, sess, *revokeURL, *issuer, creds, *timeout, keep); code != exitOK {
			return code
		}
	}
	if err := store.Delete(ctx, name); err != nil {
		return fail(e, "logout", err)
	}
	// The key files it remembered go with the session; the files
	// themselves are the user's and stay.
	if err := saveClientFiles(store, name, clientFiles{}, strategy.Session{}); err != nil {
		return fail(e, "logout", err)
	}
	fmt.Fprintf(e.stderr, "Logged out of profile %s: removed %s.\n", name, store.Path(name))
	return exitOK
}

// revokeSession revokes sess's refresh token (its access token if it has
// none) at the revocation endpoint, found as the help says, and reports
// what it did. Any exit code but exitOK means the session must be kept.
func revokeSession(ctx context.Context, e *env, sess strategy.Session, revokeURL, issuer string, creds *clientCreds, timeout time.Duration, keep string) int {
	client, _ := e.clientFor(creds)
	f := failure{cmd: "logout", timeout: timeout, endpoint: "revocation endpoint", url: revokeURL, clientAuth: creds.flag()}
	if revokeURL == "" {
		guessed := issuer == ""
		if guessed {
			issuer = issuerOf(sess.TokenURL)
		}
		if issuer != "" {
			disc := &strategy.Discovery{HTTPClient: client}
			md, err := disc.Metadata(ctx, issuer)
			switch {
			case err == nil:
				revokeURL = md.RevocationEndpoint
			case guessed && (errors.Is(err, strategy.ErrNoMetadata) || isConfigError(err)):
				// The origin publishes no metadata of its own: no
				// revocation endpoint is known.
			default:
				f.endpoint, f.url = "server metadata", issuer
				code := f.at(ctx).report(e, err)
				fmt.Fprintln(e.stderr, keep)
				return code
			}
		}
	}
	if revokeURL == "" {
		fmt.Fprintln(e.stderr, "The server has no revocation endpoint that tokenactor knows of (set -revoke-url or -issuer if it has one): the session's tokens stay valid at the server until they expire.")
		return exitOK
	}
	tok, hint, what := sess.RefreshToken, strategy.HintRefreshToken, "refresh token (and with it the session)"
	if tok.IsZero() {
		tok, hint, what = sess.AccessToken, strategy.HintAccessToken, "access token"
	}
	f.url = revokeURL
	err := strategy.Revoke(ctx, creds.endpointConfig(revokeURL, sess.ClientID, client), tok, hint)
	if err != nil {
		code := f.at(ctx).report(e, err)
		fmt.Fprintln(e.stderr, keep)
		return code
	}
	fmt.Fprintf(e.stderr, "Revoked the %s at %s.\n", what, redactURL(revokeURL))
	return exitOK
}

// profileStore returns the file store of saved sessions and the profile to
// use: flag, else $TOKENACTOR_PROFILE, else "default".
func profileStore(e *env, flagProfile string) (*strategy.FileStore, string, error) {
	profile := flagProfile
	if profile == "" {
		profile = e.getenv(strategy.EnvProfile)
	}
	if profile == "" {
		profile = strategy.DefaultProfile
	}
	dir := e.getenv(strategy.EnvConfigDir)
	if dir == "" {
		var err error
		if dir, err = strategy.DefaultConfigDir(); err != nil {
			return nil, "", err
		}
	}
	return strategy.NewFileStore(dir), profile, nil
}
