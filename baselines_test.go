package tokenactor_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenactor/tokenactor/internal/benchkit"
)

// The lock-based baselines of bench_test.go. They are written the way such
// caches are written in practice, so that the comparison is with the
// designs tokenactor replaces, not with straw men.

// mutexCache is the plain lock-based cache: one mutex around the token, the
// clock read on every call, and the refresh made under the lock, so every
// caller waits for it (the shape of x/oauth2's reuseTokenSource).
type mutexCache struct {
	u      *benchkit.Upstream
	window time.Duration

	mu   sync.Mutex
	tok  benchkit.Token // guarded by mu
	have bool           // guarded by mu
}

func newMutexCache(u *benchkit.Upstream, window time.Duration) benchkit.Cache {
	return &mutexCache{u: u, window: window}
}

func (c *mutexCache) Get(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.have && time.Now().Before(c.tok.ExpiresAt.Add(-c.window)) {
		return c.tok.Value, nil
	}
	t, err := c.u.Fetch(ctx)
	if err != nil {
		return "", err
	}
	c.tok, c.have = t, true
	return t.Value, nil
}

// flagCache is the common lock-based design of a refreshing token cache
// (stack-auth's AuthStrategy is one): one mutex guards the token and an
// in-flight flag, waiters park on a notification, a token in its refresh
// window is refreshed in the background with the lock released, and a fully
// expired one is refreshed with the lock held. As in that design, a failed
// background refresh keeps the old token with no backoff, and a failed
// blocking refresh lets each queued caller try again in turn. The wait for
// the notification honours ctx; the wait for the lock does not.
type flagCache struct {
	u      *benchkit.Upstream
	window time.Duration
	bg     sync.WaitGroup // background refreshes, waited for by release

	mu         sync.Mutex
	tok        *benchkit.Token // nil until the first authentication; guarded by mu
	refreshing bool            // a background refresh is in flight; guarded by mu
	notify     chan struct{}   // closed when that refresh ends; guarded by mu
}

func newFlagCache(u *benchkit.Upstream, window time.Duration) benchkit.Cache {
	return &flagCache{u: u, window: window}
}

// Close waits for the background refresh in flight, if any.
func (c *flagCache) Close() error {
	c.bg.Wait()
	return nil
}

func (c *flagCache) Get(ctx context.Context) (string, error) {
	c.mu.Lock()
	for {
		if c.tok == nil {
			// Authenticate with the lock held.
			t, err := c.u.Fetch(ctx)
			if err != nil {
				c.mu.Unlock()
				return "", err
			}
			c.tok = &t
			c.mu.Unlock()
			return t.Value, nil
		}
		tok := *c.tok
		now := time.Now()
		usable := now.Before(tok.ExpiresAt)
		switch {
		case now.Before(tok.ExpiresAt.Add(-c.window)): // fresh
			c.mu.Unlock()
			return tok.Value, nil
		case c.refreshing && usable:
			c.mu.Unlock()
			return tok.Value, nil
		case c.refreshing: // wait for the refresh, then decide again
			wait := c.notify
			c.mu.Unlock()
			select {
			case <-wait:
			case <-ctx.Done():
				return "", ctx.Err()
			}
			c.mu.Lock()
			continue
		case usable: // refresh in the background, lock released
			c.refreshing = true
			c.notify = make(chan struct{})
			c.bg.Add(1)
			go c.background()
			c.mu.Unlock()
			return tok.Value, nil
		}
		// Fully expired: refresh with the lock held.
		t, err := c.u.Fetch(ctx)
		if err != nil {
			c.mu.Unlock()
			return "", fmt.Errorf("token expired: %w", err)
		}
		c.tok = &t
		c.mu.Unlock()
		return t.Value, nil
	}
}

// background is the non-blocking refresh. A failure keeps the old token,
// and is not reported.
func (c *flagCache) background() {
	defer c.bg.Done()
	t, err := c.u.Fetch(context.Background())
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil {
		c.tok = &t
	}
	c.refreshing = false
	close(c.notify)
}

// The tests below pin that the baselines behave as the designs they stand
// for: the mutex cache blocks callers for the refresh, the flag cache
// refreshes a usable token in the background and lets each caller of an
// expired one try in turn.

// scriptedUpstream issues tokens that live for life and fails from call
// failFrom on (0: never).
func scriptedUpstream(life time.Duration, failFrom int64) *benchkit.Upstream {
	return benchkit.NewUpstream(func(_ context.Context, n int64) (benchkit.Token, error) {
		if failFrom > 0 && n >= failFrom {
			return benchkit.Token{}, errors.New("upstream down")
		}
		return benchkit.Token{Value: fmt.Sprintf("token-%d", n), ExpiresAt: time.Now().Add(life)}, nil
	})
}

func TestMutexCacheRefreshesInsideGet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := scriptedUpstream(time.Hour, 0)
		c := newMutexCache(u, 10*time.Minute)
		defer benchkit.Release(c)
		ctx := context.Background()
		got := []string{}
		for _, step := range []time.Duration{0, 49 * time.Minute, 2 * time.Minute} {
			time.Sleep(step)
			v, err := c.Get(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, v)
		}
		// At 49 min the token is fresh; at 51 min it is in its window and
		// the caller gets the new one, having waited for it.
		want := []string{"token-1", "token-1", "token-2"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("tokens (-want +got):\n%s", diff)
		}
	})
}

func TestFlagCacheRefreshesUsableTokenInBackground(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := scriptedUpstream(time.Hour, 0)
		c := newFlagCache(u, 10*time.Minute)
		defer benchkit.Release(c)
		ctx := context.Background()
		if v, _ := c.Get(ctx); v != "token-1" {
			t.Fatalf("first Get = %q, want token-1", v)
		}
		time.Sleep(51 * time.Minute)
		if v, _ := c.Get(ctx); v != "token-1" {
			t.Errorf("Get in the window = %q, want the current token-1 at once", v)
		}
		synctest.Wait() // the background refresh
		if v, _ := c.Get(ctx); v != "token-2" {
			t.Errorf("Get after the background refresh = %q, want token-2", v)
		}
		if n := u.Calls(); n != 2 {
			t.Errorf("upstream calls = %d, want 2", n)
		}
	})
}

func TestFlagCacheLetsEachCallerOfAnExpiredTokenTry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := scriptedUpstream(time.Minute, 2)
		c := newFlagCache(u, 10*time.Second)
		defer benchkit.Release(c)
		ctx := context.Background()
		if _, err := c.Get(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Minute)
		const callers = 5
		var wg sync.WaitGroup
		for range callers {
			wg.Go(func() {
				if _, err := c.Get(ctx); err == nil {
					t.Error("Get of an expired token with the upstream down succeeded")
				}
			})
		}
		wg.Wait()
		if got, want := u.Calls(), int64(1+callers); got != want {
			t.Errorf("upstream calls = %d, want %d: one per caller", got, want)
		}
	})
}
