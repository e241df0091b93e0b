package tokenactor

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"
	"unique"
)

// A SecretToken holds a secret string (an access token, a refresh token, a
// client secret) that must never be printed. String, GoString, every fmt verb,
// slog and encoding/json all show a fixed mask instead of the secret; where
// fmt does not ask the value (%p, or a struct holding it in an unexported
// field), it prints a pointer. Only [SecretToken.Reveal] returns the secret.
// Two SecretTokens are == when their secrets are equal.
//
// The zero value is an empty secret. A SecretToken is an immutable value and
// safe for concurrent use.
type SecretToken struct {
	// secret is the secret, interned: a handle is a pointer, so fmt paths
	// that bypass the methods below (%p of a value, %v of a struct holding
	// a SecretToken in an unexported field) print an address, never the
	// secret; and equal secrets still have equal handles, so == compares
	// SecretTokens by their secrets. The zero handle is the empty secret.
	secret unique.Handle[string]
}

// mask is what a SecretToken prints as. It says whether a secret is present
// but nothing about its length or content.
const (
	mask      = "[REDACTED]"
	maskEmpty = "[EMPTY]"
)

// NewSecretToken wraps s.
func NewSecretToken(s string) SecretToken {
	if s == "" {
		return SecretToken{}
	}
	return SecretToken{secret: unique.Make(s)}
}

// Reveal returns the secret. Call it only where the secret is sent on, for
// example into an Authorization header.
func (s SecretToken) Reveal() string {
	if s.IsZero() {
		return ""
	}
	return s.secret.Value()
}

// IsZero reports whether the secret is empty.
func (s SecretToken) IsZero() bool { return s.secret == unique.Handle[string]{} }

func (s SecretToken) masked() string {
	if s.IsZero() {
		return maskEmpty
	}
	return mask
}

// String returns a mask, never the secret.
func (s SecretToken) String() string { return s.masked() }

// GoString returns a mask, never the secret, so %#v of a struct holding a
// SecretToken is safe.
func (s SecretToken) GoString() string { return "tokenactor.SecretToken(" + s.masked() + ")" }

// Format prints a mask for every verb, so no fmt verb (%s, %v, %+v, %#v, %q,
// %x) reveals the secret.
func (s SecretToken) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, s.GoString())
		return
	}
	fmt.Fprint(f, s.masked())
}

// LogValue makes log/slog print a mask.
func (s SecretToken) LogValue() slog.Value { return slog.StringValue(s.masked()) }

// MarshalJSON encodes a mask, never the secret. Code that must persist a
// secret (a token store) encodes [SecretToken.Reveal] explicitly.
func (s SecretToken) MarshalJSON() ([]byte, error) { return json.Marshal(s.masked()) }

// MarshalText encodes a mask, so encoders that prefer TextMarshaler (YAML,
// TOML, map keys) stay safe too.
func (s SecretToken) MarshalText() ([]byte, error) { return []byte(s.masked()), nil }

// A ServiceToken is an access token ready to send to a service.
// It is a value; copying it is cheap and safe for concurrent use. The zero
// value is an empty token with no type and no known expiry.
type ServiceToken struct {
	// AccessToken is the bearer credential. It prints as a mask.
	AccessToken SecretToken
	// TokenType is the scheme for the Authorization header, usually "Bearer".
	TokenType string
	// ExpiresAt is when the server stops accepting the token; zero if unknown.
	ExpiresAt time.Time
}

// Reject tells s that a server rejected tok (answered 401 with it), so s
// stops serving it. If s has a method InvalidateIf(func(ServiceToken) bool),
// as a *Cache[ServiceToken] and every caching strategy do, only a cached
// token equal to tok is dropped: N concurrent rejections of one token cause
// one refresh, and a rejection that arrives after the token was replaced
// causes none. Else, if s has a method Invalidate(), Reject calls it. Reject
// reports whether s had either method. Tokens are equal when their
// AccessToken secrets are.
func Reject(s AuthStrategy, tok ServiceToken) bool {
	switch inv := s.(type) {
	case interface {
		InvalidateIf(rejected func(ServiceToken) bool)
	}:
		inv.InvalidateIf(func(current ServiceToken) bool {
			return current.AccessToken == tok.AccessToken
		})
	case interface{ Invalidate() }:
		inv.Invalidate()
	default:
		return false
	}
	return true
}

// An AuthStrategy obtains valid access tokens. Implementations handle caching
// and refresh; callers call Get whenever they need a token.
//
// Get returns when a token is available, when obtaining one failed, or
// when ctx ends, whichever comes first. Implementations must be safe for
// concurrent use.
type AuthStrategy interface {
	Get(ctx context.Context) (ServiceToken, error)
}
