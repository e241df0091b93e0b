// Package redact masks the credentials a URL can carry before the URL is
// printed in an error, a log line or a status line.
package redact

import "net/url"

// Mask is what user info is replaced by.
const Mask = "xxxxx"

// URL returns u as text with its user info, if any, masked: both parts,
// since a user name can be a token as well as a password.
func URL(u *url.URL) string {
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

// RawURL returns raw as URL does, or invalid if raw does not parse (its
// text, unparsed, could hold anything).
func RawURL(raw, invalid string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return invalid
	}
	return URL(u)
}
