package store_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tokenactor/tokenactor/store"
)

// spellings returns the ways a secret may show in output: as it is, in
// hex (%x), as a list of decimal bytes (%v of a []byte) and in base64 (JSON
// of a []byte).
func spellings(secret []byte) []string {
	dec := fmt.Sprint(secret[:8])
	return []string{
		string(secret[:8]),
		hex.EncodeToString(secret[:8]),
		strings.Trim(dec, "[]"),
		base64.StdEncoding.EncodeToString(secret)[:8],
	}
}

// renderings returns v through every fmt verb, slog's handlers and JSON.
func renderings(t *testing.T, v any) map[string]string {
	out := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		out[verb] = fmt.Sprintf(verb, v)
	}
	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("m", "v", v)
	slog.New(slog.NewJSONHandler(&js, nil)).Info("m", "v", v)
	out["slog text"], out["slog json"] = text.String(), js.String()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	out["json"] = string(b)
	return out
}

// TestFormatHidesSecrets: no fmt verb, slog handler or JSON shows a Shared's
// encryption key (or the cipher holding its key schedule) or a Memory's
// records.
func TestFormatHidesSecrets(t *testing.T) {
	sealKey := []byte("KEYMATERIAL-0123456789-abcdefghi")
	record := []byte("RECORDSECRET-record-bytes-secret")
	mem := store.NewMemory(nil)
	if err := mem.Save(context.Background(), key, record, time.Hour); err != nil {
		t.Fatal(err)
	}
	shared := store.Wrap(&fakeInner{life: life}, mem, key, stringCodec, store.WithEncryption(sealKey))
	tests := []struct {
		name   string
		give   any
		secret []byte
		prefix string // what fmt verbs show instead
	}{
		{"Shared", shared, sealKey, `store.Shared{key: "svc", encrypted: true}`},
		{"Memory", mem, record, `store.Memory{records: 1, leases: 0}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for how, out := range renderings(t, tt.give) {
				for _, s := range spellings(tt.secret) {
					if strings.Contains(out, s) {
						t.Errorf("%s shows the secret (%q): %s", how, s, out)
					}
				}
				if strings.HasPrefix(how, "%") && out != tt.prefix {
					t.Errorf("%s = %s, want %s", how, out, tt.prefix)
				}
			}
		})
	}
}
