package store

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRecordUsable(t *testing.T) {
	iss := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		give record
		at   time.Duration // after iss
		want bool
	}{
		{"before expiry", record{expiresAt: iss.Add(time.Minute)}, 59 * time.Second, true},
		{"at expiry", record{expiresAt: iss.Add(time.Minute)}, time.Minute, false},
		{"never expires", record{}, 1000 * time.Hour, true},
		{"before refresh time", record{expiresAt: iss.Add(time.Minute), refreshAt: iss.Add(30 * time.Second)}, 29 * time.Second, true},
		{"at refresh time", record{expiresAt: iss.Add(time.Minute), refreshAt: iss.Add(30 * time.Second)}, 30 * time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.give.usable(iss.Add(tt.at)); got != tt.want {
				t.Errorf("usable = %t, want %t", got, tt.want)
			}
		})
	}
}

func TestRecordRoundTrip(t *testing.T) {
	iss := time.Date(2030, 1, 1, 0, 0, 0, 1, time.UTC)
	recs := []record{
		{id: "a", issuedAt: iss, expiresAt: iss.Add(time.Hour), final: false, value: []byte("secret")},
		{id: "b", issuedAt: iss, value: []byte{}},
	}
	for _, key := range [][]byte{nil, bytes.Repeat([]byte{7}, 32)} {
		s, err := newSealer(key)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			b, err := s.encode("k", r)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.decode("k", b)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(r, got, cmp.AllowUnexported(record{})); diff != "" {
				t.Errorf("sealed=%t (-want +got):\n%s", key != nil, diff)
			}
		}
	}
}

func TestRecordTooLarge(t *testing.T) {
	s, _ := newSealer(nil)
	_, err := s.encode("k", record{id: "a", issuedAt: time.Now(), value: make([]byte, MaxRecordSize)})
	if err == nil {
		t.Error("encoding a record over MaxRecordSize succeeded")
	}
}

// FuzzDecode feeds arbitrary bytes to the record decoder, sealed and plain:
// it never panics, fails only with ErrCorrupt, and what it accepts encodes
// back to a record that decodes the same.
func FuzzDecode(f *testing.F) {
	plain, _ := newSealer(nil)
	sealed, _ := newSealer(bytes.Repeat([]byte{3}, 16))
	iss := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	good, _ := plain.encode("k", record{id: "x", issuedAt: iss, expiresAt: iss.Add(time.Minute), value: []byte("v")})
	goodSealed, _ := sealed.encode("k", record{id: "x", issuedAt: iss, value: []byte("v")})
	f.Add(good)
	f.Add(goodSealed)
	f.Add([]byte(`{"v":1,"id":"x","iat":1,"exp":-5,"val":"eA=="}`))
	f.Add([]byte(`{"v":1,"id":"x","iat":1,"val":"!!"}`))
	f.Add([]byte{sealedPrefix})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, s := range []sealer{plain, sealed} {
			r, err := s.decode("k", b)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("error %v does not wrap ErrCorrupt", err)
				}
				continue
			}
			again, err := s.encode("k", r)
			if err != nil {
				continue // too large once re-encoded is fine
			}
			r2, err := s.decode("k", again)
			if err != nil {
				t.Fatalf("re-encoded record does not decode: %v", err)
			}
			if diff := cmp.Diff(r, r2, cmp.AllowUnexported(record{})); diff != "" {
				t.Fatalf("round trip (-want +got):\n%s", diff)
			}
		}
	})
}
