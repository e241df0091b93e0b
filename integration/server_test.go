package integration_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-oauth2/oauth2/v4"
	"github.com/go-oauth2/oauth2/v4/errors"
	"github.com/go-oauth2/oauth2/v4/manage"
	"github.com/go-oauth2/oauth2/v4/models"
	"github.com/go-oauth2/oauth2/v4/server"
	"github.com/go-oauth2/oauth2/v4/store"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/strategy"
)

// The client and user the server knows.
const (
	clientID     = "svc"
	clientSecret = "s3cret"
	userName     = "alice"
	userPassword = "wonderland"
)

// authServer is go-oauth2's server behind httptest on loopback, counting
// the token requests by grant type and outcome.
type authServer struct {
	*httptest.Server
	manager *manage.Manager

	mu     sync.Mutex
	counts map[string]int // "<grant_type> <status>"
}

// newAuthServer starts a server whose access tokens live for lifetime, with
// refresh token rotation (go-oauth2's default: each refresh issues a new
// refresh token and deletes the old one). formAuth makes it read client
// credentials from the body instead of HTTP Basic.
func newAuthServer(t *testing.T, lifetime time.Duration, formAuth bool) *authServer {
	t.Helper()
	m := manage.NewDefaultManager()
	m.SetClientTokenCfg(&manage.Config{AccessTokenExp: lifetime})
	m.SetPasswordTokenCfg(&manage.Config{AccessTokenExp: lifetime, RefreshTokenExp: 24 * time.Hour, IsGenerateRefresh: true})
	m.SetRefreshTokenCfg(&manage.RefreshingConfig{
		AccessTokenExp: lifetime, IsGenerateRefresh: true, IsRemoveAccess: true, IsRemoveRefreshing: true,
	})
	m.MapTokenStorage(newMemTokenStore())
	clients := store.NewClientStore()
	clients.Set(clientID, &models.Client{ID: clientID, Secret: clientSecret})
	m.MapClientStorage(clients)

	srv := server.NewServer(server.NewConfig(), m)
	if formAuth {
		srv.SetClientInfoHandler(server.ClientFormHandler)
	}
	srv.SetPasswordAuthorizationHandler(func(ctx context.Context, id, user, pass string) (string, error) {
		if user == userName && pass == userPassword {
			return "user-1", nil
		}
		return "", errors.ErrAccessDenied
	})
	s := &authServer{manager: m, counts: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		srv.HandleTokenRequest(rec, r)
		s.mu.Lock()
		s.counts[r.FormValue("grant_type")+" "+http.StatusText(rec.status)]++
		s.mu.Unlock()
	}))
	t.Cleanup(s.Close)
	return s
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (s *authServer) count(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[key]
}

// tokenURL is the server's token endpoint.
func (s *authServer) tokenURL() string { return s.URL + "/token" }

// valid reports whether the server accepts access token at.
func (s *authServer) valid(t *testing.T, at string) bool {
	_, err := s.manager.LoadAccessToken(t.Context(), at)
	return err == nil
}

// login runs the password grant, standing in for an interactive login, and
// returns the session it gives.
func (s *authServer) login(t *testing.T) strategy.Session {
	t.Helper()
	form := url.Values{"grant_type": {string(oauth2.PasswordCredentials)}, "username": {userName}, "password": {userPassword}}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.tokenURL(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, clientSecret)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken  string `json:"access_token"`
		TokenType    string `json:"token_type"`
		ExpiresIn    int    `json:"expires_in"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.RefreshToken == "" {
		t.Fatalf("login: status %d, %v", resp.StatusCode, err)
	}
	return strategy.Session{
		TokenURL: s.tokenURL(), ClientID: clientID,
		AccessToken: tokenactor.NewSecretToken(body.AccessToken), TokenType: body.TokenType,
		ExpiresAt:    time.Now().Add(time.Duration(body.ExpiresIn) * time.Second),
		RefreshToken: tokenactor.NewSecretToken(body.RefreshToken),
	}
}

// refreshDirectly replays refresh token rt at the server, outside any
// strategy, and returns the error code of the answer ("" on success).
func (s *authServer) refreshDirectly(t *testing.T, rt string) string {
	t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.tokenURL(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, clientSecret)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error string `json:"error"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	return body.Error
}
