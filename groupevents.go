package tokenactor

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/tokenactor/tokenactor/actor"
)

// A GroupEvent is something a [Group] reports through the hook set with
// [WithGroupEventHook]. The set is closed: it is one of [CacheEvicted] and
// [FactoryFailed], each a plain value, never changed after it is sent, so
// safe for concurrent use; the zero value of each describes nothing that
// happened.
//
// An event holds the key of its cache, as an any holding the Group's key
// type, so the hook can tell which tenant it was. A key may be a secret (a
// subject token that a token exchange is keyed by, a configuration holding
// a client secret), so printing an event never shows it: String, every fmt
// verb, log/slog and JSON describe the event without its key. Print the key
// yourself where you know it is safe.
type GroupEvent interface {
	groupEvent()
	fmt.Stringer
}

// CacheEvicted reports that the group evicted the cache of Key: it left the
// group and was closed, for the reason given. The next Get of Key makes a
// new cache. The caches that [Group.Close] closes are not evictions and are
// not reported.
type CacheEvicted struct {
	// Key is the cache's key, of the Group's key type.
	Key any
	// Reason says which policy evicted the cache.
	Reason EvictionReason
}

// FactoryFailed reports that the Group's factory did not make a cache for
// Key: it returned an error or a nil cache, panicked, or called
// runtime.Goexit. Err is the error the Gets waiting for the cache
// returned; a panic's is a *PanicError (errors.As finds it). The next Get
// of Key calls the factory again.
type FactoryFailed struct {
	// Key is the key the factory was called for, of the Group's key type.
	Key any
	// Err is the error the Gets waiting for the cache returned.
	Err error
}

// An EvictionReason says which policy evicted a cache. The zero
// EvictionReason is not used. An EvictionReason is a plain value.
type EvictionReason int

const (
	// EvictedIdle: no Get used the cache for the period set with
	// [WithIdleEviction].
	EvictedIdle EvictionReason = iota + 1
	// EvictedMaxCaches: the group held more caches than [WithMaxCaches]
	// allows, and this one was the least recently used of those sampled.
	EvictedMaxCaches
)

// String returns "idle" or "max caches".
func (r EvictionReason) String() string {
	switch r {
	case EvictedIdle:
		return "idle"
	case EvictedMaxCaches:
		return "max caches"
	}
	return fmt.Sprintf("EvictionReason(%d)", int(r))
}

func (CacheEvicted) groupEvent()  {}
func (FactoryFailed) groupEvent() {}

// String describes the event, without the key.
func (e CacheEvicted) String() string {
	return fmt.Sprintf("group: cache evicted (%v)", e.Reason)
}

// String describes the event and its error, without the key.
func (e FactoryFailed) String() string {
	return fmt.Sprintf("group: no cache made: %v", e.Err)
}

// Format writes what String does, whatever the verb, so no verb shows the
// key.
func (e CacheEvicted) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, e.String()) }

// GoString returns what String does, so %#v does not show the key.
func (e CacheEvicted) GoString() string { return e.String() }

// LogValue logs the reason, without the key.
func (e CacheEvicted) LogValue() slog.Value {
	return slog.GroupValue(slog.String("event", "cache evicted"), slog.String("reason", e.Reason.String()))
}

// MarshalJSON encodes the reason, without the key.
func (e CacheEvicted) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Event  string `json:"event"`
		Reason string `json:"reason"`
	}{"cache evicted", e.Reason.String()})
}

// Format writes what String does, whatever the verb, so no verb shows the
// key.
func (e FactoryFailed) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, e.String()) }

// GoString returns what String does, so %#v does not show the key.
func (e FactoryFailed) GoString() string { return e.String() }

// LogValue logs the error, without the key.
func (e FactoryFailed) LogValue() slog.Value {
	return slog.GroupValue(slog.String("event", "no cache made"), slog.String("error", errText(e.Err)))
}

// MarshalJSON encodes the error's text, without the key.
func (e FactoryFailed) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Event string `json:"event"`
		Error string `json:"error"`
	}{"no cache made", errText(e.Err)})
}

// errText is err's text, or "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// groupEvents delivers a group's events to its hook, in a goroutine that
// runs only while events are pending. Each call of the hook is isolated
// (actor.Isolate): a panic or Goexit in it ends that call only.
type groupEvents struct {
	hook func(GroupEvent)
	mb   actor.Mailbox[GroupEvent]
	wg   sync.WaitGroup // the delivering goroutine; Close waits on it
}

func newGroupEvents(hook func(GroupEvent)) *groupEvents {
	e := &groupEvents{hook: hook}
	e.mb.Init(e)
	return e
}

// StartLoop implements actor.Starter. It runs with the mailbox's lock held,
// so the Add happens before the post that caused it returns.
func (e *groupEvents) StartLoop() {
	e.wg.Add(1)
	go e.run()
}

// run delivers the pending events, then exits.
func (e *groupEvents) run() {
	defer e.wg.Done()
	for {
		ev, ok := e.mb.Next()
		if !ok {
			if e.mb.Exit() {
				return
			}
			continue // an event came after Next
		}
		_ = actor.Isolate(func() { e.hook(ev) })
	}
}

// post queues ev for the hook. It never blocks on the hook.
func (e *groupEvents) post(ev GroupEvent) {
	_ = e.mb.Post(ev) // the mailbox is never closed
}

// wait returns once every event posted so far has been delivered. No event
// may be posted meanwhile.
func (e *groupEvents) wait() {
	e.wg.Wait()
}
