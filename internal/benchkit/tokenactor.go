package benchkit

import (
	"context"
	"time"

	"github.com/tokenactor/tokenactor"
)

// Tokenactor returns the engine of a tokenactor.Cache made with opts (after
// the refresh window, which the scenario sets).
//
// Every entry carries RefreshAt = ExpiresAt - window, so the cache refreshes
// ahead by exactly the scenario's window, as the peers do, even for a token
// whose whole life is barely longer than the window (the refresh-window
// scenario's): without it the cache would wait for half the token's life.
func Tokenactor(name string, opts ...tokenactor.Option) Engine {
	return Engine{
		Name: name,
		New: func(u *Upstream, window time.Duration) Cache {
			all := append([]tokenactor.Option{tokenactor.WithRefreshWindow(window)}, opts...)
			return tokenactor.New(tokenactor.RefresherFunc[string](func(ctx context.Context, _ *tokenactor.Entry[string]) (tokenactor.Entry[string], error) {
				t, err := u.Fetch(ctx)
				if err != nil {
					return tokenactor.Entry[string]{}, err
				}
				return tokenactor.Entry[string]{Value: t.Value, ExpiresAt: t.ExpiresAt, RefreshAt: t.ExpiresAt.Add(-window)}, nil
			}), all...)
		},
	}
}
