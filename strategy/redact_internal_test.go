package strategy

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenactor/tokenactor/fakeclock"
)

func TestRefusalMasksEchoedSecrets(t *testing.T) {
	ep := &endpoint{auth: clientAuth{id: "cli", secret: secret("cs/+ secret")}}
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"rt-1"}, "scope": {"openid"}}
	tests := []struct {
		name        string
		contentType string
		body        string
		want        string
	}{
		{
			name: "description and URI",
			body: `{"error":"invalid_grant","error_description":"rt-1 was used","error_uri":"https://a.example/?t=rt-1"}`,
			want: "strategy: token endpoint refused (HTTP 400): invalid_grant: [REDACTED] was used | https://a.example/?t=[REDACTED]",
		},
		{
			name: "URL-encoded client secret",
			body: `{"error":"invalid_client","error_description":"bad secret cs%2F%2B+secret"}`,
			want: "strategy: token endpoint refused (HTTP 400): invalid_client: bad secret [REDACTED] | ",
		},
		{
			name: "code",
			body: `{"error":"cs/+ secret"}`,
			want: "strategy: token endpoint refused (HTTP 400): [REDACTED] | ",
		},
		{
			name:        "content type",
			contentType: "text/html; rt-1",
			body:        `<html>`,
			want:        "strategy: token endpoint answered HTTP 400 (text/html; [REDACTED]) without an OAuth error body",
		},
		{
			name: "other parameters stay",
			body: `{"error":"invalid_scope","error_description":"openid refused"}`,
			want: "strategy: token endpoint refused (HTTP 400): invalid_scope: openid refused | ",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Content-Type": {tt.contentType}}
			err := ep.refusal(http.StatusBadRequest, h, []byte(tt.body), fakeclock.Start, form)
			got := err.Error()
			if oe, ok := err.(*OAuthError); ok {
				got += " | " + oe.URI
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
