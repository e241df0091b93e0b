package redisstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/internal/redistest"
	"github.com/tokenactor/tokenactor/store"
	"github.com/tokenactor/tokenactor/store/redisstore"
)

// The simulated fleet runs on real time, scaled down: tokens live 2 s and
// turn stale 1 s before they expire, so a refresh cycle takes about 1 s.
const (
	tokenLife = 2 * time.Second
	window    = 1 * time.Second
	// staleMargin absorbs the order of clock reads between a replica
	// deciding a token is stale and the server deciding the request came
	// after that.
	staleMargin = 50 * time.Millisecond
	getEvery    = 10 * time.Millisecond
	runLimit    = 40 * time.Second
	// lateGrace is how long after its expiry a token still counts as valid
	// when a Get returns it. The engine's lock-free fast path serves a value
	// until its timer clears it, and on a loaded machine (CI, -race, two
	// cores) a timer fires some milliseconds late; a token served in its
	// last instant by a cache whose refresh is still running (the stalled
	// lease holder) can therefore come back just expired. The store's own
	// failures would show as tokens unknown to the server or seconds old.
	lateGrace = 100 * time.Millisecond
	fleetKey  = "svc-a"
)

// encKey seals records in the fleet tests.
var encKey = []byte("0123456789abcdef0123456789abcdef")

// An authServer is the test authorization server. It issues tokens of
// tokenLife and counts token requests per expiry: a request that comes when
// the newest token issued is stale (or there is none) starts a generation;
// one that comes while it is still fresh is a duplicate, a request the
// fleet should not have made.
type authServer struct {
	*httptest.Server

	mu     sync.Mutex
	tokens map[string]time.Time // issued token -> expiry
	latest time.Time            // expiry of the newest token
	st     fleetStats
	times  []time.Time // when each token request came
}

// fleetStats are the server's counts.
type fleetStats struct {
	Requests int       `json:"requests"`
	Gens     int       `json:"gens"`
	Dups     int       `json:"dups"`
	First    time.Time `json:"first"`
	Last     time.Time `json:"last"`
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	ExpiresAtMs int64  `json:"expires_at_ms"`
}

func newAuthServer(t testing.TB) *authServer {
	a := &authServer{tokens: map[string]time.Time{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", a.token)
	mux.HandleFunc("GET /check", a.check)
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(a.stats())
	})
	a.Server = httptest.NewServer(mux)
	t.Cleanup(a.Close)
	return a
}

func (a *authServer) token(w http.ResponseWriter, r *http.Request) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	now := time.Now()
	exp := now.Add(tokenLife)
	a.mu.Lock()
	a.st.Requests++
	if a.latest.IsZero() || !now.Before(a.latest.Add(-window-staleMargin)) {
		a.st.Gens++
	} else {
		a.st.Dups++
	}
	if a.st.First.IsZero() {
		a.st.First = now
	}
	a.st.Last = now
	a.times = append(a.times, now)
	tok := fmt.Sprintf("tok-%d-%s", a.st.Requests, hex.EncodeToString(b[:]))
	a.tokens[tok] = exp
	if exp.After(a.latest) {
		a.latest = exp
	}
	a.mu.Unlock()
	_ = json.NewEncoder(w).Encode(tokenResponse{AccessToken: tok, ExpiresAtMs: exp.UnixMilli()})
}

func (a *authServer) check(w http.ResponseWriter, r *http.Request) {
	tok, ok := bearer(r)
	if !ok || !a.valid(tok) {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func bearer(r *http.Request) (string, bool) {
	const p = "Bearer "
	h := r.Header.Get("Authorization")
	if len(h) <= len(p) || h[:len(p)] != p {
		return "", false
	}
	return h[len(p):], true
}

// valid reports whether tok was issued here and had not expired at the
// instant at.
func (a *authServer) valid(tok string) bool { return a.validAt(tok, time.Now()) }

func (a *authServer) validAt(tok string, at time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	exp, ok := a.tokens[tok]
	return ok && at.Before(exp)
}

// perExpiry returns the token requests per refresh cycle: cycles are
// counted from the first request, every tokenLife-window (when a token
// turns stale), and only those in which a request came count.
func (a *authServer) perExpiry() float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	cycles := map[int64]bool{}
	for _, at := range a.times {
		cycles[int64(at.Sub(a.times[0])/(tokenLife-window))] = true
	}
	return float64(len(a.times)) / float64(len(cycles))
}

// waitMidCycle returns when the newest token is halfway between its issue
// and the moment it turns stale: no replica is refreshing then, so a fault
// injected there hits the store between refreshes.
func (a *authServer) waitMidCycle(ctx context.Context) {
	a.mu.Lock()
	at := a.latest.Add(-tokenLife + (tokenLife-window)/2)
	a.mu.Unlock()
	t := time.NewTimer(time.Until(at))
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func (a *authServer) stats() fleetStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.st
}

// httpRefresher asks the auth server for a token, as a client-credentials
// strategy would. before, if set, runs first (a fault to inject).
type httpRefresher struct {
	url    string
	client *http.Client
	before func(ctx context.Context) error
}

func (h *httpRefresher) Refresh(ctx context.Context, _ *tokenactor.Entry[tokenactor.ServiceToken]) (tokenactor.Entry[tokenactor.ServiceToken], error) {
	var zero tokenactor.Entry[tokenactor.ServiceToken]
	if h.before != nil {
		if err := h.before(ctx); err != nil {
			return zero, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url+"/token", nil)
	if err != nil {
		return zero, err
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return zero, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return zero, fmt.Errorf("token endpoint: %s", resp.Status)
	}
	var tr tokenResponse
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<16)).Decode(&tr); err != nil {
		return zero, err
	}
	exp := time.UnixMilli(tr.ExpiresAtMs)
	return tokenactor.Entry[tokenactor.ServiceToken]{
		Value:     tokenactor.ServiceToken{AccessToken: tokenactor.NewSecretToken(tr.AccessToken), TokenType: "Bearer", ExpiresAt: exp},
		ExpiresAt: exp,
	}, nil
}

// fleetConfig describes the replicas of a simulation.
type fleetConfig struct {
	shared    bool                            // share through Redis; else each refreshes alone
	encrypt   bool                            // seal records
	leaseTTL  time.Duration                   // default 1.5 s
	leaseWait time.Duration                   // default 2.5 s
	before    func(ctx context.Context) error // runs before each token request
	events    *eventCounter                   // counts store events; may be nil
}

// A replica is one cache, with its own HTTP and Redis clients, as one
// instance of a service would have.
type replica struct {
	cache     *tokenactor.Cache[tokenactor.ServiceToken]
	transport *http.Transport
	rdb       *redis.Client
	st        *redisstore.Store
}

func newReplica(redisAddr, authURL string, cfg fleetConfig) *replica {
	r := &replica{transport: &http.Transport{}}
	var inner tokenactor.Refresher[tokenactor.ServiceToken] = &httpRefresher{
		url: authURL, client: &http.Client{Transport: r.transport, Timeout: 5 * time.Second}, before: cfg.before,
	}
	if cfg.shared {
		r.rdb = redis.NewClient(&redis.Options{
			Addr: redisAddr, MaxRetries: -1, PoolSize: 4, DisableIdentity: true,
			// The store timeout bounds each call through the context; the
			// client's own timeouts are longer, so the fault tests show that.
			ContextTimeoutEnabled: true,
			DialTimeout:           5 * time.Second, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second,
		})
		opts := []store.Option{
			store.WithLease(or(cfg.leaseTTL, 1500*time.Millisecond), or(cfg.leaseWait, 2500*time.Millisecond)),
			store.WithPollInterval(10*time.Millisecond, 50*time.Millisecond),
			// Generous for loopback: CI runs these tests beside others on
			// two cores, and a timeout here costs a token request.
			store.WithStoreTimeout(1200 * time.Millisecond),
		}
		if cfg.encrypt {
			opts = append(opts, store.WithEncryption(encKey))
		}
		if cfg.events != nil {
			opts = append(opts, store.WithEventHook(cfg.events.add))
		}
		r.st = redisstore.New(r.rdb)
		inner = store.Wrap(inner, r.st, fleetKey, store.ServiceTokenCodec{}, opts...)
	}
	r.cache = tokenactor.New(inner,
		tokenactor.WithRefreshWindow(window),
		tokenactor.WithRefreshTimeout(5*time.Second),
		tokenactor.WithBackoff(50*time.Millisecond, 200*time.Millisecond))
	return r
}

func or(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

func (r *replica) close() {
	_ = r.cache.Close()
	r.transport.CloseIdleConnections()
	if r.st != nil {
		_ = r.st.Close()
	}
	if r.rdb != nil {
		_ = r.rdb.Close()
	}
}

// eventCounter counts store events by type, fallback reason and store op.
type eventCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func newEventCounter() *eventCounter { return &eventCounter{n: map[string]int{}} }

func (c *eventCounter) add(e store.Event) {
	k := reflect.TypeOf(e).Name()
	switch e := e.(type) {
	case store.LocalFallback:
		k += "/" + e.Reason.String()
	case store.Failed:
		k += "/" + string(e.Op)
	}
	c.mu.Lock()
	c.n[k]++
	c.mu.Unlock()
}

func (c *eventCounter) get(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[k]
}

func (c *eventCounter) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprint(c.n)
}

// A drive is replicas being asked for tokens every getEvery until stopped.
// Each token a Get returns is checked with valid, against the instant the
// Get was called less lateGrace (see below).
type drive struct {
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	gets     atomic.Int64
	errs     atomic.Int64
	invalid  atomic.Int64
	firstErr atomic.Pointer[string]
}

func startDrive(ctx context.Context, reps []*replica, valid func(tok tokenactor.ServiceToken, at time.Time) bool) *drive {
	ctx, cancel := context.WithCancel(ctx)
	d := &drive{cancel: cancel}
	for _, r := range reps {
		d.wg.Go(func() {
			tick := time.NewTicker(getEvery)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				gctx, gcancel := context.WithTimeout(ctx, 5*time.Second)
				at := time.Now().Add(-lateGrace)
				tok, err := r.cache.Get(gctx)
				gcancel()
				switch {
				case ctx.Err() != nil:
					return
				case err != nil:
					d.errs.Add(1)
					msg := err.Error()
					d.firstErr.CompareAndSwap(nil, &msg)
				case !valid(tok, at):
					d.invalid.Add(1)
				}
				d.gets.Add(1)
			}
		})
	}
	return d
}

// stop stops the drive and waits for its goroutines.
func (d *drive) stop() {
	d.cancel()
	d.wg.Wait()
}

// check fails the test if any Get failed or returned an invalid token.
func (d *drive) check(t testing.TB) {
	t.Helper()
	if d.gets.Load() == 0 {
		t.Error("no Get was made")
	}
	if n := d.errs.Load(); n > 0 {
		t.Errorf("%d of %d Gets failed; first: %s", n, d.gets.Load(), *d.firstErr.Load())
	}
	if n := d.invalid.Load(); n > 0 {
		t.Errorf("%d of %d Gets returned a token the server does not accept", n, d.gets.Load())
	}
}

// waitGens returns once the server has seen at least n generations, or
// fails the test when ctx ends first. It polls: the fleet runs on real time.
func waitGens(t testing.TB, ctx context.Context, a *authServer, n int) fleetStats {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if st := a.stats(); st.Gens >= n {
			return st
		}
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %d generations: %+v", n, a.stats())
		case <-tick.C:
		}
	}
}

// fleet starts n replicas against a and Redis at addr.
func fleet(t testing.TB, n int, addr string, a *authServer, cfg fleetConfig) []*replica {
	reps := make([]*replica, n)
	for i := range reps {
		reps[i] = newReplica(addr, a.URL, cfg)
	}
	t.Cleanup(func() {
		for _, r := range reps {
			r.close()
		}
	})
	return reps
}

func (a *authServer) validToken(tok tokenactor.ServiceToken, at time.Time) bool {
	return a.validAt(tok.AccessToken.Reveal(), at)
}

// TestFleetOneRequestPerExpiry runs 16 replicas sharing one Redis through
// several expiry cycles: the server sees exactly one token request per
// expiry, and no record in Redis shows the token in clear.
func TestFleetOneRequestPerExpiry(t *testing.T) {
	srv := redistest.Start(t)
	a := newAuthServer(t)
	ev := newEventCounter()
	reps := fleet(t, 16, srv.Addr, a, fleetConfig{shared: true, encrypt: true, events: ev})
	ctx, cancel := context.WithTimeout(context.Background(), runLimit)
	defer cancel()

	d := startDrive(ctx, reps, a.validToken)
	st := waitGens(t, ctx, a, 5)
	d.stop()
	d.check(t)
	if st.Dups != 0 || st.Requests != st.Gens {
		t.Errorf("server saw %d token requests for %d expiries (%d duplicates); want one per expiry", st.Requests, st.Gens, st.Dups)
	}
	if n := ev.get("LocalFallback/store unavailable") + ev.get("LocalFallback/lease wait timed out"); n != 0 {
		t.Errorf("%d local fallbacks with a healthy Redis; events: %v", n, ev)
	}
	raw, err := newClient(t, srv.Addr).Get(context.Background(), "tokenactor:{"+fleetKey+"}:token").Bytes()
	if err != nil {
		t.Fatalf("reading the record: %v", err)
	}
	if bytes.Contains(raw, []byte("tok-")) {
		t.Error("the record in Redis holds the token in clear despite WithEncryption")
	}
}

// TestColdStartAdopts starts a new replica into a running fleet, as a
// serverless instance would on a cold start: it gets the fleet's token
// from Redis with no token request of its own.
func TestColdStartAdopts(t *testing.T) {
	srv := redistest.Start(t)
	a := newAuthServer(t)
	reps := fleet(t, 4, srv.Addr, a, fleetConfig{shared: true, encrypt: true})
	ctx, cancel := context.WithTimeout(context.Background(), runLimit)
	defer cancel()
	d := startDrive(ctx, reps, a.validToken)
	defer d.stop()
	waitGens(t, ctx, a, 2)

	for range 3 {
		a.waitMidCycle(ctx) // between refreshes, as most cold starts are
		before := a.stats().Requests
		ev := newEventCounter()
		cold := newReplica(srv.Addr, a.URL, fleetConfig{shared: true, encrypt: true, events: ev})
		at := time.Now()
		tok, err := cold.cache.Get(ctx)
		cold.close()
		if err != nil || !a.validToken(tok, at) {
			t.Fatalf("cold start Get = %v; valid %t", err, err == nil && a.validToken(tok, at))
		}
		if got := a.stats().Requests - before; got != 0 || ev.get("Adopted") != 1 {
			t.Errorf("cold start made %d token requests (events %v); want none, the token adopted", got, ev)
		}
	}
	d.stop()
	d.check(t)
}
