package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/tokenactor/tokenactor/strategy"
)

const tokenSynopsis = `token [flags]

Prints a valid access token on stdout, for shell scripts:

  curl -H "Authorization: Bearer $(tokenactor token)" https://api.example.com/

Credentials are detected in this order:
  1. TOKENACTOR_ACCESS_KEY ("<client id>.<secret>"), or TOKENACTOR_CLIENT_ID
     with TOKENACTOR_CLIENT_SECRET: client credentials at TOKENACTOR_TOKEN_URL;
  2. the session saved by 'tokenactor login' for the profile (-profile,
     else TOKENACTOR_PROFILE, else "default"), in TOKENACTOR_CONFIG_DIR or the
     user config directory; it is refreshed, and saved again, when needed.

The token is the only thing ever written to stdout; messages go to stderr.
Exit status: 0 token printed, 1 failure, 2 bad flag or setting,
3 not authenticated (log in or set credentials), 4 server or network
unavailable (try again later).`

func runToken(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	profile := fs.String("profile", "", "profile of the saved session (default $TOKENACTOR_PROFILE or \"default\")")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	if done, code := parseFlags(e, fs, tokenSynopsis, args); done {
		return code
	}
	if *timeout <= 0 {
		fmt.Fprintln(e.stderr, "tokenactor token: -timeout must be positive")
		return exitUsage
	}
	auto, err := strategy.NewAuto(strategy.AutoConfig{Profile: *profile, Getenv: e.getenv})
	if err != nil {
		return fail(e, "token", err)
	}
	defer auto.Close()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	tok, err := auto.Get(ctx)
	if err != nil {
		return fail(e, "token", fmt.Errorf("%s: %w", auto.Source(), err))
	}
	fmt.Fprintln(e.stdout, tok.AccessToken.Reveal())
	return exitOK
}
