package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// MaxRecordSize bounds a stored record. A larger one is refused on save and
// reported as corrupt on load, so a hostile store cannot make a replica
// decode megabytes.
const MaxRecordSize = 64 << 10

// A record is one value as saved in the store.
type record struct {
	id        string    // random; tells a replica whether the store holds the value it already has
	issuedAt  time.Time // when the publishing replica obtained the value
	expiresAt time.Time // zero: never expires
	final     bool      // the inner refresher's Final flag
	value     []byte    // Codec output; a secret
}

// recordJSON is the stored form of a record before sealing. Times are Unix
// nanoseconds (0 for none).
type recordJSON struct {
	Version   int    `json:"v"`
	ID        string `json:"id"`
	IssuedAt  int64  `json:"iat"`
	ExpiresAt int64  `json:"exp,omitempty"`
	Final     bool   `json:"fin,omitempty"`
	Value     []byte `json:"val"`
}

const (
	recordVersion = 1
	// sealedPrefix starts a sealed record; a plain one starts with '{'.
	sealedPrefix = 0x01
)

// newID returns a fresh random identifier (128 bits, hex).
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// A sealer encodes records to bytes and back, sealing them with AES-GCM
// when it has an AEAD. The store key is the additional data, so a record
// copied under another key does not open.
type sealer struct {
	aead cipher.AEAD // nil: records are stored plain
}

func newSealer(key []byte) (sealer, error) {
	if key == nil {
		return sealer{}, nil
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return sealer{}, fmt.Errorf("store: encryption key must be 16, 24 or 32 bytes, got %d", len(key))
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return sealer{}, fmt.Errorf("store: %w", err)
	}
	return sealer{aead: aead}, nil
}

// encode returns the stored bytes of r under key.
func (s sealer) encode(key string, r record) ([]byte, error) {
	plain, err := json.Marshal(recordJSON{
		Version:   recordVersion,
		ID:        r.id,
		IssuedAt:  unixNano(r.issuedAt),
		ExpiresAt: unixNano(r.expiresAt),
		Final:     r.final,
		Value:     r.value,
	})
	if err != nil {
		return nil, fmt.Errorf("store: encode record: %w", err)
	}
	out := plain
	if s.aead != nil {
		ns := s.aead.NonceSize()
		out = make([]byte, 1+ns, 1+ns+len(plain)+s.aead.Overhead())
		out[0] = sealedPrefix
		_, _ = rand.Read(out[1 : 1+ns])
		out = s.aead.Seal(out, out[1:1+ns], plain, []byte(key))
	}
	if len(out) > MaxRecordSize {
		return nil, fmt.Errorf("store: record of %d bytes exceeds MaxRecordSize", len(out))
	}
	return out, nil
}

// decode reads bytes written by encode under key. Every failure wraps
// ErrCorrupt and says nothing of the content.
func (s sealer) decode(key string, b []byte) (record, error) {
	if len(b) > MaxRecordSize {
		return record{}, fmt.Errorf("%w: %d bytes exceeds MaxRecordSize", ErrCorrupt, len(b))
	}
	plain := b
	if s.aead != nil {
		ns := s.aead.NonceSize()
		if len(b) < 1+ns || b[0] != sealedPrefix {
			return record{}, fmt.Errorf("%w: record is not sealed", ErrCorrupt)
		}
		var err error
		plain, err = s.aead.Open(nil, b[1:1+ns], b[1+ns:], []byte(key))
		if err != nil {
			return record{}, fmt.Errorf("%w: record does not open with this key", ErrCorrupt)
		}
	}
	var j recordJSON
	if err := json.Unmarshal(plain, &j); err != nil {
		return record{}, fmt.Errorf("%w: malformed record", ErrCorrupt)
	}
	switch {
	case j.Version != recordVersion:
		return record{}, fmt.Errorf("%w: unknown record version %d", ErrCorrupt, j.Version)
	case j.ID == "" || j.IssuedAt == 0:
		return record{}, fmt.Errorf("%w: record lacks id or issue time", ErrCorrupt)
	case j.ExpiresAt != 0 && j.ExpiresAt < j.IssuedAt:
		return record{}, fmt.Errorf("%w: record expires before it was issued", ErrCorrupt)
	}
	return record{
		id:        j.ID,
		issuedAt:  fromUnixNano(j.IssuedAt),
		expiresAt: fromUnixNano(j.ExpiresAt),
		final:     j.Final,
		value:     j.Value,
	}, nil
}

// staleAt returns when a value issued at issuedAt and expiring at expiresAt
// stops being fresh: window before it expires, or, if its lifetime is not
// longer than the window, half its lifetime before (the engine's rule). It
// returns the zero time for a value that never expires.
func staleAt(issuedAt, expiresAt time.Time, window time.Duration) time.Time {
	if expiresAt.IsZero() {
		return time.Time{}
	}
	if life := expiresAt.Sub(issuedAt); life <= window {
		window = life / 2
	}
	return expiresAt.Add(-window)
}

// fresh reports whether r is fresh at now.
func (r *record) fresh(now time.Time, window time.Duration) bool {
	at := staleAt(r.issuedAt, r.expiresAt, window)
	return at.IsZero() || now.Before(at)
}
