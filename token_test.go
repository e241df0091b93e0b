package tokenactor_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/tokenactor/tokenactor"
)

func TestSecretTokenNeverPrints(t *testing.T) {
	const secret = "very-secret-value"
	tok := tokenactor.ServiceToken{AccessToken: tokenactor.NewSecretToken(secret), TokenType: "Bearer"}
	var outputs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%10.3s"} {
		outputs = append(outputs, fmt.Sprintf(verb, tok), fmt.Sprintf(verb, tok.AccessToken), fmt.Sprintf(verb, &tok))
	}
	outputs = append(outputs, tok.AccessToken.String(), tok.AccessToken.GoString())
	b, err := json.Marshal(tok)
	if err != nil {
		t.Fatal(err)
	}
	outputs = append(outputs, string(b))
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("tok", "token", tok, "secret", tok.AccessToken)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("tok", "token", tok, "secret", tok.AccessToken)
	outputs = append(outputs, buf.String())

	for _, out := range outputs {
		if strings.Contains(out, secret) || strings.Contains(out, fmt.Sprintf("%x", secret)) {
			t.Errorf("secret leaked: %s", out)
		}
	}
	if got := tok.AccessToken.Reveal(); got != secret {
		t.Fatalf("Reveal() = %q, want the secret", got)
	}
}

func TestSecretTokenMaskSaysWhetherEmpty(t *testing.T) {
	if got, want := fmt.Sprint(tokenactor.SecretToken{}), "[EMPTY]"; got != want {
		t.Errorf("empty secret prints %q, want %q", got, want)
	}
	if got, want := fmt.Sprint(tokenactor.NewSecretToken("x")), "[REDACTED]"; got != want {
		t.Errorf("secret prints %q, want %q", got, want)
	}
}
