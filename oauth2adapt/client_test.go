package oauth2adapt_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/oauth2adapt"
)

// countingCache is a cache issuing tok-1, tok-2, ... valid for an hour,
// counting its refreshes.
func countingCache(calls *atomic.Int32) *tokenactor.Cache[tokenactor.ServiceToken] {
	return tokenactor.New(tokenactor.RefresherFunc[tokenactor.ServiceToken](func(ctx context.Context, _ *tokenactor.Entry[tokenactor.ServiceToken]) (tokenactor.Entry[tokenactor.ServiceToken], error) {
		n := calls.Add(1)
		tok := tokenactor.ServiceToken{AccessToken: tokenactor.NewSecretToken(fmt.Sprintf("tok-%d", n)), TokenType: "Bearer", ExpiresAt: time.Now().Add(time.Hour)}
		return tokenactor.Entry[tokenactor.ServiceToken]{Value: tok, ExpiresAt: tok.ExpiresAt}, nil
	}))
}

// apiTransport is an in-memory API that accepts only the token in good
// and records the Authorization headers it saw.
type apiTransport struct {
	good string
	mu   sync.Mutex
	seen []string
	// arrived, if set, gets one value per request, and release holds the
	// answers back until it is closed.
	arrived chan struct{}
	release chan struct{}
}

func (a *apiTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body.Close()
	}
	auth := req.Header.Get("Authorization")
	a.mu.Lock()
	a.seen = append(a.seen, auth)
	good := a.good
	a.mu.Unlock()
	if a.arrived != nil {
		a.arrived <- struct{}{}
		<-a.release
	}
	status := http.StatusOK
	if auth != "Bearer "+good {
		status = http.StatusUnauthorized
	}
	return &http.Response{StatusCode: status, Body: io.NopCloser(strings.NewReader("")), Header: http.Header{}, Request: req}, nil
}

// TestNewClientSendsANewTokenAfterA401: the request after a 401 carries a
// new token. (A client from oauth2.NewClient over TokenSource keeps
// sending the rejected one until it expires.)
func TestNewClientSendsANewTokenAfterA401(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		c := countingCache(&calls)
		defer c.Close()
		api := &apiTransport{good: "tok-2"}
		client := oauth2adapt.NewClient(c, api)
		var statuses []int
		for range 3 {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://api.example/", nil)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			statuses = append(statuses, resp.StatusCode)
			if req.Header.Get("Authorization") != "" {
				t.Error("the caller's request was changed")
			}
		}
		if got := fmt.Sprint(statuses, api.seen, calls.Load()); got != "[401 200 200] [Bearer tok-1 Bearer tok-2 Bearer tok-2] 2" {
			t.Errorf("statuses, tokens sent, refreshes: %s", got)
		}
	})
}

// TestTransportManyRejectionsOneRefresh: N requests rejected with one token
// cause one refresh, even when the rejections arrive after the token was
// already replaced.
func TestTransportManyRejectionsOneRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 10
		var calls atomic.Int32
		c := countingCache(&calls)
		defer c.Close()
		api := &apiTransport{good: "tok-2", arrived: make(chan struct{}), release: make(chan struct{})}
		client := oauth2adapt.NewClient(c, api)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				resp, err := client.Get("https://api.example/")
				if err == nil {
					resp.Body.Close()
				}
			})
		}
		for range n {
			<-api.arrived // every request was sent with tok-1
		}
		api.release <- struct{}{} // one 401 arrives and is reported
		synctest.Wait()
		if tok, err := c.Get(t.Context()); err != nil || tok.AccessToken.Reveal() != "tok-2" {
			t.Fatalf("after the first rejection: %v, %v; want tok-2", tok.AccessToken.Reveal(), err)
		}
		close(api.release) // the other 401s, for a token already replaced
		wg.Wait()
		if tok, err := c.Get(t.Context()); err != nil || tok.AccessToken.Reveal() != "tok-2" {
			t.Fatalf("after every rejection: %v, %v; want tok-2", tok.AccessToken.Reveal(), err)
		}
		if got := calls.Load(); got != 2 {
			t.Errorf("%d refreshes for %d rejections of one token, want 2 (the first token and one more)", got, n)
		}
	})
}

// closeTracker is a request body that records whether it was closed.
type closeTracker struct {
	io.Reader
	closed atomic.Bool
}

func (c *closeTracker) Close() error { c.closed.Store(true); return nil }

// TestTransportClosesTheBodyWhenNoToken: the RoundTripper contract says the
// request body is closed even on error.
func TestTransportClosesTheBodyWhenNoToken(t *testing.T) {
	s := strategyFunc(func(context.Context) (tokenactor.ServiceToken, error) {
		return tokenactor.ServiceToken{}, tokenactor.ErrNotAuthenticated
	})
	for name, tr := range map[string]*oauth2adapt.Transport{"no token": {Strategy: s}, "no strategy": {}} {
		body := &closeTracker{Reader: strings.NewReader("x")}
		req := httptest.NewRequest(http.MethodPost, "https://api.example/", body)
		_, err := tr.RoundTrip(req)
		if err == nil || !body.closed.Load() {
			t.Errorf("%s: error %v, body closed %v; want an error and a closed body", name, err, body.closed.Load())
		}
	}
	if _, err := (&oauth2adapt.Transport{Strategy: s}).RoundTrip(httptest.NewRequest(http.MethodGet, "https://api.example/", nil)); !errors.Is(err, tokenactor.ErrNotAuthenticated) {
		t.Errorf("got %v, want the strategy's error", err)
	}
}

// idleCloser is a RoundTripper that counts CloseIdleConnections calls.
type idleCloser struct {
	http.RoundTripper
	n atomic.Int32
}

func (i *idleCloser) CloseIdleConnections() { i.n.Add(1) }

func TestTransportPassesCloseIdleConnections(t *testing.T) {
	base := &idleCloser{}
	client := oauth2adapt.NewClient(strategyFunc(nil), base)
	client.CloseIdleConnections()
	if base.n.Load() != 1 {
		t.Error("CloseIdleConnections did not reach the base transport")
	}
}

// TestTransportServerRejectingEveryToken: an API that rejects every token
// must not make each request renew it; once a token is accepted, a later
// 401 with it is reported again.
func TestTransportServerRejectingEveryToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		c := countingCache(&calls)
		defer c.Close()
		api := &apiTransport{good: "none"}
		client := oauth2adapt.NewClient(c, api)
		get := func() int {
			resp, err := client.Get("https://api.example/")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		for range 10 {
			get()
		}
		if n := calls.Load(); n != 2 {
			t.Errorf("%d refreshes for 10 requests to a server rejecting every token, want 2", n)
		}
		api.mu.Lock()
		api.good = "tok-2" // the permission is granted
		api.mu.Unlock()
		if s := get(); s != http.StatusOK {
			t.Fatalf("got %d, want 200", s)
		}
		api.mu.Lock()
		api.good = "none" // and the token revoked
		api.mu.Unlock()
		get()
		if s := get(); s != http.StatusUnauthorized || calls.Load() != 3 {
			t.Errorf("after a revocation: %d refreshes, want 3", calls.Load())
		}
	})
}

func TestTransportPrintsNoToken(t *testing.T) {
	tr := &oauth2adapt.Transport{Strategy: valueStrategy{token: "SECRET-TOKEN"}}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		if out := fmt.Sprintf(verb, tr); strings.Contains(out, "SECRET") || strings.Contains(out, fmt.Sprintf("%x", "SECRET")) {
			t.Errorf("%s printed %s", verb, out)
		}
	}
}

type valueStrategy struct{ token string }

func (v valueStrategy) Get(context.Context) (tokenactor.ServiceToken, error) {
	return tokenactor.ServiceToken{AccessToken: tokenactor.NewSecretToken(v.token)}, nil
}
