package main

import (
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tokenactor/tokenactor/internal/urls"
	"github.com/tokenactor/tokenactor/strategy"
)

// Environment variables of the token and login commands, besides those
// package strategy reads.
const (
	envScope         = "TOKENACTOR_SCOPE"
	envAudience      = "TOKENACTOR_AUDIENCE"
	envResource      = "TOKENACTOR_RESOURCE"
	envParams        = "TOKENACTOR_PARAMS"
	envAuthStyle     = "TOKENACTOR_AUTH_STYLE"
	envRevocationURL = "TOKENACTOR_REVOCATION_URL"
)

// requestFlags are the flags that shape token requests: what to ask for,
// and how the client authenticates.
type requestFlags struct {
	scope, audience, resource, authStyle *string
	params                               paramsFlag
}

// addRequestFlags defines the request flags on fs, each defaulting to its
// environment variable.
func addRequestFlags(fs *flag.FlagSet, e *env) *requestFlags {
	r := &requestFlags{params: paramsFlag{env: e.getenv(envParams)}}
	r.scope = envFlag(fs, e, "scope", envScope, "`scopes` to ask for, space-separated")
	r.audience = envFlag(fs, e, "audience", envAudience, "`audience` parameter: the API the token is for")
	r.resource = envFlag(fs, e, "resource", envResource, "`resource` parameter (RFC 8707): the URL of the API the token is for")
	fs.Var(&r.params, "param", "extra token request parameter `name=value`; repeat for more (or set "+envParams+" to a form-encoded list, a=1&b=2)")
	r.authStyle = envFlag(fs, e, "auth-style", envAuthStyle, "how a client secret is sent: `style` basic, body or detect (default basic)")
	return r
}

// values returns the extra parameters and the authentication style, or a
// message in the user's words.
func (r *requestFlags) values() (url.Values, strategy.AuthStyle, string) {
	params, err := r.params.values()
	if err != "" {
		return nil, 0, err
	}
	style := strategy.AuthStyleBasic
	if *r.authStyle != "" {
		s, perr := strategy.ParseAuthStyle(*r.authStyle)
		if perr != nil {
			return nil, 0, fmt.Sprintf("-auth-style (or %s) must be basic, body or detect", envAuthStyle)
		}
		style = s
	}
	return params, style, ""
}

// scopes returns the scope flag split into scopes.
func (r *requestFlags) scopes() []string { return strings.Fields(*r.scope) }

// envFlag defines a string flag whose default is the environment variable
// envName. Its help names the variable but never shows its value, which
// may hold a password in a URL.
func envFlag(fs *flag.FlagSet, e *env, name, envName, usage string) *string {
	v := e.getenv(envName)
	fs.Var(envValue{&v}, name, usage+" (or set "+envName+")")
	return &v
}

// envValue is the flag.Value of envFlag.
type envValue struct{ p *string }

// String returns "", so that help shows no default value.
func (v envValue) String() string { return "" }

func (v envValue) Set(s string) error {
	*v.p = s
	return nil
}

// paramsFlag collects -param name=value flags on top of the form-encoded
// list in TOKENACTOR_PARAMS.
type paramsFlag struct {
	env   string
	flags []string
}

func (p *paramsFlag) String() string { return strings.Join(p.flags, " ") }

// Set takes any value: a malformed one is reported by values, without
// quoting it, where the flag package would quote it.
func (p *paramsFlag) Set(v string) error {
	p.flags = append(p.flags, v)
	return nil
}

// values parses the parameters, or says what is wrong without quoting a
// value (a parameter may carry a secret).
func (p *paramsFlag) values() (url.Values, string) {
	v := url.Values{}
	if p.env != "" {
		parsed, err := url.ParseQuery(p.env)
		if err != nil {
			return nil, envParams + " is not a form-encoded list (a=1&b=2)"
		}
		for k, vs := range parsed {
			if k == "" {
				return nil, envParams + " has a parameter without a name"
			}
			v[k] = append(v[k], vs...)
		}
	}
	for _, f := range p.flags {
		name, value, ok := strings.Cut(f, "=")
		if !ok || name == "" {
			return nil, "-param wants name=value"
		}
		v.Add(name, value)
	}
	if len(v) == 0 {
		return nil, ""
	}
	return v, ""
}

// requestTimeout bounds one HTTP request, as package strategy's default
// client does; -timeout bounds a whole command.
const requestTimeout = 30 * time.Second

// countingTransport counts the requests a command sends, so status -check
// can tell whether the server was asked at all.
type countingTransport struct {
	base http.RoundTripper
	sent atomic.Int64
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.sent.Add(1)
	return t.base.RoundTrip(req)
}

// httpClient returns the client a command sends its requests with, and the
// counter of them. It never follows a redirect: a request carrying
// credentials must not be replayed to another address.
func (e *env) httpClient() (*http.Client, *countingTransport) {
	base := e.transport
	if base == nil {
		base = http.DefaultTransport
	}
	t := &countingTransport{base: base}
	return &http.Client{
		Transport:     t,
		Timeout:       requestTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, t
}

// redactURL returns raw with its user info masked, for printing; a
// placeholder if it is not a URL.
func redactURL(raw string) string {
	if raw == "" {
		return ""
	}
	return urls.RedactRaw(raw, "(not a valid URL)")
}

// issuerOf guesses the issuer of a token endpoint: its origin, which is
// the issuer of most servers that publish metadata (RFC 8414 §3). Empty if
// tokenURL is not a URL.
func issuerOf(tokenURL string) string {
	u, err := url.Parse(tokenURL)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// sameURL reports whether a and b are the same URL: the same origin
// (scheme and host in any case, a default port written or not), path and
// query; false if either is empty or does not parse.
func sameURL(a, b string) bool {
	ua, erra := url.Parse(a)
	ub, errb := url.Parse(b)
	if erra != nil || errb != nil || a == "" || b == "" {
		return false
	}
	return urls.Origin(ua) == urls.Origin(ub) && ua.EscapedPath() == ub.EscapedPath() && ua.RawQuery == ub.RawQuery
}
