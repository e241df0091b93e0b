// Command tokenactor gets OAuth 2.0 access tokens for shell scripts and shows
// the tokenactor refresh model at work.
//
// Usage:
//
//	tokenactor <command> [flags]
//
// Run "tokenactor --help" for the commands and "tokenactor <command> --help"
// for a command's flags. Start with "tokenactor demo": it needs no setup.
//
// Exit status: 0 success, 1 failure, 2 usage or configuration error, 3 not
// authenticated (run "tokenactor login" or set credentials), 4 server or
// network unavailable (try again later).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Exit codes. A shell user branches on them: 2 means fix the command line
// or a setting, 3 means log in, 4 means try again later, 1 is anything else.
const (
	exitOK               = 0
	exitFailure          = 1
	exitUsage            = 2
	exitNotAuthenticated = 3
	exitTemporary        = 4
)

// env is what a command may touch of the outside world. Tests fill it with
// buffers and a fake environment.
type env struct {
	stdout, stderr io.Writer
	// getenv reads an environment variable.
	getenv func(string) string
	// tty and errTTY report that stdout and stderr are terminals, where
	// progress may redraw one line.
	tty, errTTY bool
	// transport sends HTTP requests; nil means http.DefaultTransport.
	transport http.RoundTripper
}

// without returns e with the environment variables names hidden, as if
// unset.
func (e *env) without(names ...string) *env {
	c := *e
	get := e.getenv
	c.getenv = func(k string) string {
		for _, n := range names {
			if k == n {
				return ""
			}
		}
		return get(k)
	}
	return &c
}

// with returns e with the environment variable name set to value.
func (e *env) with(name, value string) *env {
	c := *e
	get := e.getenv
	c.getenv = func(k string) string {
		if k == name {
			return value
		}
		return get(k)
	}
	return &c
}

// A command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) int
}

// commands lists the subcommands in the order the help shows them.
func commands() []command {
	return []command{
		{name: "demo", summary: "run hundreds of clients against an embedded token server (no setup needed)", run: runDemo},
		{name: "token", summary: "print a valid access token for the detected credentials", run: runToken},
		{name: "login", summary: "log in with a code shown here and entered in a browser (device flow)", run: runLogin},
		{name: "logout", summary: "revoke the saved session at the server and remove it", run: runLogout},
		{name: "status", summary: "show which credentials are used, whose, until when, and where stored", run: runStatus},
		{name: "serve", summary: "run a local OAuth 2.0 server to try the commands against", run: runServe},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	e := &env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv,
		tty: isTerminal(os.Stdout), errTTY: isTerminal(os.Stderr)}
	code := run(ctx, e, os.Args[1:])
	stop()
	os.Exit(code)
}

// run runs the command named by args[0] and returns the exit code.
func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		usage(e.stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		usage(e.stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, e, args[1:])
		}
	}
	fmt.Fprintf(e.stderr, "tokenactor: unknown command %q\nRun 'tokenactor --help' for the list of commands.\n", name)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprint(w, "tokenactor gets OAuth 2.0 access tokens and keeps them fresh.\n\n")
	fmt.Fprint(w, "Usage:\n  tokenactor <command> [flags]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "\nRun 'tokenactor <command> --help' for a command's flags.\n")
	fmt.Fprint(w, "Exit status: 0 success, 1 failure, 2 usage or configuration error,\n3 not authenticated (log in or set credentials), 4 server or network unavailable.\n")
}

// parseFlags parses a command's flags. It returns done and the exit code
// when the command should stop: after --help (exit 0, help on stdout) or a
// bad flag (exit 2, the problem and the help on stderr).
func parseFlags(e *env, fs *flag.FlagSet, synopsis string, args []string) (done bool, code int) {
	fs.SetOutput(io.Discard)
	printHelp := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: tokenactor %s\n\n", synopsis)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		printHelp(e.stdout)
		return true, exitOK
	case err != nil:
		fmt.Fprintf(e.stderr, "tokenactor %s: %v\n", fs.Name(), err)
		printHelp(e.stderr)
		return true, exitUsage
	case fs.NArg() > 0:
		fmt.Fprintf(e.stderr, "tokenactor %s: unexpected argument %q\n", fs.Name(), strings.Join(fs.Args(), " "))
		printHelp(e.stderr)
		return true, exitUsage
	}
	return false, exitOK
}

// isTerminal reports whether f is a character device, which for stdout
// means a terminal. It needs no terminal library: a progress line is the
// only thing that depends on it.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
