package oauth2adapt_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/oauth2adapt"
	"github.com/tokenactor/tokenactor/strategy"
)

type strategyFunc func(context.Context) (tokenactor.ServiceToken, error)

func (f strategyFunc) Get(ctx context.Context) (tokenactor.ServiceToken, error) { return f(ctx) }

type sourceFunc func() (*oauth2.Token, error)

func (f sourceFunc) Token() (*oauth2.Token, error) { return f() }

func TestTokenSource(t *testing.T) {
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	s := strategyFunc(func(context.Context) (tokenactor.ServiceToken, error) {
		return tokenactor.ServiceToken{AccessToken: tokenactor.NewSecretToken("at"), TokenType: "Bearer", ExpiresAt: exp}, nil
	})
	got, err := oauth2adapt.TokenSource(s).Token()
	if err != nil {
		t.Fatal(err)
	}
	want := &oauth2.Token{AccessToken: "at", TokenType: "Bearer", Expiry: exp}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(oauth2.Token{})); diff != "" {
		t.Errorf("token (-want +got):\n%s", diff)
	}
}

func TestTokenSourceError(t *testing.T) {
	s := strategyFunc(func(context.Context) (tokenactor.ServiceToken, error) {
		return tokenactor.ServiceToken{}, fmt.Errorf("no profile: %w", tokenactor.ErrNotAuthenticated)
	})
	tok, err := oauth2adapt.TokenSource(s).Token()
	if !errors.Is(err, tokenactor.ErrNotAuthenticated) || tok != nil {
		t.Errorf("Token() = %v, %v; want nil and an error matching ErrNotAuthenticated", tok, err)
	}
}

func TestRefresherEntry(t *testing.T) {
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name string
		give *oauth2.Token
		want tokenactor.Entry[tokenactor.ServiceToken]
	}{
		{
			name: "expiry and type carried over",
			give: &oauth2.Token{AccessToken: "at", TokenType: "bearer", Expiry: exp},
			want: tokenactor.Entry[tokenactor.ServiceToken]{
				Value:     tokenactor.ServiceToken{AccessToken: tokenactor.NewSecretToken("at"), TokenType: "Bearer", ExpiresAt: exp},
				ExpiresAt: exp,
			},
		},
		{
			name: "no expiry, no type",
			give: &oauth2.Token{AccessToken: "at"},
			want: tokenactor.Entry[tokenactor.ServiceToken]{
				Value: tokenactor.ServiceToken{AccessToken: tokenactor.NewSecretToken("at"), TokenType: "Bearer"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := oauth2adapt.Refresher(sourceFunc(func() (*oauth2.Token, error) { return tt.give, nil }))
			got, err := r.Refresh(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			reveal := cmp.Transformer("reveal", tokenactor.SecretToken.Reveal)
			if diff := cmp.Diff(tt.want, got, reveal); diff != "" {
				t.Errorf("Authenticate (-want +got):\n%s", diff)
			}
			got, err = r.Refresh(context.Background(), &got)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, reveal); diff != "" {
				t.Errorf("Refresh (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRefresherErrors(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	boom := errors.New("boom")
	tests := []struct {
		name    string
		ctx     context.Context
		give    sourceFunc
		wantErr error
	}{
		{name: "nil token", ctx: context.Background(), give: func() (*oauth2.Token, error) { return nil, nil }, wantErr: oauth2adapt.ErrNoAccessToken},
		{name: "empty access token", ctx: context.Background(), give: func() (*oauth2.Token, error) { return &oauth2.Token{TokenType: "Bearer"}, nil }, wantErr: oauth2adapt.ErrNoAccessToken},
		{name: "source error wrapped", ctx: context.Background(), give: func() (*oauth2.Token, error) { return nil, boom }, wantErr: boom},
		{name: "ctx already done", ctx: cancelled, give: func() (*oauth2.Token, error) { panic("called after ctx ended") }, wantErr: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := oauth2adapt.Refresher(tt.give).Refresh(tt.ctx, nil)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v, want one matching %v", err, tt.wantErr)
			}
		})
	}
}

// TestRefresherKeepsRetrieveError checks that an authorization server's
// refusal, as x/oauth2 reports it, reaches the cache's callers intact.
func TestRefresherKeepsRetrieveError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":"invalid_client","error_description":"unknown client"}`)
	}))
	defer srv.Close()
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, srv.Client())
	cfg := clientcredentials.Config{ClientID: "id", ClientSecret: "wrong", TokenURL: srv.URL}
	cache := tokenactor.New(oauth2adapt.Refresher(cfg.TokenSource(ctx)))
	defer cache.Close()

	_, err := cache.Get(context.Background())
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_client" {
		t.Fatalf("Get error %v, want an *oauth2.RetrieveError with invalid_client", err)
	}
}

// TestReuseTokenSourceCostsFewCalls checks the claim in Refresher's doc: a
// caching oauth2 source under a cache with the default 90 s window costs a
// few extra Token calls per token, not one per Get.
func TestReuseTokenSourceCostsFewCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const lifetime = 5 * time.Minute
		var fetched, asked atomic.Int64
		raw := sourceFunc(func() (*oauth2.Token, error) {
			n := fetched.Add(1)
			return &oauth2.Token{AccessToken: fmt.Sprint("t", n), Expiry: time.Now().Add(lifetime)}, nil
		})
		reuse := oauth2.ReuseTokenSource(nil, raw)
		counted := sourceFunc(func() (*oauth2.Token, error) {
			asked.Add(1)
			return reuse.Token()
		})
		cache := tokenactor.New(oauth2adapt.Refresher(counted))
		defer cache.Close()

		// One Get a second for three lifetimes.
		for range 3 * lifetime / time.Second {
			if _, err := cache.Get(context.Background()); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Second)
			synctest.Wait()
		}
		if got := fetched.Load(); got < 3 || got > 4 {
			t.Errorf("raw source fetched %d tokens in 3 lifetimes, want 3 or 4", got)
		}
		if got, max := asked.Load(), 10*fetched.Load(); got > max {
			t.Errorf("cache asked the reusing source %d times for %d tokens, want at most %d", got, fetched.Load(), max)
		}
		t.Logf("%d tokens fetched, %d Token calls", fetched.Load(), asked.Load())
	})
}

// TestDPoPTokenRefused: x/oauth2 would send a DPoP-bound token without the
// proof it needs; both ways into x/oauth2 refuse it instead.
func TestDPoPTokenRefused(t *testing.T) {
	tok := tokenactor.ServiceToken{AccessToken: tokenactor.NewSecretToken("bound"), TokenType: "DPoP"}
	s := strategy.NewStatic(tok)
	if _, err := oauth2adapt.TokenSource(s).Token(); !errors.Is(err, oauth2adapt.ErrDPoP) {
		t.Errorf("TokenSource: %v, want ErrDPoP", err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request sent with %q", r.Header.Get("Authorization"))
	}))
	defer srv.Close()
	c := oauth2adapt.NewClient(s, nil)
	defer c.CloseIdleConnections()
	if _, err := c.Get(srv.URL); !errors.Is(err, oauth2adapt.ErrDPoP) {
		t.Errorf("NewClient: %v, want ErrDPoP", err)
	}
}
