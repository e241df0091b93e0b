package strategy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/tokenactor/tokenactor/internal/urls"
)

// ErrNoMetadata reports that an issuer publishes no authorization server
// metadata at either well-known address: the issuer URL is wrong, or the
// server does not support discovery and its endpoints must be configured
// one by one.
var ErrNoMetadata = errors.New("strategy: no authorization server metadata at the issuer")

// Metadata is what an authorization server says about itself (RFC 8414 §2,
// OpenID Connect Discovery 1.0 §3): the endpoints a client needs. An
// endpoint the server does not have is empty. It is a value, safe for
// concurrent use.
type Metadata struct {
	// Issuer is the server's issuer identifier; [Discovery] checks it
	// equals the issuer URL asked for (RFC 8414 §3.3).
	Issuer string `json:"issuer"`
	// TokenEndpoint is the token endpoint (RFC 6749 §3.2).
	TokenEndpoint string `json:"token_endpoint"`
	// DeviceAuthorizationEndpoint is the device authorization endpoint
	// (RFC 8628 §4).
	DeviceAuthorizationEndpoint string `json:"device_authorization_endpoint"`
	// RevocationEndpoint is the token revocation endpoint (RFC 7009).
	RevocationEndpoint string `json:"revocation_endpoint"`
	// IntrospectionEndpoint is the token introspection endpoint (RFC 7662).
	IntrospectionEndpoint string `json:"introspection_endpoint"`
	// TokenEndpointAuthMethods lists the client authentication methods the
	// token endpoint accepts, such as "client_secret_basic".
	TokenEndpointAuthMethods []string `json:"token_endpoint_auth_methods_supported"`
}

// DefaultDiscoveryTTL is how long a [Discovery] keeps metadata when its TTL
// is zero.
const DefaultDiscoveryTTL = time.Hour

// A Discovery finds authorization server metadata from an issuer URL and
// caches it: first at the RFC 8414 address (the issuer's host, then
// /.well-known/oauth-authorization-server, then the issuer's path), then at
// the OpenID Connect one (the issuer URL, then
// /.well-known/openid-configuration). Metadata whose issuer is not the one
// asked for is refused (RFC 8414 §3.3): it could send credentials to
// another server. Every endpoint it names must be https, or http on a
// loopback host.
//
// The zero value is ready to use, with the defaults below. A Discovery is
// safe for concurrent use; callers asking for one issuer at the same time
// share one fetch. Set the fields before first use.
type Discovery struct {
	// HTTPClient fetches the metadata. Nil means a client with a 30 s
	// timeout that does not follow redirects.
	HTTPClient *http.Client
	// TTL is how long metadata is kept. Zero means DefaultDiscoveryTTL;
	// negative means it is fetched on every call. Failures are not kept.
	TTL time.Duration
	// Clock dates the cached metadata. Nil means the system clock.
	Clock clock.Clock

	mu    sync.Mutex
	cache map[string]*discoveryCall // by issuer; guarded by mu
}

// A discoveryCall is one fetch of an issuer's metadata. md, err and at are
// written once by the fetching caller before done is closed.
type discoveryCall struct {
	done chan struct{}
	md   Metadata
	err  error
	at   time.Time
}

// Metadata returns the metadata of issuer, from the cache while it is
// younger than the TTL, else fetched. It returns when the metadata is
// there, or with an error: a *ConfigError for an issuer URL that cannot be
// used or metadata naming another issuer, ErrNoMetadata, an *HTTPError or
// *NetworkError (Endpoint "metadata"), an *InvalidResponseError, or ctx's
// error while it waits for another caller's fetch.
func (d *Discovery) Metadata(ctx context.Context, issuer string) (Metadata, error) {
	if err := checkIssuer("issuer", issuer); err != nil {
		return Metadata{}, err
	}
	for {
		d.mu.Lock()
		c := d.cache[issuer]
		if c == nil || d.stale(c) {
			c = &discoveryCall{done: make(chan struct{})}
			if d.cache == nil {
				d.cache = make(map[string]*discoveryCall)
			}
			d.cache[issuer] = c
			d.mu.Unlock()
			return d.fetch(ctx, issuer, c)
		}
		d.mu.Unlock()
		select {
		case <-c.done:
			if c.err == nil {
				return c.md, nil
			}
			// The other caller's fetch failed, perhaps for its own
			// context: fetch again with ours.
		case <-ctx.Done():
			return Metadata{}, ctx.Err()
		}
	}
}

// fetch runs the fetch c stands for and publishes its result. If the
// fetch does not return (the HTTP client panics or ends the goroutine),
// c still completes with errFetchAbandoned and is dropped from the cache,
// so that the issuer's other callers fetch again instead of waiting for
// it; the panic goes on to this caller.
func (d *Discovery) fetch(ctx context.Context, issuer string, c *discoveryCall) (Metadata, error) {
	c.err = errFetchAbandoned
	defer func() {
		c.at = d.now()
		close(c.done)
		if c.err != nil || d.TTL < 0 {
			d.mu.Lock()
			if d.cache[issuer] == c {
				delete(d.cache, issuer)
			}
			d.mu.Unlock()
		}
	}()
	c.md, c.err = fetchMetadata(ctx, d.client(), issuer)
	return c.md, c.err
}

// errFetchAbandoned is the result of a metadata fetch that did not
// return. Only waiting callers see it, and they fetch again.
var errFetchAbandoned = errors.New("strategy: metadata fetch did not return")

// stale reports whether a finished call is too old to serve. It is called
// with d.mu held.
func (d *Discovery) stale(c *discoveryCall) bool {
	select {
	case <-c.done:
	default:
		return false // in flight: wait for it
	}
	ttl := d.TTL
	if ttl == 0 {
		ttl = DefaultDiscoveryTTL
	}
	return c.err != nil || !d.now().Before(c.at.Add(ttl))
}

func (d *Discovery) client() *http.Client {
	if d.HTTPClient != nil {
		return d.HTTPClient
	}
	return defaultHTTPClient()
}

func (d *Discovery) now() time.Time {
	if d.Clock != nil {
		return d.Clock.Now()
	}
	return time.Now()
}

// checkIssuer requires an issuer URL as RFC 8414 §2 defines it: https (or
// http on loopback), no query, no fragment.
func checkIssuer(field, raw string) error {
	if err := checkTokenURL(field, raw); err != nil {
		return err
	}
	u, _ := url.Parse(raw)
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return &ConfigError{Field: field, Reason: "an issuer URL has no query or fragment"}
	}
	return nil
}

// metadataURLs returns where issuer's metadata may be: RFC 8414 §3.1, then
// OpenID Connect Discovery §4.
func metadataURLs(issuer string) []string {
	u, _ := url.Parse(issuer)
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	rfc8414 := *u
	rfc8414.RawPath = ""
	rfc8414.Path = ""
	oidc := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	return []string{rfc8414.String() + "/.well-known/oauth-authorization-server" + path, oidc}
}

// fetchMetadata reads issuer's metadata from the first address that has it.
func fetchMetadata(ctx context.Context, client *http.Client, issuer string) (Metadata, error) {
	for _, u := range metadataURLs(issuer) {
		md, found, err := getMetadata(ctx, client, u)
		if err != nil {
			return Metadata{}, err
		}
		if found {
			return md, checkMetadata(md, issuer)
		}
	}
	return Metadata{}, fmt.Errorf("%w %s (RFC 8414 and OpenID Connect discovery)", ErrNoMetadata, redactURL(issuer))
}

// getMetadata fetches one metadata document. A 4xx answer means it is not
// there (found false, no error).
func getMetadata(ctx context.Context, client *http.Client, u string) (md Metadata, found bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return Metadata{}, false, &ConfigError{Field: "issuer", Reason: "not a valid URL"}
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return Metadata{}, false, &NetworkError{Err: err, Endpoint: "metadata"}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodySize+1))
	if err != nil {
		return Metadata{}, false, &NetworkError{Err: err, Endpoint: "metadata"}
	}
	switch {
	case resp.StatusCode >= 400 && resp.StatusCode <= 499:
		return Metadata{}, false, nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return Metadata{}, false, &HTTPError{StatusCode: resp.StatusCode, ContentType: printable(resp.Header.Get("Content-Type"), 64), Endpoint: "metadata"}
	case len(body) > maxBodySize:
		return Metadata{}, false, &InvalidResponseError{Reason: "body over 1 MiB", Endpoint: "metadata"}
	}
	md, err = parseMetadata(body)
	return md, err == nil, err
}

// parseMetadata parses a metadata document. Errors are an
// *InvalidResponseError that never quotes the body.
func parseMetadata(body []byte) (Metadata, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return Metadata{}, &InvalidResponseError{Reason: "body is not a JSON object", Endpoint: "metadata"}
	}
	var md Metadata
	if err := json.Unmarshal(body, &md); err != nil {
		return Metadata{}, &InvalidResponseError{Reason: jsonReason(err, len(body)), Endpoint: "metadata"}
	}
	return md, nil
}

// checkMetadata refuses metadata of another issuer (RFC 8414 §3.3) and
// endpoints a client must not send credentials to.
func checkMetadata(md Metadata, issuer string) error {
	if md.Issuer != issuer {
		return &ConfigError{Field: "issuer", Reason: fmt.Sprintf("the server's metadata names issuer %q, not %q (RFC 8414 §3.3)",
			printable(redactURL(md.Issuer), 200), redactURL(issuer))}
	}
	for _, f := range []struct{ name, value string }{
		{"token_endpoint", md.TokenEndpoint},
		{"device_authorization_endpoint", md.DeviceAuthorizationEndpoint},
		{"revocation_endpoint", md.RevocationEndpoint},
		{"introspection_endpoint", md.IntrospectionEndpoint},
	} {
		if f.value == "" {
			continue
		}
		if err := checkTokenURL("metadata "+f.name, f.value); err != nil {
			return err
		}
	}
	return nil
}

// redactURL returns raw with its user info replaced by "xxxxx", for
// messages; a placeholder if it does not parse.
func redactURL(raw string) string { return urls.RedactRaw(raw, "(invalid URL)") }
