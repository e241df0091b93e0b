package store

import (
	"encoding/json"
	"fmt"

	"github.com/tokenactor/tokenactor"
)

// A Codec turns a value into bytes to store and back. Decode receives bytes
// that Encode produced, possibly on another replica running another version
// of the program, or by whoever can write to the store: Decode reads
// untrusted bytes. Implementations must be safe for concurrent use, and
// their errors must not include the bytes or the value: they may be
// secrets. A [Shared] contains a codec that panics or calls runtime.Goexit:
// a value it cannot decode counts as corrupt (and is replaced), one it
// cannot encode is handed to the cache but not saved.
type Codec[T any] interface {
	Encode(v T) ([]byte, error)
	Decode(b []byte) (T, error)
}

// CodecFunc returns a Codec made of two functions.
func CodecFunc[T any](encode func(T) ([]byte, error), decode func([]byte) (T, error)) Codec[T] {
	if encode == nil || decode == nil {
		panic("store: CodecFunc: nil function")
	}
	return funcCodec[T]{encode: encode, decode: decode}
}

type funcCodec[T any] struct {
	encode func(T) ([]byte, error)
	decode func([]byte) (T, error)
}

func (c funcCodec[T]) Encode(v T) ([]byte, error) { return c.encode(v) }
func (c funcCodec[T]) Decode(b []byte) (T, error) { return c.decode(b) }

// ServiceTokenCodec encodes a [tokenactor.ServiceToken] as JSON, including
// its secret: SecretToken's own MarshalJSON masks it on purpose, so this
// codec writes Reveal() explicitly. An ExpiresAt after [MaxExpiry] is
// stored as MaxExpiry; every other one comes back exactly. Pair it with [WithEncryption] unless the
// store is trusted with plain tokens. The zero value is ready to use and safe
// for concurrent use.
type ServiceTokenCodec struct{}

// serviceTokenJSON is the stored form of a ServiceToken. The expiry is in
// Unix nanoseconds (0: unknown; see [MaxExpiry] for the range), so a malformed one cannot echo into an
// error message the way a time string would.
type serviceTokenJSON struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type,omitempty"`
	ExpiresAt   int64  `json:"expires_at,omitempty"`
}

// Encode returns the token as JSON, secret included.
func (ServiceTokenCodec) Encode(t tokenactor.ServiceToken) ([]byte, error) {
	return json.Marshal(serviceTokenJSON{AccessToken: t.AccessToken.Reveal(), TokenType: t.TokenType, ExpiresAt: unixNano(t.ExpiresAt)})
}

// Decode reads what Encode wrote. Its errors say nothing of the content.
func (ServiceTokenCodec) Decode(b []byte) (tokenactor.ServiceToken, error) {
	var j serviceTokenJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return tokenactor.ServiceToken{}, fmt.Errorf("%w: service token is not valid JSON", ErrCorrupt)
	}
	if j.AccessToken == "" {
		return tokenactor.ServiceToken{}, fmt.Errorf("%w: service token has no access token", ErrCorrupt)
	}
	t := tokenactor.ServiceToken{AccessToken: tokenactor.NewSecretToken(j.AccessToken), TokenType: j.TokenType}
	t.ExpiresAt = fromUnixNano(j.ExpiresAt)
	return t, nil
}
