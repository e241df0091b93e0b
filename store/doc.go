// Package store shares one token among the replicas of a service through a
// [Store], so that per expiry one replica asks the authorization server and
// the others reuse what it obtained.
//
// [Wrap] turns any [tokenactor.Refresher] into one that looks in the store
// first, coordinates the replicas with a lease, and falls back to the inner
// refresher on its own when the store fails. Put the result into
// [tokenactor.New] as usual; the engine does not know the store exists.
//
// # How a replica obtains a value
//
// When the cache calls Refresh (for its first value, or to replace one that
// turned stale or was rejected), the shared refresher:
//
//  1. loads the record under its key; if it is usable and is not the value
//     the cache already holds, returns it (event [Adopted]);
//  2. otherwise takes the lease (a short-lived lock with a random owner);
//     under it, loads again (a sibling may have just published), and if
//     still nothing usable, calls the inner refresher, saves the result with
//     a time to live no longer than its lifetime, releases the lease and
//     returns it (event [Published]). Over an [Extender] the lease is kept
//     alive for as long as the inner refresher runs (see [WithLease]);
//  3. if another replica holds the lease, polls the store at short, growing
//     intervals (or hears of a record saved, over a [Watcher]) until a
//     usable record appears, or the lease is free again
//     (then back to 2), or the wait times out;
//  4. if the store fails, or the wait times out (the lease holder is alive
//     but stalls; one that died frees the lease within its time to live),
//     calls the inner refresher itself (event [LocalFallback]).
//     A broken or slow store therefore never makes the cache fail while
//     the authorization server answers; it only costs extra token requests.
//
// # One refresh at a time
//
// With rotating refresh tokens (RFC 6749 §10.4), two replicas renewing the
// same value at once replay a refresh token, and a server that detects
// reuse revokes the whole grant. So a lease holder over an [Extender]
// keeps its lease while its refresh runs, however long it takes, and a
// holder that lost it anyway (its store failed to extend it for a whole
// lease, or its refresh outlived its context) saves its value only if it
// can take the lease back and the store still holds what it renewed, so it
// never overwrites a newer value. A waiting replica gives up on a live
// holder only after the lease wait, which by default outlasts the cache's
// refresh timeout. Falling back on a failed store still refreshes without
// the lease: the store cannot coordinate then.
//
// # Freshness
//
// A record is adoptable while it is usable: before its ExpiresAt, and before
// its RefreshAt if the inner refresher set one. When an adopted value turns
// stale is the cache's own decision, by its refresh window (see
// [tokenactor.WithRefreshWindow]), so the store needs no window of its own.
// A replica never adopts the record it already holds: the cache asks for a
// refresh when that value turned stale or a server rejected it, and the
// replica holding the lease then deletes that record before renewing it, so
// no other replica adopts a rejected value in the meantime.
//
// # Hearing a refresh
//
// A replica waiting for the lease holder looks in the store at short,
// growing intervals. If the store is a [Watcher] (redisstore is one), it
// also hears each record as it is saved and adopts it at once; polling then
// only covers a lost message.
//
// # Security
//
// Records hold secrets. [WithEncryption] seals each record with AES-GCM
// under a key the user supplies, bound to its store key, and then refuses
// records that are not sealed. Store keys are chosen by the user and must
// not contain a secret: name the token (a client ID and an audience), not
// the credential. Errors and events never carry a record's content.
package store
