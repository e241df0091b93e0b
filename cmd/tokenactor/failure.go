package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/strategy"
)

// A failure is what a command knows when it reports an error: its name,
// the -timeout in force and the server it was talking to, so the message
// can say what did not answer within how long.
type failure struct {
	cmd string
	// timeout is the -timeout in force; zero if the command has none.
	timeout time.Duration
	// endpoint and url name the server asked, for example "token
	// endpoint" and its URL; url may be empty when it is not known yet.
	endpoint, url string
	// expired reports that the command's -timeout passed (see at).
	expired bool
	// clientAuth names the flag of what the client authenticated with
	// instead of a secret ("-client-key", "-client-cert"); "" for none.
	clientAuth string
}

// at returns f knowing whether ctx, the command's context, has passed its
// deadline.
func (f failure) at(ctx context.Context) failure {
	f.expired = errors.Is(ctx.Err(), context.DeadlineExceeded)
	return f
}

// fail prints err for a shell user, with what to do about it, and returns
// the exit code its class calls for. The errors of package strategy never
// hold a secret, so printing them is safe.
func fail(e *env, cmd string, err error) int { return failure{cmd: cmd}.report(e, err) }

// report prints err and returns the exit code.
func (f failure) report(e *env, err error) int {
	code, msg, hint := f.explain(err)
	fmt.Fprintf(e.stderr, "tokenactor %s: %s\n", f.cmd, msg)
	if hint != "" {
		fmt.Fprintln(e.stderr, hint)
	}
	return code
}

// explain maps an error to an exit code, the message and a hint, in the
// user's words: flag and variable names, the URL asked, the time waited.
func (f failure) explain(err error) (code int, msg, hint string) {
	var (
		cfgErr     *strategy.ConfigError
		corrupt    *strategy.CorruptSessionError
		dnsErr     *net.DNSError
		addrErr    *net.AddrError
		invalid    *strategy.InvalidResponseError
		httpErr    *strategy.HTTPError
		keyFile    *keyFileError
		remembered *clientFilesError
	)
	msg = err.Error()
	switch {
	case errors.As(err, &keyFile):
		return exitUsage, msg, keyFile.hint()
	case errors.As(err, &remembered):
		return exitFailure, msg, "Remove it and log in again with -client-key or -client-cert, which writes it anew."
	case errors.As(err, &corrupt):
		if fi, err := os.Lstat(corrupt.Path); err == nil && fi.IsDir() {
			return exitFailure, msg, "It is a directory, which tokenactor does not remove: move it away yourself, then run 'tokenactor login'."
		}
		return exitFailure, msg, "Run 'tokenactor logout' to remove it, then 'tokenactor login'."
	case errors.As(err, &cfgErr):
		return exitUsage, userField(cfgErr.Field) + ": " + cfgErr.Reason, "Fix the setting named above; 'tokenactor " + f.cmd + " --help' lists the flags and variables."
	case errors.Is(err, strategy.ErrAccessKeyMissingDot), errors.Is(err, strategy.ErrAccessKeyEmptyID), errors.Is(err, strategy.ErrAccessKeyEmptySecret):
		return exitUsage, msg, "Fix the setting named above; 'tokenactor " + f.cmd + " --help' lists the variables."
	case errors.Is(err, strategy.ErrNoMetadata):
		return exitUsage, msg, "Check -issuer (" + strategy.EnvIssuer + "), or give the endpoint URLs instead."
	case errors.As(err, &addrErr):
		return exitUsage, fmt.Sprintf("the address of the %s is not valid: %s", f.what(err), addrErr.Err),
			"Check the URL: " + f.setting(err) + "."
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return exitUsage, fmt.Sprintf("the host %q of the %s does not exist (DNS: no such host)", dnsErr.Name, f.what(err)),
			"Check the URL: " + f.setting(err) + "."
	case notOAuth(err, &invalid, &httpErr):
		return exitUsage, fmt.Sprintf("%s answered with %s: this is not an OAuth %s", f.where(err), notOAuthWhat(invalid, httpErr), f.what(err)),
			"Check the URL: " + f.setting(err) + "."
	case errors.Is(err, strategy.ErrAccessDenied):
		return exitNotAuthenticated, msg, "The login was declined. Run 'tokenactor login' to try again."
	case errors.Is(err, strategy.ErrDeviceCodeExpired):
		return exitNotAuthenticated, msg, "The code expired before the login was approved. Run 'tokenactor login' again."
	case errors.Is(err, tokenactor.ErrNotAuthenticated):
		return exitNotAuthenticated, msg, fmt.Sprintf("Run 'tokenactor login', or set %s and %s.", strategy.EnvAccessKey, strategy.EnvTokenURL)
	case errors.Is(err, strategy.ErrLoginRequired) && f.clientAuth != "" && isInvalidClient(err):
		return exitNotAuthenticated, msg, fmt.Sprintf("The server refused the client's %s: check that it has the client's public key or certificate, registered for this client ID.", f.clientAuth)
	case errors.Is(err, strategy.ErrLoginRequired):
		return exitNotAuthenticated, msg, fmt.Sprintf("The server refused the credentials. For a saved session run 'tokenactor login' again; for credentials in the environment check %s (or %s and %s).",
			strategy.EnvAccessKey, strategy.EnvClientID, strategy.EnvClientSecret)
	case timedOut(err):
		return exitTemporary, f.timeoutMessage(err), "The server or the network is slow or unavailable; try again later, or allow more time with -timeout."
	case errors.Is(err, strategy.ErrTemporary):
		return exitTemporary, msg, "The server or the network is unavailable; try again later."
	case errors.Is(err, context.Canceled):
		return exitFailure, msg, ""
	}
	return exitFailure, msg, ""
}

// userField names a configuration field as the user sets it: a flag and
// its environment variable.
func userField(field string) string {
	switch {
	case strings.HasSuffix(field, ".TokenURL"), field == "token URL":
		return "-token-url (" + strategy.EnvTokenURL + ")"
	case strings.HasSuffix(field, ".DeviceAuthURL"):
		return "-device-url (" + envDeviceAuthURL + ")"
	case strings.HasSuffix(field, ".Issuer"), field == "issuer":
		return "-issuer (" + strategy.EnvIssuer + ")"
	case strings.HasSuffix(field, ".EndpointParams"):
		return "-param (" + envParams + ")"
	case field == "DeviceCodeConfig.ClientID", field == "OAuthConfig.ClientID", field == "EndpointConfig.ClientID":
		return "-client-id (" + envLoginClientID + ")"
	case field == "AccessKeyConfig.ClientID":
		return strategy.EnvClientID
	case field == "AccessKeyConfig.ClientSecret":
		return strategy.EnvClientSecret
	case field == "EndpointConfig.URL":
		return "-revoke-url (" + envRevocationURL + ")"
	case strings.HasSuffix(field, ".AuthStyle"), field == "auth style":
		return "-auth-style (" + envAuthStyle + ")"
	case strings.HasSuffix(field, ".Profile"), field == "profile":
		return "-profile (" + strategy.EnvProfile + ")"
	case strings.HasPrefix(field, "metadata "):
		return "the server's metadata: " + strings.TrimPrefix(field, "metadata ")
	}
	return field
}

// endpointOf returns the name of the endpoint err came from, "token" if
// none is named.
func endpointOf(err error) string {
	var (
		oe *strategy.OAuthError
		he *strategy.HTTPError
		ie *strategy.InvalidResponseError
		ne *strategy.NetworkError
	)
	name := ""
	switch {
	case errors.As(err, &oe):
		name = oe.Endpoint
	case errors.As(err, &he):
		name = he.Endpoint
	case errors.As(err, &ie):
		name = ie.Endpoint
	case errors.As(err, &ne):
		name = ne.Endpoint
	}
	return name
}

// what names the endpoint err came from, such as "token endpoint".
func (f failure) what(err error) string {
	if name := endpointOf(err); name != "" {
		if name == "metadata" {
			return "server metadata"
		}
		return name + " endpoint"
	}
	if f.endpoint != "" {
		return f.endpoint
	}
	return "token endpoint"
}

// setting names the flag and variable of the URL of the endpoint err came
// from.
func (f failure) setting(err error) string {
	switch endpointOf(err) {
	case "device authorization":
		return "-device-url (" + envDeviceAuthURL + ")"
	case "revocation":
		return "-revoke-url (" + envRevocationURL + ")"
	case "metadata", "introspection":
		return "-issuer (" + strategy.EnvIssuer + ")"
	}
	return "-token-url (" + strategy.EnvTokenURL + ")"
}

// where names the endpoint err came from with its URL when known.
func (f failure) where(err error) string {
	u := requestURL(err)
	if u == "" && endpointOf(err) == "" {
		u = f.url
	}
	if u == "" {
		return "the " + f.what(err)
	}
	return "the " + f.what(err) + " " + redactURL(u)
}

// requestURL returns the URL of the request that failed, if err says.
func requestURL(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.URL
	}
	return ""
}

// notOAuth reports whether err is an answer that shows the URL is not an
// OAuth endpoint: a success that is not JSON, or an HTML page or 404/405
// that is no server trouble.
func notOAuth(err error, invalid **strategy.InvalidResponseError, httpErr **strategy.HTTPError) bool {
	if errors.As(err, invalid) {
		switch (*invalid).Reason {
		case "empty body", "body is not a JSON object", "missing access_token", "malformed JSON":
			return true
		}
		*invalid = nil
		return false
	}
	if errors.As(err, httpErr) {
		h := *httpErr
		if h.StatusCode == 404 || h.StatusCode == 405 || h.StatusCode < 500 && h.StatusCode != 401 && h.StatusCode != 429 && h.StatusCode != 408 && strings.HasPrefix(h.ContentType, "text/html") {
			return true
		}
		*httpErr = nil
	}
	return false
}

func notOAuthWhat(invalid *strategy.InvalidResponseError, httpErr *strategy.HTTPError) string {
	if httpErr != nil {
		ct := httpErr.ContentType
		if ct == "" {
			ct = "no content type"
		}
		return fmt.Sprintf("HTTP %d (%s) and no OAuth error", httpErr.StatusCode, ct)
	}
	return "a success that is no OAuth answer (" + invalid.Reason + ")"
}

// timedOut reports whether err is a deadline passing: the command's
// -timeout, or one request's.
func timedOut(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// timeoutMessage says what did not answer within how long.
func (f failure) timeoutMessage(err error) string {
	within := requestTimeout
	how := "(the limit of one request)"
	if f.expired && f.timeout > 0 {
		within, how = f.timeout, "(-timeout)"
	}
	return fmt.Sprintf("no answer from %s within %v %s", f.where(err), within, how)
}

// isInvalidClient reports whether err is the server's refusal of the
// client's authentication (RFC 6749 §5.2 invalid_client).
func isInvalidClient(err error) bool {
	var oe *strategy.OAuthError
	return errors.As(err, &oe) && oe.Code == "invalid_client"
}
