package oauthtest

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"
)

// An Endpoint names one of the server's endpoints, for [Server.FailNext],
// [Server.LastRequest] and [Stats].
type Endpoint string

// The endpoints, with the path each is served at.
const (
	EndpointToken               Endpoint = "token"                // POST /token
	EndpointDeviceAuthorization Endpoint = "device_authorization" // POST /device_authorization
	EndpointVerification        Endpoint = "verification"         // GET and POST /device, the approval page
	EndpointRevocation          Endpoint = "revocation"           // POST /revoke
	EndpointIntrospection       Endpoint = "introspection"        // POST /introspect
	EndpointMetadata            Endpoint = "metadata"             // GET /.well-known/oauth-authorization-server and /.well-known/openid-configuration
	EndpointResource            Endpoint = "resource"             // /api, the protected resource
)

const (
	pathToken        = "/token"
	pathDevice       = "/device_authorization"
	pathVerification = "/device"
	pathRevocation   = "/revoke"
	pathIntrospect   = "/introspect"
	pathResource     = "/api"
	pathRFC8414      = "/.well-known/oauth-authorization-server"
	pathOIDC         = "/.well-known/openid-configuration"
)

// A Server is a local OAuth 2.0 authorization server and the resource it
// protects. Make one with [NewServer] (listening on loopback) or [New] (an
// [http.Handler] to serve oneself); the zero value is not usable.
//
// A Server is safe for concurrent use: requests and the methods that steer
// or read it may run at the same time. Its lock is never held while
// waiting or writing a response.
type Server struct {
	// URL is the issuer: the base URL of every endpoint, without a
	// trailing slash, such as http://127.0.0.1:41234. Set by [NewServer]
	// or [New]; do not change it.
	URL string

	ts  *httptest.Server // nil for a server made by New
	mux *http.ServeMux

	mu sync.Mutex
	// Everything below is guarded by mu.
	cfg      config
	tokens   map[string]*token       // issued access and refresh tokens by value
	devices  map[string]*deviceGrant // device authorizations by device_code
	byUser   map[string]*deviceGrant // the same, by normalised user_code
	failures map[Endpoint][]Failure  // injected failures, next first
	last     map[Endpoint]Request
	stats    Stats
	issues   int // tokens issued since the last sweep of expired ones

	// Key-based authentication and DPoP (assertion.go, dpop.go).
	replay replayMemory // jti values of assertions and DPoP proofs
	nonces dpopNonces
}

// NewServer starts a [Server] on a loopback address chosen by the system,
// with the options given. Its URL is set before it returns. Call
// [Server.Close] when done, typically with t.Cleanup.
func NewServer(opts ...Option) *Server {
	s := newServer(opts)
	s.ts = httptest.NewUnstartedServer(s)
	s.URL = "http://" + s.ts.Listener.Addr().String()
	s.ts.Start()
	return s
}

// New returns a [Server] that is not listening: serve it as an
// [http.Handler] on the address issuer names. issuer is the base URL the
// metadata and the verification page announce (RFC 8414 §2), such as
// http://127.0.0.1:8080; a trailing slash is dropped. Close does nothing
// for such a server; stop the http.Server serving it instead.
func New(issuer string, opts ...Option) *Server {
	s := newServer(opts)
	s.URL = strings.TrimSuffix(issuer, "/")
	return s
}

func newServer(opts []Option) *Server {
	s := &Server{
		cfg:      newConfig(opts),
		tokens:   make(map[string]*token),
		devices:  make(map[string]*deviceGrant),
		byUser:   make(map[string]*deviceGrant),
		failures: make(map[Endpoint][]Failure),
		last:     make(map[Endpoint]Request),
		stats:    Stats{Requests: make(map[Endpoint]int), Grants: make(map[string]int)},
	}
	mux := http.NewServeMux()
	mux.Handle("POST "+pathToken, s.endpoint(EndpointToken, true, true, s.serveToken))
	mux.Handle("POST "+pathDevice, s.endpoint(EndpointDeviceAuthorization, true, true, s.serveDeviceAuthorization))
	mux.Handle("GET "+pathVerification, s.endpoint(EndpointVerification, false, false, s.serveVerificationPage))
	mux.Handle("POST "+pathVerification, s.endpoint(EndpointVerification, true, false, s.serveVerificationForm))
	mux.Handle("POST "+pathRevocation, s.endpoint(EndpointRevocation, true, true, s.serveRevocation))
	mux.Handle("POST "+pathIntrospect, s.endpoint(EndpointIntrospection, true, true, s.serveIntrospection))
	mux.Handle("GET "+pathRFC8414, s.endpoint(EndpointMetadata, false, false, s.serveMetadata))
	mux.Handle("GET "+pathOIDC, s.endpoint(EndpointMetadata, false, false, s.serveMetadata))
	mux.Handle(pathResource, s.endpoint(EndpointResource, false, false, s.serveResource))
	s.mux = mux
	return s
}

// ServeHTTP serves the server's endpoints; any other path is 404.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// Close shuts down a server started by [NewServer] and blocks until all
// its requests have finished. It does nothing for a server made by [New].
func (s *Server) Close() {
	if s.ts != nil {
		s.ts.Close()
	}
}

// TokenURL returns the token endpoint's URL.
func (s *Server) TokenURL() string { return s.URL + pathToken }

// DeviceAuthorizationURL returns the device authorization endpoint's URL
// (RFC 8628 §3.1).
func (s *Server) DeviceAuthorizationURL() string { return s.URL + pathDevice }

// VerificationURL returns the approval page's URL, the verification_uri
// of RFC 8628 §3.2.
func (s *Server) VerificationURL() string { return s.URL + pathVerification }

// RevocationURL returns the revocation endpoint's URL (RFC 7009).
func (s *Server) RevocationURL() string { return s.URL + pathRevocation }

// IntrospectionURL returns the introspection endpoint's URL (RFC 7662).
func (s *Server) IntrospectionURL() string { return s.URL + pathIntrospect }

// MetadataURL returns the URL of the authorization server metadata
// (RFC 8414 §3).
func (s *Server) MetadataURL() string { return s.URL + pathRFC8414 }

// ResourceURL returns the protected resource's URL: any method there
// answers 200 with a JSON description of a valid bearer token, and 401
// with WWW-Authenticate otherwise (RFC 6750 §3).
func (s *Server) ResourceURL() string { return s.URL + pathResource }

// A Request is what the server recorded of a request, for assertions.
type Request struct {
	// Method is the HTTP method.
	Method string
	// Header is a copy of the request's header, Authorization included.
	Header http.Header
	// Form is a copy of the body's form parameters, secrets included
	// (client_secret, refresh_token, device_code); nil for a request
	// without a form body.
	Form url.Values
	// ClientID is the client the request named, from the Basic header or
	// the client_id parameter, whether or not it authenticated.
	ClientID string
}

// LastRequest returns the last request made to endpoint e, and false if
// there was none. It is recorded before any check, so refused requests
// count.
func (s *Server) LastRequest(e Endpoint) (Request, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.last[e]
	if !ok {
		return Request{}, false
	}
	r.Header = r.Header.Clone()
	if r.Form != nil {
		r.Form = cloneValues(r.Form)
	}
	return r, true
}

// Stats counts what the server was asked and what it did. The maps of a
// Stats from [Server.Stats] are the caller's own.
type Stats struct {
	// Requests counts requests per endpoint, whatever their outcome.
	Requests map[Endpoint]int
	// Grants counts token endpoint requests per grant_type parameter as
	// sent ("" when missing), whatever their outcome.
	Grants map[string]int
	// AccessTokens and RefreshTokens count the tokens issued.
	AccessTokens, RefreshTokens int
	// Rotations counts refresh tokens exchanged for new ones.
	Rotations int
	// Reuses counts sessions revoked because a rotated refresh token was
	// presented again.
	Reuses int
	// Revocations counts accepted requests to the revocation endpoint.
	Revocations int
	// Failures counts answers given by [Server.FailNext] failures.
	Failures int
	// Accepted and Rejected count requests to the protected resource
	// answered 200 and 401.
	Accepted, Rejected int
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Requests = make(map[Endpoint]int, len(s.stats.Requests))
	for k, v := range s.stats.Requests {
		st.Requests[k] = v
	}
	st.Grants = make(map[string]int, len(s.stats.Grants))
	for k, v := range s.stats.Grants {
		st.Grants[k] = v
	}
	return st
}

// SetLifetime changes the lifetime of access tokens issued from now on, as
// [WithLifetime] does.
func (s *Server) SetLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.lifetime = d
}

// SetRefreshIn changes the refresh_in hint of responses from now on, as
// [WithRefreshIn] does.
func (s *Server) SetRefreshIn(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.refreshIn = d
}

// SetLatency changes the latency of requests that arrive from now on, as
// [WithLatency] does.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.latency = d
}

// AddClient registers a client, or changes its secret; an empty secret
// makes it public (see [WithClient]).
func (s *Server) AddClient(id, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.clients[id] = secret
}

// RemoveClient unregisters a client: its requests get invalid_client from
// now on. The tokens it holds stay valid; see [Server.RevokeClient].
func (s *Server) RemoveClient(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.cfg.clients, id)
}

// maxBody bounds a request body; OAuth requests are a few hundred bytes.
const maxBody = 64 << 10

// endpoint wraps an endpoint's handler: it counts and records the request
// (after reading its form, bounded, when form is true), waits out the
// latency (when slow), then answers an injected failure if one is queued,
// and otherwise calls h. Every answer is marked no-store.
func (s *Server) endpoint(e Endpoint, form, slow bool, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Pragma", "no-cache")
		var formErr *oauthError
		if form {
			formErr = parseForm(w, r)
		}
		s.record(e, r)
		if slow {
			s.mu.Lock()
			d := s.cfg.latency
			s.mu.Unlock()
			if d > 0 && !wait(r, d) {
				return
			}
		}
		if f, ok := s.nextFailure(e); ok {
			f.write(w)
			return
		}
		if formErr != nil {
			formErr.write(w)
			return
		}
		h(w, r)
	})
}

// wait waits d and reports whether the request is still wanted.
func wait(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

func (s *Server) record(e Endpoint, r *http.Request) {
	req := Request{Method: r.Method, Header: r.Header.Clone()}
	if r.PostForm != nil {
		req.Form = cloneValues(r.PostForm)
		req.ClientID = r.PostForm.Get("client_id")
	}
	if id, _, ok := basicAuth(r); ok {
		req.ClientID = id
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Requests[e]++
	if e == EndpointToken {
		s.stats.Grants[r.PostForm.Get("grant_type")]++
	}
	s.last[e] = req
}

func cloneValues(v url.Values) url.Values {
	c := make(url.Values, len(v))
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	return c
}
