package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
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

Each URL and the client ID may also come from the environment:
TOKENACTOR_DEVICE_AUTH_URL, TOKENACTOR_TOKEN_URL and
TOKENACTOR_LOGIN_CLIENT_ID.

Exit status: 0 logged in, 1 failure, 2 bad flag or setting, 3 the login was
declined or the code expired, 4 server or network unavailable.`

func runLogin(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("login", flag.ContinueOnError)
	profile := fs.String("profile", "", "profile to save the session under (default $TOKENACTOR_PROFILE or \"default\")")
	deviceURL := fs.String("device-url", e.getenv(envDeviceAuthURL), "device authorization endpoint")
	tokenURL := fs.String("token-url", e.getenv(strategy.EnvTokenURL), "token endpoint")
	clientID := fs.String("client-id", e.getenv(envLoginClientID), "client ID of this CLI at the server")
	scope := fs.String("scope", "", "scopes to ask for, space-separated (often: offline_access, for a refresh token)")
	if done, code := parseFlags(e, fs, loginSynopsis, args); done {
		return code
	}
	for _, f := range []struct{ name, value, env string }{
		{"-device-url", *deviceURL, envDeviceAuthURL},
		{"-token-url", *tokenURL, strategy.EnvTokenURL},
		{"-client-id", *clientID, envLoginClientID},
	} {
		if f.value == "" {
			fmt.Fprintf(e.stderr, "tokenactor login: %s is required (or set %s)\nRun 'tokenactor login --help' for the flags.\n", f.name, f.env)
			return exitUsage
		}
	}
	store, name, err := profileStore(e, *profile)
	if err != nil {
		return fail(e, "login", err)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	prompts := make(chan strategy.DeviceAuthorization, 1) // Prompt is called once per Login
	dc, err := strategy.NewDeviceCode(strategy.DeviceCodeConfig{
		DeviceAuthURL: *deviceURL,
		TokenURL:      *tokenURL,
		ClientID:      *clientID,
		Scopes:        strings.Fields(*scope),
		Store:         store,
		Profile:       name,
		Prompt:        func(da strategy.DeviceAuthorization) { prompts <- da },
	})
	if err != nil {
		return fail(e, "login", err)
	}
	defer dc.Close()

	var wg sync.WaitGroup
	wg.Go(func() { showPrompt(ctx, e.stderr, e.errTTY, prompts) })
	sess, err := dc.Login(ctx)
	cancel()
	wg.Wait()
	if err != nil {
		return fail(e, "login", err)
	}
	who := subject(sess.AccessToken.Reveal())
	if who == "" {
		who = "client " + sess.ClientID
	}
	fmt.Fprintf(e.stderr, "Logged in as %s. Session saved for profile %s in %s.\n", who, name, store.Path(name))
	return exitOK
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
