package store

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
)

// Formatting a Shared or a Memory, with any fmt verb, through log/slog or
// as JSON, shows what it is and never what it holds: a Shared holds the
// encryption key (and its key schedule, inside the cipher) and a Memory
// holds records, which are secrets.

// Format writes a description of s that holds no secret, whatever the verb.
func (s *Shared[T]) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }

// GoString returns the same description as String.
func (s *Shared[T]) GoString() string { return s.String() }

// String names the key and whether records are encrypted.
func (s *Shared[T]) String() string {
	return fmt.Sprintf("store.Shared{key: %q, encrypted: %t}", s.key, s.seal.aead != nil)
}

// LogValue logs the key and whether records are encrypted.
func (s *Shared[T]) LogValue() slog.Value {
	return slog.GroupValue(slog.String("key", s.key), slog.Bool("encrypted", s.seal.aead != nil))
}

// MarshalJSON encodes the key and whether records are encrypted.
func (s *Shared[T]) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Key       string `json:"key"`
		Encrypted bool   `json:"encrypted"`
	}{s.key, s.seal.aead != nil})
}

// Format writes a description of s that holds no record, whatever the
// verb.
func (s *Memory) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }

// GoString returns the same description as String.
func (s *Memory) GoString() string { return s.String() }

// String counts the records and leases held, expired ones included until
// they are next touched.
func (s *Memory) String() string {
	r, l := s.counts()
	return fmt.Sprintf("store.Memory{records: %d, leases: %d}", r, l)
}

// LogValue logs the counts of records and leases.
func (s *Memory) LogValue() slog.Value {
	r, l := s.counts()
	return slog.GroupValue(slog.Int("records", r), slog.Int("leases", l))
}

// MarshalJSON encodes the counts of records and leases.
func (s *Memory) MarshalJSON() ([]byte, error) {
	r, l := s.counts()
	return json.Marshal(struct {
		Records int `json:"records"`
		Leases  int `json:"leases"`
	}{r, l})
}

func (s *Memory) counts() (records, leases int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.items), len(s.leases)
}
