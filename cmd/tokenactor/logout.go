package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/tokenactor/tokenactor/strategy"
)

const logoutSynopsis = `logout [flags]

Removes the session 'tokenactor login' saved for the profile. The tokens are
not revoked at the server; they stop being usable when they expire or when
the server revokes them.`

func runLogout(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("logout", flag.ContinueOnError)
	profile := fs.String("profile", "", "profile of the saved session (default $TOKENACTOR_PROFILE or \"default\")")
	if done, code := parseFlags(e, fs, logoutSynopsis, args); done {
		return code
	}
	store, name, err := profileStore(e, *profile)
	if err != nil {
		return fail(e, "logout", err)
	}
	_, err = store.Load(ctx, name)
	var corrupt *strategy.CorruptSessionError
	switch {
	case errors.Is(err, strategy.ErrNoSession):
		fmt.Fprintf(e.stderr, "No session saved for profile %s (%s); nothing to do.\n", name, store.Path(name))
		return exitOK
	case err != nil && !errors.As(err, &corrupt):
		return fail(e, "logout", err)
	}
	if err := store.Delete(ctx, name); err != nil {
		return fail(e, "logout", err)
	}
	fmt.Fprintf(e.stderr, "Logged out of profile %s: removed %s.\n", name, store.Path(name))
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
