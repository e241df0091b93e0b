package strategy

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/tokenactor/tokenactor"
)

// A StaticStrategy returns one fixed token, for tests and for tokens that
// something else keeps valid. It never refreshes and never checks expiry.
//
// The zero value returns a zero ServiceToken. A StaticStrategy is safe for
// concurrent use.
type StaticStrategy struct {
	token tokenactor.ServiceToken
}

var _ tokenactor.AuthStrategy = (*StaticStrategy)(nil)

// NewStatic returns a strategy that always returns tok.
func NewStatic(tok tokenactor.ServiceToken) *StaticStrategy { return &StaticStrategy{token: tok} }

// Get returns the token at once, or ctx's error if ctx has already
// ended.
func (s *StaticStrategy) Get(ctx context.Context) (tokenactor.ServiceToken, error) {
	if err := ctx.Err(); err != nil {
		return tokenactor.ServiceToken{}, err
	}
	return s.token, nil
}

// Close does nothing and returns nil.
func (s *StaticStrategy) Close() error { return nil }

// Format prints the strategy with its token masked, for every verb. (fmt
// prints unexported fields without calling their methods, so without it
// %v of a *StaticStrategy would show the token in clear.)
func (s *StaticStrategy) Format(f fmt.State, verb rune) {
	formatMasked(f, verb, staticStrategyView{Token: s.token}, "strategy.StaticStrategy")
}

// Func adapts a function to [tokenactor.AuthStrategy]. The function is
// called on every Get, with the caller's context: there is no caching,
// so it suits functions that cache themselves or are cheap. A panic in the
// function is recovered and returned as a *tokenactor.PanicError with the
// stack.
//
// A Func is safe for concurrent use if the function is.
type Func func(ctx context.Context) (tokenactor.ServiceToken, error)

var _ tokenactor.AuthStrategy = Func(nil)

// Get calls f.
func (f Func) Get(ctx context.Context) (tok tokenactor.ServiceToken, err error) {
	defer func() {
		if v := recover(); v != nil {
			tok, err = tokenactor.ServiceToken{}, &tokenactor.PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return f(ctx)
}

// Close does nothing and returns nil.
func (f Func) Close() error { return nil }
