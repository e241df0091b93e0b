package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
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
	refreshAt time.Time // the inner refresher's RefreshAt; zero: none
	final     bool      // the inner refresher's Final flag
	value     []byte    // Codec output; a secret
}

// recordJSON is the stored form of a record before sealing. Times are Unix
// nanoseconds (0 for none). Key is the store key the record was saved
// under, so a plain record copied under another key is refused; records
// written before it existed have none and are still read (a sealed record
// is bound to its key by the seal as well).
type recordJSON struct {
	Version   int    `json:"v"`
	Key       string `json:"k,omitempty"`
	ID        string `json:"id"`
	IssuedAt  int64  `json:"iat"`
	ExpiresAt int64  `json:"exp,omitempty"`
	RefreshAt int64  `json:"rat,omitempty"`
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

// MaxExpiry is the latest expiry a record (and [ServiceTokenCodec]) keeps:
// times are stored as Unix nanoseconds, whose range ends in April 2262. A
// later expiry is stored as MaxExpiry, which no running program can tell
// apart from it; every expiry up to MaxExpiry comes back exactly.
var MaxExpiry = time.Unix(0, math.MaxInt64).UTC()

// minStored is the earliest instant Unix nanoseconds hold. An expiry before
// it is long past and is stored as minStored, so it stays past.
var minStored = time.Unix(0, math.MinInt64+1).UTC()

// unixNano returns t in Unix nanoseconds, clamped to what they hold, and 0
// for the zero time. An instant that would be exactly 0 (the Unix epoch)
// is moved 1 ns later, so it is not read back as "none".
func unixNano(t time.Time) int64 {
	switch {
	case t.IsZero():
		return 0
	case t.After(MaxExpiry):
		return math.MaxInt64
	case t.Before(minStored):
		return math.MinInt64 + 1
	}
	if n := t.UnixNano(); n != 0 {
		return n
	}
	return 1
}

// fromUnixNano reads what unixNano stores: 0 is the zero time. The one
// value unixNano never writes, math.MinInt64, reads as minStored, so that
// whatever is read is written back the same.
func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, max(n, math.MinInt64+1)).UTC()
}

// check reports what makes j unfit to be a record.
func (j *recordJSON) check() error {
	switch {
	case j.Version != recordVersion:
		return fmt.Errorf("unknown record version %d", j.Version)
	case j.ID == "" || j.IssuedAt == 0:
		return errors.New("record lacks id or issue time")
	case j.ExpiresAt != 0 && j.ExpiresAt < j.IssuedAt:
		return errors.New("record expires before it was issued")
	}
	return nil
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

// encode returns the stored bytes of r under key. It refuses what decode
// would refuse, so every record it encodes decodes back, with its times as
// [unixNano] stores them.
func (s sealer) encode(key string, r record) ([]byte, error) {
	j := recordJSON{
		Version:   recordVersion,
		Key:       key,
		ID:        r.id,
		IssuedAt:  unixNano(r.issuedAt),
		ExpiresAt: unixNano(r.expiresAt),
		RefreshAt: unixNano(r.refreshAt),
		Final:     r.final,
		Value:     r.value,
	}
	if err := j.check(); err != nil {
		return nil, fmt.Errorf("store: encode record: %w", err)
	}
	plain, err := json.Marshal(j)
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
	if err := j.check(); err != nil {
		return record{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if j.Key != "" && j.Key != key {
		return record{}, fmt.Errorf("%w: record was saved under another key", ErrCorrupt)
	}
	return record{
		id:        j.ID,
		issuedAt:  fromUnixNano(j.IssuedAt),
		expiresAt: fromUnixNano(j.ExpiresAt),
		refreshAt: fromUnixNano(j.RefreshAt),
		final:     j.Final,
		value:     j.Value,
	}, nil
}

// usable reports whether r may be handed to a cache at now: it has not
// expired, and the refresh time its publisher gave it, if any, has not come.
// The cache itself decides when a value it holds turns stale, with its own
// refresh window; the store does not judge that a second time.
func (r *record) usable(now time.Time) bool {
	return (r.expiresAt.IsZero() || now.Before(r.expiresAt)) &&
		(r.refreshAt.IsZero() || now.Before(r.refreshAt))
}
