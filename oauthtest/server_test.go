package oauthtest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tokenactor/tokenactor/oauthtest"
)

func TestFailNext(t *testing.T) {
	srv := oauthtest.NewServer()
	defer srv.Close()
	srv.FailNext(oauthtest.EndpointToken, 1, oauthtest.Failure{Status: http.StatusTooManyRequests, RetryAfter: 1500 * time.Millisecond})
	srv.FailNext(oauthtest.EndpointToken, 2, oauthtest.Failure{Error: "invalid_grant", Description: "refused"})
	srv.FailNext(oauthtest.EndpointToken, 1, oauthtest.Failure{})
	srv.FailNext(oauthtest.EndpointToken, 1, oauthtest.Failure{Status: http.StatusUnauthorized, Error: "invalid_client"})
	srv.FailNext(oauthtest.EndpointResource, 1, oauthtest.Failure{Status: http.StatusInternalServerError})

	r := clientCredentials(t, srv, defaultAuth, nil)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "2" || r.body != nil {
		t.Errorf("first: %d %v %s", r.status, r.header, r.raw)
	}
	for range 2 {
		r = clientCredentials(t, srv, defaultAuth, nil)
		wantError(t, r, http.StatusBadRequest, "invalid_grant")
		if r.str("error_description") != "refused" {
			t.Errorf("description: %s", r.raw)
		}
	}
	r = clientCredentials(t, srv, defaultAuth, nil)
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") != "" {
		t.Errorf("zero Failure: %d %v", r.status, r.header)
	}
	r = clientCredentials(t, srv, defaultAuth, nil)
	wantError(t, r, http.StatusUnauthorized, "invalid_client")
	if r.header.Get("WWW-Authenticate") == "" {
		t.Error("an injected 401 without WWW-Authenticate")
	}
	tok := mustToken(t, srv)
	if r := callAPI(t, srv, tok); r.status != http.StatusInternalServerError {
		t.Errorf("resource failure: %d", r.status)
	}
	if r := callAPI(t, srv, tok); r.status != http.StatusOK {
		t.Errorf("after the failures: %d", r.status)
	}
	st := srv.Stats()
	if st.Failures != 6 || st.AccessTokens != 1 || st.Requests[oauthtest.EndpointToken] != 6 {
		t.Errorf("stats %+v", st)
	}
	srv.FailNext(oauthtest.EndpointToken, 0, oauthtest.Failure{})
	srv.FailNext(oauthtest.EndpointToken, -1, oauthtest.Failure{})
	mustToken(t, srv)
}

func TestMetadata(t *testing.T) {
	srv := oauthtest.NewServer(oauthtest.WithAuthStyle(oauthtest.AuthStylePost))
	defer srv.Close()
	var bodies []map[string]any
	for _, p := range []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"} {
		r := do(t, mustRequest(t, http.MethodGet, srv.URL+p, ""))
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d", p, r.status)
		}
		bodies = append(bodies, r.body)
	}
	if d := cmp.Diff(bodies[0], bodies[1]); d != "" {
		t.Errorf("the two documents differ (-RFC 8414 +OpenID):\n%s", d)
	}
	m := bodies[0]
	want := map[string]any{
		"issuer":                                        srv.URL,
		"token_endpoint":                                srv.TokenURL(),
		"device_authorization_endpoint":                 srv.DeviceAuthorizationURL(),
		"revocation_endpoint":                           srv.RevocationURL(),
		"introspection_endpoint":                        srv.IntrospectionURL(),
		"grant_types_supported":                         []any{"client_credentials", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"},
		"response_types_supported":                      []any{},
		"token_endpoint_auth_methods_supported":         []any{"client_secret_post", "none"},
		"revocation_endpoint_auth_methods_supported":    []any{"client_secret_post", "none"},
		"introspection_endpoint_auth_methods_supported": []any{"client_secret_post", "none"},
		"dpop_signing_alg_values_supported":             []any{"RS256", "ES256", "EdDSA"},
	}
	if d := cmp.Diff(want, m); d != "" {
		t.Errorf("metadata (-want +got):\n%s", d)
	}
	if srv.MetadataURL() != srv.URL+"/.well-known/oauth-authorization-server" {
		t.Errorf("MetadataURL %s", srv.MetadataURL())
	}
}

func TestResourceChallenges(t *testing.T) {
	srv := oauthtest.NewServer()
	defer srv.Close()
	r := callAPI(t, srv, "")
	if r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") != `Bearer realm="oauthtest"` {
		t.Errorf("no token: %d %v", r.status, r.header)
	}
	r = callAPI(t, srv, "forged")
	if r.status != http.StatusUnauthorized || !strings.Contains(r.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("forged token: %d %v", r.status, r.header)
	}
	req := mustRequest(t, http.MethodGet, srv.ResourceURL(), "")
	req.Header.Set("Authorization", "bearer "+mustToken(t, srv))
	if r := do(t, req); r.status != http.StatusOK {
		t.Errorf("lower-case scheme: %d", r.status)
	}
	if st := srv.Stats(); st.Accepted != 1 || st.Rejected != 2 {
		t.Errorf("stats %+v", st)
	}
}

// Latency waits in (here fake) time before answering, and a caller that
// gives up gets no answer.
func TestLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := oauthtest.New("http://issuer.example/", oauthtest.WithLatency(3*time.Second))
		if srv.URL != "http://issuer.example" {
			t.Errorf("URL %q", srv.URL)
		}
		srv.Close() // does nothing for a server made by New
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {oauthtest.DefaultClientID},
			"client_secret": {oauthtest.DefaultClientSecret}}.Encode()
		newReq := func(ctx context.Context) *http.Request {
			req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/token", strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return req
		}

		start := time.Now()
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, newReq(context.Background()))
		if w.Code != http.StatusOK || time.Since(start) != 3*time.Second {
			t.Errorf("answered %d after %v, want 200 after 3s", w.Code, time.Since(start))
		}

		srv.SetLatency(time.Minute)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		w = httptest.NewRecorder()
		start = time.Now()
		srv.ServeHTTP(w, newReq(ctx))
		if w.Body.Len() != 0 || time.Since(start) != time.Second {
			t.Errorf("a cancelled request got %q after %v", w.Body, time.Since(start))
		}
		if st := srv.Stats(); st.AccessTokens != 1 {
			t.Errorf("issued %d tokens, want 1", st.AccessTokens)
		}
	})
}

// Many clients at once, with steering calls in between: run with -race.
func TestConcurrentUse(t *testing.T) {
	srv := oauthtest.NewServer()
	defer srv.Close()
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan string, 2*n)
	for range n {
		wg.Go(func() {
			resp, err := http.PostForm(srv.TokenURL(), url.Values{"grant_type": {"client_credentials"},
				"client_id": {oauthtest.DefaultClientID}, "client_secret": {oauthtest.DefaultClientSecret}})
			if err != nil {
				errs <- err.Error()
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				errs <- resp.Status
			}
		})
		wg.Go(func() {
			srv.SetLifetime(time.Hour)
			srv.Stats()
			srv.LastRequest(oauthtest.EndpointToken)
			srv.PendingUserCodes()
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if st := srv.Stats(); st.AccessTokens != n || st.Requests[oauthtest.EndpointToken] != n {
		t.Errorf("stats %+v", st)
	}
}

func TestUnknownPath(t *testing.T) {
	srv := oauthtest.NewServer()
	defer srv.Close()
	if r := do(t, mustRequest(t, http.MethodGet, srv.URL+"/authorize", "")); r.status != http.StatusNotFound {
		t.Errorf("status %d", r.status)
	}
}
