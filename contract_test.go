package tokenactor_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tokenactor/tokenactor"
)

// TestPlainEntryIsRenewedAcrossExpiries: the Entry literal a generic user
// writes, with only Value and ExpiresAt, keeps the cache working across
// many expiries, renewed in the background before each.
func TestPlainEntryIsRenewedAcrossExpiries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		var background atomic.Int32
		r := tokenactor.RefresherFunc[int](func(ctx context.Context, previous *tokenactor.Entry[int]) (tokenactor.Entry[int], error) {
			n := int(calls.Add(1))
			return tokenactor.Entry[int]{Value: n, ExpiresAt: time.Now().Add(10 * time.Minute)}, nil
		})
		c := tokenactor.New(r, tokenactor.WithEventHook(func(e tokenactor.Event) {
			if s, ok := e.(tokenactor.RefreshStarted); ok && s.Background {
				background.Add(1)
			}
		}))
		defer c.Close()

		for round := 1; round <= 5; round++ {
			v, err := c.Get(context.Background())
			if err != nil || v != round {
				t.Fatalf("round %d: Get() = %d, %v; want %d, nil", round, v, err, round)
			}
			time.Sleep(10*time.Minute - 30*time.Second) // into the 90 s window
			synctest.Wait()
			if _, err := c.Get(context.Background()); err != nil { // starts the background refresh
				t.Fatalf("round %d, in the window: %v", round, err)
			}
			synctest.Wait()
		}
		if got := background.Load(); got != 5 {
			t.Errorf("%d background refreshes, want 5 (one per expiry, none blocking)", got)
		}
	})
}

// TestFinalEntryIsNotRenewed: an entry marked Final follows the model's
// "no refresh credential" branch: served while usable, then ErrTokenExpired
// without a call.
func TestFinalEntryIsNotRenewed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		r := tokenactor.RefresherFunc[string](func(ctx context.Context, previous *tokenactor.Entry[string]) (tokenactor.Entry[string], error) {
			calls.Add(1)
			return tokenactor.Entry[string]{Value: "v", ExpiresAt: time.Now().Add(time.Hour), Final: true}, nil
		})
		c := tokenactor.New(r)
		defer c.Close()
		mustGet2(t, c, "v")
		time.Sleep(time.Hour - time.Second) // expired but usable
		mustGet2(t, c, "v")
		time.Sleep(time.Second)
		if _, err := c.Get(context.Background()); !errors.Is(err, tokenactor.ErrTokenExpired) {
			t.Fatalf("Get after expiry: %v, want ErrTokenExpired", err)
		}
		if n := calls.Load(); n != 1 {
			t.Errorf("%d Refresh calls, want 1: a Final entry is never renewed", n)
		}
	})
}

func mustGet2[T comparable](t *testing.T, c *tokenactor.Cache[T], want T) {
	t.Helper()
	got, err := c.Get(context.Background())
	if err != nil || got != want {
		t.Fatalf("Get() = %v, %v; want %v, nil", got, err, want)
	}
}

// TestRefreshAtStartsBackgroundRefresh: an entry's RefreshAt moves the
// start of the background refresh from ExpiresAt minus the window.
func TestRefreshAtStartsBackgroundRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		r := tokenactor.RefresherFunc[int](func(ctx context.Context, previous *tokenactor.Entry[int]) (tokenactor.Entry[int], error) {
			now := time.Now()
			return tokenactor.Entry[int]{Value: int(calls.Add(1)), ExpiresAt: now.Add(time.Hour), RefreshAt: now.Add(30 * time.Minute)}, nil
		})
		c := tokenactor.New(r)
		defer c.Close()
		mustGet2(t, c, 1)
		time.Sleep(30*time.Minute - time.Nanosecond)
		mustGet2(t, c, 1)
		synctest.Wait()
		if n := calls.Load(); n != 1 {
			t.Fatalf("%d calls before RefreshAt, want 1", n)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()   // the timer withdraws the fresh value
		mustGet2(t, c, 1) // served while the background refresh runs
		synctest.Wait()
		mustGet2(t, c, 2)
	})
}

// tokens returns a Cache[ServiceToken] whose refresher issues t1, t2, ...
// and counts its calls.
func tokens() (*tokenactor.Cache[tokenactor.ServiceToken], *atomic.Int32) {
	var calls atomic.Int32
	r := tokenactor.RefresherFunc[tokenactor.ServiceToken](func(ctx context.Context, _ *tokenactor.Entry[tokenactor.ServiceToken]) (tokenactor.Entry[tokenactor.ServiceToken], error) {
		n := calls.Add(1)
		exp := time.Now().Add(time.Hour)
		tok := tokenactor.ServiceToken{AccessToken: tokenactor.NewSecretToken("t" + string(rune('0'+n))), ExpiresAt: exp}
		return tokenactor.Entry[tokenactor.ServiceToken]{Value: tok, ExpiresAt: exp}, nil
	})
	return tokenactor.New(r), &calls
}

// TestRejectOneTokenOneRefresh: N concurrent rejections of one token cause
// exactly one refresh; a rejection of a token already replaced causes none.
func TestRejectOneTokenOneRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, calls := tokens()
		defer c.Close()
		t1, err := c.Get(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				tokenactor.Reject(c, t1)
				if tok, err := c.Get(context.Background()); err != nil || tok.AccessToken == t1.AccessToken {
					t.Errorf("after Reject: %v, %v; want a new token", tok.AccessToken, err)
				}
			})
		}
		wg.Wait()
		if n := calls.Load(); n != 2 {
			t.Fatalf("%d refresher calls, want 2 (the first and one renewal)", n)
		}
		// t1 again, late: t2 stays.
		tokenactor.Reject(c, t1)
		synctest.Wait()
		if n := calls.Load(); n != 2 {
			t.Errorf("a late rejection of a replaced token caused a refresh (%d calls)", n)
		}
		t2, _ := c.Get(context.Background())
		if t2.AccessToken.Reveal() != "t2" {
			t.Errorf("Get after a late rejection = %q, want t2", t2.AccessToken.Reveal())
		}
	})
}

// TestRejectWithoutInvalidation: a strategy that cannot be told is reported
// as such.
func TestRejectWithoutInvalidation(t *testing.T) {
	var s staticStrategy
	if tokenactor.Reject(s, tokenactor.ServiceToken{}) {
		t.Error("Reject reported success for a strategy without InvalidateIf or Invalidate")
	}
}

type staticStrategy struct{}

func (staticStrategy) Get(context.Context) (tokenactor.ServiceToken, error) {
	return tokenactor.ServiceToken{}, nil
}

// TestExpiryIsWallClock: a refresher's ExpiresAt taken from time.Now
// carries a monotonic reading; the cache keeps only the wall-clock
// instant, so a machine that slept past it compares it as passed. What the
// cache reports (RefreshSucceeded.ExpiresAt) shows the reading is gone.
func TestExpiryIsWallClock(t *testing.T) {
	exp := time.Now().Add(time.Hour)
	if !strings.Contains(exp.String(), "m=") {
		t.Skip("this platform's time.Now has no monotonic reading")
	}
	var got time.Time
	done := make(chan struct{})
	r := tokenactor.RefresherFunc[int](func(context.Context, *tokenactor.Entry[int]) (tokenactor.Entry[int], error) {
		return tokenactor.Entry[int]{Value: 1, ExpiresAt: exp, RefreshAt: exp.Add(-time.Minute)}, nil
	})
	c := tokenactor.New(r, tokenactor.WithEventHook(func(e tokenactor.Event) {
		if s, ok := e.(tokenactor.RefreshSucceeded); ok {
			got = s.ExpiresAt
			close(done)
		}
	}))
	defer c.Close()
	if _, err := c.Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-done
	if strings.Contains(got.String(), "m=") || !got.Equal(exp) {
		t.Errorf("stored expiry %v; want %v without a monotonic reading", got, exp.Round(0))
	}
}

// TestEventsCountWaiters: the outcome events say how many callers waited
// for the call and how long it ran, success or failure; a background
// refresh has no waiters.
func TestEventsCountWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got []tokenactor.Event
		c, s, clk := newCache(tokenactor.WithEventHook(func(e tokenactor.Event) {
			switch e.(type) {
			case tokenactor.RefreshSucceeded, tokenactor.RefreshFailed:
				got = append(got, e)
			}
		}))
		defer c.Close()

		chs := goGets(c, 7)
		synctest.Wait()
		call := s.next(t)
		clk.Add(2 * time.Second)
		call.fail(errors.New("refused"))
		synctest.Wait()
		for _, ch := range chs {
			<-ch
		}
		clk.Add(time.Minute) // past the backoff
		chs = goGets(c, 3)
		synctest.Wait()
		call = s.next(t)
		clk.Add(time.Second)
		call.ok("v1", clk.Now().Add(time.Hour), true)
		synctest.Wait()
		wantAll(t, chs, "v1")
		clk.Add(time.Hour - 30*time.Second) // into the window
		synctest.Wait()
		mustGet(t, c, "v1") // served; the refresh runs in the background
		synctest.Wait()
		s.next(t).ok("v2", clk.Now().Add(time.Hour), true)
		synctest.Wait()

		if len(got) != 3 {
			t.Fatalf("got %d outcome events, want 3: %v", len(got), got)
		}
		if f, ok := got[0].(tokenactor.RefreshFailed); !ok || f.Waiters != 7 || f.Took != 2*time.Second {
			t.Errorf("first outcome = %+v, want a failure with 7 waiters that took 2s", got[0])
		}
		if s, ok := got[1].(tokenactor.RefreshSucceeded); !ok || s.Waiters != 3 || s.Took != time.Second {
			t.Errorf("second outcome = %+v, want a success with 3 waiters that took 1s", got[1])
		}
		if s, ok := got[2].(tokenactor.RefreshSucceeded); !ok || s.Waiters != 0 {
			t.Errorf("background refresh = %+v, want a success with no waiters", got[2])
		}
	})
}
