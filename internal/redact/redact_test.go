package redact

import (
	"net/url"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRawURL(t *testing.T) {
	for give, want := range map[string]string{
		"https://auth.example/token":             "https://auth.example/token",
		"https://user:pass@auth.example/token":   "https://xxxxx@auth.example/token",
		"https://ghp_token@auth.example/token":   "https://xxxxx@auth.example/token",
		"https://:pass@auth.example":             "https://xxxxx@auth.example",
		"%zz-secret":                             "(invalid)",
		"":                                       "",
		"http://[::1]:8080/p?q=1":                "http://[::1]:8080/p?q=1",
		"https://u%40x:p%3Ay@auth.example/token": "https://xxxxx@auth.example/token",
	} {
		if got := RawURL(give, "(invalid)"); got != want {
			t.Errorf("RawURL(%q) = %q, want %q", give, got, want)
		}
	}
	if got := URL(nil); got != "" {
		t.Errorf("URL(nil) = %q, want empty", got)
	}
	u, _ := url.Parse("https://u:p@h")
	if URL(u); u.User.String() != "u:p" {
		t.Errorf("URL changed its argument: user info now %q", u.User.String())
	}
}
