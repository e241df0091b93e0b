package store_test

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/store"
)

func TestServiceTokenCodec(t *testing.T) {
	tests := []tokenactor.ServiceToken{
		{AccessToken: tokenactor.NewSecretToken("s3cr3t"), TokenType: "Bearer", ExpiresAt: time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)},
		{AccessToken: tokenactor.NewSecretToken("s3cr3t")},
	}
	var c store.ServiceTokenCodec
	for _, give := range tests {
		b, err := c.Encode(give)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		// The secret survives encoding: SecretToken's own JSON would mask it.
		if got.AccessToken.Reveal() != "s3cr3t" || got.TokenType != give.TokenType || !got.ExpiresAt.Equal(give.ExpiresAt) {
			t.Errorf("round trip of %v gave %v (secret kept: %t)", give, got, got.AccessToken.Reveal() == "s3cr3t")
		}
	}
}

func TestServiceTokenCodecErrorsHideContent(t *testing.T) {
	var c store.ServiceTokenCodec
	for _, give := range []string{`{"access_token":"s3cr3t","expires_at":"s3cr3t"}`, `s3cr3t`, `{"token_type":"s3cr3t"}`} {
		_, err := c.Decode([]byte(give))
		if !errors.Is(err, store.ErrCorrupt) {
			t.Errorf("Decode(%q) = %v, want ErrCorrupt", give, err)
		}
		if err != nil && strings.Contains(fmt.Sprintf("%v %+v %#v", err, err, err), "s3cr3t") {
			t.Errorf("Decode(%q) error shows the content: %v", give, err)
		}
	}
}

func TestEventsHideSecrets(t *testing.T) {
	evs := []store.Event{
		store.Adopted{Key: "k", ExpiresAt: time.Now()},
		store.Published{Key: "k"},
		store.Failed{Key: "k", Op: store.OpDecode, Err: store.ErrCorrupt},
		store.LocalFallback{Key: "k", Reason: store.LeaseWaitTimedOut},
	}
	for _, e := range evs {
		s := e.String()
		if !strings.HasPrefix(s, `store: "k"`) {
			t.Errorf("event string %q does not name its key", s)
		}
	}
	var buf strings.Builder
	log := store.LogEvents(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	for _, e := range evs {
		log(e)
	}
	want := []string{"store: adopted", "store: published", "store: operation failed", "store: refreshing locally"}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != len(want) {
		t.Fatalf("LogEvents wrote %d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) || !strings.Contains(lines[i], "key=k") {
			t.Errorf("log line %d = %q, want it to hold %q and the key", i, lines[i], w)
		}
	}
	if got := store.FallbackReason(9).String(); got != "FallbackReason(9)" {
		t.Errorf("unknown reason prints %q", got)
	}
}

// TestServiceTokenCodecFarFuture: an expiry after 2262 comes back as
// MaxExpiry, not wrapped into the past.
func TestServiceTokenCodecFarFuture(t *testing.T) {
	var c store.ServiceTokenCodec
	give := tokenactor.ServiceToken{AccessToken: tokenactor.NewSecretToken("s"), ExpiresAt: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)}
	b, err := c.Encode(give)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !got.ExpiresAt.Equal(store.MaxExpiry) {
		t.Errorf("year 3000 came back as %v, want MaxExpiry %v", got.ExpiresAt, store.MaxExpiry)
	}
}

// FuzzServiceTokenCodec feeds arbitrary bytes to ServiceTokenCodec.Decode,
// which reads what the store holds (whoever wrote it): it never panics,
// fails only with ErrCorrupt and a fixed message that echoes nothing of
// the input, and what it accepts encodes back to bytes that decode the same.
func FuzzServiceTokenCodec(f *testing.F) {
	var c store.ServiceTokenCodec
	good, _ := c.Encode(tokenactor.ServiceToken{AccessToken: tokenactor.NewSecretToken("s3cr3t"), TokenType: "Bearer", ExpiresAt: time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)})
	f.Add(good)
	f.Add([]byte(`{"access_token":"a","expires_at":-9223372036854775808}`))
	f.Add([]byte(`{"access_token":"a","expires_at":9223372036854775807}`))
	f.Add([]byte(`{"access_token":"a","expires_at":1e30}`))
	f.Add([]byte(`{"access_token":"\u0000","token_type":"\ud800"}`))
	f.Add([]byte(`{"access_token":""}`))
	f.Add([]byte(`[]`))
	messages := map[string]bool{
		"store: corrupt record: service token is not valid JSON":   true,
		"store: corrupt record: service token has no access token": true,
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := c.Decode(b)
		if err != nil {
			if !errors.Is(err, store.ErrCorrupt) || !messages[err.Error()] {
				t.Fatalf("Decode error %q: want ErrCorrupt with a fixed message", err)
			}
			return
		}
		again, err := c.Encode(got)
		if err != nil {
			t.Fatalf("Encode of a decoded token: %v", err)
		}
		back, err := c.Decode(again)
		if err != nil {
			t.Fatalf("Decode of a re-encoded token: %v", err)
		}
		if back.AccessToken != got.AccessToken || back.TokenType != got.TokenType || !back.ExpiresAt.Equal(got.ExpiresAt) {
			t.Fatalf("round trip changed the token: %+v, then %+v", got, back)
		}
	})
}
