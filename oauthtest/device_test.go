package oauthtest_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tokenactor/tokenactor/oauthtest"
)

var cli = auth{id: "cli"}

func newDeviceServer(t *testing.T, opts ...oauthtest.Option) (*oauthtest.Server, *testClock) {
	t.Helper()
	clk := newTestClock()
	opts = append([]oauthtest.Option{oauthtest.WithClock(clk.Now), oauthtest.WithClient("cli", ""),
		oauthtest.WithClient(oauthtest.DefaultClientID, oauthtest.DefaultClientSecret)}, opts...)
	srv := oauthtest.NewServer(opts...)
	t.Cleanup(srv.Close)
	return srv, clk
}

func TestDeviceFlowApprovedOnThePage(t *testing.T) {
	srv, clk := newDeviceServer(t)
	da := deviceAuthorize(t, srv, cli, url.Values{"scope": {"offline_access"}})
	if da.status != http.StatusOK {
		t.Fatalf("device authorization: %d %s", da.status, da.raw)
	}
	userCode, deviceCode := da.str("user_code"), da.str("device_code")
	if da.str("verification_uri") != srv.VerificationURL() || da.num("interval") != 5 || da.num("expires_in") != 600 ||
		da.str("verification_uri_complete") != srv.VerificationURL()+"?user_code="+url.QueryEscape(userCode) {
		t.Errorf("device authorization response: %s", da.raw)
	}
	if got := srv.PendingUserCodes(); len(got) != 1 || got[0] != userCode {
		t.Errorf("pending %v, want [%s]", got, userCode)
	}

	wantError(t, pollDevice(t, srv, cli, deviceCode), 400, "authorization_pending")
	clk.Add(5 * time.Second)

	// The page shows the form with the code filled in.
	page := do(t, mustRequest(t, http.MethodGet, da.str("verification_uri_complete"), ""))
	if page.status != http.StatusOK || !strings.Contains(page.raw, `value="`+userCode+`"`) {
		t.Errorf("page: %d\n%s", page.status, page.raw)
	}
	// The user types the code in lower case, without the dash.
	typed := strings.ToLower(strings.ReplaceAll(userCode, "-", ""))
	approved := do(t, mustRequest(t, http.MethodPost, srv.VerificationURL(), url.Values{"user_code": {typed}, "action": {"approve"}}.Encode()))
	if approved.status != http.StatusOK || !strings.Contains(approved.raw, "Approved") {
		t.Errorf("approval: %d\n%s", approved.status, approved.raw)
	}

	tok := pollDevice(t, srv, cli, deviceCode)
	if tok.status != http.StatusOK || tok.str("refresh_token") == "" || tok.str("scope") != "offline_access" {
		t.Fatalf("token after approval: %d %s", tok.status, tok.raw)
	}
	if r := callAPI(t, srv, tok.str("access_token")); r.status != http.StatusOK || r.str("sub") != "user" {
		t.Errorf("api: %d %s", r.status, r.raw)
	}
	clk.Add(5 * time.Second)
	wantError(t, pollDevice(t, srv, cli, deviceCode), 400, "invalid_grant")
	if len(srv.PendingUserCodes()) != 0 {
		t.Errorf("pending after use: %v", srv.PendingUserCodes())
	}
}

func mustRequest(t *testing.T, method, u, form string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	if form != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return req
}

func TestDeviceFlowOutcomes(t *testing.T) {
	t.Run("denied", func(t *testing.T) {
		srv, _ := newDeviceServer(t)
		da := deviceAuthorize(t, srv, cli, nil)
		if err := srv.Deny(da.str("user_code")); err != nil {
			t.Fatal(err)
		}
		wantError(t, pollDevice(t, srv, cli, da.str("device_code")), 400, "access_denied")
		if err := srv.Approve(da.str("user_code")); !errors.Is(err, oauthtest.ErrUnknownUserCode) {
			t.Errorf("approving a denied code: %v", err)
		}
	})
	t.Run("denied on the page", func(t *testing.T) {
		srv, _ := newDeviceServer(t)
		da := deviceAuthorize(t, srv, cli, nil)
		r := do(t, mustRequest(t, http.MethodPost, srv.VerificationURL(), url.Values{"user_code": {da.str("user_code")}, "action": {"deny"}}.Encode()))
		if r.status != http.StatusOK || !strings.Contains(r.raw, "Denied") {
			t.Errorf("page: %d\n%s", r.status, r.raw)
		}
		wantError(t, pollDevice(t, srv, cli, da.str("device_code")), 400, "access_denied")
	})
	t.Run("wrong code on the page", func(t *testing.T) {
		srv, _ := newDeviceServer(t)
		r := do(t, mustRequest(t, http.MethodPost, srv.VerificationURL(), url.Values{"user_code": {"<b>BCDF-GHJK"}, "action": {"approve"}}.Encode()))
		if r.status != http.StatusBadRequest || strings.Contains(r.raw, "<b>") {
			t.Errorf("page: %d\n%s", r.status, r.raw)
		}
	})
	t.Run("expired", func(t *testing.T) {
		srv, clk := newDeviceServer(t, oauthtest.WithDeviceCodeLifetime(time.Minute))
		da := deviceAuthorize(t, srv, cli, nil)
		clk.Add(time.Minute)
		if err := srv.Approve(da.str("user_code")); !errors.Is(err, oauthtest.ErrUnknownUserCode) {
			t.Errorf("approving an expired code: %v", err)
		}
		wantError(t, pollDevice(t, srv, cli, da.str("device_code")), 400, "expired_token")
	})
	t.Run("slow down", func(t *testing.T) {
		srv, clk := newDeviceServer(t, oauthtest.WithPollInterval(2*time.Second))
		da := deviceAuthorize(t, srv, cli, nil)
		dc := da.str("device_code")
		if da.num("interval") != 2 {
			t.Errorf("interval %v, want 2", da.body["interval"])
		}
		wantError(t, pollDevice(t, srv, cli, dc), 400, "authorization_pending")
		clk.Add(2*time.Second - time.Nanosecond)
		wantError(t, pollDevice(t, srv, cli, dc), 400, "slow_down")
		// The interval is now 7 s (§3.5), counted from the last poll.
		clk.Add(7*time.Second - time.Nanosecond)
		wantError(t, pollDevice(t, srv, cli, dc), 400, "slow_down")
		clk.Add(12 * time.Second)
		wantError(t, pollDevice(t, srv, cli, dc), 400, "authorization_pending")
	})
	t.Run("another client", func(t *testing.T) {
		srv, _ := newDeviceServer(t, oauthtest.WithAutoApprove())
		da := deviceAuthorize(t, srv, cli, nil)
		wantError(t, pollDevice(t, srv, defaultAuth, da.str("device_code")), 400, "invalid_grant")
	})
	t.Run("unknown device code", func(t *testing.T) {
		srv, _ := newDeviceServer(t)
		wantError(t, pollDevice(t, srv, cli, "dc_nope"), 400, "invalid_grant")
	})
	t.Run("no interval", func(t *testing.T) {
		srv, _ := newDeviceServer(t, oauthtest.WithPollInterval(0))
		da := deviceAuthorize(t, srv, cli, nil)
		if _, ok := da.body["interval"]; ok {
			t.Errorf("interval sent: %s", da.raw)
		}
		for range 3 {
			wantError(t, pollDevice(t, srv, cli, da.str("device_code")), 400, "authorization_pending")
		}
	})
	t.Run("confidential client", func(t *testing.T) {
		srv, _ := newDeviceServer(t, oauthtest.WithAutoApprove())
		da := deviceAuthorize(t, srv, defaultAuth, nil)
		if r := pollDevice(t, srv, defaultAuth, da.str("device_code")); r.status != http.StatusOK {
			t.Errorf("%d %s", r.status, r.raw)
		}
	})
}

func TestApproveUnknownCode(t *testing.T) {
	srv, _ := newDeviceServer(t)
	if err := srv.Approve("BCDF-GHJK"); !errors.Is(err, oauthtest.ErrUnknownUserCode) {
		t.Errorf("got %v", err)
	}
}
