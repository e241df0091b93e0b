package strategy

import (
	"net/url"
	"sort"
	"strings"
)

// reservedParams are the token request parameters a strategy sets itself
// from its credentials and grant; EndpointParams may not set them.
var reservedParams = map[string]bool{
	"grant_type": true, "client_id": true, "client_secret": true, "refresh_token": true,
	"device_code": true, "code": true, "code_verifier": true, "redirect_uri": true,
	"username": true, "password": true, "assertion": true, "client_assertion": true,
	"client_assertion_type": true, "token": true, "token_type_hint": true,
}

// requestParams are the parameters a config adds to its token requests:
// scope (RFC 6749 §3.3), audience, resource (RFC 8707) and any others.
type requestParams struct {
	scopes   []string
	audience string
	resource string
	extra    url.Values
}

// form returns base with the parameters added. prefix names the config in
// errors ("AccessKeyConfig"): a reserved parameter in extra, or one that a
// field sets too, is a *ConfigError.
func (p requestParams) form(prefix string, base url.Values) (url.Values, error) {
	form := cloneForm(base)
	if len(p.scopes) > 0 {
		form.Set("scope", strings.Join(p.scopes, " "))
	}
	if p.audience != "" {
		form.Set("audience", p.audience)
	}
	if p.resource != "" {
		form.Set("resource", p.resource)
	}
	names := make([]string, 0, len(p.extra))
	for k := range p.extra {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		switch {
		case k == "":
			return nil, &ConfigError{Field: prefix + ".EndpointParams", Reason: "a parameter has an empty name"}
		case reservedParams[k]:
			return nil, &ConfigError{Field: prefix + ".EndpointParams", Reason: "sets " + printable(k, 64) + ", which the strategy sets itself"}
		case form.Has(k):
			return nil, &ConfigError{Field: prefix + ".EndpointParams", Reason: "sets " + printable(k, 64) + ", which another field sets too"}
		}
		form[k] = append([]string(nil), p.extra[k]...)
	}
	return form, nil
}
