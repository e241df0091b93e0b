package httpauth

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseChallenges(t *testing.T) {
	tests := []struct {
		give []string
		want []challenge
	}{
		{give: []string{`DPoP error="use_dpop_nonce"`}, want: []challenge{{"DPoP", map[string]string{"error": "use_dpop_nonce"}}}},
		{
			give: []string{`Bearer realm="a, DPoP b=\"c\"", DPoP ALGS="ES256 EdDSA" , error = use_dpop_nonce`},
			want: []challenge{{"Bearer", map[string]string{"realm": `a, DPoP b="c"`}}, {"DPoP", map[string]string{"algs": "ES256 EdDSA", "error": "use_dpop_nonce"}}},
		},
		{
			give: []string{`Negotiate abc==, Basic`, `DPoP error="x", error="y"`},
			want: []challenge{{"Negotiate", nil}, {"Basic", nil}, {"DPoP", map[string]string{"error": "x"}}},
		},
		{give: []string{`Newauth realm="apps", type=1, title="Login to \"apps\""`}, want: []challenge{{"Newauth", map[string]string{"realm": "apps", "type": "1", "title": `Login to "apps"`}}}},
		{give: []string{`DPoP error="unterminated`, `Bearer`}, want: []challenge{{"DPoP", nil}, {"Bearer", nil}}},
		{give: []string{`=x, DPoP error="a"`, ``, `, ,`}, want: nil},
	}
	for _, tt := range tests {
		got := parseChallenges(tt.give)
		if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(challenge{})); diff != "" {
			t.Errorf("parseChallenges(%q) (-want +got):\n%s", tt.give, diff)
		}
	}
}

// Any field value parses without a panic, in one pass, and what comes out
// is made of what went in.
func FuzzParseChallenges(f *testing.F) {
	for _, s := range []string{`DPoP error="use_dpop_nonce"`, `Bearer realm="a\"b", DPoP algs=ES256`, `Negotiate abc==,`, `"`, `a=\`, `DPoP a="\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range parseChallenges([]string{s}) {
			if c.scheme == "" || !strings.Contains(s, c.scheme) {
				t.Errorf("scheme %q not in %q", c.scheme, s)
			}
			for name := range c.params {
				if name == "" || !strings.Contains(strings.ToLower(s), name) {
					t.Errorf("parameter %q not in %q", name, s)
				}
			}
		}
	})
}
