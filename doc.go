// Package tokenactor keeps access tokens, and any other value that expires,
// fresh for high-concurrency Go services.
//
// A [Cache] holds one value obtained from a [Refresher]. Every caller calls
// [Cache.Get]; the cache decides, by the refresh model below, whether to
// serve the cached value, refresh it in the background, or have callers wait
// for the one refresh in flight.
//
// # The refresh model
//
// A value has two thresholds. It is expired (due for a refresh) from
// ExpiresAt minus the refresh window (90 s by default), but never in the
// first half of its lifetime, and usable until ExpiresAt (an entry's
// RefreshAt, or [WithRefreshJitter], moves the first threshold). Between the two, callers get the current value at once while
// one background refresh runs; past ExpiresAt, callers wait for the refresh.
// At most one Refresher call is in flight at any time, its
// outcome (value or error) goes to every caller waiting for it, and after a
// failure the next attempt waits for an exponential backoff, so a failing
// server sees a trickle of attempts, not one per Get.
//
// # The actor
//
// One loop goroutine owns the cache's state: the entry, the backoff, the
// refresh job in flight and the callers waiting for it. No lock guards that
// state; only the loop goroutine touches it. The loop shares three pointers
// with callers, written only by the loop and read atomically by anyone: the
// entry a fresh Get may be served, the entry it holds, which
// [Cache.InvalidateIf] compares, and the wake of the refresh callers wait
// for. Callers talk to the loop only through the message types of
// messages.go, posted to its mailbox (package actor); each request carries
// its own channel, which the loop closes once it has set the answer. Callers that wait for a refresh all wait on one
// channel, its wake's, which the loop closes once it has set the outcome; a
// Get that finds a wake published waits on it without asking the loop. The
// mailbox has a lock of its own, which guards only its queue and whether a
// loop goroutine is running, so that a loop that exits when idle never
// strands a message.
//
// Each Refresher call runs in a worker goroutine that reports back with a
// message; the event hook runs isolated, in a goroutine the loop waits for.
// So a panic or runtime.Goexit in either is contained: callers get an error
// (a *PanicError for a Refresher panic), the cache keeps working, and Close
// still returns. A panic in the loop itself is a bug in the engine, and
// crashes the program (see loop.go). The loop goroutine runs only while
// there is work, so an idle cache holds no goroutine.
//
// # The fast path
//
// The loop publishes, through an atomic pointer, the entry a Get may be
// served right now without asking it, or nil. A fresh Get is one atomic load:
// no lock, no allocation, no clock read. The loop keeps the pointer honest
// with one timer, armed for the next moment its decision could change (the
// value turns stale, a backoff ends, or the value enters its last second),
// at which it clears the pointer or publishes anew.
//
// What this guarantees:
//
//   - The fast path never serves a value in its last second before
//     ExpiresAt: those callers ask the loop, which decides from the clock.
//     Serving an unusable value would take a timer delivered more than a
//     second late.
//   - A stale value is withdrawn when its timer fires, so the first Get
//     after that starts the background refresh; a Get racing the timer at
//     that very instant may still be served the (usable) value.
//   - Timers measure elapsed time, so the loop re-reads the clock at least
//     every 30 s while it publishes a value: a wall-clock step or a
//     suspended machine is noticed within 30 s.
//   - Invalidate and Close clear the pointer before they return.
//
// # The other packages
//
// Package strategy obtains OAuth 2.0 tokens (client credentials, refresh
// sessions, device code, discovery); httpauth sends them on HTTP requests;
// oauth2adapt bridges golang.org/x/oauth2; store and store/redisstore share
// one token across a fleet; oauthtest is a local authorization server for
// tests; fakeclock is a clock for tests; the otel module reports metrics and
// traces. The command tokenactor (cmd/tokenactor) runs a demo, a local
// server, and login, token, status and logout.
package tokenactor
