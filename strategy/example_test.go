package strategy_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/strategy"
)

func ExampleNewAccessKey() {
	// A token endpoint on loopback stands in for the authorization server.
	srv := httptest.NewServer(&grantServer{lifetime: 3600})
	defer srv.Close()

	s, err := strategy.NewAccessKey(strategy.AccessKeyConfig{
		TokenURL:     srv.URL,
		ClientID:     "svc",
		ClientSecret: "s3cret",
		Scopes:       []string{"read"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	tok, err := s.Get(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tok.TokenType, tok.AccessToken.Reveal())
	fmt.Println(tok.AccessToken) // secrets print as a mask
	// Output:
	// Bearer token-1
	// [REDACTED]
}

func ExampleParseAccessKey() {
	key, err := strategy.ParseAccessKey("svc.s3cret")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%+v\n", key)
	_, err = strategy.ParseAccessKey("no-dot-here")
	fmt.Println(errors.Is(err, strategy.ErrAccessKeyMissingDot), err)
	// Output:
	// {ID:svc Secret:[REDACTED]}
	// true strategy: access key must be <client id>.<secret>: no dot
}

func ExampleOAuthError() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":"invalid_client","error_description":"unknown client"}`)
	}))
	defer srv.Close()
	s, _ := strategy.NewAccessKey(strategy.AccessKeyConfig{TokenURL: srv.URL, ClientID: "svc", ClientSecret: "wrong"},
		tokenactor.WithBackoff(1, 1))
	defer s.Close()

	_, err := s.Get(context.Background())
	var oe *strategy.OAuthError
	if errors.As(err, &oe) {
		fmt.Println(oe.StatusCode, oe.Code)
	}
	switch {
	case errors.Is(err, strategy.ErrLoginRequired):
		fmt.Println("log in again")
	case errors.Is(err, strategy.ErrTemporary):
		fmt.Println("try later")
	}
	// Output:
	// 401 invalid_client
	// log in again
}

func ExampleNewAuto() {
	// In a program, leave Getenv nil to read the process environment:
	//   export TOKENACTOR_ACCESS_KEY=svc.s3cret
	//   export TOKENACTOR_TOKEN_URL=https://auth.example/token
	environment := map[string]string{
		"TOKENACTOR_ACCESS_KEY": "svc.s3cret",
		"TOKENACTOR_TOKEN_URL":  "https://auth.example/token",
	}
	s, err := strategy.NewAuto(strategy.AutoConfig{Getenv: func(k string) string { return environment[k] }})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	fmt.Println(s.Source())

	// With nothing configured, the error matches ErrNotAuthenticated.
	_, err = strategy.NewAuto(strategy.AutoConfig{Getenv: func(k string) string {
		return map[string]string{"TOKENACTOR_CONFIG_DIR": "/nonexistent"}[k]
	}})
	fmt.Println(errors.Is(err, tokenactor.ErrNotAuthenticated))
	// Output:
	// environment: TOKENACTOR_ACCESS_KEY
	// true
}

func ExampleNewFileStore() {
	dir, err := os.MkdirTemp("", "tokenactor-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	store := strategy.NewFileStore(dir) // strategy.DefaultConfigDir() in a program
	ctx := context.Background()
	err = store.Save(ctx, "work", strategy.Session{
		TokenURL:     "https://auth.example/token",
		ClientID:     "cli",
		RefreshToken: tokenactor.NewSecretToken("rt-secret"),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	sess, _ := store.Load(ctx, "work")
	fmt.Printf("%s %s\n", filepath.Base(store.Path("work")), sess.RefreshToken)
	_, err = store.Load(ctx, "other")
	fmt.Println(errors.Is(err, tokenactor.ErrNotAuthenticated))
	// Output:
	// work.json [REDACTED]
	// true
}
