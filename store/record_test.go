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

// stored returns t as a record keeps it: clamped to the range of Unix
// nanoseconds, the epoch itself moved 1 ns later, in UTC.
func stored(t time.Time) time.Time { return fromUnixNano(unixNano(t)) }

func TestRecordTimes(t *testing.T) {
	iss := time.Date(2030, 1, 1, 0, 0, 0, 1, time.UTC)
	tests := []struct {
		name string
		give time.Time
		want time.Time
	}{
		{"2100: exact", time.Date(2100, 6, 7, 8, 9, 10, 11, time.UTC), time.Date(2100, 6, 7, 8, 9, 10, 11, time.UTC)},
		{"MaxExpiry: exact", MaxExpiry, MaxExpiry},
		{"1 ns past MaxExpiry: MaxExpiry", MaxExpiry.Add(1), MaxExpiry},
		{"year 3000: MaxExpiry, not 1830", time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), MaxExpiry},
		{"year 9999 in another zone: MaxExpiry", time.Date(9999, 1, 1, 0, 0, 0, 0, time.FixedZone("x", 3600)), MaxExpiry},
		{"never: zero", time.Time{}, time.Time{}},
	}
	s, _ := newSealer(nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := s.encode("k", record{id: "a", issuedAt: iss, expiresAt: tt.give, value: []byte("v")})
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.decode("k", b)
			if err != nil {
				t.Fatal(err)
			}
			if !got.expiresAt.Equal(tt.want) || got.expiresAt.IsZero() != tt.want.IsZero() {
				t.Errorf("expiry came back %v, want %v", got.expiresAt, tt.want)
			}
		})
	}
}

// FuzzRecordRoundTrip encodes records with arbitrary times, far past and far
// future included: what encode accepts decodes back, equal to the record
// with its times as stored (see stored).
func FuzzRecordRoundTrip(f *testing.F) {
	f.Add(int64(1893456000), int64(0), int64(1893459600), int64(5), int64(0), false, []byte("v"))
	f.Add(int64(1893456000), int64(0), int64(32503680000), int64(0), int64(0), true, []byte{}) // year 3000
	f.Add(int64(-62135596800), int64(0), int64(0), int64(1), int64(1), false, []byte("x"))     // year 1
	f.Add(int64(0), int64(0), int64(0), int64(0), int64(0), false, []byte("epoch"))
	plain, _ := newSealer(nil)
	sealed, _ := newSealer(bytes.Repeat([]byte{5}, 32))
	f.Fuzz(func(t *testing.T, iss, issNs, exp, expNs, refresh int64, final bool, value []byte) {
		r := record{
			id:        "x",
			issuedAt:  time.Unix(iss, issNs).UTC(),
			expiresAt: time.Unix(exp, expNs),
			refreshAt: time.Unix(refresh, 0),
			final:     final,
			value:     value,
		}
		want := r
		want.issuedAt, want.expiresAt, want.refreshAt = stored(r.issuedAt), stored(r.expiresAt), stored(r.refreshAt)
		for _, s := range []sealer{plain, sealed} {
			b, err := s.encode("k", r)
			if err != nil {
				continue // refused: too large, or expires before issue
			}
			got, err := s.decode("k", b)
			if err != nil {
				t.Fatalf("encoded record does not decode: %v", err)
			}
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(record{})); diff != "" {
				t.Fatalf("round trip (-want +got):\n%s", diff)
			}
		}
	})
}
