package redisstore_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenactor/tokenactor/internal/redistest"
)

// TestFleetRedisFaults kills Redis mid-run, restarts it empty, then flushes
// it, while 8 replicas keep asking for tokens: every Get returns a valid
// token throughout, the replicas report their local fallbacks, and once
// Redis is back the fleet returns to one token request per expiry.
func TestFleetRedisFaults(t *testing.T) {
	srv := redistest.Start(t)
	a := newAuthServer(t)
	ev := newEventCounter()
	reps := fleet(t, 8, srv.Addr, a, fleetConfig{shared: true, events: ev})
	ctx, cancel := context.WithTimeout(context.Background(), runLimit)
	defer cancel()
	d := startDrive(ctx, reps, a.validToken)
	defer d.stop()

	st := waitGens(t, ctx, a, 2)
	srv.Stop()
	st = waitGens(t, ctx, a, st.Gens+2)
	if ev.get("LocalFallback/store unavailable") == 0 {
		t.Errorf("Redis down for two expiries but no fallback reported; events: %v", ev)
	}
	srv.Restart()
	st = waitGens(t, ctx, a, st.Gens+2)
	if err := newClient(t, srv.Addr).FlushAll(ctx).Err(); err != nil {
		t.Fatalf("FLUSHALL: %v", err)
	}
	// A refresh in flight at the flush may publish into the void; from the
	// next expiry on, one request per expiry again.
	settled := waitGens(t, ctx, a, st.Gens+1)
	end := waitGens(t, ctx, a, settled.Gens+2)
	d.stop()
	d.check(t)
	if end.Dups != settled.Dups {
		t.Errorf("after Redis came back: %d duplicate token requests in %d expiries; want none; events: %v", end.Dups-settled.Dups, end.Gens-settled.Gens, ev)
	}
	if ev.get("Failed/load") == 0 {
		t.Errorf("no failed load reported while Redis was down; events: %v", ev)
	}
}

// TestFleetLeaseHolderStalls makes the replica holding the lease stall for
// more than three lease TTLs before its token request (a slow token
// server), within its lease wait and refresh timeout: it keeps its lease
// alive through the stall, so no other replica refreshes alongside (with
// rotating refresh tokens, a replay), every Get keeps returning valid
// tokens, and the stall costs no extra token request. Before leases were
// extended, another replica took the expired lease and refreshed.
func TestFleetLeaseHolderStalls(t *testing.T) {
	const leaseTTL, stallFor = 300 * time.Millisecond, 1000 * time.Millisecond
	srv := redistest.Start(t)
	a := newAuthServer(t)
	var armed, stalls atomic.Int32
	var gensBefore, gensAfter atomic.Int64
	before := func(ctx context.Context) error {
		if !armed.CompareAndSwap(1, 0) {
			return nil
		}
		stalls.Add(1)
		gensBefore.Store(int64(a.stats().Gens))
		tm := time.NewTimer(stallFor) // the fault: a holder that hangs
		defer tm.Stop()
		select {
		case <-tm.C:
		case <-ctx.Done():
			return ctx.Err()
		}
		gensAfter.Store(int64(a.stats().Gens))
		return nil
	}
	reps := fleet(t, 8, srv.Addr, a, fleetConfig{shared: true, leaseTTL: leaseTTL, leaseWait: 1500 * time.Millisecond, before: before})
	ctx, cancel := context.WithTimeout(context.Background(), runLimit)
	defer cancel()
	d := startDrive(ctx, reps, a.validToken)
	defer d.stop()

	st := waitGens(t, ctx, a, 2)
	armed.Store(1)
	end := waitGens(t, ctx, a, st.Gens+3)
	d.stop()
	d.check(t)
	if stalls.Load() != 1 {
		t.Fatalf("the stall fault ran %d times, want 1", stalls.Load())
	}
	if gensAfter.Load() != gensBefore.Load() {
		t.Errorf("another replica refreshed while the lease holder stalled (generations %d -> %d)", gensBefore.Load(), gensAfter.Load())
	}
	if n := end.Dups - st.Dups; n != 0 {
		t.Errorf("%d duplicate token requests around the stall, want none", n)
	}
}

// TestFleetCorruptRecord overwrites the record with garbage: the replicas
// report it, treat it as missing, and replace it with one token request.
func TestFleetCorruptRecord(t *testing.T) {
	srv := redistest.Start(t)
	a := newAuthServer(t)
	ev := newEventCounter()
	reps := fleet(t, 8, srv.Addr, a, fleetConfig{shared: true, encrypt: true, events: ev})
	ctx, cancel := context.WithTimeout(context.Background(), runLimit)
	defer cancel()
	d := startDrive(ctx, reps, a.validToken)
	defer d.stop()

	st := waitGens(t, ctx, a, 2)
	rdb := newClient(t, srv.Addr)
	for _, garbage := range []string{"not a record", "\x01short", `{"v":1,"id":"x","iat":1,"val":"dG9rLTE="}`} {
		a.waitMidCycle(ctx)
		if err := rdb.Set(ctx, "tokenactor:{"+fleetKey+"}:token", garbage, 0).Err(); err != nil {
			t.Fatal(err)
		}
		st = waitGens(t, ctx, a, st.Gens+1)
	}
	end := waitGens(t, ctx, a, st.Gens+1)
	d.stop()
	d.check(t)
	if ev.get("Failed/decode") == 0 {
		t.Errorf("corrupt records were not reported; events: %v", ev)
	}
	if end.Dups != 0 {
		t.Errorf("%d duplicate token requests; a corrupt record should cost one request per expiry like a missing one; events: %v", end.Dups, ev)
	}
}

// TestFleetRedisSlow pauses every Redis client for longer than the store
// timeout, across a refresh: the replicas give up on Redis, refresh on
// their own, and every Get still returns a valid token.
func TestFleetRedisSlow(t *testing.T) {
	srv := redistest.Start(t)
	a := newAuthServer(t)
	ev := newEventCounter()
	reps := fleet(t, 8, srv.Addr, a, fleetConfig{shared: true, events: ev})
	ctx, cancel := context.WithTimeout(context.Background(), runLimit)
	defer cancel()
	d := startDrive(ctx, reps, a.validToken)
	defer d.stop()

	st := waitGens(t, ctx, a, 2)
	// CLIENT PAUSE holds every client's commands (this one's returns at
	// once) for 2.5 s: more than two refresh cycles.
	if err := newClient(t, srv.Addr).Do(ctx, "CLIENT", "PAUSE", 2500, "ALL").Err(); err != nil {
		t.Fatalf("CLIENT PAUSE: %v", err)
	}
	waitGens(t, ctx, a, st.Gens+4)
	d.stop()
	d.check(t)
	if ev.get("LocalFallback/store unavailable") == 0 {
		t.Errorf("Redis paused across refreshes but no fallback reported; events: %v", ev)
	}
}
