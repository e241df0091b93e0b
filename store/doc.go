// Package store lets the replicas of a service share one token: wrap the
// refresher each replica's cache uses with [Wrap], under the same key and a
// shared [Store], and per expiry one replica asks the authorization server
// while the others reuse what it obtained. A short-lived instance (a
// serverless function, a job) starting into a running fleet gets the token
// with no request of its own.
//
// [Wrap] turns any [tokenactor.Refresher] into one that looks in the store
// first, coordinates the replicas with a lease, and falls back to the inner
// refresher on its own when the store fails. Put the result into
// [tokenactor.New] as usual; the engine does not know the store exists.
// The refreshers to wrap come from strategy.AccessKeyConfig.Refresher
// (client credentials), oauth2adapt.Refresher (any golang.org/x/oauth2
// token source), or your own. Package redisstore is the Store on Redis;
// [NewMemory] shares a value between the caches of one process. A
// Cache[tokenactor.ServiceToken] is a tokenactor.AuthStrategy, so the cache
// goes straight into httpauth.NewClient.
//
// # How a replica obtains a value
//
// When the cache asks for a value (the first Get, or once its value turned
// stale), the shared refresher:
//
//  1. loads the record under its key; if it is fresh and is not the value the
//     cache already holds, returns it (event [Adopted]);
//  2. otherwise takes the lease (a short-lived lock with a random owner);
//     under it, loads again (a sibling may have just published), and if
//     still nothing fresh, calls the inner refresher, saves the result with
//     a time to live no longer than its lifetime, releases the lease and
//     returns it (event [Published]);
//  3. if another replica holds the lease, polls the store at short, growing
//     intervals until a fresh record appears, or the lease is free again
//     (then back to 2), or the wait times out;
//  4. if the store fails, or the wait times out (the lease holder died or
//     stalls), calls the inner refresher itself (event [LocalFallback]).
//     A broken or slow store therefore never makes the cache fail while
//     the authorization server answers; it only costs extra token requests.
//
// # Freshness
//
// A record is fresh until its ExpiresAt minus the refresh window, computed
// the way the engine does (a value whose lifetime is not longer than the
// window gets half its lifetime as its window). The window is set with
// [WithRefreshWindow] and must equal the cache's
// [tokenactor.WithRefreshWindow]: every replica then agrees on the instant a
// token turns stale, which is what lets exactly one of them refresh it.
// Both default to [tokenactor.DefaultRefreshWindow]. Replicas on several
// machines read their own clocks: one whose clock runs ahead refreshes a
// little early and the others adopt its value, so clocks need only agree
// within a small part of the window.
//
// # Security
//
// Records hold secrets. [WithEncryption] seals each record with AES-GCM
// under a key the user supplies, bound to its store key, and then refuses
// records that are not sealed. Store keys are chosen by the user and must
// not contain a secret: name the token (a client ID and an audience), not
// the credential. Errors and events never carry a record's content.
package store
