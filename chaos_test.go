package tokenactor

// The chaos test drives one cache with thousands of callers and a refresher
// that misbehaves at random, inside a testing/synctest bubble, and checks the
// engine's promises on every call. It lives in package tokenactor only to
// recognise errExpiredEntry, the one outcome without an exported error.
//
// Run the short version with the other tests; the long one with
//
//	TOKENACTOR_CHAOS_LONG=1 go test -race -run TestChaos -v -timeout 0 .
//	go test -race -run TestChaos -v -timeout 0 . -chaos.long
//
// and replay a run with TOKENACTOR_CHAOS_SEED=<seed printed by the run>.

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
)

var chaosLong = flag.Bool("chaos.long", false, "run the long version of TestChaos (also TOKENACTOR_CHAOS_LONG=1)")

// chaosSize is how much a chaos run does.
type chaosSize struct {
	callers   int           // caller goroutines
	simulated time.Duration // fake time the callers run for
	meanPause time.Duration // mean pause between a caller's operations
	wall      time.Duration // real time after which the watchdog kills the run
}

var (
	chaosShort    = chaosSize{callers: 2000, simulated: 2 * time.Hour, meanPause: 20 * time.Minute, wall: 3 * time.Minute}
	chaosLongSize = chaosSize{callers: 5000, simulated: 7 * 24 * time.Hour, meanPause: 20 * time.Minute, wall: 2 * time.Hour}
)

const (
	chaosRefreshTimeout = 5 * time.Second
	chaosInvalidatePct  = 3 // share of operations that are Invalidate calls
)

// chaosValue is what the cache holds. It carries its own expiry so a caller
// can check, at the moment it gets the value, that it is still usable.
type chaosValue struct {
	id        uint64    // 1, 2, ... in the order the refresher made them
	expiresAt time.Time // zero: never
}

// errChaosFailure is the error of an injected plain failure.
var errChaosFailure = errors.New("chaos: injected failure")

// chaosRetryAfter is an injected failure asking for a delay, like an HTTP 429.
type chaosRetryAfter struct{ d time.Duration }

func (e *chaosRetryAfter) Error() string             { return "chaos: retry after " + e.d.String() }
func (e *chaosRetryAfter) RetryAfter() time.Duration { return e.d }

// chaosPanic is the value of an injected refresher panic.
type chaosPanic struct{ call uint64 }

// chaosFault is what one refresher call does.
type chaosFault int

const (
	faultNone       chaosFault = iota // a value at once
	faultSlow                         // a value after a delay shorter than the refresh timeout
	faultFail                         // an error
	faultRetryAfter                   // an error asking for a delay
	faultNotAuth                      // an error wrapping ErrNotAuthenticated
	faultPanic                        // a panic
	faultHang                         // wait for ctx to end (the refresh timeout, or Close)
	faultCount
)

var faultNames = [faultCount]string{"none", "slow", "fail", "retry-after", "not-authenticated", "panic", "hang"}

// faultWeights are the odds of each fault, in faultNone..faultHang order.
var faultWeights = [faultCount]int{50, 12, 10, 3, 3, 8, 8}

// chaosLifetime is how long a value handed out by the refresher lives.
type chaosLifetime int

const (
	lifeShort   chaosLifetime = iota // 1 s to 60 s, shorter than the refresh window
	lifeNormal                       // 1 min to 20 min
	lifeNano                         // 1 ns
	lifeExpired                      // already expired: now, or up to a minute ago
	lifeYears                        // ten years
	lifeForever                      // zero ExpiresAt
	lifetimeCount
)

var lifetimeNames = [lifetimeCount]string{"short", "normal", "1ns", "expired", "years", "forever"}

var lifetimeWeights = [lifetimeCount]int{35, 40, 8, 8, 3, 6}

// chaosMix returns a well-mixed hash of (seed, n) (SplitMix64).
func chaosMix(seed, n uint64) uint64 {
	z := seed + n*0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// chaosDuration returns a duration in [0, d).
func chaosDuration(rng *rand.Rand, d time.Duration) time.Duration {
	return time.Duration(rng.Int64N(int64(d)))
}

func chaosPick(rng *rand.Rand, weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := rng.IntN(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	panic("unreachable")
}

// chaosViolations collects broken invariants, by kind, with the first few
// examples of each.
type chaosViolations struct {
	mu       sync.Mutex
	count    int
	kinds    []string       // in order of first occurrence
	byKind   map[string]int // violations of each kind
	examples []string
}

func (v *chaosViolations) add(kind, format string, args ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.byKind == nil {
		v.byKind = make(map[string]int)
	}
	v.count++
	if v.byKind[kind] == 0 {
		v.kinds = append(v.kinds, kind)
	}
	v.byKind[kind]++
	if v.byKind[kind] <= 3 {
		v.examples = append(v.examples, kind+": "+fmt.Sprintf(format, args...))
	}
}

// summary returns the number of violations and, if any, a count per kind.
func (v *chaosViolations) summary() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.count == 0 {
		return "0"
	}
	parts := make([]string, len(v.kinds))
	for i, k := range v.kinds {
		parts[i] = fmt.Sprintf("%s %d", k, v.byKind[k])
	}
	return fmt.Sprintf("%d (%s)", v.count, strings.Join(parts, ", "))
}

// chaosRefresher misbehaves at random and checks, on each call, that it is
// the only call in flight, that it comes no earlier than the backoff policy
// allows, and that Refresh is given the entry the cache holds.
type chaosRefresher struct {
	seed        uint64
	bad         *chaosViolations
	inFlight    atomic.Int32
	maxInFlight atomic.Int32
	ids         atomic.Uint64 // last id handed out

	mu sync.Mutex // guards the fields below; held only for bookkeeping
	// calls counts the calls so far; the k-th call draws its fault from a
	// generator seeded with (seed, k).
	calls     uint64
	faults    [faultCount]int
	lifetimes [lifetimeCount]int
	installed *Entry[chaosValue] // the last value the cache accepted
	successes int

	prevEnd    time.Time     // when the last call returned
	prevFailed bool          // the last call failed, so the next one must wait
	streak     int           // consecutive failed calls
	retryAfter time.Duration // delay the last failure asked for
	// Backoff figures: calls that followed a failure, and the smallest ratio
	// of the wait to its bound, where the bound was the exponential policy
	// and where it was a Retry-After delay (met exactly when it dominates).
	afterFailure                int
	closestBackoff, closestHint float64
}

func (r *chaosRefresher) Refresh(ctx context.Context, previous *Entry[chaosValue]) (Entry[chaosValue], error) {
	if previous == nil {
		return r.call(ctx, OpAuthenticate, Entry[chaosValue]{})
	}
	return r.call(ctx, OpRefresh, *previous)
}

// backoffBound is the shortest wait the documented backoff policy allows
// after the streak-th consecutive failure: the default initial delay doubled
// per failure, capped at the default maximum, less the 20% jitter, or the
// delay the failure asked for if that is longer. One nanosecond is allowed
// for the rounding of the jitter.
func backoffBound(streak int, retryAfter time.Duration) time.Duration {
	d := defaults.backoff.initial
	for i := 1; i < streak && d < defaults.backoff.max; i++ {
		d *= 2
	}
	d = min(d, defaults.backoff.max)
	low := time.Duration(float64(d)*(1-backoffJitter)) - 1
	return max(low, min(retryAfter, maxRetryAfter))
}

func (r *chaosRefresher) call(ctx context.Context, op Op, current Entry[chaosValue]) (e Entry[chaosValue], err error) {
	n := r.inFlight.Add(1)
	chaosMaxInt32(&r.maxInFlight, n)
	if n > 1 {
		r.bad.add("concurrent refreshes", "%d refresher calls in flight at once", n)
	}
	defer r.inFlight.Add(-1)
	start := time.Now()
	k := r.begin(op, current, start)

	rng := rand.New(rand.NewPCG(r.seed, 1<<63|k))
	f := chaosFault(chaosPick(rng, faultWeights[:]))
	life := chaosLifetime(chaosPick(rng, lifetimeWeights[:]))
	var retryAfter time.Duration
	defer func() {
		// Runs after a panic too: a panic is a failed attempt.
		end := time.Now()
		ok := f != faultPanic && err == nil && (e.ExpiresAt.IsZero() || end.Before(e.ExpiresAt))
		r.end(k, f, life, e, ok, end, retryAfter)
	}()

	switch f {
	case faultSlow:
		t := time.NewTimer(chaosDuration(rng, chaosRefreshTimeout))
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return Entry[chaosValue]{}, ctx.Err()
		}
	case faultFail:
		return Entry[chaosValue]{}, errChaosFailure
	case faultRetryAfter:
		retryAfter = time.Duration(1+rng.IntN(120)) * time.Second
		return Entry[chaosValue]{}, &chaosRetryAfter{d: retryAfter}
	case faultNotAuth:
		return Entry[chaosValue]{}, fmt.Errorf("chaos: no credentials: %w", ErrNotAuthenticated)
	case faultPanic:
		panic(chaosPanic{call: k})
	case faultHang:
		<-ctx.Done()
		return Entry[chaosValue]{}, ctx.Err() // the engine adds ErrRefreshTimeout
	}
	now := time.Now()
	var at time.Time
	switch life {
	case lifeShort:
		at = now.Add(time.Second + chaosDuration(rng, 59*time.Second))
	case lifeNormal:
		at = now.Add(time.Minute + chaosDuration(rng, 19*time.Minute))
	case lifeNano:
		at = now.Add(1)
	case lifeExpired:
		at = now.Add(-chaosDuration(rng, time.Minute+1))
	case lifeYears:
		at = now.AddDate(10, 0, 0)
	}
	v := chaosValue{id: r.ids.Add(1), expiresAt: at}
	return Entry[chaosValue]{Value: v, ExpiresAt: at, Final: rng.IntN(100) >= 85}, nil
}

// begin checks a call against the backoff policy and the cache's state, and
// numbers it.
func (r *chaosRefresher) begin(op Op, current Entry[chaosValue], now time.Time) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := r.calls
	r.calls++
	if r.prevFailed {
		bound := backoffBound(r.streak, r.retryAfter)
		gap := now.Sub(r.prevEnd)
		r.afterFailure++
		closest := &r.closestBackoff
		if r.retryAfter > backoffBound(r.streak, 0) {
			closest = &r.closestHint
		}
		if ratio := float64(gap) / float64(bound); *closest == 0 || ratio < *closest {
			*closest = ratio
		}
		if gap < bound {
			r.bad.add("backoff", "call %d came %v after failure %d in a row; the backoff policy allows no less than %v", k, gap, r.streak, bound)
		}
	}
	switch {
	case op == OpRefresh && r.installed == nil:
		r.bad.add("refresh without value", "call %d: Refresh with no value cached", k)
	case op == OpRefresh && (current != *r.installed || current.Final):
		r.bad.add("refresh of a stale entry", "call %d: Refresh given %+v, want the renewable cached entry %+v", k, current, *r.installed)
	case op == OpAuthenticate && r.installed != nil && !r.installed.Final:
		r.bad.add("needless authenticate", "call %d: Authenticate while a renewable entry is cached", k)
	}
	return k
}

// end records the outcome of call k.
func (r *chaosRefresher) end(k uint64, f chaosFault, life chaosLifetime, e Entry[chaosValue], ok bool, at time.Time, retryAfter time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.faults[f]++
	if f == faultNone || f == faultSlow {
		r.lifetimes[life]++
	}
	r.prevEnd, r.prevFailed, r.retryAfter = at, !ok, retryAfter
	if ok {
		r.installed = &e
		r.successes++
		r.streak = 0
	} else {
		r.streak++
	}
}

// chaosRun is one run: the cache, its callers and the figures they collect.
type chaosRun struct {
	hookCalls  atomic.Uint64
	hookFaults atomic.Int64 // hook calls that panicked or called runtime.Goexit
	seed       uint64
	size       chaosSize
	c          *Cache[chaosValue]
	r          *chaosRefresher
	bad        *chaosViolations
	end        time.Time // callers stop starting operations here

	invalidFloor atomic.Uint64  // every Get from now on must return a larger id
	maxReturned  atomic.Uint64  // largest id any Get returned
	closing      atomic.Bool    // Close was called
	closed       atomic.Bool    // Close returned
	started      []atomic.Int64 // per caller: fake UnixNano of the operation running, 0 if none

	gets, invalidates, values atomic.Int64
	errs                      [gotKinds]atomic.Int64
	maxWait                   atomic.Int64 // longest Get, in fake nanoseconds
	ctxEnded                  atomic.Int64 // Gets whose ctx ended before they returned
	events                    [3]atomic.Int64
	leftAfterClose            atomic.Int64
	closedAt                  time.Time // when Close was called; written by closeAt before closing is set
	duringRefresh             bool      // a refresher call was in flight then; likewise
}

// chaosErrKind classifies the errors callers get.
type chaosErrKind int

const (
	gotCtx chaosErrKind = iota
	gotClosed
	gotTimeout
	gotPanic
	gotFailure
	gotNotAuth
	gotExpiredOnArrival
	gotExpired
	gotKinds
)

var gotKindNames = [gotKinds]string{"ctx", "closed", "refresh timeout", "panic", "failure", "not authenticated", "expired on arrival", "expired"}

// chaosClassify names an error, or returns false if the engine has no business
// returning it.
func chaosClassify(err error) (chaosErrKind, bool) {
	var pe *PanicError
	var ra *chaosRetryAfter
	switch {
	case errors.Is(err, ErrClosed):
		return gotClosed, true
	case errors.Is(err, ErrRefreshTimeout):
		return gotTimeout, true
	case errors.As(err, &pe):
		_, ok := pe.Value.(chaosPanic)
		return gotPanic, ok
	case errors.Is(err, errChaosFailure), errors.As(err, &ra):
		return gotFailure, true
	case errors.Is(err, ErrNotAuthenticated):
		return gotNotAuth, true
	case errors.Is(err, errExpiredEntry):
		return gotExpiredOnArrival, true
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return gotCtx, true
	case errors.Is(err, ErrTokenExpired):
		return gotExpired, true
	}
	return 0, false
}

// context returns a random context for one Get and when it ends (zero if
// never).
func (run *chaosRun) context(rng *rand.Rand) (context.Context, func(), time.Time) {
	now := time.Now()
	d := chaosDuration(rng, 2*chaosRefreshTimeout)
	switch n := rng.IntN(100); {
	case n < 40:
		return context.Background(), func() {}, time.Time{}
	case n < 50:
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		return ctx, cancel, now
	case n < 75:
		ctx, cancel := context.WithTimeout(context.Background(), d)
		return ctx, cancel, now.Add(d)
	default:
		ctx, cancel := context.WithCancel(context.Background())
		t := time.AfterFunc(d, cancel)
		return ctx, func() { t.Stop(); cancel() }, now.Add(d)
	}
}

// pause returns how long a caller waits before its next operation. Some
// callers come back exactly at, or a nanosecond around, the expiry of the
// value they last got, so herds meet the model's boundaries.
func (run *chaosRun) pause(rng *rand.Rand, last chaosValue) time.Duration {
	switch n := rng.IntN(100); {
	case n < 50:
		return time.Duration(rng.ExpFloat64() * float64(run.size.meanPause))
	case n < 70:
		return chaosDuration(rng, 10*time.Millisecond)
	case n < 90:
		until := time.Until(last.expiresAt)
		if last.expiresAt.IsZero() || until <= 1 || until > time.Hour {
			return time.Duration(rng.ExpFloat64() * float64(run.size.meanPause))
		}
		return until + time.Duration(rng.IntN(3)-1)
	default:
		return 0
	}
}

// caller is caller i: it pauses, then calls Get or (now and then, with the
// last value it got) Invalidate, until the run ends.
func (run *chaosRun) caller(i int) {
	rng := rand.New(rand.NewPCG(run.seed, uint64(i)))
	var last chaosValue
	for {
		time.Sleep(run.pause(rng, last))
		if !time.Now().Before(run.end) {
			return
		}
		if last.id != 0 && rng.IntN(100) < chaosInvalidatePct {
			run.invalidate(i, last)
			continue
		}
		if v, ok := run.get(i, rng); ok {
			last = v
		}
	}
}

// invalidate reports last as rejected and checks that Invalidate returns
// without waiting.
func (run *chaosRun) invalidate(i int, last chaosValue) {
	run.invalidates.Add(1)
	start := time.Now()
	run.started[i].Store(start.UnixNano())
	run.c.Invalidate()
	run.started[i].Store(0)
	if d := time.Since(start); d != 0 {
		run.bad.add("slow invalidate", "Invalidate took %v of fake time, want 0", d)
	}
	chaosMax(&run.invalidFloor, last.id)
}

// get makes one Get and checks its outcome.
func (run *chaosRun) get(i int, rng *rand.Rand) (chaosValue, bool) {
	run.gets.Add(1)
	ctx, cancel, ends := run.context(rng)
	defer cancel()
	invalidFloor := run.invalidFloor.Load()
	returnedFloor := run.maxReturned.Load()
	closedBefore := run.closed.Load()
	start := time.Now()
	run.started[i].Store(start.UnixNano())
	v, err := run.c.Get(ctx)
	now := time.Now()
	run.started[i].Store(0)

	wait := now.Sub(start)
	chaosMaxInt(&run.maxWait, int64(wait))
	if wait > chaosRefreshTimeout {
		run.bad.add("slow get", "Get waited %v, longer than one refresh may take (%v)", wait, chaosRefreshTimeout)
	}
	if !ends.IsZero() && now.After(ends) {
		run.bad.add("ctx ignored", "Get returned %v after its ctx ended", now.Sub(ends))
	}
	if !ends.IsZero() && !now.Before(ends) {
		run.ctxEnded.Add(1)
	}
	if closedBefore && !errors.Is(err, ErrClosed) && ctx.Err() == nil {
		run.bad.add("served after close", "Get after Close returned %+v, %v; want ErrClosed", v, err)
	}
	if err != nil {
		kind, ok := chaosClassify(err)
		switch {
		case !ok:
			run.bad.add("unexpected error", "Get returned an unexpected error: %v", err)
		case kind == gotCtx && ctx.Err() == nil:
			run.bad.add("ctx error on live ctx", "Get returned %v but its ctx is live", err)
		case kind == gotClosed && !run.closing.Load():
			run.bad.add("closed early", "Get returned ErrClosed before Close was called")
		}
		run.errs[kind].Add(1)
		return chaosValue{}, false
	}
	run.values.Add(1)
	switch {
	case v.id == 0 || v.id > run.r.ids.Load():
		run.bad.add("unknown value", "Get returned %+v, which the refresher never made", v)
	case !v.expiresAt.IsZero() && !now.Before(v.expiresAt):
		run.bad.add("unusable value", "Get returned value %d at %v, %v after it expired", v.id, now.Format(time.RFC3339Nano), now.Sub(v.expiresAt))
	case v.id <= invalidFloor:
		run.bad.add("invalidated value", "Get returned value %d after value %d was invalidated", v.id, invalidFloor)
	case v.id < returnedFloor:
		run.bad.add("value went back", "Get returned value %d after another Get had returned the newer %d", v.id, returnedFloor)
	}
	chaosMax(&run.maxReturned, v.id)
	return v, true
}

// watch fails the run if an operation is outstanding for much longer than
// any may take, dumping the goroutines, and then closes the cache so the run
// ends. A Get that never returns would otherwise be found only when the whole
// bubble deadlocks, or never if the cache's timer keeps time moving.
func (run *chaosRun) watch(stop <-chan struct{}) {
	const limit = 3 * chaosRefreshTimeout
	for {
		select {
		case <-stop:
			return
		case <-time.After(limit):
		}
		now := time.Now().UnixNano()
		for i := range run.started {
			if s := run.started[i].Load(); s != 0 && now-s > int64(limit) {
				var buf bytes.Buffer
				_ = pprof.Lookup("goroutine").WriteTo(&buf, 2)
				msg := fmt.Sprintf("caller %d stuck for %v (seed %d); goroutines:\n%s", i, time.Duration(now-s), run.seed, buf.String())
				fmt.Fprintln(os.Stderr, "chaos:", msg) // in case the bubble then deadlocks
				run.bad.add("hung call", "%s", msg)
				run.closing.Store(true)
				run.c.Close()
				return
			}
		}
	}
}

// closeAt closes the cache at a random moment and checks that Close is
// prompt and leaves no goroutine of the cache behind. If inFlight is set, it
// waits from that moment on (polling every 100 ms of fake time, until the
// callers stop) for a refresher call in flight, so Close has one to cancel.
func (run *chaosRun) closeAt(at time.Time, inFlight bool) {
	time.Sleep(time.Until(at))
	for inFlight && run.r.inFlight.Load() == 0 && time.Now().Before(run.end) {
		time.Sleep(100 * time.Millisecond)
	}
	run.closedAt, run.duringRefresh = time.Now(), run.r.inFlight.Load() > 0
	run.closing.Store(true)
	start := time.Now()
	run.c.Close()
	if d := time.Since(start); d != 0 {
		run.bad.add("slow close", "Close took %v of fake time with a refresher that honours ctx, want 0", d)
	}
	run.closed.Store(true)
	left := cacheGoroutines()
	run.leftAfterClose.Store(int64(len(left)))
	for _, g := range left {
		run.bad.add("goroutine leak", "goroutine of the cache left after Close returned:\n%s", g)
	}
}

// cacheGoroutines returns the stacks of the goroutines a cache started: its
// loop and worker, and the callbacks of its timers.
func cacheGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var found []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "tokenactor.(*Cache[") &&
			(strings.Contains(g, "created by github.com/tokenactor/tokenactor.(*Cache[") ||
				strings.Contains(g, "created by time.goFunc")) {
			found = append(found, g)
		}
	}
	return found
}

func (run *chaosRun) hook(e Event) {
	switch e.(type) {
	case RefreshStarted:
		run.events[0].Add(1)
	case RefreshSucceeded:
		run.events[1].Add(1)
	case RefreshFailed:
		run.events[2].Add(1)
	}
	// User code the cache must contain: now and then the hook panics or
	// calls runtime.Goexit, after it counted the event.
	switch n := run.hookCalls.Add(1); chaosMix(run.seed, n) % 1000 {
	case 0:
		run.hookFaults.Add(1)
		panic("chaos: hook panic")
	case 1:
		run.hookFaults.Add(1)
		runtime.Goexit()
	}
}

func chaosMax(a *atomic.Uint64, v uint64) {
	for {
		old := a.Load()
		if v <= old || a.CompareAndSwap(old, v) {
			return
		}
	}
}

func chaosMaxInt32(a *atomic.Int32, v int32) {
	for {
		old := a.Load()
		if v <= old || a.CompareAndSwap(old, v) {
			return
		}
	}
}

func chaosMaxInt(a *atomic.Int64, v int64) {
	for {
		old := a.Load()
		if v <= old || a.CompareAndSwap(old, v) {
			return
		}
	}
}

// chaosSeed returns the seed to run with: TOKENACTOR_CHAOS_SEED if set, else
// a new one.
func chaosSeed(t *testing.T) uint64 {
	s := os.Getenv("TOKENACTOR_CHAOS_SEED")
	if s == "" {
		return rand.Uint64()
	}
	seed, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("TOKENACTOR_CHAOS_SEED=%q: %v", s, err)
	}
	return seed
}

func TestChaos(t *testing.T) {
	size := chaosShort
	if *chaosLong || os.Getenv("TOKENACTOR_CHAOS_LONG") == "1" {
		size = chaosLongSize
	}
	seed := chaosSeed(t)
	t.Logf("chaos: seed=%d (replay with TOKENACTOR_CHAOS_SEED=%d)", seed, seed)

	// The watchdog outside the bubble: real time, in case the bubble itself
	// never ends.
	wall := time.AfterFunc(size.wall, func() {
		_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 2)
		panic(fmt.Sprintf("chaos: seed=%d: run still going after %v of real time; goroutines above", seed, size.wall))
	})
	defer wall.Stop()

	began := time.Now()
	var summary string
	var bad chaosViolations
	synctest.Test(t, func(*testing.T) {
		defer func() {
			if p := recover(); p != nil {
				fmt.Fprintf(os.Stderr, "chaos: seed=%d: %v\n", seed, p)
				panic(p)
			}
		}()
		summary = runChaos(seed, size, &bad)
	})
	summary += fmt.Sprintf(", real time=%v", time.Since(began).Round(time.Millisecond))
	t.Log(summary)
	if testing.Verbose() {
		fmt.Println(summary)
	}
	bad.mu.Lock()
	defer bad.mu.Unlock()
	for _, v := range bad.examples {
		t.Error(v)
	}
	if bad.count > 0 {
		t.Errorf("chaos: seed=%d: %d violations (at most 3 examples of each kind above)", seed, bad.count)
	}
}

// runChaos runs the callers in the bubble and returns the figures.
func runChaos(seed uint64, size chaosSize, bad *chaosViolations) string {
	run := &chaosRun{seed: seed, size: size, bad: bad}
	r := &chaosRefresher{seed: seed, bad: bad}
	run.r = r
	opts := []Option{
		WithClock(clock.New()), // the bubble's fake time
		WithRefreshTimeout(chaosRefreshTimeout),
		WithEventHook(run.hook),
	}
	run.c = New[chaosValue](r, opts...)
	start := time.Now()
	run.end = start.Add(size.simulated)
	run.started = make([]atomic.Int64, size.callers)
	rng := rand.New(rand.NewPCG(seed, 1<<62))
	closeAt := start.Add(size.simulated*4/5 + chaosDuration(rng, size.simulated/5))

	stop := make(chan struct{})
	var callers, others sync.WaitGroup
	others.Go(func() { run.watch(stop) })
	closeInFlight := rng.IntN(2) == 0
	others.Go(func() { run.closeAt(closeAt, closeInFlight) })
	for i := range size.callers {
		callers.Go(func() { run.caller(i) })
	}
	callers.Wait()
	close(stop)
	others.Wait()
	run.c.Close()

	r.mu.Lock()
	defer r.mu.Unlock()
	if n := run.events[0].Load(); n != int64(r.calls) {
		bad.add("event count", "%d RefreshStarted events for %d refresher calls", n, r.calls)
	}

	injected := 0
	var faults, lifetimes, errs []string
	for f := faultSlow; f < faultCount; f++ {
		injected += r.faults[f]
		faults = append(faults, fmt.Sprintf("%s %d", faultNames[f], r.faults[f]))
	}
	odd := 0 // values living 1 ns, already expired, for years or forever
	for l := lifeNano; l < lifetimeCount; l++ {
		odd += r.lifetimes[l]
	}
	injected += odd
	for l := range lifetimeCount {
		lifetimes = append(lifetimes, fmt.Sprintf("%s %d", lifetimeNames[l], r.lifetimes[l]))
	}
	nerr := int64(0)
	for k := range gotKinds {
		n := run.errs[k].Load()
		nerr += n
		errs = append(errs, fmt.Sprintf("%s %d", gotKindNames[k], n))
	}
	return fmt.Sprintf("chaos: seed=%d, simulated=%v, callers=%d, calls=%d (gets %d, invalidates %d), "+
		"values=%d, errors=%d (%s), ctx ended while waiting=%d, "+
		"faults injected=%d (%s, odd lifetimes %d; lifetimes of the values made: %s), "+
		"refreshes=%d (successes %d, events: succeeded %d, failed %d), "+
		"closed at +%v (a refresh in flight: %t), backoff: %d attempts after a failure, closest to the bound %.3f× (%.3f× where Retry-After ruled), "+
		"hook calls that panicked or called Goexit=%d, max Get wait=%v, max refresher calls in flight=%d, goroutines left after Close=%d, violations=%s",
		seed, size.simulated, size.callers, run.gets.Load()+run.invalidates.Load(), run.gets.Load(), run.invalidates.Load(),
		run.values.Load(), nerr, strings.Join(errs, ", "), run.ctxEnded.Load(),
		injected, strings.Join(faults, ", "), odd, strings.Join(lifetimes, ", "),
		r.calls, r.successes, run.events[1].Load(), run.events[2].Load(),
		run.closedAt.Sub(start), run.duringRefresh, r.afterFailure, r.closestBackoff, r.closestHint,
		run.hookFaults.Load(), time.Duration(run.maxWait.Load()), r.maxInFlight.Load(), run.leftAfterClose.Load(), bad.summary())
}
