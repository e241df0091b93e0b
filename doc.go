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
// ExpiresAt minus the refresh window (90 s by default) and usable until
// ExpiresAt. Between the two, callers get the current value at once while
// one background refresh runs; past ExpiresAt, callers wait for the refresh.
// At most one Authenticate or Refresh call is in flight at any time, its
// outcome (value or error) goes to every caller waiting for it, and after a
// failure the next attempt waits for an exponential backoff, so a failing
// server sees a trickle of attempts, not one per Get.
//
// # The actor
//
// One loop goroutine owns the cache's state: the entry, the call in flight,
// the callers waiting, the backoff. Callers talk to it only through the
// message types of messages.go, posted to its mailbox (package actor); each
// request carries its own reply channel. Refresher calls run in a worker
// goroutine that reports back with a message. The supervisor (supervisor.go)
// recovers panics, restarts the loop within a limit, and makes Close wait
// for every goroutine. The loop runs only while there is work, so an idle
// cache holds no goroutine.
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
//     every recheck interval (30 s by default, [WithRecheckInterval]): a
//     wall-clock step or a suspended machine is noticed within it.
//   - Invalidate and Close clear the pointer before they return.
package tokenactor
