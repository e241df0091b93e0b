package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/tokenactor/tokenactor/strategy"
)

// Environment variables of the login command, for the device authorization
// endpoint and the CLI's own client ID, which package strategy does not
// read.
const (
	envDeviceAuthURL = "TOKENACTOR_DEVICE_AUTH_URL"
	envLoginClientID = "TOKENACTOR_LOGIN_CLIENT_ID"
)

const loginSynopsis = `login [flags]

Logs you in with the OAuth 2.0 device authorization grant (RFC 8628): it
shows a code and a URL, you open the URL in any browser and enter the code,
and the session is saved for the profile, where 'tokenactor token' finds
it. Messages go to stderr; nothing is written to stdout.

Where the endpoints come from, first found wins:
  1. -device-url and -token-url (TOKENACTOR_DEVICE_AUTH_URL,
     TOKENACTOR_TOKEN_URL);
  2. the metadata (RFC 8414, else OpenID Connect discovery) of -issuer
     (TOKENACTOR_ISSUER);
  3. when logging in again: the token URL saved with the profile's
     session, and the metadata at that URL's origin.
The client ID is -client-id (TOKENACTOR_LOGIN_CLIENT_ID), else the one
saved with the session. So after a first login, 'tokenactor login' alone
logs in again.

A client with a registered key or certificate authenticates with
-client-key FILE (private_key_jwt) or -client-cert FILE (mutual TLS)
instead of being a public client. The session remembers the files' paths
(never their content), so that 'tokenactor token' refreshes with them and
'tokenactor login' alone logs in again with them; a login as another
client forgets them.

-scope, -audience, -resource and -param are sent with the device
authorization request (TOKENACTOR_SCOPE, TOKENACTOR_AUDIENCE,
TOKENACTOR_RESOURCE, TOKENACTOR_PARAMS). Ask for offline_access (or your
server's equivalent) to get a refresh token.

Exit status: 0 logged in, 1 failure, 2 bad flag or setting, 3 the login was
declined or the code expired, 4 server or network unavailable.`

func runLogin(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("login", flag.ContinueOnError)
	profile := fs.String("profile", "", "profile to save the session under (default $TOKENACTOR_PROFILE or \"default\")")
	deviceURL := envFlag(fs, e, "device-url", envDeviceAuthURL, "device authorization endpoint `url`")
	tokenURL := envFlag(fs, e, "token-url", strategy.EnvTokenURL, "token endpoint `url`")
	issuer := envFlag(fs, e, "issuer", strategy.EnvIssuer, "issuer `url` whose metadata names the endpoints")
	clientID := envFlag(fs, e, "client-id", envLoginClientID, "client `id` of this CLI at the server")
	req := addRequestFlags(fs, e)
	auth := addAuthFlags(fs, e)
	if done, code := parseFlags(e, fs, loginSynopsis, args); done {
		return code
	}
	params, style, msg := req.values()
	if msg != "" {
		return usageError(e, "login", msg)
	}
	files, msg := auth.files()
	if msg != "" {
		return usageError(e, "login", msg)
	}
	store, name, err := profileStore(e, *profile)
	if err != nil {
		return fail(e, "login", err)
	}

	// Logging in again: what the saved session knows fills the gaps, and
	// the key files it remembers authenticate the same client again.
	filesFrom := ""
	if *tokenURL == "" || *clientID == "" || files.empty() {
		saved, err := store.Load(ctx, name)
		var corrupt *strategy.CorruptSessionError
		switch {
		case err == nil:
			var reused []string
			if *tokenURL == "" && *issuer == "" && saved.TokenURL != "" {
				*tokenURL = saved.TokenURL
				reused = append(reused, "token URL "+redactURL(saved.TokenURL))
			}
			if *clientID == "" && saved.ClientID != "" {
				*clientID = saved.ClientID
				reused = append(reused, "client ID "+saved.ClientID)
			}
			sameServer := true
			if files.empty() && *clientID == saved.ClientID && saved.TokenURL != "" {
				sameServer = sameURL(loginTokenURL(ctx, e, *tokenURL, *issuer), saved.TokenURL)
			}
			if files.empty() && *clientID == saved.ClientID && !sameServer {
				fmt.Fprintf(e.stderr, "Not using the key files saved with profile %s: they are for the server at %s.\n", name, redactURL(issuerOf(saved.TokenURL)))
			}
			if files.empty() && *clientID == saved.ClientID && sameServer {
				remembered, err := loadClientFiles(store, name, saved)
				if err != nil {
					return fail(e, "login", err)
				}
				files, filesFrom = remembered, name
				switch {
				case files.Key != "":
					reused = append(reused, "client key "+files.Key)
				case files.Cert != "":
					reused = append(reused, "client certificate "+files.Cert)
				}
			}
			if len(reused) > 0 {
				fmt.Fprintf(e.stderr, "Using the %s saved with profile %s.\n", joinAnd(reused), name)
			}
		case errors.As(err, &corrupt):
			return fail(e, "login", err)
		}
	}
	creds, err := loadClientCreds(files, filesFrom)
	if err != nil {
		return fail(e, "login", err)
	}
	client, _ := e.clientFor(creds)
	disc := &strategy.Discovery{HTTPClient: client}
	// Errors of the device authorization endpoint name it; the others are
	// the token endpoint's.
	f := failure{cmd: "login", url: *tokenURL, clientAuth: creds.flag()}
	if *deviceURL == "" && *issuer == "" && *tokenURL != "" {
		// A server that publishes metadata at its origin names its device
		// endpoint there. Not finding it is no error: -device-url is asked
		// for below.
		if md, err := disc.Metadata(ctx, issuerOf(*tokenURL)); err == nil {
			*deviceURL = md.DeviceAuthorizationEndpoint
		} else if !errors.Is(err, strategy.ErrNoMetadata) && !isConfigError(err) {
			f.endpoint, f.url = "server metadata", issuerOf(*tokenURL)
			return f.report(e, err)
		}
	}
	if *issuer == "" {
		for _, fl := range []struct{ name, value, env string }{
			{"-device-url", *deviceURL, envDeviceAuthURL},
			{"-token-url", *tokenURL, strategy.EnvTokenURL},
		} {
			if fl.value == "" {
				return usageError(e, "login", fmt.Sprintf("%s is required (or set %s), or -issuer (%s) for a server that publishes its endpoints", fl.name, fl.env, strategy.EnvIssuer))
			}
		}
	}
	if *clientID == "" {
		return usageError(e, "login", "-client-id is required (or set "+envLoginClientID+")")
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	prompts := make(chan strategy.DeviceAuthorization, 1) // Prompt is called once per Login
	dc, err := strategy.NewDeviceCode(strategy.DeviceCodeConfig{
		DeviceAuthURL:  *deviceURL,
		TokenURL:       *tokenURL,
		Issuer:         *issuer,
		Discovery:      disc,
		ClientID:       *clientID,
		Scopes:         req.scopes(),
		Audience:       *req.audience,
		Resource:       *req.resource,
		EndpointParams: params,
		AuthStyle:      style,
		ClientKey:      creds.clientKey(),
		Store:          store,
		Profile:        name,
		Prompt:         func(da strategy.DeviceAuthorization) { prompts <- da },
		HTTPClient:     client,
	})
	if err != nil {
		return f.report(e, err)
	}
	defer dc.Close()

	var wg sync.WaitGroup
	wg.Go(func() { showPrompt(ctx, e.stderr, e.errTTY, prompts) })
	sess, err := dc.Login(ctx)
	cancel()
	wg.Wait()
	if err != nil {
		return f.report(e, err)
	}
	// The session is saved: remember the files it was logged in with, so
	// that token refreshes with them (or forget those of a former login).
	if err := saveClientFiles(store, name, files, sess); err != nil {
		fmt.Fprintf(e.stderr, "tokenactor login: logged in, but could not remember the key files in %s: %v\n", clientFilesPath(store, name), err)
		fmt.Fprintln(e.stderr, "Pass the same -client-key or -client-cert to 'tokenactor token', or fix the directory and log in again.")
		return exitFailure
	}
	who := subject(sess.AccessToken.Reveal())
	if who == "" {
		who = "client " + sess.ClientID
	}
	fmt.Fprintf(e.stderr, "Logged in as %s. Session saved for profile %s in %s.\n", who, name, store.Path(name))
	return exitOK
}

// isConfigError reports whether err is a *strategy.ConfigError.
func isConfigError(err error) bool {
	var ce *strategy.ConfigError
	return errors.As(err, &ce)
}

// joinAnd joins items as prose: "a", "a and b".
func joinAnd(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	out := items[0]
	for _, it := range items[1 : len(items)-1] {
		out += ", " + it
	}
	return out + " and " + items[len(items)-1]
}

// showPrompt tells the user what to do once the code is known, then counts
// down until the code expires: one line redrawn every second on a terminal,
// nothing more otherwise. It returns when ctx ends.
func showPrompt(ctx context.Context, w io.Writer, tty bool, prompts <-chan strategy.DeviceAuthorization) {
	var da strategy.DeviceAuthorization
	select {
	case da = <-prompts:
	case <-ctx.Done():
		return
	}
	fmt.Fprintf(w, "To log in, open %s\nand enter the code: %s\n", da.VerificationURI, da.UserCode)
	if da.VerificationURIComplete != "" {
		fmt.Fprintf(w, "(or open %s)\n", da.VerificationURIComplete)
	}
	left := func() time.Duration { return time.Until(da.ExpiresAt).Round(time.Second) }
	if !tty {
		fmt.Fprintf(w, "Waiting for approval; the code expires in %v.\n", left())
		<-ctx.Done()
		return
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		fmt.Fprintf(w, "\r\033[KWaiting for approval; the code expires in %v.", max(left(), 0))
		select {
		case <-t.C:
		case <-ctx.Done():
			fmt.Fprint(w, "\r\033[K")
			return
		}
	}
}

// loginTokenURL returns the token URL a login at tokenURL, or at issuer
// if tokenURL is empty, uses: for an issuer, the token endpoint its
// metadata names, fetched without client authentication (metadata is
// public); "" if that fails (the login reports the failure itself).
func loginTokenURL(ctx context.Context, e *env, tokenURL, issuer string) string {
	if tokenURL != "" || issuer == "" {
		return tokenURL
	}
	client, _ := e.clientFor(nil)
	md, err := (&strategy.Discovery{HTTPClient: client}).Metadata(ctx, issuer)
	if err != nil {
		return ""
	}
	return md.TokenEndpoint
}
