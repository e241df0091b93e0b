package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/strategy"
)

// fail prints err for a shell user, with what to do about it, and returns
// the exit code its class calls for. The errors of package strategy never
// hold a secret, so printing them is safe.
func fail(e *env, cmd string, err error) int {
	code, hint := classify(err)
	fmt.Fprintf(e.stderr, "tokenactor %s: %v\n", cmd, err)
	if hint != "" {
		fmt.Fprintln(e.stderr, hint)
	}
	return code
}

// classify maps an error to an exit code and a hint.
func classify(err error) (code int, hint string) {
	var cfgErr *strategy.ConfigError
	var corrupt *strategy.CorruptSessionError
	switch {
	case errors.As(err, &corrupt):
		return exitFailure, "Run 'tokenactor logout' to remove it, then 'tokenactor login'."
	case errors.As(err, &cfgErr), errors.Is(err, strategy.ErrAccessKeyMissingDot),
		errors.Is(err, strategy.ErrAccessKeyEmptyID), errors.Is(err, strategy.ErrAccessKeyEmptySecret):
		return exitUsage, "Fix the setting named above; 'tokenactor status --help' lists the variables."
	case errors.Is(err, strategy.ErrAccessDenied):
		return exitNotAuthenticated, "The login was declined. Run 'tokenactor login' to try again."
	case errors.Is(err, strategy.ErrDeviceCodeExpired):
		return exitNotAuthenticated, "The code expired before the login was approved. Run 'tokenactor login' again."
	case errors.Is(err, tokenactor.ErrNotAuthenticated):
		return exitNotAuthenticated, fmt.Sprintf("Run 'tokenactor login', or set %s and %s.", strategy.EnvAccessKey, strategy.EnvTokenURL)
	case errors.Is(err, strategy.ErrLoginRequired):
		return exitNotAuthenticated, fmt.Sprintf("The server refused the credentials. For a saved session run 'tokenactor login' again; for credentials in the environment check %s (or %s and %s).",
			strategy.EnvAccessKey, strategy.EnvClientID, strategy.EnvClientSecret)
	case errors.Is(err, strategy.ErrTemporary), errors.Is(err, context.DeadlineExceeded):
		return exitTemporary, "The server or the network is unavailable; try again later."
	case errors.Is(err, context.Canceled):
		return exitFailure, ""
	}
	return exitFailure, ""
}
