package store

import (
	"context"
	"errors"
	"time"
)

// A Store keeps records shared by the replicas of a service, and leases that
// let one replica at a time renew a record. Package redisstore implements it
// on Redis; any store with atomic set-if-absent and compare-and-delete can,
// and one with compare-and-extend as well should also be an [Extender].
//
// Keys are the logical names given to [Wrap]; a Store derives its own key
// names from them (and documents them). Implementations must be safe for
// concurrent use and should return soon after ctx ends. A call that panics
// counts as a call that failed (the panic's value is not reported).
type Store interface {
	// Load returns the record saved under key. It returns an error wrapping
	// ErrNotFound if there is none (never saved, expired or deleted).
	Load(ctx context.Context, key string) ([]byte, error)
	// Save stores record under key, replacing any other, for ttl (positive);
	// the store forgets it afterwards.
	Save(ctx context.Context, key string, record []byte, ttl time.Duration) error
	// Acquire takes the lease named key for owner, for ttl (positive), if no
	// one holds it. It returns an error wrapping ErrLeaseHeld if another
	// owner holds it; a store that is an [Extender] then also cuts that
	// lease to end within ttl if it had longer left (see Extender).
	Acquire(ctx context.Context, key, owner string, ttl time.Duration) error
	// Delete removes the record under key if it still is record (byte for
	// byte), and does nothing otherwise: another replica may have replaced
	// it since it was loaded.
	Delete(ctx context.Context, key string, record []byte) error
	// Release gives up the lease named key if owner still holds it, and does
	// nothing otherwise (the lease expired, and maybe someone else took it).
	Release(ctx context.Context, key, owner string) error
}

// A Watcher is a [Store] that tells the replicas at once when a record is
// saved. A [Shared] over a Watcher adopts the record another replica saves
// as soon as it arrives, instead of at its next look in the store; it keeps
// looking at growing intervals as well, so a Watcher may lose a message
// (a dropped connection, say) without harm.
type Watcher interface {
	Store
	// Watch starts delivering the records saved under key, by this replica
	// or another, to the returned channel, and returns once it does (or
	// with ctx's error, or the store's); a store still connecting may
	// return a little before, since polling covers the gap. The channel
	// has a buffer of one: a record that finds it full replaces the one
	// waiting there. It is never closed. Call stop once to stop the
	// delivery; the records delivered must not be modified.
	Watch(ctx context.Context, key string) (records <-chan []byte, stop func(), err error)
}

// An Extender is a [Store] whose leases can be kept alive. A [Shared] over an
// Extender holds its lease for as long as its inner refresher runs and its
// context lasts (see [WithLease]): it extends the lease every third of its
// time to live, so a live holder never loses it to a sibling that would
// refresh alongside (and replay a refresh token the holder is rotating),
// while a holder that dies frees it one time to live after its last
// extension. Over a Store that is not an Extender, a lease lasts its time to
// live and no longer.
//
// Since every live holder extends its lease well before it ends, a lease
// with more time left than the Acquire asking for it would set was left by
// something else (a crashed replica configured with a far longer lease, a
// manual write): Acquire cuts it to ttl, so it frees within one lease time
// to live instead of making every replica wait it out. Replicas that share a
// key may thus differ in lease time to live by less than a factor of three.
type Extender interface {
	Store
	// Extend makes the lease named key end ttl (positive) from now if owner
	// holds it, in one atomic step. It returns an error wrapping
	// ErrLeaseLost, and changes nothing, if owner does not hold it: the
	// lease expired, was released, or another owner took it.
	Extend(ctx context.Context, key, owner string, ttl time.Duration) error
}

var (
	// ErrNotFound is wrapped by Store.Load when there is no record.
	ErrNotFound = errors.New("store: not found")
	// ErrLeaseHeld is wrapped by Store.Acquire when another owner holds the
	// lease.
	ErrLeaseHeld = errors.New("store: lease held by another owner")
	// ErrLeaseLost is wrapped by Extender.Extend when the owner no longer
	// holds the lease.
	ErrLeaseLost = errors.New("store: lease lost")
	// ErrCorrupt reports a stored record that cannot be read: malformed,
	// truncated, too large, saved or sealed under another key, not sealed while
	// encryption is on, or (wrapped by Store.Load) a value the store holds
	// under the record's name that is not a record at all. It never says
	// more, so no content leaks into logs. A Shared replaces a corrupt
	// record at its next refresh.
	ErrCorrupt = errors.New("store: corrupt record")
)
