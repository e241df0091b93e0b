package tokenactor

import (
	"context"

	"github.com/tokenactor/tokenactor/actor"
)

// A Cache keeps one value fresh: it obtains it with a [Refresher], serves it
// to any number of concurrent callers, and renews it before it expires, with
// at most one Refresher call in flight at any time.
//
// A Cache is an actor. One loop goroutine owns its state and answers requests
// sent to its mailbox; the loop runs only while there is work, so an idle
// Cache holds no goroutine. A fresh value is served without the loop: Get
// reads a snapshot the loop publishes atomically (see doc.go, "The fast
// path").
//
// Create a Cache with [New]; the zero value is not usable. A Cache is safe for
// concurrent use. Call [Cache.Close] when done with it.
type Cache[T any] struct {
	l loop[T]
}

// New returns a Cache that obtains its value from r. It does not call r:
// the first Get does. Invalid options (a nil Option among them) panic with
// a message naming the option; so does a nil r, or a nil RefresherFunc.
//
// Defaults: the system clock, a 90 s refresh window without jitter, a 30 s
// refresh timeout, backoff from 1 s doubling to 60 s with ±20% jitter, and
// no event hook. See the With functions.
func New[T any](r Refresher[T], opts ...Option) *Cache[T] {
	if f, ok := r.(RefresherFunc[T]); r == nil || ok && f == nil {
		invalid("New: nil Refresher")
	}
	c := &Cache[T]{}
	c.l.init(r, configure(opts))
	return c
}

// Get returns the value.
//
// A fresh value is returned at once, without blocking and without reading
// the clock or ctx. Otherwise Get follows the refresh model: it returns a
// still-usable value at once (starting a background refresh if none is in
// flight), or waits for the one refresh in flight and returns its result.
//
// Get returns when it has a value or an error, or when ctx ends, whichever
// comes first. Errors: ctx's error if it ended before Get had to ask the
// loop, or while waiting (the refresh carries on for the others); an error matching ErrTokenExpired, wrapping the
// refresher's error, if the value is unusable and could not be renewed; the
// refresher's error wrapped, if there never was a value (ErrNotAuthenticated
// still matches with errors.Is); a *PanicError (via errors.As) if the
// refresher panicked; ErrClosed after Close.
func (c *Cache[T]) Get(ctx context.Context) (T, error) {
	if e := c.l.fast.Load(); e != nil {
		return e.Value, nil
	}
	return c.get(ctx)
}

// get is the slow path of Get: wait for the refresh callers already wait
// for, if any, else ask the loop.
//
// A parked caller resumes on a stack that has gone cold while it waited,
// and each frame it returns through costs a cache miss or two: so the
// frames between Get and the wait are kept few and small, and get keeps
// nothing live across its calls.
func (c *Cache[T]) get(ctx context.Context) (T, error) {
	if err := ctx.Err(); err != nil {
		var zero T
		return zero, err
	}
	if w := c.l.parked.Load(); w != nil {
		return w.wait(ctx)
	}
	return c.ask(ctx)
}

// ask posts a getRequest to the loop and returns its answer, or, if the
// loop parks the request, the outcome of the refresh it waited for.
func (c *Cache[T]) ask(ctx context.Context) (T, error) {
	var zero T
	req := &getRequest[T]{caller: ctx, answered: make(chan struct{})}
	if err := c.l.mb.Post(req); err != nil {
		return zero, err
	}
	if _, err := actor.Await(ctx, req.answered); err != nil {
		return zero, err
	}
	if r := req.reply; r.wake == nil {
		return r.value, r.err
	}
	return req.reply.wake.wait(ctx)
}

// Invalidate reports that the current value was rejected (a server answered
// 401 with it). When Invalidate returns, no Get is served that value any
// more; the next Get waits for a refresh. Any number of Invalidate calls
// before that refresh cause one refresh. Backoff still applies: after a
// failed attempt, callers get the last error until the next attempt is due.
//
// A caller that knows which value was rejected should use
// [Cache.InvalidateIf]: a rejection that arrives after the value was
// replaced then costs nothing.
//
// Invalidate returns promptly: the loop never waits on I/O. After Close it
// only waits for Close to finish.
func (c *Cache[T]) Invalidate() { c.invalidate(nil) }

// InvalidateIf is [Cache.Invalidate] for one value: it invalidates the
// value the cache holds only if rejected reports true for it, and only if
// it is still the one held when the cache handles the request. So N
// concurrent rejections of one token cause one refresh, and a rejection of
// a token already replaced causes none.
//
// rejected runs in the caller's goroutine, at most once, with nothing of
// the cache held, so it may call the cache; compare the value with the one
// that was rejected (for a [ServiceToken], its AccessToken). If it panics
// or calls runtime.Goexit, that reaches the caller, and nothing is
// invalidated.
func (c *Cache[T]) InvalidateIf(rejected func(current T) bool) {
	e := c.l.held.Load()
	if e == nil || !rejected(e.Value) {
		return
	}
	c.invalidate(e)
}

// Reset reports that the credentials behind the value changed out of band
// (a user logged in again, a saved session was replaced): the value held,
// if any, is not served again, failures and their backoff are forgotten,
// and the next Get makes a fresh attempt at once. A Refresher call in
// flight when Reset is handled started with the old credentials: its
// outcome is discarded, and callers waiting for it wait for a fresh call.
//
// Reset returns once the cache has handled it, promptly (see
// [Cache.Invalidate]). Unlike Invalidate, it bypasses backoff, so call it
// for a change of credentials, not for a rejected value.
func (c *Cache[T]) Reset() { c.send(invalidateRequest[T]{reset: true, done: make(chan struct{})}) }

// invalidate asks the loop to mark e (nil: whatever it holds) as rejected
// and waits until it has.
func (c *Cache[T]) invalidate(e *Entry[T]) {
	c.send(invalidateRequest[T]{entry: e, done: make(chan struct{})})
}

// send posts an invalidation and waits until the loop has handled it.
func (c *Cache[T]) send(req invalidateRequest[T]) {
	if c.l.mb.Post(req) != nil {
		// Closed: wait until the loop has withdrawn the value, so the
		// promise above holds for a Close racing this call too.
		c.l.wg.Wait()
		return
	}
	<-req.done
}

// Close stops the cache: later calls to Get return ErrClosed, the refresh in
// flight (if any) has its context cancelled, and callers waiting for it get
// ErrClosed. Close returns when every goroutine the cache started has
// exited, which includes waiting for the Refresher and the event hook to
// return: so neither may call Close, which would wait for itself. Close is
// idempotent and always returns nil; it returns an error only so that a
// Cache is an io.Closer.
func (c *Cache[T]) Close() error {
	c.l.mb.Close(ErrClosed, closeRequest{})
	c.l.wg.Wait()
	return nil
}
