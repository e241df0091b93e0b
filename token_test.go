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

// fmt bypasses a value's methods for %p, and for a struct's unexported
// fields: those paths print the representation, which must not hold the
// secret. Equal secrets stay equal under ==, which Reject relies on.
func TestSecretTokenRepresentationHoldsNoSecret(t *testing.T) {
	tok := tokenactor.NewSecretToken("hunter2-secret")
	holder := struct {
		tok  tokenactor.SecretToken
		toks []tokenactor.SecretToken
	}{tok, []tokenactor.SecretToken{tok}}
	// The verbs are chosen at run time: vet rightly flags most of them
	// as misuses, which is what a careless caller writes.
	verbs := []string{"%p", "%v", "%+v", "%d", "%x", "%s", "%q"}
	for _, verb := range verbs {
		for _, arg := range []any{tok, holder} {
			out := fmt.Sprintf(verb, arg)
			if strings.Contains(out, "hunter2") || strings.Contains(out, fmt.Sprintf("%x", "hunter2")) {
				t.Errorf("%s of %T printed the secret: %s", verb, arg, out)
			}
		}
	}
	if tok != tokenactor.NewSecretToken("hunter2-"+"secret") {
		t.Error("equal secrets compare unequal")
	}
	if tok == tokenactor.NewSecretToken("other") {
		t.Error("different secrets compare equal")
	}
	if (tokenactor.SecretToken{}) != tokenactor.NewSecretToken("") {
		t.Error("the zero SecretToken differs from an empty one")
	}
	if got := (tokenactor.SecretToken{}).Reveal(); got != "" {
		t.Errorf("zero SecretToken reveals %q", got)
	}
}
