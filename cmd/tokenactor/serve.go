package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/tokenactor/tokenactor/oauthtest"
	"github.com/tokenactor/tokenactor/strategy"
)

const serveSynopsis = `serve [flags]

Runs a local OAuth 2.0 authorization server to try the other commands
against: the client credentials grant, refresh with rotation, the device
flow with an approval page, revocation, introspection and discovery
metadata. It prints the settings to use, then serves until interrupted
(Ctrl-C). It keeps everything in memory and listens on loopback only.

Exit status: 0 stopped, 1 failure, 2 bad flag or address.`

// serveLoginClientID is the public client "tokenactor login" uses with the
// local server.
const serveLoginClientID = "tokenactor-cli"

// serveShutdownTimeout bounds how long serve waits for requests in flight
// when it stops.
const serveShutdownTimeout = 5 * time.Second

func runServe(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "loopback address to listen on (port 0: any free port)")
	clientID := fs.String("client-id", oauthtest.DefaultClientID, "client ID for the client credentials grant")
	clientSecret := fs.String("client-secret", oauthtest.DefaultClientSecret, "client secret for the client credentials grant")
	lifetime := fs.Duration("lifetime", 10*time.Minute, "lifetime of access tokens (whole seconds)")
	poll := fs.Duration("poll-interval", oauthtest.DefaultPollInterval, "how often a device login may poll (whole seconds, at least 1s)")
	if done, code := parseFlags(e, fs, serveSynopsis, args); done {
		return code
	}
	switch {
	case *lifetime < time.Second || *lifetime%time.Second != 0:
		fmt.Fprintf(e.stderr, "tokenactor serve: -lifetime must be whole seconds, at least 1s (expires_in is in seconds), got %v\n", *lifetime)
		return exitUsage
	case *poll < time.Second || *poll%time.Second != 0:
		fmt.Fprintf(e.stderr, "tokenactor serve: -poll-interval must be whole seconds, at least 1s, got %v\n", *poll)
		return exitUsage
	case *clientID == "" || *clientID == serveLoginClientID:
		fmt.Fprintf(e.stderr, "tokenactor serve: -client-id must be set and differ from %q, the login client\n", serveLoginClientID)
		return exitUsage
	case *clientSecret == "":
		fmt.Fprintln(e.stderr, "tokenactor serve: -client-secret must not be empty")
		return exitUsage
	}
	if err := checkLoopback(*addr); err != nil {
		fmt.Fprintf(e.stderr, "tokenactor serve: -addr %v\n", err)
		return exitUsage
	}
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", *addr)
	if err != nil {
		fmt.Fprintf(e.stderr, "tokenactor serve: %v\n", err)
		return exitFailure
	}
	srv := oauthtest.New("http://"+ln.Addr().String(),
		oauthtest.WithClient(*clientID, *clientSecret),
		oauthtest.WithClient(serveLoginClientID, ""),
		oauthtest.WithLifetime(*lifetime),
		oauthtest.WithPollInterval(*poll))
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1) // the one result of Serve
	go func() { served <- hs.Serve(ln) }()

	printServeSettings(e, srv, *clientID, *clientSecret, *lifetime)

	select {
	case <-ctx.Done():
	case err := <-served:
		fmt.Fprintf(e.stderr, "tokenactor serve: %v\n", err)
		return exitFailure
	}
	sctx, cancel := context.WithTimeout(context.Background(), serveShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(e.stderr, "tokenactor serve: %v\n", err)
		return exitFailure
	}
	fmt.Fprintln(e.stderr, "tokenactor serve: stopped.")
	return exitOK
}

// checkLoopback accepts only host:port addresses whose host is a loopback
// IP or localhost: the approval page has no protection against other
// users, so the server must not be reachable from elsewhere.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%q is not a loopback address (use 127.0.0.1 or [::1])", addr)
}

// printServeSettings prints the settings the other commands need. The
// secret is printed on purpose: it is the local server's own, set by a
// flag, and the user needs it to ask for tokens.
func printServeSettings(e *env, srv *oauthtest.Server, id, secret string, lifetime time.Duration) {
	w := e.stdout
	fmt.Fprintf(w, "OAuth 2.0 server listening at %s\n\n", srv.URL)
	fmt.Fprintf(w, "  issuer                %s\n", srv.URL)
	fmt.Fprintf(w, "  metadata              %s\n", srv.MetadataURL())
	fmt.Fprintf(w, "  token endpoint        %s\n", srv.TokenURL())
	fmt.Fprintf(w, "  device authorization  %s\n", srv.DeviceAuthorizationURL())
	fmt.Fprintf(w, "  approval page         %s\n", srv.VerificationURL())
	fmt.Fprintf(w, "  revocation            %s\n", srv.RevocationURL())
	fmt.Fprintf(w, "  introspection         %s\n", srv.IntrospectionURL())
	fmt.Fprintf(w, "  protected resource    %s\n", srv.ResourceURL())
	fmt.Fprintf(w, "  access token lifetime %v\n\n", lifetime)
	fmt.Fprintf(w, "Client credentials ('tokenactor token'):\n")
	fmt.Fprintf(w, "  export %s=%s\n", strategy.EnvTokenURL, srv.TokenURL())
	fmt.Fprintf(w, "  export %s=%s\n", strategy.EnvClientID, id)
	fmt.Fprintf(w, "  export %s=%s\n\n", strategy.EnvClientSecret, secret)
	fmt.Fprintf(w, "Device login ('tokenactor login', then open the approval page):\n")
	fmt.Fprintf(w, "  tokenactor login -issuer %s -client-id %s\n\n", srv.URL, serveLoginClientID)
	fmt.Fprintf(w, "Press Ctrl-C to stop.\n")
}
