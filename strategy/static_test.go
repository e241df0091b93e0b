package strategy_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/strategy"
)

func TestStaticReturnsItsToken(t *testing.T) {
	want := tokenactor.ServiceToken{AccessToken: tokenactor.NewSecretToken("fixed"), TokenType: "Bearer"}
	s := strategy.NewStatic(want)
	got, err := s.Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"fixed", "Bearer"}, []string{got.AccessToken.Reveal(), got.TokenType}); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Get(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

func TestFuncIsCalledEveryTime(t *testing.T) {
	calls := 0
	f := strategy.Func(func(ctx context.Context) (tokenactor.ServiceToken, error) {
		calls++
		return tokenactor.ServiceToken{AccessToken: tokenactor.NewSecretToken(fmt.Sprint("t", calls))}, nil
	})
	var got []string
	for range 3 {
		tok, err := f.Get(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, tok.AccessToken.Reveal())
	}
	if diff := cmp.Diff([]string{"t1", "t2", "t3"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestFuncPassesErrorsAndRecoversPanics(t *testing.T) {
	boom := errors.New("boom")
	_, err := strategy.Func(func(context.Context) (tokenactor.ServiceToken, error) {
		return tokenactor.ServiceToken{}, boom
	}).Get(t.Context())
	if !errors.Is(err, boom) {
		t.Errorf("got %v, want boom", err)
	}
	_, err = strategy.Func(func(context.Context) (tokenactor.ServiceToken, error) {
		panic("oops")
	}).Get(t.Context())
	var pe *tokenactor.PanicError
	if !errors.As(err, &pe) || pe.Value != "oops" || !strings.Contains(string(pe.Stack), "static_test.go") {
		t.Errorf("got %v, want a *PanicError with the stack", err)
	}
}

func ExampleFunc() {
	s := strategy.Func(func(ctx context.Context) (tokenactor.ServiceToken, error) {
		return tokenactor.ServiceToken{AccessToken: tokenactor.NewSecretToken("from-my-vault"), TokenType: "Bearer"}, nil
	})
	defer s.Close()
	tok, _ := s.Get(context.Background())
	fmt.Println(tok.TokenType, tok.AccessToken.Reveal())
	// Output: Bearer from-my-vault
}

func ExampleNewStatic() {
	s := strategy.NewStatic(tokenactor.ServiceToken{AccessToken: tokenactor.NewSecretToken("test-token"), TokenType: "Bearer"})
	tok, _ := s.Get(context.Background())
	fmt.Println(tok.AccessToken.Reveal())
	// Output: test-token
}
