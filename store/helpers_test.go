package store_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/store"
)

// stringCodec stores strings as they are.
var stringCodec = store.CodecFunc(
	func(s string) ([]byte, error) { return []byte(s), nil },
	func(b []byte) (string, error) { return string(b), nil },
)

// fakeInner is the inner refresher of the tests: it issues "v1", "v2", ...
// living life, and records its calls. If gate is set, each call first waits
// for a value from it; if delay is, each call first takes that long (a slow
// server). Either wait ends early if ctx ends.
type fakeInner struct {
	life  time.Duration
	final bool
	gate  chan struct{}
	delay time.Duration

	mu        sync.Mutex
	issued    int
	auths     int
	refreshes []string // the value each Refresh call renewed
}

func (f *fakeInner) Refresh(ctx context.Context, previous *tokenactor.Entry[string]) (tokenactor.Entry[string], error) {
	f.mu.Lock()
	if previous == nil {
		f.auths++
	} else {
		f.refreshes = append(f.refreshes, previous.Value)
	}
	f.mu.Unlock()
	return f.issue(ctx)
}

func (f *fakeInner) issue(ctx context.Context) (tokenactor.Entry[string], error) {
	if f.delay > 0 {
		t := time.NewTimer(f.delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return tokenactor.Entry[string]{}, ctx.Err()
		}
	}
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return tokenactor.Entry[string]{}, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.issued++
	return tokenactor.Entry[string]{
		Value:     fmt.Sprintf("v%d", f.issued),
		ExpiresAt: time.Now().Add(f.life),
		Final:     f.final,
	}, nil
}

// calls returns how many tokens it issued.
func (f *fakeInner) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.issued
}

// events records the events of one Shared.
type events struct {
	mu  sync.Mutex
	got []store.Event
}

func (e *events) add(ev store.Event) {
	e.mu.Lock()
	e.got = append(e.got, ev)
	e.mu.Unlock()
}

// kinds returns the events' type names, with the fallback reason or the
// store op.
func (e *events) kinds() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var ks []string
	for _, ev := range e.got {
		k := reflect.TypeOf(ev).Name()
		switch ev := ev.(type) {
		case store.LocalFallback:
			k += "/" + ev.Reason.String()
		case store.Failed:
			k += "/" + string(ev.Op)
		}
		ks = append(ks, k)
	}
	return ks
}

// flaky is a store that fails every call while down is set.
type flaky struct {
	store.Store
	mu   sync.Mutex
	down bool
}

var errDown = errors.New("connection refused")

func (f *flaky) setDown(d bool) {
	f.mu.Lock()
	f.down = d
	f.mu.Unlock()
}

func (f *flaky) err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return errDown
	}
	return nil
}

func (f *flaky) Load(ctx context.Context, key string) ([]byte, error) {
	if err := f.err(); err != nil {
		return nil, err
	}
	return f.Store.Load(ctx, key)
}

func (f *flaky) Save(ctx context.Context, key string, b []byte, ttl time.Duration) error {
	if err := f.err(); err != nil {
		return err
	}
	return f.Store.Save(ctx, key, b, ttl)
}

func (f *flaky) Acquire(ctx context.Context, key, owner string, ttl time.Duration) error {
	if err := f.err(); err != nil {
		return err
	}
	return f.Store.Acquire(ctx, key, owner, ttl)
}

func (f *flaky) Delete(ctx context.Context, key string, b []byte) error {
	if err := f.err(); err != nil {
		return err
	}
	return f.Store.Delete(ctx, key, b)
}

func (f *flaky) Release(ctx context.Context, key, owner string) error {
	if err := f.err(); err != nil {
		return err
	}
	return f.Store.Release(ctx, key, owner)
}
