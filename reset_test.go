package tokenactor_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tokenactor/tokenactor"
)

var errNoLogin = errors.New("no login yet")

// TestResetEndsBackoff: after failed attempts the cache answers from its
// backoff; Reset (credentials installed out of band) makes the next Get
// try again at once, and a value already cached is not served again.
func TestResetEndsBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var loggedIn atomic.Bool
		var calls atomic.Int32
		c := tokenactor.New(tokenactor.RefresherFunc[int](func(ctx context.Context, _ *tokenactor.Entry[int]) (tokenactor.Entry[int], error) {
			n := int(calls.Add(1))
			if !loggedIn.Load() {
				return tokenactor.Entry[int]{}, errNoLogin
			}
			return tokenactor.Entry[int]{Value: n, ExpiresAt: time.Now().Add(time.Hour)}, nil
		}), tokenactor.WithBackoff(time.Minute, time.Minute))
		defer c.Close()

		for range 3 {
			if _, err := c.Get(t.Context()); !errors.Is(err, errNoLogin) {
				t.Fatalf("got %v, want %v", err, errNoLogin)
			}
		}
		if n := calls.Load(); n != 1 {
			t.Fatalf("%d calls before the login, want 1 (then backoff)", n)
		}
		loggedIn.Store(true)
		c.Reset()
		v, err := c.Get(t.Context())
		if err != nil || v != 2 {
			t.Fatalf("after Reset: got %d, %v; want 2, nil", v, err)
		}
		c.Reset() // a value cached before a new login is not served again
		if v, err := c.Get(t.Context()); err != nil || v != 3 {
			t.Fatalf("after a second Reset: got %d, %v; want 3, nil", v, err)
		}
	})
}

// TestResetDiscardsTheCallInFlight: a call that started before Reset ran
// with the old credentials; its failure is not reported to the callers
// waiting for it, nor kept as backoff: they get a fresh call's value.
func TestResetDiscardsTheCallInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var calls atomic.Int32
		c := tokenactor.New(tokenactor.RefresherFunc[int](func(ctx context.Context, _ *tokenactor.Entry[int]) (tokenactor.Entry[int], error) {
			n := int(calls.Add(1))
			if n == 1 {
				<-release
				return tokenactor.Entry[int]{}, errNoLogin // what it saw before the login
			}
			return tokenactor.Entry[int]{Value: n, ExpiresAt: time.Now().Add(time.Hour)}, nil
		}), tokenactor.WithBackoff(time.Minute, time.Minute))
		defer c.Close()

		got := make(chan error, 1)
		go func() {
			v, err := c.Get(context.Background())
			if err == nil && v != 2 {
				err = errors.New("wrong value")
			}
			got <- err
		}()
		synctest.Wait() // the first call is in flight, the Get parked on it
		c.Reset()
		close(release)
		if err := <-got; err != nil {
			t.Fatalf("the waiting Get: %v, want the fresh call's value 2", err)
		}
		if v, err := c.Get(t.Context()); err != nil || v != 2 {
			t.Fatalf("next Get: %d, %v; want 2, nil", v, err)
		}
	})
}
