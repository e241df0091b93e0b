package httpauth_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/httpauth"
)

// stalledBody is a body whose Read blocks until the test ends.
type stalledBody struct{ release chan struct{} }

func (b stalledBody) Read([]byte) (int, error) { <-b.release; return 0, io.EOF }
func (b stalledBody) Close() error             { return nil }

// TestStalled401BodyDoesNotHoldTheRetry: the API answers 401 at once but
// never finishes the body. The retry with a new token must not wait for it.
func TestStalled401BodyDoesNotHoldTheRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if r.Header.Get("Authorization") == "Bearer old" {
				return &http.Response{StatusCode: http.StatusUnauthorized, Header: http.Header{}, Body: stalledBody{release}, Request: r}, nil
			}
			return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("ok")), Request: r}, nil
		})
		tr := &httpauth.Transport{Strategy: &rotating{tokens: []string{"old", "new"}}, Origins: []string{"https://api.example"}, Base: base}
		req, _ := http.NewRequest(http.MethodGet, "https://api.example/", nil)
		resp, err := tr.RoundTrip(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("got %v, %v; want the retry's 200", resp, err)
		}
		resp.Body.Close()
	})
}

// idleCloser is a RoundTripper that counts CloseIdleConnections calls.
type idleCloser struct {
	http.RoundTripper
	n atomic.Int32
}

func (i *idleCloser) CloseIdleConnections() { i.n.Add(1) }

// TestCloseIdleConnectionsReachesBase: http.Client.CloseIdleConnections
// calls its Transport's method of that name; a wrapping RoundTripper must
// pass it on, or the pool of NewClient's cloned transport never closes.
func TestCloseIdleConnectionsReachesBase(t *testing.T) {
	base := &idleCloser{}
	c := &http.Client{Transport: &httpauth.Transport{Strategy: fixed("t"), Origins: []string{"https://api.example"}, Base: base}}
	c.CloseIdleConnections()
	if base.n.Load() != 1 {
		t.Error("CloseIdleConnections did not reach Base")
	}
}

// valueStrategy is a strategy that is a plain value holding its token, as
// a user's own type may be.
type valueStrategy struct{ token string }

func (v valueStrategy) Get(context.Context) (tokenactor.ServiceToken, error) {
	return tokenactor.ServiceToken{AccessToken: tokenactor.NewSecretToken(v.token)}, nil
}

// TestTransportPrintsNoToken prints a Transport every way: its Strategy
// must not show.
func TestTransportPrintsNoToken(t *testing.T) {
	// Credentials put in Origins by mistake are not printed either.
	tr := &httpauth.Transport{Strategy: valueStrategy{token: "SECRET-TOKEN"}, Origins: []string{"https://api.example", "https://SECRET-TOKEN@api.example", "https://u:SECRET-TOKEN@api.example", "%zzSECRET-TOKEN"}}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("t", "transport", tr)
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("t", "transport", tr)
	outs := []string{logged.String()}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		outs = append(outs, fmt.Sprintf(verb, tr))
	}
	for _, out := range outs {
		if strings.Contains(out, "SECRET-TOKEN") || strings.Contains(out, fmt.Sprintf("%x", "SECRET-TOKEN")) {
			t.Errorf("token printed: %s", out)
		}
	}
}

// TestServerRejectingEveryTokenCostsOneRefresh: an API that rejects every
// token (a missing permission) must not make each request renew the token.
func TestServerRejectingEveryTokenCostsOneRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &counting{}
		c := tokenactor.New[tokenactor.ServiceToken](r)
		defer c.Close()
		accept := atomic.Bool{}
		base := roundTripFunc(func(req *http.Request) (*http.Response, error) {
			status := http.StatusUnauthorized
			if accept.Load() {
				status = http.StatusOK
			}
			return &http.Response{StatusCode: status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), Request: req}, nil
		})
		client := &http.Client{Transport: &httpauth.Transport{Strategy: c, Origins: []string{"https://api.example"}, Base: base}}
		get := func() int {
			resp, err := client.Get("https://api.example/")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		for range 10 {
			if get() != http.StatusUnauthorized {
				t.Fatal("want 401")
			}
		}
		if n := r.calls(); n != 2 {
			t.Errorf("%d refreshes for 10 requests to a server rejecting every token, want 2", n)
		}
		// The permission is granted: the token works, and a later 401 with
		// it is a rejection again.
		accept.Store(true)
		if get() != http.StatusOK {
			t.Fatal("want 200")
		}
		accept.Store(false)
		get()
		if n := r.calls(); n != 3 {
			t.Errorf("%d refreshes, want 3: a 401 after an accepted request renews the token", n)
		}
	})
}
