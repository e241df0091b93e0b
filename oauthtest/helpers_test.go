package oauthtest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenactor/tokenactor/oauthtest"
)

// testClock is a clock the test moves by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock {
	return &testClock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// reply is a decoded answer.
type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (r reply) str(key string) string {
	s, _ := r.body[key].(string)
	return s
}

func (r reply) num(key string) float64 {
	f, _ := r.body[key].(float64)
	return f
}

// how a test client authenticates.
type auth struct {
	id, secret string
	basic      bool
}

var defaultAuth = auth{id: oauthtest.DefaultClientID, secret: oauthtest.DefaultClientSecret, basic: true}

// post sends form to u with the client authentication a.
func post(t *testing.T, u string, a auth, form url.Values) reply {
	t.Helper()
	form = cloneForm(form)
	if !a.basic && a.id != "" {
		form.Set("client_id", a.id)
		if a.secret != "" {
			form.Set("client_secret", a.secret)
		}
	}
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if a.basic {
		req.SetBasicAuth(url.QueryEscape(a.id), url.QueryEscape(a.secret))
	}
	return do(t, req)
}

func cloneForm(v url.Values) url.Values {
	c := url.Values{}
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	return c
}

func do(t *testing.T, req *http.Request) reply {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, &r.body); err != nil {
			t.Fatalf("body is not JSON: %v\n%s", err, b)
		}
	}
	return r
}

func clientCredentials(t *testing.T, srv *oauthtest.Server, a auth, extra url.Values) reply {
	t.Helper()
	form := cloneForm(extra)
	form.Set("grant_type", "client_credentials")
	return post(t, srv.TokenURL(), a, form)
}

// mustToken gets a client credentials token and fails the test if none.
func mustToken(t *testing.T, srv *oauthtest.Server) string {
	t.Helper()
	r := clientCredentials(t, srv, defaultAuth, nil)
	if r.status != http.StatusOK || r.str("access_token") == "" {
		t.Fatalf("token request: %d %s", r.status, r.raw)
	}
	return r.str("access_token")
}

// callAPI calls the protected resource with a bearer token.
func callAPI(t *testing.T, srv *oauthtest.Server, tok string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.ResourceURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return do(t, req)
}

func introspect(t *testing.T, srv *oauthtest.Server, tok string) reply {
	t.Helper()
	return post(t, srv.IntrospectionURL(), defaultAuth, url.Values{"token": {tok}})
}

// wantError checks an RFC 6749 §5.2 error answer.
func wantError(t *testing.T, r reply, status int, code string) {
	t.Helper()
	if r.status != status || r.str("error") != code {
		t.Errorf("got %d %s, want %d error=%s", r.status, r.raw, status, code)
	}
	if got := r.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", got)
	}
}

// deviceLogin runs a device authorization request for a public client and
// returns its reply.
func deviceAuthorize(t *testing.T, srv *oauthtest.Server, a auth, extra url.Values) reply {
	t.Helper()
	r := post(t, srv.DeviceAuthorizationURL(), a, extra)
	return r
}

func pollDevice(t *testing.T, srv *oauthtest.Server, a auth, deviceCode string) reply {
	t.Helper()
	return post(t, srv.TokenURL(), a, url.Values{
		"grant_type":  {"urn:ietf:params:oauth:grant-type:device_code"},
		"device_code": {deviceCode},
	})
}

func refresh(t *testing.T, srv *oauthtest.Server, a auth, rt string) reply {
	t.Helper()
	return post(t, srv.TokenURL(), a, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
}
