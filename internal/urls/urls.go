// Package urls holds what the library's packages do alike with URLs:
// mask the credentials one can carry before it is printed, and find its
// origin.
package urls

import (
	"net"
	"net/url"
	"strings"
)

// Mask is what user info is replaced by.
const Mask = "xxxxx"

// Redact returns u as text with its user info, if any, masked: both parts,
// since a user name can be a token as well as a password.
func Redact(u *url.URL) string {
	if u == nil {
		return ""
	}
	if u.User == nil {
		return u.String()
	}
	v := *u
	v.User = url.User(Mask)
	return v.String()
}

// RedactRaw returns raw as Redact does, or invalid if raw does not parse
// (its text, unparsed, could hold anything).
func RedactRaw(raw, invalid string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return invalid
	}
	return Redact(u)
}

// Origin returns u's origin (RFC 6454) as "scheme://host:port": scheme and
// host in lower case, the default port of http and https made explicit, so
// that https://API.example and https://api.example:443 have one origin.
func Origin(u *url.URL) string {
	scheme, port := strings.ToLower(u.Scheme), u.Port()
	if port == "" {
		switch scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}
