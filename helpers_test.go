package tokenactor_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/fakeclock"
)

// A stubRefresher hands each Refresher call to the test, which
// answers it; the call blocks until then or until its context ends. Create it
// inside a synctest bubble, so a blocked call counts as durably blocked.
type stubRefresher struct {
	calls chan *call
}

// A call is one Refresher call waiting for the test's answer.
type call struct {
	op      string
	current tokenactor.Entry[string]
	ctx     context.Context
	reply   chan outcome
}

type outcome struct {
	entry tokenactor.Entry[string]
	err   error
	panic any
}

func newStub() *stubRefresher { return &stubRefresher{calls: make(chan *call, 64)} }

func (s *stubRefresher) Refresh(ctx context.Context, previous *tokenactor.Entry[string]) (tokenactor.Entry[string], error) {
	if previous == nil {
		return s.do(ctx, "authenticate", tokenactor.Entry[string]{})
	}
	return s.do(ctx, "refresh", *previous)
}

func (s *stubRefresher) do(ctx context.Context, op string, cur tokenactor.Entry[string]) (tokenactor.Entry[string], error) {
	c := &call{op: op, current: cur, ctx: ctx, reply: make(chan outcome, 1)}
	s.calls <- c
	select {
	case o := <-c.reply:
		if o.panic != nil {
			panic(o.panic)
		}
		return o.entry, o.err
	case <-ctx.Done():
		return tokenactor.Entry[string]{}, ctx.Err()
	}
}

// next returns the call in flight; it fails the test if there is none.
// Call it after synctest.Wait.
func (s *stubRefresher) next(t *testing.T) *call {
	t.Helper()
	select {
	case c := <-s.calls:
		return c
	default:
		t.Fatal("no Refresher call in flight")
		return nil
	}
}

// none fails the test if a Refresher call was made. Call it after
// synctest.Wait.
func (s *stubRefresher) none(t *testing.T) {
	t.Helper()
	select {
	case c := <-s.calls:
		t.Fatalf("unexpected %s call", c.op)
	default:
	}
}

func (c *call) ok(value string, expiresAt time.Time, renewable bool) {
	c.reply <- outcome{entry: tokenactor.Entry[string]{Value: value, ExpiresAt: expiresAt, Final: !renewable}}
}

func (c *call) fail(err error) { c.reply <- outcome{err: err} }

// result is what one Get returned.
type result struct {
	value string
	err   error
}

// goGet runs Get in its own goroutine and returns where its result will
// arrive (buffer 1).
func goGet(ctx context.Context, c *tokenactor.Cache[string]) <-chan result {
	ch := make(chan result, 1)
	go func() {
		v, err := c.Get(ctx)
		ch <- result{v, err}
	}()
	return ch
}

// goGets starts n Gets, each in its own goroutine.
func goGets(c *tokenactor.Cache[string], n int) []<-chan result {
	chs := make([]<-chan result, n)
	for i := range chs {
		chs[i] = goGet(context.Background(), c)
	}
	return chs
}

// wantWaiting fails the test if any of the Gets has returned. Call it after
// synctest.Wait.
func wantWaiting(t *testing.T, chs []<-chan result) {
	t.Helper()
	for i, ch := range chs {
		if r, ok := answered(ch); ok {
			t.Fatalf("caller %d returned %+v; want it still waiting", i, r)
		}
	}
}

// wantAll fails the test unless every Get has returned value and no error.
// Call it after synctest.Wait.
func wantAll(t *testing.T, chs []<-chan result, value string) {
	t.Helper()
	for i, ch := range chs {
		if r, ok := answered(ch); !ok || r != (result{value: value}) {
			t.Fatalf("caller %d got %+v (answered %t), want %s", i, r, ok, value)
		}
	}
}

// answered returns the result if Get has returned. Call it after
// synctest.Wait.
func answered(ch <-chan result) (result, bool) {
	select {
	case r := <-ch:
		return r, true
	default:
		return result{}, false
	}
}

// mustGet calls Get and fails the test unless it returns want at once.
func mustGet(t *testing.T, c *tokenactor.Cache[string], want string) {
	t.Helper()
	got, err := c.Get(context.Background())
	if err != nil || got != want {
		t.Fatalf("Get() = %q, %v; want %q, nil", got, err, want)
	}
}

// errUpstream is a refresher failure the tests look for with errors.As.
type errUpstream struct{ code string }

func (e *errUpstream) Error() string { return "upstream refused: " + e.code }

// retryAfterError asks for a delay, as an HTTP 429 answer would.
type retryAfterError struct{ d time.Duration }

func (e retryAfterError) Error() string             { return "slow down" }
func (e retryAfterError) RetryAfter() time.Duration { return e.d }

// at is shorthand for an instant on the fake clock.
func at(d time.Duration) time.Time { return fakeclock.At(d) }

func fmtErr(format string, args ...any) error { return fmt.Errorf(format, args...) }

func fmtS(format string, args ...any) string { return fmt.Sprintf(format, args...) }
