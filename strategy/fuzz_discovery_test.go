package strategy

import (
	"strings"
	"testing"
	"unicode"
)

// FuzzParseMetadata checks that no metadata document makes the parser
// panic and that its errors never quote the body.
func FuzzParseMetadata(f *testing.F) {
	for _, seed := range []string{
		`{"issuer":"https://a.example","token_endpoint":"https://a.example/token"}`,
		`{"issuer":1}`,
		`{"issuer":"https://a.example","token_endpoint_auth_methods_supported":"basic"}`,
		`<html>`,
		`{"issuer":"https://a.example",`,
		``,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		if _, err := parseMetadata([]byte(body)); err != nil && len(body) > 40 && strings.Contains(err.Error(), body) {
			t.Fatalf("error quotes the body: %v", err)
		}
	})
}

// FuzzParseIntrospection checks that no introspection response makes the
// parser panic, that its errors never quote the body, and that what it
// returns is printable.
func FuzzParseIntrospection(f *testing.F) {
	for _, seed := range []string{
		`{"active":true,"sub":"alice","exp":1700000000,"scope":"a b"}`,
		`{"active":false}`,
		`{"active":"yes"}`,
		`{"sub":"x"}`,
		`{"active":true,"exp":1e300,"sub":"\u001b[31m"}`,
		``,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		in, err := parseIntrospection([]byte(body))
		if err != nil {
			if len(body) > 40 && strings.Contains(err.Error(), body) {
				t.Fatalf("error quotes the body: %v", err)
			}
			return
		}
		for _, s := range []string{in.Scope, in.ClientID, in.Username, in.Subject} {
			if strings.IndexFunc(s, unicode.IsControl) >= 0 {
				t.Fatalf("returned control characters: %q", s)
			}
		}
		if !in.Active && in != (Introspection{}) {
			t.Fatalf("an inactive token came with details: %+v", in)
		}
	})
}
