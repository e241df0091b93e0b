package strategy

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenactor/tokenactor/fakeclock"
)

// TestExpiryHasNoMonotonicReading parses answers at a real time.Now(),
// which carries a monotonic reading: the expiry and refresh times must not,
// so they compare by the wall clock after a suspend.
func TestExpiryHasNoMonotonicReading(t *testing.T) {
	now := time.Now()
	if !strings.Contains(now.String(), "m=") {
		t.Fatal("time.Now() has no monotonic reading on this platform")
	}
	r, err := parseTokenResponse(http.StatusOK, []byte(`{"access_token":"at","expires_in":3600,"refresh_in":1800}`), now)
	if err != nil {
		t.Fatal(err)
	}
	da, _, err := parseDeviceAuthorization(http.StatusOK, []byte(`{"device_code":"d","user_code":"u","verification_uri":"https://a.example/","expires_in":60}`), now)
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]time.Time{"expiresAt": r.expiresAt, "refreshAt": r.refreshAt, "device ExpiresAt": da.ExpiresAt} {
		if strings.Contains(got.String(), "m=") || got.IsZero() {
			t.Errorf("%s = %v, want a wall-clock time", name, got)
		}
	}
}

func TestParseRefreshIn(t *testing.T) {
	now := fakeclock.Start
	tests := []struct {
		give string
		want time.Time
	}{
		{give: `{"access_token":"at","expires_in":3600,"refresh_in":1800}`, want: now.Add(30 * time.Minute)},
		{give: `{"access_token":"at","expires_in":3600,"refresh_in":"900.5"}`, want: now.Add(900*time.Second + 500*time.Millisecond)},
		{give: `{"access_token":"at","expires_in":3600,"refresh_in":3600}`},
		{give: `{"access_token":"at","expires_in":3600,"refresh_in":1e300}`},
		{give: `{"access_token":"at","expires_in":3600,"refresh_in":0}`},
		{give: `{"access_token":"at","expires_in":3600,"refresh_in":-5}`},
		{give: `{"access_token":"at","expires_in":3600,"refresh_in":"soon"}`},
		{give: `{"access_token":"at","expires_in":3600,"refresh_in":[1]}`},
		{give: `{"access_token":"at","refresh_in":60}`},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			r, err := parseTokenResponse(http.StatusOK, []byte(tt.give), now)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, r.refreshAt); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestRefusedAnswerKeepsRotatedRefreshToken: whatever else is wrong with a
// JSON answer, a new refresh token in it comes back with the error.
func TestRefusedAnswerKeepsRotatedRefreshToken(t *testing.T) {
	for _, body := range []string{
		`{"access_token":"at","expires_in":0,"refresh_token":"rt-new"}`,
		`{"access_token":"at","expires_in":1e-10,"refresh_token":"rt-new"}`,
		`{"access_token":"at","expires_in":"soon","refresh_token":"rt-new"}`,
		`{"access_token":"at","token_type":"Bearer x","refresh_token":"rt-new"}`,
		`{"access_token":"at\n","refresh_token":"rt-new"}`,
		`{"access_token":["at"],"refresh_token":"rt-new"}`,
		`{"refresh_token":"rt-new"}`,
	} {
		t.Run(body, func(t *testing.T) {
			r, err := parseTokenResponse(http.StatusOK, []byte(body), fakeclock.Start)
			if err == nil || r.refreshToken.Reveal() != "rt-new" || !r.accessToken.IsZero() {
				t.Errorf("got refresh token %q, access token set %v, error %v; want rt-new, none, an error", r.refreshToken.Reveal(), !r.accessToken.IsZero(), err)
			}
		})
	}
}
