package urls

import (
	"net/url"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRedactRaw(t *testing.T) {
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
		if got := RedactRaw(give, "(invalid)"); got != want {
			t.Errorf("RedactRaw(%q) = %q, want %q", give, got, want)
		}
	}
	if got := Redact(nil); got != "" {
		t.Errorf("Redact(nil) = %q, want empty", got)
	}
	u, _ := url.Parse("https://u:p@h")
	if Redact(u); u.User.String() != "u:p" {
		t.Errorf("Redact changed its argument: user info now %q", u.User.String())
	}
}

func TestOrigin(t *testing.T) {
	for give, want := range map[string]string{
		"https://API.Example/a?q#f": "https://api.example:443",
		"https://api.example:443/b": "https://api.example:443",
		"HTTP://api.example/":       "http://api.example:80",
		"http://api.example:443/":   "http://api.example:443",
		"https://api.example:8443":  "https://api.example:8443",
		"https://[::1]/x":           "https://[::1]:443",
		"https://u:p@api.example/x": "https://api.example:443",
	} {
		u, err := url.Parse(give)
		if err != nil {
			t.Fatal(err)
		}
		if got := Origin(u); got != want {
			t.Errorf("Origin(%q) = %q, want %q", give, got, want)
		}
	}
}
