package oauthtest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/tokenactor/tokenactor/oauthtest"
)

// login runs an auto-approved device flow and returns the token response.
func login(t *testing.T, srv *oauthtest.Server, scope string) reply {
	t.Helper()
	da := deviceAuthorize(t, srv, cli, url.Values{"scope": {scope}})
	r := pollDevice(t, srv, cli, da.str("device_code"))
	if r.status != http.StatusOK {
		t.Fatalf("login: %d %s", r.status, r.raw)
	}
	return r
}

func TestRefreshRotates(t *testing.T) {
	srv, _ := newDeviceServer(t, oauthtest.WithAutoApprove())
	first := login(t, srv, "a b")
	second := refresh(t, srv, cli, first.str("refresh_token"))
	if second.status != http.StatusOK || second.str("scope") != "a b" {
		t.Fatalf("refresh: %d %s", second.status, second.raw)
	}
	if second.str("refresh_token") == first.str("refresh_token") || second.str("refresh_token") == "" {
		t.Errorf("refresh token not rotated: %s", second.raw)
	}
	narrowed := post(t, srv.TokenURL(), cli, url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {second.str("refresh_token")}, "scope": {"a"}})
	if narrowed.status != http.StatusOK || narrowed.str("scope") != "a" {
		t.Errorf("narrowed refresh: %d %s", narrowed.status, narrowed.raw)
	}
	widened := post(t, srv.TokenURL(), cli, url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {narrowed.str("refresh_token")}, "scope": {"a c"}})
	wantError(t, widened, 400, "invalid_scope")
	// The old access token stays valid until it expires.
	if r := callAPI(t, srv, first.str("access_token")); r.status != http.StatusOK {
		t.Errorf("first access token after rotation: %d", r.status)
	}
	if r := callAPI(t, srv, first.str("refresh_token")); r.status != http.StatusUnauthorized {
		t.Errorf("a refresh token accepted as a bearer token: %d", r.status)
	}
	st := srv.Stats()
	if st.Rotations != 2 || st.Grants["refresh_token"] != 3 || st.RefreshTokens != 3 {
		t.Errorf("stats %+v", st)
	}
}

// Replaying a rotated refresh token revokes the whole session: the tokens
// issued from it, including those of the latest rotation.
func TestRefreshReuseRevokesTheSession(t *testing.T) {
	srv, _ := newDeviceServer(t, oauthtest.WithAutoApprove())
	first := login(t, srv, "")
	second := refresh(t, srv, cli, first.str("refresh_token"))
	other := login(t, srv, "")

	wantError(t, refresh(t, srv, cli, first.str("refresh_token")), 400, "invalid_grant")
	for _, tok := range []string{first.str("access_token"), second.str("access_token"), second.str("refresh_token")} {
		if r := introspect(t, srv, tok); r.body["active"] != false {
			t.Errorf("token of the reused session still active: %s", r.raw)
		}
	}
	wantError(t, refresh(t, srv, cli, second.str("refresh_token")), 400, "invalid_grant")
	if r := callAPI(t, srv, other.str("access_token")); r.status != http.StatusOK {
		t.Errorf("another session was revoked too: %d", r.status)
	}
	if st := srv.Stats(); st.Reuses != 1 {
		t.Errorf("reuses %d, want 1", st.Reuses)
	}
}

// Callers racing with one refresh token: exactly one wins the rotation,
// and the replays then revoke its session, as a strict server does.
func TestConcurrentRefreshOfOneToken(t *testing.T) {
	srv, _ := newDeviceServer(t, oauthtest.WithAutoApprove())
	rt := login(t, srv, "").str("refresh_token")
	const n = 8
	replies := make([]reply, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			resp, err := http.PostForm(srv.TokenURL(), url.Values{"grant_type": {"refresh_token"},
				"refresh_token": {rt}, "client_id": {"cli"}})
			if err != nil {
				errs[i] = err
				return
			}
			defer resp.Body.Close()
			replies[i] = reply{status: resp.StatusCode, body: map[string]any{}}
			errs[i] = json.NewDecoder(resp.Body).Decode(&replies[i].body)
		})
	}
	wg.Wait()
	var won []reply
	for i, r := range replies {
		switch {
		case errs[i] != nil:
			t.Errorf("refresh %d: %v", i, errs[i])
		case r.status == http.StatusOK:
			won = append(won, r)
		case r.str("error") != "invalid_grant":
			t.Errorf("loser got %d %v", r.status, r.body)
		}
	}
	if len(won) != 1 {
		t.Fatalf("%d refreshes succeeded, want 1", len(won))
	}
	if r := introspect(t, srv, won[0].str("access_token")); r.body["active"] != false {
		t.Errorf("the winner's token survived the replays: %s", r.raw)
	}
	if st := srv.Stats(); st.Reuses != 1 || st.Rotations != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestRefreshTokenLifetime(t *testing.T) {
	srv, clk := newDeviceServer(t, oauthtest.WithAutoApprove(), oauthtest.WithRefreshLifetime(time.Hour))
	rt := login(t, srv, "").str("refresh_token")
	clk.Add(time.Hour)
	wantError(t, refresh(t, srv, cli, rt), 400, "invalid_grant")
}

func TestRefreshTokenOfAnotherClient(t *testing.T) {
	srv, _ := newDeviceServer(t, oauthtest.WithAutoApprove())
	rt := login(t, srv, "").str("refresh_token")
	wantError(t, refresh(t, srv, defaultAuth, rt), 400, "invalid_grant")
	wantError(t, refresh(t, srv, cli, "rt_unknown"), 400, "invalid_grant")
}

func TestRevocationEndpoint(t *testing.T) {
	srv, _ := newDeviceServer(t, oauthtest.WithAutoApprove())
	revokeAt := func(a auth, tok string) reply {
		return post(t, srv.RevocationURL(), a, url.Values{"token": {tok}, "token_type_hint": {"refresh_token"}})
	}

	s1 := login(t, srv, "")
	if r := revokeAt(cli, s1.str("access_token")); r.status != http.StatusOK {
		t.Fatalf("revoke access token: %d %s", r.status, r.raw)
	}
	if r := callAPI(t, srv, s1.str("access_token")); r.status != http.StatusUnauthorized {
		t.Errorf("revoked access token accepted: %d", r.status)
	}
	if r := refresh(t, srv, cli, s1.str("refresh_token")); r.status != http.StatusOK {
		t.Errorf("revoking an access token revoked its refresh token: %d %s", r.status, r.raw)
	}

	s2 := login(t, srv, "")
	if r := revokeAt(cli, s2.str("refresh_token")); r.status != http.StatusOK {
		t.Fatalf("revoke refresh token: %d %s", r.status, r.raw)
	}
	if r := callAPI(t, srv, s2.str("access_token")); r.status != http.StatusUnauthorized {
		t.Errorf("access token of a revoked refresh token accepted: %d", r.status)
	}
	wantError(t, refresh(t, srv, cli, s2.str("refresh_token")), 400, "invalid_grant")

	if r := revokeAt(cli, "never-issued"); r.status != http.StatusOK {
		t.Errorf("unknown token: %d, want 200 (RFC 7009 §2.2)", r.status)
	}
	s3 := login(t, srv, "")
	wantError(t, revokeAt(defaultAuth, s3.str("refresh_token")), 400, "unauthorized_client")
	wantError(t, post(t, srv.RevocationURL(), cli, nil), 400, "invalid_request")
	wantError(t, revokeAt(auth{id: "nobody"}, s3.str("refresh_token")), 401, "invalid_client")
	if st := srv.Stats(); st.Revocations != 3 {
		t.Errorf("revocations %d, want 3", st.Revocations)
	}
}

func TestForcedRevocation(t *testing.T) {
	srv, _ := newDeviceServer(t, oauthtest.WithAutoApprove())
	s := login(t, srv, "")
	next := refresh(t, srv, cli, s.str("refresh_token"))
	if !srv.Revoke(s.str("access_token")) || srv.Revoke("nope") {
		t.Error("Revoke reported wrongly whether the token was known")
	}
	if r := callAPI(t, srv, next.str("access_token")); r.status != http.StatusOK {
		t.Errorf("revoking one access token revoked its session: %d", r.status)
	}
	if !srv.RevokeSession(s.str("access_token")) {
		t.Error("RevokeSession: token unknown")
	}
	if r := callAPI(t, srv, next.str("access_token")); r.status != http.StatusUnauthorized {
		t.Errorf("after RevokeSession: %d", r.status)
	}
	wantError(t, refresh(t, srv, cli, next.str("refresh_token")), 400, "invalid_grant")
}

func TestIntrospection(t *testing.T) {
	srv, clk := newDeviceServer(t, oauthtest.WithAutoApprove(), oauthtest.WithLifetime(time.Minute))
	s := login(t, srv, "read")
	r := introspect(t, srv, s.str("access_token"))
	now := clk.Now().Unix()
	if r.body["active"] != true || r.str("client_id") != "cli" || r.str("scope") != "read" || r.str("token_type") != "Bearer" ||
		r.str("sub") != "user" || r.str("iss") != srv.URL || r.num("exp") != float64(now+60) || r.num("iat") != float64(now) {
		t.Errorf("introspection: %s", r.raw)
	}
	if r := introspect(t, srv, s.str("refresh_token")); r.body["active"] != true || r.str("token_type") != "" {
		t.Errorf("refresh token introspection: %s", r.raw)
	}
	if r := introspect(t, srv, "unknown"); r.raw != "{\"active\":false}\n" {
		t.Errorf("unknown token: %s", r.raw)
	}
	wantError(t, post(t, srv.IntrospectionURL(), auth{id: "x", secret: "y", basic: true}, url.Values{"token": {"t"}}), 401, "invalid_client")
}
