package strategy

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tokenactor/tokenactor/fakeclock"
)

// The secrets of the scrubbing tests: characters that every encoding
// spells differently.
const (
	scrubID       = "cli ent"
	scrubSecret   = "cs/+ sécret&<x>"
	scrubRefresh  = "rt-1/ab+c=="
	scrubDevice   = "dc-9 zé"
	scrubAccessOK = "at-not-secret"
)

// echoSpellings returns sec as servers have been seen to echo it, written
// here independently of the scrubber.
func echoSpellings(sec string) map[string]string {
	q := url.QueryEscape(sec)
	js, _ := json.Marshal(sec)
	return map[string]string{
		"raw":           sec,
		"url plus":      q,
		"url %20":       strings.ReplaceAll(q, "+", "%20"),
		"url lower hex": strings.ToLower(q),
		"json":          string(js[1 : len(js)-1]),
		"json ascii":    strings.ReplaceAll(strings.ReplaceAll(string(js[1:len(js)-1]), "é", `\u00e9`), "/", `\/`),
		"base64":        base64.StdEncoding.EncodeToString([]byte(sec)),
		"base64url raw": base64.RawURLEncoding.EncodeToString([]byte(sec)),
	}
}

// allSpellings is every echo of the client secret and of the given request
// parameters (all of them if none are given), with the Basic header value.
func allSpellings(params ...string) map[string]string {
	all := map[string]string{
		"basic": base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(scrubID) + ":" + url.QueryEscape(scrubSecret))),
	}
	if len(params) == 0 {
		params = []string{scrubRefresh, scrubDevice}
	}
	for _, sec := range append(params, scrubSecret) {
		for sp, v := range echoSpellings(sec) {
			all[sec+" "+sp] = v
		}
	}
	return all
}

// assertScrubbed fails if err, printed any way, holds a spelling of the
// client secret or of a secret parameter the request carried.
func assertScrubbed(t *testing.T, err error, params ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	outs := []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)}
	for e := errors.Unwrap(err); e != nil; e = errors.Unwrap(e) {
		outs = append(outs, fmt.Sprintf("%+v %#v", e, e))
	}
	for name, sp := range allSpellings(params...) {
		for _, out := range outs {
			if strings.Contains(out, sp) {
				t.Errorf("%s echoed: %s", name, out)
			}
			// A secret cut short is a leak too.
			if half := sp[:len(sp)/2]; len(half) >= 5 && strings.Contains(out, half+"…") {
				t.Errorf("part of %s echoed: %s", name, out)
			}
		}
	}
}

// scrubEndpoint is an endpoint of a confidential client, Basic style,
// whose server h answers.
func scrubEndpoint(t *testing.T, h http.HandlerFunc) *endpoint {
	e := newTestEndpoint(t, h)
	e.auth = clientAuth{id: scrubID, secret: secret(scrubSecret)}
	return e
}

// TestServerTextIsScrubbed sends a refresh token grant and a device poll to
// servers that echo every secret of the request, in every spelling, in
// every piece of text they control, with error and success statuses.
func TestServerTextIsScrubbed(t *testing.T) {
	var echoAll []string
	for _, sp := range allSpellings() {
		echoAll = append(echoAll, sp)
	}
	echo := strings.Join(echoAll, " | ")
	oauthBody := func(w http.ResponseWriter, status int, body map[string]string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(body)
	}
	tests := []struct {
		name string
		h    http.HandlerFunc
	}{
		{name: "400 description", h: func(w http.ResponseWriter, r *http.Request) {
			oauthBody(w, 400, map[string]string{"error": "invalid_grant", "error_description": "you sent " + echo})
		}},
		{name: "200 error body", h: func(w http.ResponseWriter, r *http.Request) {
			oauthBody(w, 200, map[string]string{"error": "invalid_grant", "error_description": "you sent " + echo, "error_uri": "https://a.example/?" + echo})
		}},
		{name: "error code", h: func(w http.ResponseWriter, r *http.Request) {
			oauthBody(w, 401, map[string]string{"error": echo})
		}},
		{name: "error URI", h: func(w http.ResponseWriter, r *http.Request) {
			oauthBody(w, 400, map[string]string{"error": "invalid_request", "error_uri": "https://a.example/" + echo})
		}},
		{name: "JSON inside the description", h: func(w http.ResponseWriter, r *http.Request) {
			inner, _ := json.Marshal(map[string]string{"client_secret": scrubSecret, "refresh_token": scrubRefresh})
			oauthBody(w, 400, map[string]string{"error": "invalid_request", "error_description": string(inner)})
		}},
		{name: "HTML 502 with echoing content type", h: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; x="+url.QueryEscape(echo))
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprintf(w, "<html>%s</html>", echo)
		}},
		{name: "long content type cut inside a secret", h: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset="+strings.Repeat("x", 45)+url.QueryEscape(scrubRefresh))
			w.WriteHeader(http.StatusInternalServerError)
		}},
		{name: "200 with HTML", h: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; "+url.QueryEscape(echo))
			fmt.Fprintf(w, "<html>%s</html>", echo)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name+", token endpoint", func(t *testing.T) {
			e := scrubEndpoint(t, tt.h)
			_, err := e.token(t.Context(), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {scrubRefresh}})
			assertScrubbed(t, err, scrubRefresh)
		})
		t.Run(tt.name+", device poll", func(t *testing.T) {
			e := scrubEndpoint(t, tt.h)
			_, err := e.token(t.Context(), url.Values{"grant_type": {deviceCodeGrant}, "device_code": {scrubDevice}})
			assertScrubbed(t, err, scrubDevice)
		})
	}
}

// TestDeviceAuthorizationTextIsScrubbed checks the device authorization
// endpoint's answers, which carry the client secret.
func TestDeviceAuthorizationTextIsScrubbed(t *testing.T) {
	basic := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(scrubID) + ":" + url.QueryEscape(scrubSecret)))
	for _, status := range []int{http.StatusOK, http.StatusBadRequest} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			srv := &deviceAuthEcho{status: status, echo: "got " + scrubSecret + " and Basic " + basic}
			s, err := NewDeviceCode(DeviceCodeConfig{
				DeviceAuthURL: "http://127.0.0.1/device", TokenURL: "http://127.0.0.1/token", ClientID: scrubID,
				ClientSecret: scrubSecret, Store: NewMemoryStore(), Prompt: func(DeviceAuthorization) {},
				HTTPClient: &http.Client{Transport: srv}, Clock: fakeclock.New(),
			})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			_, err = s.Login(t.Context())
			var oe *OAuthError
			if !errors.As(err, &oe) || oe.Code != "invalid_client" {
				t.Fatalf("got %v, want an *OAuthError invalid_client", err)
			}
			assertScrubbed(t, err, scrubSecret)
		})
	}
}

// deviceAuthEcho answers every request with an invalid_client error object
// that echoes text.
type deviceAuthEcho struct {
	status int
	echo   string
}

func (d *deviceAuthEcho) RoundTrip(r *http.Request) (*http.Response, error) {
	body, _ := json.Marshal(map[string]string{"error": "invalid_client", "error_description": d.echo})
	return &http.Response{
		StatusCode: d.status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: ioNopCloser(string(body)), Request: r,
	}, nil
}

// TestTransportErrorsAreScrubbed checks an answer so malformed that the
// HTTP client's own error quotes it.
func TestTransportErrorsAreScrubbed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		req, err := http.ReadRequest(bufio.NewReader(conn))
		if err != nil {
			return
		}
		req.ParseForm()
		fmt.Fprintf(conn, "HTTP/1.1 %s OK\r\n\r\n", req.PostForm.Get("refresh_token"))
	}()
	e := &endpoint{url: "http://" + ln.Addr().String() + "/token", client: defaultHTTPClient(), clock: fakeclock.New(),
		auth: clientAuth{id: scrubID, secret: secret(scrubSecret)}}
	defer e.client.CloseIdleConnections()
	_, err = e.token(t.Context(), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {scrubRefresh}})
	if !errors.Is(err, ErrTemporary) {
		t.Errorf("got %v, want an error matching ErrTemporary", err)
	}
	assertScrubbed(t, err, scrubRefresh)
}

func ioNopCloser(s string) io.ReadCloser { return io.NopCloser(strings.NewReader(s)) }

// TestIssuedValuesCarryNoRequestSecret: a server that echoes a secret of
// the request as the access token (which then goes to the API, another
// party), the token type, the scope, or in the text a device login shows.
func TestIssuedValuesCarryNoRequestSecret(t *testing.T) {
	tokens := map[string]string{
		"refresh token as access token": `{"access_token":"x` + scrubRefresh + `","expires_in":60}`,
		"client secret as access token": `{"access_token":"` + base64.StdEncoding.EncodeToString([]byte(scrubSecret)) + `","expires_in":60}`,
		"refresh token as token type":   `{"access_token":"at","token_type":"rt-0123456789","expires_in":60}`,
	}
	for name, body := range tokens {
		t.Run(name, func(t *testing.T) {
			e := scrubEndpoint(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) })
			refresh := scrubRefresh
			if strings.Contains(name, "token type") {
				refresh = "rt-0123456789"
			}
			_, err := e.token(t.Context(), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
			var ie *InvalidResponseError
			if !errors.As(err, &ie) {
				t.Fatalf("got %v, want an *InvalidResponseError", err)
			}
		})
	}
	t.Run("scope is masked", func(t *testing.T) {
		e := scrubEndpoint(t, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"access_token":"at","expires_in":60,"scope":"openid `+scrubRefresh+`"}`)
		})
		r, err := e.token(t.Context(), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {scrubRefresh}})
		if err != nil || strings.Contains(r.scope, scrubRefresh) {
			t.Fatalf("got scope %q, %v", r.scope, err)
		}
	})
	t.Run("device verification URI", func(t *testing.T) {
		e := scrubEndpoint(t, func(w http.ResponseWriter, r *http.Request) {
			json.NewEncoder(w).Encode(map[string]any{"device_code": "dc", "user_code": "U", "expires_in": 60,
				"verification_uri": "https://a.example/?s=" + url.QueryEscape(scrubSecret)})
		})
		s := &DeviceCodeStrategy{deviceAuth: e, cfg: DeviceCodeConfig{DeviceAuthURL: e.url, Clock: e.clock}}
		_, _, err := s.authorize(t.Context(), e)
		var ie *InvalidResponseError
		if !errors.As(err, &ie) {
			t.Fatalf("got %v, want an *InvalidResponseError", err)
		}
	})
}
