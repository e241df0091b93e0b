package strategy_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/httpauth"
	"github.com/tokenactor/tokenactor/oauth2adapt"
	"github.com/tokenactor/tokenactor/strategy"
)

// sweepValueStrategy is a strategy that is a plain value holding a token,
// as a user's own type may be.
type sweepValueStrategy struct{ token string }

func (v sweepValueStrategy) Get(context.Context) (tokenactor.ServiceToken, error) {
	return tokenactor.ServiceToken{AccessToken: tokenactor.NewSecretToken(v.token)}, nil
}

// Every secret in the sweep contains marker, so one search finds any of
// them in any output.
const marker = "SWEEPSECRET"

const (
	sweepClientSecret = "cs-" + marker + "-client"
	sweepKeySecret    = "ak-" + marker + "-key"
	sweepDeviceCode   = "dc-" + marker + "-device"
	sweepRefresh0     = "rt-" + marker + "-0"
	sweepAccess0      = "at-" + marker + "-0"
)

// A sweep collects every output the library produces in the secrets test
// and checks none holds a secret. It is safe for concurrent use: event
// hooks call it from the caches' loops.
type sweep struct {
	mu      sync.Mutex
	outputs map[string][]string // what was printed, by where it came from
	errs    map[string]bool     // error types seen (%T), to prove paths ran
	events  map[string]bool     // event types seen
	tokens  int                 // tokens handed out that held a secret
	text    *slog.Logger
	json    *slog.Logger
	logged  lockedBuffer
}

// lockedBuffer is an io.Writer for slog handlers used from several
// goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newSweep() *sweep {
	s := &sweep{outputs: map[string][]string{}, errs: map[string]bool{}, events: map[string]bool{}}
	debug := &slog.HandlerOptions{Level: slog.LevelDebug}
	s.text = slog.New(slog.NewTextHandler(&s.logged, debug))
	s.json = slog.New(slog.NewJSONHandler(&s.logged, debug))
	return s
}

// print records v as every fmt verb, json.Marshal, and slog text and JSON
// show it.
func (s *sweep) print(name string, v any) {
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		outs = append(outs, fmt.Sprintf(verb, v))
	}
	if b, err := json.Marshal(v); err == nil {
		outs = append(outs, string(b))
	}
	if err, ok := v.(error); ok {
		outs = append(outs, err.Error())
		// What a caller would see wrapped by a cache, and unwrapped.
		outs = append(outs, fmt.Sprintf("%v", fmt.Errorf("%w: %w", tokenactor.ErrTokenExpired, err)))
		for e := errors.Unwrap(err); e != nil; e = errors.Unwrap(e) {
			outs = append(outs, fmt.Sprintf("%+v %#v", e, e))
		}
	}
	s.text.Debug(name, "value", v)
	s.json.Debug(name, "value", v)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outputs[name] = append(s.outputs[name], outs...)
}

// err records an error a flow returned, and its type.
func (s *sweep) err(name string, err error) {
	if err == nil {
		return
	}
	s.print(name, err)
	s.mu.Lock()
	defer s.mu.Unlock()
	for e := range errorTree(err) {
		s.errs[fmt.Sprintf("%T", e)] = true
		for _, sentinel := range sweepSentinels {
			if e == sentinel {
				s.errs[sentinel.Error()] = true
			}
		}
	}
}

// errorTree yields err and every error it wraps.
func errorTree(err error) func(func(error) bool) {
	return func(yield func(error) bool) {
		var walk func(error) bool
		walk = func(e error) bool {
			if e == nil {
				return true
			}
			if !yield(e) {
				return false
			}
			switch u := e.(type) {
			case interface{ Unwrap() []error }:
				for _, c := range u.Unwrap() {
					if !walk(c) {
						return false
					}
				}
			case interface{ Unwrap() error }:
				return walk(u.Unwrap())
			}
			return true
		}
		walk(err)
	}
}

var sweepSentinels = []error{
	strategy.ErrAccessKeyMissingDot, strategy.ErrAccessKeyEmptyID, strategy.ErrAccessKeyEmptySecret,
	strategy.ErrAccessDenied, strategy.ErrDeviceCodeExpired, strategy.ErrNoSession, strategy.ErrSessionExpired,
}

// token records a token a flow got; it must hold a secret (or the flow
// proved nothing), and it must print masked.
func (s *sweep) token(name string) func(tokenactor.ServiceToken, error) {
	return func(tok tokenactor.ServiceToken, err error) {
		if err != nil {
			s.err(name, err)
			return
		}
		s.print(name, tok)
		s.print(name, tok.AccessToken)
		if strings.Contains(tok.AccessToken.Reveal(), marker) {
			s.mu.Lock()
			s.tokens++
			s.mu.Unlock()
		}
	}
}

// hook returns the cache options of every strategy in the sweep: events
// go to the sweep, and through tokenactor.LogEvents to both slog handlers.
func (s *sweep) hook() tokenactor.Option {
	text, js := tokenactor.LogEvents(s.text), tokenactor.LogEvents(s.json)
	return tokenactor.WithEventHook(func(e tokenactor.Event) {
		text(e)
		js(e)
		s.print("event", e)
		s.mu.Lock()
		s.events[reflect.TypeOf(e).Name()] = true
		s.mu.Unlock()
	})
}

// check fails the test for every output holding a secret, and returns
// how many outputs and bytes it searched.
func (s *sweep) check(t *testing.T) (outputs, bytes int) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	all := map[string][]string{"slog": {s.logged.String()}}
	for k, v := range s.outputs {
		all[k] = v
	}
	needles := []string{marker, hex.EncodeToString([]byte(marker)), strings.ToUpper(hex.EncodeToString([]byte(marker)))}
	// base64 hides the marker: look for each secret's encodings, and the
	// Basic values of the clients in the sweep.
	for _, sec := range []string{sweepClientSecret, sweepKeySecret, sweepDeviceCode, sweepRefresh0, sweepAccess0,
		"svc:" + sweepKeySecret, "svc:" + sweepClientSecret, "cli:" + sweepClientSecret} {
		needles = append(needles, base64.StdEncoding.EncodeToString([]byte(sec)), base64.RawURLEncoding.EncodeToString([]byte(sec)))
	}
	for name, outs := range all {
		for _, out := range outs {
			outputs++
			bytes += len(out)
			for _, n := range needles {
				if strings.Contains(out, n) {
					// Show where, without printing the secret itself.
					t.Errorf("%s: secret in output: %s", name, strings.ReplaceAll(out, marker, "<SECRET>"))
				}
			}
		}
	}
	return outputs, bytes
}

// sweepServer is a token and device endpoint whose answer depends on the
// last path element. Several answers echo the secrets the client sent, as
// careless servers do, to check the library does not pass them on.
type sweepServer struct {
	n     atomic.Int64
	polls sync.Map // path -> *atomic.Int64
}

// echo returns every secret the request carried.
func echo(r *http.Request) string {
	_, sec, _ := r.BasicAuth()
	return fmt.Sprintf("client_secret=%s%s refresh_token=%s device_code=%s token=%s",
		sec, r.PostForm.Get("client_secret"), r.PostForm.Get("refresh_token"), r.PostForm.Get("device_code"), r.PostForm.Get("token"))
}

func (s *sweepServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	mode := filepath.Base(r.URL.Path)
	n := s.n.Add(1)
	oauthErr := func(status int, code, desc string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc, "error_uri": "https://auth.example/e?" + desc})
	}
	switch mode {
	case "ok":
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"access_token": fmt.Sprintf("at-%s-%d", marker, n), "token_type": "Bearer", "expires_in": 3600,
			"refresh_token": fmt.Sprintf("rt-%s-%d", marker, n), "scope": "openid",
		})
	case "refused":
		oauthErr(http.StatusBadRequest, "invalid_grant", "the grant was refused")
	case "echo":
		oauthErr(http.StatusBadRequest, "invalid_request", "you sent "+echo(r))
	case "echo-code":
		oauthErr(http.StatusBadRequest, echo(r), "")
	case "echo-200":
		oauthErr(http.StatusOK, "invalid_grant", "you sent "+echo(r)+" "+url.QueryEscape(echo(r)))
	case "echo-b64":
		// The Authorization header as received, and each secret in base64.
		b64 := base64.StdEncoding.EncodeToString
		oauthErr(http.StatusUnauthorized, "invalid_client", r.Header.Get("Authorization")+" "+b64([]byte(r.PostForm.Get("client_secret")))+
			" "+b64([]byte(r.PostForm.Get("refresh_token")))+" "+b64([]byte(r.PostForm.Get("device_code")))+" "+b64([]byte(r.PostForm.Get("token"))))
	case "redirect":
		http.Redirect(w, r, "/stolen/"+url.PathEscape(echo(r))+"?"+url.QueryEscape(echo(r)), http.StatusTemporaryRedirect)
	case "html":
		w.Header().Set("Content-Type", "text/html; "+echo(r))
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprintf(w, "<html>upstream said %s</html>", echo(r))
	case "busy":
		w.Header().Set("Retry-After", "30")
		oauthErr(http.StatusTooManyRequests, "temporarily_unavailable", echo(r))
	case "garbage":
		fmt.Fprintf(w, `{"access_token":"at-%s","expires_in":"soon %s"}`, marker, echo(r))
	case "wrongtype":
		fmt.Fprintf(w, `{"access_token":["at-%s"],"expires_in":60}`, marker)
	case "truncated":
		fmt.Fprintf(w, `{"access_token":"at-%s-truncated`, marker)
	case "badtoken":
		fmt.Fprintf(w, `{"access_token":"at-%s\u0001","expires_in":60}`, marker)
	case "dropped":
		// Promise a body, send half, hang up: the client sees a network error.
		w.Header().Set("Content-Length", "1000")
		fmt.Fprintf(w, `{"access_token":"at-%s-dropped`, marker)
		w.(http.Flusher).Flush()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	case "device":
		json.NewEncoder(w).Encode(map[string]any{
			"device_code": sweepDeviceCode, "user_code": "WDJB-MJHT",
			"verification_uri": "https://auth.example/device", "expires_in": 30, "interval": 1,
		})
	case "device-garbage":
		fmt.Fprintf(w, `{"device_code":%q,"user_code":"\u001b[2J","verification_uri":"https://auth.example/device","expires_in":30}`, sweepDeviceCode)
	case "device-wrongtype":
		fmt.Fprintf(w, `{"device_code":%q,"user_code":5}`, sweepDeviceCode)
	case "denied":
		oauthErr(http.StatusBadRequest, "access_denied", "the user said no to "+echo(r))
	case "expired":
		oauthErr(http.StatusBadRequest, "expired_token", echo(r))
	case "slow":
		// authorization_pending and slow_down in turn, until the code expires.
		c, _ := s.polls.LoadOrStore(r.URL.Path, new(atomic.Int64))
		if c.(*atomic.Int64).Add(1)%2 == 0 {
			oauthErr(http.StatusBadRequest, "slow_down", echo(r))
			return
		}
		oauthErr(http.StatusBadRequest, "authorization_pending", echo(r))
	default:
		http.NotFound(w, r)
	}
}

// panicTransport is an http.RoundTripper that panics, for the panic path.
type panicTransport struct{}

func (panicTransport) RoundTrip(*http.Request) (*http.Response, error) {
	panic("transport exploded")
}

const sweepStderrEnv = "TOKENACTOR_TEST_SWEEP_CHILD"

// TestSecretsNeverAppear drives every error path of the strategies, every
// engine event, and every way of printing their values with known secrets
// (client secret, access key secret, access and refresh tokens, device
// code), and fails if a secret shows up in any output: fmt verbs, error
// messages, json.Marshal, slog text and JSON (directly and through
// tokenactor.LogEvents), panic messages and stacks. Session files must be
// created 0600 in a 0700 directory.
func TestSecretsNeverAppear(t *testing.T) {
	sw := newSweep()
	srv := &sweepServer{}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	flows := 0

	// Client credentials (AccessKeyStrategy), through the loopback server.
	key, err := strategy.ParseAccessKey("svc." + sweepKeySecret)
	if err != nil {
		t.Fatal(err)
	}
	sw.print("access key", key)
	for _, mode := range []string{"ok", "refused", "echo", "echo-code", "echo-200", "echo-b64", "redirect", "html", "busy", "garbage", "wrongtype", "truncated", "badtoken", "dropped"} {
		for _, style := range []strategy.AuthStyle{strategy.AuthStyleBasic, strategy.AuthStyleBody} {
			cfg := key.Config(ts.URL + "/" + mode)
			cfg.AuthStyle = style
			sw.print("access key config", cfg)
			sw.print("access key config pointer", &cfg)
			s, err := strategy.NewAccessKey(cfg, sw.hook())
			if err != nil {
				t.Fatal(err)
			}
			sw.print("access key strategy", s)
			sw.token("access key " + mode)(s.Get(t.Context()))
			s.Invalidate()
			sw.token("access key " + mode + " again")(s.Get(t.Context()))
			s.Close()
			flows++
		}
	}
	// Network errors: a closed port, a cancelled context, a panicking
	// transport.
	closed := closedURL(t)
	for name, cfg := range map[string]strategy.AccessKeyConfig{
		"closed port": key.Config(closed),
		"panic":       {TokenURL: ts.URL + "/ok", ClientID: "svc", ClientSecret: sweepClientSecret, HTTPClient: &http.Client{Transport: panicTransport{}}},
	} {
		s, err := strategy.NewAccessKey(cfg, sw.hook())
		if err != nil {
			t.Fatal(err)
		}
		sw.token("access key " + name)(s.Get(t.Context()))
		s.Close()
		flows++
	}
	{
		s, _ := strategy.NewAccessKey(key.Config(ts.URL+"/ok"), sw.hook())
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		sw.token("access key cancelled")(s.Get(ctx))
		s.Close()
		flows++
	}

	// ParseAccessKey errors.
	for _, give := range []string{sweepKeySecret, "." + sweepKeySecret, "svc-" + marker + ".", " \n"} {
		_, err := strategy.ParseAccessKey(give)
		sw.err("ParseAccessKey", err)
		flows++
	}

	// OAuth sessions in a FileStore: refresh, refusal, echoes, corrupt
	// files, no session, a session that cannot be refreshed.
	dir := filepath.Join(t.TempDir(), "sessions")
	store := strategy.NewFileStore(dir)
	for _, mode := range []string{"ok", "refused", "echo", "echo-code", "echo-200", "echo-b64", "redirect", "html", "busy", "garbage", "truncated", "dropped"} {
		seed := strategy.Session{
			TokenURL: ts.URL + "/" + mode, ClientID: "cli",
			AccessToken: tokenactor.NewSecretToken(sweepAccess0), TokenType: "Bearer", ExpiresAt: time.Now().Add(-time.Minute),
			RefreshToken: tokenactor.NewSecretToken(sweepRefresh0), Scope: "openid",
		}
		sw.print("session", seed)
		if err := store.Save(t.Context(), mode, seed); err != nil {
			t.Fatal(err)
		}
		cfg := strategy.OAuthConfig{Store: store, Profile: mode, ClientSecret: sweepClientSecret}
		sw.print("oauth config", cfg)
		sw.print("oauth config pointer", &cfg)
		s, err := strategy.NewOAuth(cfg, sw.hook())
		if err != nil {
			t.Fatal(err)
		}
		sw.print("oauth strategy", s)
		sw.token("oauth " + mode)(s.Get(t.Context()))
		s.Invalidate()
		sw.token("oauth " + mode + " again")(s.Get(t.Context()))
		saved, err := store.Load(t.Context(), mode)
		sw.err("load", err)
		sw.print("saved session", saved)
		if mode == "ok" {
			checkModes(t, dir, "ok.json")
		}
		sw.err("logout", s.Logout(t.Context()))
		sw.token("oauth " + mode + " after logout")(s.Get(t.Context()))
		s.Close()
		flows++
	}
	for name, content := range map[string]string{
		"control":   `{"version":1,"access_token":"at-` + marker + `\u0001"}`,
		"truncated": `{"version":1,"refresh_token":"rt-` + marker,
		"wrongtype": `{"version":1,"access_token":["at-` + marker + `"]}`,
		"version":   `{"version":2,"refresh_token":"rt-` + marker + `"}`,
		"trailing":  `{"version":1,"refresh_token":"rt-` + marker + `"} rt-` + marker,
		"badurl":    `{"version":1,"refresh_token":"rt-` + marker + `","token_url":"ftp://` + marker + `"}`,
		"notjson":   `rt-` + marker,
	} {
		profile := "corrupt-" + name
		if err := os.WriteFile(store.Path(profile), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := store.Load(t.Context(), profile)
		sw.err("corrupt "+name, err)
		s, _ := strategy.NewOAuth(strategy.OAuthConfig{Store: store, Profile: profile, ClientSecret: sweepClientSecret}, sw.hook())
		sw.token("oauth corrupt " + name)(s.Get(t.Context()))
		s.Close()
		flows++
	}
	{
		noRefresh := strategy.Session{AccessToken: tokenactor.NewSecretToken(sweepAccess0), ExpiresAt: time.Now().Add(-time.Hour)}
		store.Save(t.Context(), "norefresh", noRefresh)
		for _, profile := range []string{"norefresh", "nobody"} {
			s, _ := strategy.NewOAuth(strategy.OAuthConfig{Store: store, Profile: profile, TokenURL: ts.URL + "/ok"}, sw.hook())
			sw.token("oauth " + profile)(s.Get(t.Context()))
			s.Close()
			flows++
		}
	}

	// Device code logins, in bubbles: polling waits on the bubble's clock.
	for _, tc := range []struct{ auth, token string }{
		{"device", "ok"}, {"device", "denied"}, {"device", "expired"}, {"device", "slow"},
		{"device", "echo"}, {"device", "echo-code"}, {"device", "echo-200"}, {"device", "echo-b64"}, {"device", "redirect"}, {"device", "html"}, {"device", "garbage"}, {"device", "truncated"},
		{"device-garbage", "ok"}, {"device-wrongtype", "ok"}, {"echo", "ok"}, {"echo-200", "ok"}, {"echo-b64", "ok"}, {"redirect", "ok"}, {"html", "ok"}, {"busy", "ok"},
	} {
		synctest.Test(t, func(t *testing.T) {
			dstore := strategy.NewFileStore(filepath.Join(dir, "device"))
			profile := tc.auth + "-" + tc.token
			cfg := strategy.DeviceCodeConfig{
				DeviceAuthURL: "https://auth.example/" + tc.auth, TokenURL: "https://auth.example/" + tc.token,
				ClientID: "cli", ClientSecret: sweepClientSecret, Scopes: []string{"openid"},
				Store: dstore, Profile: profile,
				Prompt:     func(da strategy.DeviceAuthorization) { sw.print("prompt", da) },
				HTTPClient: memClient(srv),
			}
			sw.print("device config", cfg)
			sw.print("device config pointer", &cfg)
			s, err := strategy.NewDeviceCode(cfg, sw.hook())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			sw.print("device strategy", s)
			sess, err := s.Login(t.Context())
			sw.err("device login "+profile, err)
			sw.print("device session", sess)
			sw.token("device " + profile)(s.Get(t.Context()))
			if err == nil {
				checkModes(t, dstore.Dir(), profile+".json")
			}
		})
		flows++
	}

	// Auto detection from the environment, with good and broken keys.
	for name, env := range map[string]map[string]string{
		"key":             {strategy.EnvAccessKey: "svc." + sweepKeySecret, strategy.EnvTokenURL: ts.URL + "/ok"},
		"malformed key":   {strategy.EnvAccessKey: sweepKeySecret, strategy.EnvTokenURL: ts.URL + "/ok"},
		"secret, no id":   {strategy.EnvClientSecret: sweepClientSecret, strategy.EnvTokenURL: ts.URL + "/ok"},
		"id and secret":   {strategy.EnvClientID: "svc", strategy.EnvClientSecret: sweepClientSecret, strategy.EnvTokenURL: ts.URL + "/refused"},
		"bad URL":         {strategy.EnvAccessKey: "svc." + sweepKeySecret, strategy.EnvTokenURL: "http://" + marker + ".example/"},
		"profile session": {strategy.EnvConfigDir: dir, strategy.EnvProfile: "corrupt-control"},
	} {
		cfg := strategy.AutoConfig{Store: store, Getenv: func(k string) string { return env[k] }}
		sw.print("auto config", cfg)
		s, err := strategy.NewAuto(cfg, sw.hook())
		sw.err("auto "+name, err)
		if err == nil {
			sw.print("auto strategy", s)
			sw.token("auto " + name)(s.Get(t.Context()))
			s.Close()
		}
		flows++
	}
	for name, cfg := range map[string]strategy.AutoConfig{
		"explicit key":   {AccessKey: &strategy.AccessKeyConfig{TokenURL: ts.URL + "/ok", ClientID: "svc", ClientSecret: sweepClientSecret}},
		"explicit oauth": {OAuth: &strategy.OAuthConfig{Store: store, Profile: "nobody", ClientSecret: sweepClientSecret}},
	} {
		sw.print("auto config", cfg)
		s, err := strategy.NewAuto(cfg, sw.hook())
		sw.err("auto "+name, err)
		if err != nil {
			continue
		}
		sw.print("auto strategy", s)
		sw.token("auto " + name)(s.Get(t.Context()))
		s.Close()
		flows++
	}

	// Revocation and introspection with a secret, the token sent being a
	// secret too, against answers that echo both; and configs holding a
	// key or asking for a certificate, printed.
	for _, mode := range []string{"ok", "refused", "echo", "echo-code", "echo-200", "echo-b64", "redirect", "html", "busy", "garbage", "truncated", "dropped"} {
		for _, style := range []strategy.AuthStyle{strategy.AuthStyleBasic, strategy.AuthStyleBody, strategy.AuthStyleDetect} {
			cfg := strategy.EndpointConfig{URL: ts.URL + "/" + mode, ClientID: "svc", ClientSecret: sweepClientSecret, AuthStyle: style}
			sw.print("endpoint config", cfg)
			sw.print("endpoint config pointer", &cfg)
			sw.err("revoke "+mode, strategy.Revoke(t.Context(), cfg, tokenactor.NewSecretToken(sweepRefresh0), strategy.HintRefreshToken))
			in, err := strategy.Introspect(t.Context(), cfg, tokenactor.NewSecretToken(sweepAccess0), strategy.HintAccessToken)
			sw.err("introspect "+mode, err)
			sw.print("introspection", in)
			flows++
		}
	}
	for name, cfg := range map[string]strategy.EndpointConfig{
		"key":         {URL: ts.URL + "/echo", ClientID: "svc", ClientKey: &strategy.ClientKey{Signer: newEdKey(), KeyID: "kid-sweep"}},
		"certificate": {URL: ts.URL + "/echo", ClientID: "svc", TLSClientAuth: true, HTTPClient: http.DefaultClient},
		"both":        {URL: ts.URL + "/echo", ClientID: "svc", ClientSecret: sweepClientSecret, ClientKey: &strategy.ClientKey{Signer: newEdKey()}},
	} {
		sw.print("endpoint config "+name, cfg)
		sw.print("endpoint config pointer "+name, &cfg)
		sw.err("revoke with "+name, strategy.Revoke(t.Context(), cfg, tokenactor.NewSecretToken(sweepRefresh0), ""))
		_, err := strategy.Introspect(t.Context(), cfg, tokenactor.NewSecretToken(sweepAccess0), "")
		sw.err("introspect with "+name, err)
		flows++
	}

	// A memory store holding sessions, and a transport over a strategy.
	mem := strategy.NewMemoryStore()
	mem.Save(t.Context(), "default", strategy.Session{
		AccessToken: tokenactor.NewSecretToken(sweepAccess0), RefreshToken: tokenactor.NewSecretToken(sweepRefresh0),
	})
	sw.print("memory store", mem)
	tokenValue := sweepValueStrategy{token: sweepAccess0}
	sw.print("httpauth transport", &httpauth.Transport{Strategy: tokenValue, Origins: []string{"https://api.example"}})
	sw.print("oauth2adapt transport", &oauth2adapt.Transport{Strategy: tokenValue})
	flows++

	// Static and Func strategies, and a panic in a Func.
	static := strategy.NewStatic(tokenactor.ServiceToken{AccessToken: tokenactor.NewSecretToken(sweepAccess0), TokenType: "Bearer"})
	sw.print("static strategy", static)
	sw.token("static")(static.Get(t.Context()))
	boom := strategy.Func(func(context.Context) (tokenactor.ServiceToken, error) {
		tok := tokenactor.ServiceToken{AccessToken: tokenactor.NewSecretToken(sweepAccess0)}
		panic(fmt.Sprintf("func exploded holding %v", tok))
	})
	_, err = boom.Get(t.Context())
	sw.err("func panic", err)
	var pe *tokenactor.PanicError
	if errors.As(err, &pe) {
		sw.print("func panic stack", string(pe.Stack))
	}
	flows += 2

	// An engine event the strategies do not cause here, formatted and
	// logged all the same: a refresher panic reported as a failure.
	for _, e := range []tokenactor.Event{
		tokenactor.RefreshFailed{Op: tokenactor.OpRefresh, Attempt: 1, Err: &tokenactor.PanicError{Value: "refresher", Stack: []byte("stack")}},
	} {
		tokenactor.LogEvents(sw.text)(e)
		tokenactor.LogEvents(sw.json)(e)
		sw.print("event", e)
	}
	// A Group's events hold its key, which may be a secret: a group
	// keyed by subject token, or by a configuration holding a client
	// secret. Printing them shows no key.
	type tenantKey struct{ ClientID, ClientSecret string }
	for _, e := range []tokenactor.GroupEvent{
		tokenactor.CacheEvicted{Key: sweepAccess0, Reason: tokenactor.EvictedIdle},
		tokenactor.CacheEvicted{Key: tenantKey{"id", sweepClientSecret}, Reason: tokenactor.EvictedMaxCaches},
		tokenactor.FactoryFailed{Key: sweepRefresh0, Err: &tokenactor.PanicError{Value: "factory", Stack: []byte("stack")}},
	} {
		sw.print("group event", e)
	}

	outputs, bytes := sw.check(t)

	// The sweep proves something only if the secrets were in play and
	// every path ran.
	wantErrs := []string{
		"*strategy.OAuthError", "*strategy.HTTPError", "*strategy.InvalidResponseError", "*strategy.NetworkError",
		"*strategy.CorruptSessionError", "*strategy.ConfigError", "*tokenactor.PanicError", "*url.Error",
		"*strategy.RedirectError",
	}
	for _, e := range sweepSentinels {
		wantErrs = append(wantErrs, e.Error())
	}
	var missing []string
	for _, e := range wantErrs {
		if !sw.errs[e] {
			missing = append(missing, e)
		}
	}
	for _, e := range []string{"RefreshStarted", "RefreshSucceeded", "RefreshFailed"} {
		if !sw.events[e] {
			missing = append(missing, "event "+e)
		}
	}
	if diff := cmp.Diff([]string(nil), missing); diff != "" {
		t.Errorf("paths not driven (-want +got):\n%s", diff)
	}
	if sw.tokens == 0 {
		t.Error("no flow handed out a token holding a secret: the sweep proves nothing")
	}
	seen := slices.Collect(func(yield func(string) bool) {
		for k := range sw.errs {
			if !yield(k) {
				return
			}
		}
	})
	sort.Strings(seen)
	t.Logf("secrets: flows=%d, tokens handed out=%d, error kinds=%d, event kinds=%d, outputs searched=%d (%d bytes), leaks=%d",
		flows, sw.tokens, len(seen), len(sw.events), outputs, bytes, leaks(t))
}

// leaks returns 0 if t has not failed, else -1: the count itself is in the
// failures above.
func leaks(t *testing.T) int {
	if t.Failed() {
		return -1
	}
	return 0
}

// closedURL returns a loopback URL nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/token"
}

// checkModes fails unless the session file is 0600 and its directory 0700.
func checkModes(t *testing.T, dir, file string) {
	t.Helper()
	got := map[string]os.FileMode{}
	for _, p := range []string{dir, filepath.Join(dir, file)} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Error(err)
			return
		}
		got[filepath.Base(p)] = fi.Mode().Perm()
	}
	want := map[string]os.FileMode{filepath.Base(dir): 0o700, file: 0o600}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("modes (-want +got):\n%s", diff)
	}
}

// TestSecretsNeverReachStderr runs the sweep in a child process and reads
// everything it writes to its stderr and stdout: the library must never
// write a secret there (it writes nothing at all on its own).
func TestSecretsNeverReachStderr(t *testing.T) {
	if os.Getenv(sweepStderrEnv) != "" {
		return // already the child
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSecretsNeverAppear$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), sweepStderrEnv+"=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var errOut, out []byte
	var wg sync.WaitGroup
	wg.Go(func() { errOut, _ = io.ReadAll(stderr) })
	wg.Go(func() { out, _ = io.ReadAll(stdout) })
	wg.Wait()
	if err := cmd.Wait(); err != nil {
		t.Errorf("the sweep failed in the child: %v\n%s", err, strings.ReplaceAll(string(out), marker, "<SECRET>"))
	}
	for name, b := range map[string][]byte{"stderr": errOut, "stdout": out} {
		if strings.Contains(string(b), marker) {
			t.Errorf("secret written to the child's %s:\n%s", name, strings.ReplaceAll(string(b), marker, "<SECRET>"))
		}
	}
	var figures string
	for sc := bufio.NewScanner(strings.NewReader(string(out))); sc.Scan(); {
		if _, f, ok := strings.Cut(sc.Text(), "secrets: "); ok {
			figures = f
		}
	}
	if figures == "" {
		t.Fatalf("the child printed no figures: did the sweep run?\n%s", strings.ReplaceAll(string(out), marker, "<SECRET>"))
	}
	t.Logf("stderr: child sweep %s; stderr bytes=%d, stdout bytes=%d, secrets in either=0", figures, len(errOut), len(out))
}
