package strategy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenactor/tokenactor/fakeclock"
)

// flatToken is a tokenResponse with its secrets revealed, for comparison.
type flatToken struct {
	Access, Type, Refresh, Scope string
	ExpiresAt                    time.Time
}

func flatten(r tokenResponse) flatToken {
	return flatToken{
		Access: r.accessToken.Reveal(), Type: r.tokenType, Refresh: r.refreshToken.Reveal(),
		Scope: r.scope, ExpiresAt: r.expiresAt,
	}
}

// errDesc names an error's type and, for the types with one, its reason or
// status, so tables can say which error they expect.
func errDesc(err error) string {
	var (
		inv  *InvalidResponseError
		oe   *OAuthError
		he   *HTTPError
		nete *NetworkError
		re   *RedirectError
	)
	switch {
	case err == nil:
		return ""
	case errors.As(err, &inv):
		return "invalid: " + inv.Reason
	case errors.As(err, &oe):
		return fmt.Sprintf("oauth %d %s", oe.StatusCode, oe.Code)
	case errors.As(err, &he):
		return fmt.Sprintf("http %d", he.StatusCode)
	case errors.As(err, &nete):
		return "network"
	case errors.As(err, &re):
		return fmt.Sprintf("redirect %d %s", re.StatusCode, re.Location)
	}
	return "other: " + err.Error()
}

func TestParseTokenResponse(t *testing.T) {
	now := fakeclock.Start
	tests := []struct {
		name    string
		give    string
		want    flatToken
		wantErr string
	}{
		{
			name: "full",
			give: `{"access_token":"at","token_type":"bearer","expires_in":3600,"refresh_token":"rt","scope":"a b"}`,
			want: flatToken{Access: "at", Type: "Bearer", Refresh: "rt", Scope: "a b", ExpiresAt: now.Add(time.Hour)},
		},
		{
			name: "expires_in as string",
			give: `{"access_token":"at","token_type":"Bearer","expires_in":"60"}`,
			want: flatToken{Access: "at", Type: "Bearer", ExpiresAt: now.Add(time.Minute)},
		},
		{
			name: "no expires_in: lifetime unknown",
			give: `{"access_token":"at","token_type":"Bearer"}`,
			want: flatToken{Access: "at", Type: "Bearer"},
		},
		{
			name: "null expires_in",
			give: `{"access_token":"at","expires_in":null}`,
			want: flatToken{Access: "at", Type: "Bearer"},
		},
		{
			name: "one second",
			give: `{"access_token":"at","expires_in":1}`,
			want: flatToken{Access: "at", Type: "Bearer", ExpiresAt: now.Add(time.Second)},
		},
		{
			name: "exactly the bound",
			give: `{"access_token":"at","expires_in":31622400}`,
			want: flatToken{Access: "at", Type: "Bearer", ExpiresAt: now.Add(maxLifetime)},
		},
		{
			name: "scope as array",
			give: `{"access_token":"at","scope":["a","b"]}`,
			want: flatToken{Access: "at", Type: "Bearer", Scope: "a b"},
		},
		{
			name: "other token type kept",
			give: `{"access_token":"at","token_type":"DPoP"}`,
			want: flatToken{Access: "at", Type: "DPoP"},
		},
		{name: "expires_in -1", give: `{"access_token":"at","expires_in":-1}`, wantErr: "invalid: expires_in is not positive"},
		{name: "expires_in -1e308", give: `{"access_token":"at","expires_in":-1e308}`, wantErr: "invalid: expires_in is not positive"},
		{name: "expires_in 0", give: `{"access_token":"at","expires_in":0}`, wantErr: "invalid: expires_in is not positive"},
		{name: "expires_in -0", give: `{"access_token":"at","expires_in":-0}`, wantErr: "invalid: expires_in is not positive"},
		{name: "expires_in 1e-10", give: `{"access_token":"at","expires_in":1e-10}`, wantErr: "invalid: expires_in is under a second"},
		{name: "expires_in \"1e-10\"", give: `{"access_token":"at","expires_in":"1e-10"}`, wantErr: "invalid: expires_in is under a second"},
		{name: "expires_in 0.0000000004", give: `{"access_token":"at","expires_in":0.0000000004}`, wantErr: "invalid: expires_in is under a second"},
		{name: "expires_in 0.999", give: `{"access_token":"at","expires_in":0.999}`, wantErr: "invalid: expires_in is under a second"},
		{name: "expires_in 1e12 is clamped", give: `{"access_token":"at","expires_in":1e12}`, want: flatToken{Access: "at", Type: "Bearer", ExpiresAt: now.Add(maxLifetime)}},
		{name: "expires_in 1e308 is clamped", give: `{"access_token":"at","expires_in":"1e308"}`, want: flatToken{Access: "at", Type: "Bearer", ExpiresAt: now.Add(maxLifetime)}},
		{name: "expires_in over bound is clamped", give: `{"access_token":"at","expires_in":31622401}`, want: flatToken{Access: "at", Type: "Bearer", ExpiresAt: now.Add(maxLifetime)}},
		{name: "expires_in 1e999", give: `{"access_token":"at","expires_in":1e999}`, wantErr: "invalid: expires_in is not a number"},
		{name: "expires_in NaN", give: `{"access_token":"at","expires_in":"NaN"}`, wantErr: "invalid: expires_in is not a number"},
		{name: "expires_in Inf", give: `{"access_token":"at","expires_in":"+Inf"}`, wantErr: "invalid: expires_in is not a number"},
		{name: "expires_in text", give: `{"access_token":"at","expires_in":"soon"}`, wantErr: "invalid: expires_in is not a number"},
		{name: "expires_in bool", give: `{"access_token":"at","expires_in":true}`, wantErr: "invalid: expires_in is not a number"},
		{name: "missing access_token", give: `{"token_type":"Bearer","expires_in":60}`, wantErr: "invalid: missing access_token"},
		{name: "empty access_token", give: `{"access_token":""}`, wantErr: "invalid: missing access_token"},
		{name: "access_token number", give: `{"access_token":42}`, wantErr: "invalid: field access_token has the wrong JSON type"},
		{name: "header injection", give: `{"access_token":"at\r\nX-Evil: 1"}`, wantErr: "invalid: access_token has characters not allowed in a header"},
		{name: "bad token type", give: `{"access_token":"at","token_type":"Bearer x"}`, wantErr: "invalid: token_type is not a valid scheme name"},
		{name: "truncated JSON", give: `{"access_token":"at","expires_in":36`, wantErr: "invalid: truncated JSON"},
		{name: "malformed JSON", give: `{"access_token":"at",}`, wantErr: "invalid: malformed JSON"},
		{name: "HTML", give: `<html><body>Bad gateway</body></html>`, wantErr: "invalid: body is not a JSON object"},
		{name: "empty", give: ``, wantErr: "invalid: empty body"},
		{name: "JSON array", give: `[1,2]`, wantErr: "invalid: body is not a JSON object"},
		{name: "error in a 200", give: `{"error":"authorization_pending"}`, wantErr: "oauth 200 authorization_pending"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseTokenResponse(http.StatusOK, []byte(tt.give), now)
			if diff := cmp.Diff(tt.wantErr, errDesc(err)); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, flatten(got)); diff != "" {
				t.Errorf("token (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := fakeclock.Start
	tests := []struct {
		name   string
		status int
		give   string
		want   time.Duration
	}{
		{name: "seconds on 429", status: 429, give: "7", want: 7 * time.Second},
		{name: "seconds on 503", status: 503, give: "120", want: 2 * time.Minute},
		{name: "ignored on 500", status: 500, give: "7", want: 0},
		{name: "HTTP date", status: 503, give: now.Add(30 * time.Second).Format(http.TimeFormat), want: 30 * time.Second},
		{name: "past date", status: 503, give: now.Add(-time.Hour).Format(http.TimeFormat), want: 0},
		{name: "far date bounded", status: 503, give: now.Add(48 * time.Hour).Format(http.TimeFormat), want: maxRetryAfter},
		{name: "huge seconds bounded", status: 429, give: "99999999999999999", want: maxRetryAfter},
		{name: "negative", status: 429, give: "-5", want: 0},
		{name: "garbage", status: 429, give: "soon", want: 0},
		{name: "absent", status: 429, give: "", want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.give != "" {
				h.Set("Retry-After", tt.give)
			}
			if diff := cmp.Diff(tt.want, parseRetryAfter(tt.status, h, now)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// newTestEndpoint returns an endpoint posting to a loopback server running
// h, with a fake clock.
func newTestEndpoint(t *testing.T, h http.HandlerFunc) *endpoint {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &endpoint{
		url:    srv.URL,
		client: srv.Client(),
		auth:   clientAuth{id: "client", secret: secret("s3cret")},
		clock:  fakeclock.New(),
	}
}

func TestEndpointHostileResponses(t *testing.T) {
	big := strings.Repeat("x", 10<<20)
	tests := []struct {
		name          string
		handler       http.HandlerFunc
		wantErr       string
		wantLogin     bool
		wantTemporary bool
		wantRetry     time.Duration
	}{
		{
			name: "HTML 502",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(http.StatusBadGateway)
				fmt.Fprint(w, "<html><body><h1>502 Bad Gateway</h1></body></html>")
			},
			wantErr:       "http 502",
			wantTemporary: true,
		},
		{
			name: "HTML 200",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				fmt.Fprint(w, "<html>login page</html>")
			},
			wantErr: "invalid: body is not a JSON object",
		},
		{
			name: "truncated JSON",
			handler: func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, `{"access_token":"at","expi`)
			},
			wantErr: "invalid: truncated JSON",
		},
		{
			name: "connection cut mid-body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "1000")
				fmt.Fprint(w, `{"access_token":"at",`)
				w.(http.Flusher).Flush()
				conn, _, err := http.NewResponseController(w).Hijack()
				if err == nil {
					conn.Close()
				}
			},
			wantErr:       "network",
			wantTemporary: true,
		},
		{
			name: "10 MiB success body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, `{"access_token":"%s"}`, big)
			},
			wantErr: "invalid: body over 1 MiB",
		},
		{
			name: "10 MiB error body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusInternalServerError)
				fmt.Fprintf(w, `{"error":"%s"}`, big)
			},
			wantErr:       "http 500",
			wantTemporary: true,
		},
		{
			name: "expires_in -1",
			handler: func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, `{"access_token":"at","expires_in":-1}`)
			},
			wantErr: "invalid: expires_in is not positive",
		},
		{
			name: "missing access_token",
			handler: func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, `{"token_type":"Bearer","expires_in":60}`)
			},
			wantErr: "invalid: missing access_token",
		},
		{
			name: "invalid_grant",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprint(w, `{"error":"invalid_grant","error_description":"refresh token revoked"}`)
			},
			wantErr:   "oauth 400 invalid_grant",
			wantLogin: true,
		},
		{
			name: "invalid_client",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprint(w, `{"error":"invalid_client"}`)
			},
			wantErr:   "oauth 401 invalid_client",
			wantLogin: true,
		},
		{
			name: "bare 401",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusUnauthorized)
			},
			wantErr:   "http 401",
			wantLogin: true,
		},
		{
			name: "invalid_scope is neither",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprint(w, `{"error":"invalid_scope"}`)
			},
			wantErr: "oauth 400 invalid_scope",
		},
		{
			name: "429 with Retry-After",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "7")
				w.WriteHeader(http.StatusTooManyRequests)
				fmt.Fprint(w, `{"error":"slow_down"}`)
			},
			wantErr:       "oauth 429 slow_down",
			wantTemporary: true,
			wantRetry:     7 * time.Second,
		},
		{
			name: "503 HTML with Retry-After date",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", fakeclock.Start.Add(90*time.Second).Format(http.TimeFormat))
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprint(w, "<html>maintenance</html>")
			},
			wantErr:       "http 503",
			wantTemporary: true,
			wantRetry:     90 * time.Second,
		},
		{
			name: "redirect is not followed",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "http://127.0.0.1:1/elsewhere", http.StatusFound)
			},
			wantErr: "redirect 302 http://127.0.0.1:1/elsewhere",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEndpoint(t, tt.handler)
			e.client = defaultHTTPClient()
			t.Cleanup(e.client.CloseIdleConnections)
			_, err := e.token(t.Context(), url.Values{"grant_type": {"client_credentials"}})
			got := struct {
				Err            string
				Login, Temp    bool
				RetryAfter     time.Duration
				LeaksSecret    bool
				LeaksAccessTok bool
			}{
				Err: errDesc(err), Login: errors.Is(err, ErrLoginRequired), Temp: errors.Is(err, ErrTemporary),
				RetryAfter: retryAfterOf(err), LeaksSecret: err != nil && strings.Contains(err.Error(), "s3cret"),
			}
			want := got
			want.Err, want.Login, want.Temp, want.RetryAfter, want.LeaksSecret = tt.wantErr, tt.wantLogin, tt.wantTemporary, tt.wantRetry, false
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s\nerror: %v", diff, err)
			}
		})
	}
}

func retryAfterOf(err error) time.Duration {
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) {
		return ra.RetryAfter()
	}
	return 0
}

func TestEndpointSlowServerHonoursDeadline(t *testing.T) {
	release := make(chan struct{})
	e := newTestEndpoint(t, func(w http.ResponseWriter, r *http.Request) {
		select { // answer only once the client gave up or the test ends
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) }) // runs before the server's Close

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := e.token(ctx, url.Values{"grant_type": {"client_credentials"}})
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrTemporary) {
		t.Fatalf("got %v, want an error matching context.DeadlineExceeded and ErrTemporary", err)
	}
}

func TestEndpointNetworkFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	e := &endpoint{url: "http://" + addr + "/token", client: defaultHTTPClient(), clock: fakeclock.New()}
	_, err = e.token(t.Context(), url.Values{})
	var ne *NetworkError
	if !errors.As(err, &ne) || !errors.Is(err, ErrTemporary) || errors.Is(err, ErrLoginRequired) {
		t.Fatalf("got %v, want a *NetworkError matching ErrTemporary only", err)
	}
}

func TestEndpointClientAuthentication(t *testing.T) {
	const id, sec = "my client:1", "p@ss:word/+"
	tests := []struct {
		name  string
		style AuthStyle
		want  []string // basic user, basic password, form client_id, form client_secret
	}{
		{name: "basic, form-encoded first", style: AuthStyleBasic, want: []string{"my+client%3A1", "p%40ss%3Aword%2F%2B", "", ""}},
		{name: "in the body", style: AuthStyleBody, want: []string{"", "", id, sec}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			e := newTestEndpoint(t, func(w http.ResponseWriter, r *http.Request) {
				user, pass, _ := r.BasicAuth()
				got = []string{user, pass, r.PostFormValue("client_id"), r.PostFormValue("client_secret")}
				fmt.Fprint(w, `{"access_token":"at","expires_in":60}`)
			})
			e.auth = clientAuth{id: id, secret: secret(sec), style: tt.style}
			if _, err := e.token(t.Context(), url.Values{"grant_type": {"client_credentials"}}); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestEndpointExpiresAtFromClock(t *testing.T) {
	e := newTestEndpoint(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"access_token":"at","token_type":"Bearer","expires_in":300}`)
	})
	clk := fakeclock.New()
	clk.Add(time.Hour)
	e.clock = clk
	got, err := e.token(t.Context(), url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fakeclock.At(time.Hour+5*time.Minute), got.expiresAt); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestErrorMessagesBoundServerText(t *testing.T) {
	err := &OAuthError{StatusCode: 400, Code: "invalid_request", Description: strings.Repeat("é", 1000) + "\r\nforged"}
	msg := err.Error()
	if strings.ContainsAny(msg, "\r\n") || len([]rune(msg)) > 400 {
		t.Errorf("message not bounded or not sanitised: %q", msg)
	}
}
