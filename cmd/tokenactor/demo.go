package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/httpauth"
	"github.com/tokenactor/tokenactor/strategy"
)

// demoConfig is what the demo flags set.
type demoConfig struct {
	clients   int
	duration  time.Duration
	lifetime  time.Duration
	window    time.Duration
	latency   time.Duration
	interval  time.Duration
	threshold time.Duration
}

// Bounds of the demo flags: the demo must stay a demo on a shared machine.
const (
	maxClients  = 10000
	maxDuration = 10 * time.Minute
)

const demoSynopsis = `demo [flags]

Starts an OAuth 2.0 token endpoint (client credentials) and a protected API on
127.0.0.1, then runs many concurrent clients against the API for a while.
Every client gets its token from one strategy.AccessKey (one tokenactor
cache) through the httpauth transport. Tokens are short-lived, so the run
goes through several expiry cycles; the summary shows how few token requests
that took and whether any caller had to wait.`

func runDemo(ctx context.Context, e *env, args []string) int {
	var cfg demoConfig
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.IntVar(&cfg.clients, "clients", 300, "number of concurrent clients")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "how long the clients run")
	fs.DurationVar(&cfg.lifetime, "lifetime", 3*time.Second, "lifetime of each token (whole seconds, at least 1s)")
	fs.DurationVar(&cfg.window, "window", 0, "refresh window: refresh this long before expiry (0: a third of -lifetime)")
	fs.DurationVar(&cfg.latency, "latency", 50*time.Millisecond, "how long the token endpoint takes to answer")
	fs.DurationVar(&cfg.interval, "interval", 10*time.Millisecond, "pause between a client's requests")
	fs.DurationVar(&cfg.threshold, "threshold", time.Millisecond, "a token lookup slower than this counts as blocked")
	if done, code := parseFlags(e, fs, demoSynopsis, args); done {
		return code
	}
	if cfg.window == 0 {
		cfg.window = cfg.lifetime / 3
	}
	if err := cfg.validate(); err != nil {
		fmt.Fprintf(e.stderr, "tokenactor demo: %v\nRun 'tokenactor demo --help' for the flags.\n", err)
		return exitUsage
	}

	res, err := demo(ctx, cfg, e.stdout, e.tty)
	if err != nil {
		fmt.Fprintf(e.stderr, "tokenactor demo: %v\n", err)
		return exitFailure
	}
	res.print(e.stdout, cfg)
	if res.failed > 0 || res.rejected > 0 {
		fmt.Fprintf(e.stderr, "tokenactor demo: %d requests failed and %d were rejected; the first error: %v\n", res.failed, res.rejected, res.firstErr)
		return exitFailure
	}
	return exitOK
}

func (c demoConfig) validate() error {
	switch {
	case c.clients < 1 || c.clients > maxClients:
		return fmt.Errorf("-clients must be between 1 and %d, got %d", maxClients, c.clients)
	case c.duration <= 0 || c.duration > maxDuration:
		return fmt.Errorf("-duration must be positive and at most %v, got %v", maxDuration, c.duration)
	case c.lifetime < time.Second || c.lifetime%time.Second != 0:
		return fmt.Errorf("-lifetime must be whole seconds, at least 1s (expires_in is in seconds), got %v", c.lifetime)
	case c.window < 0 || c.window >= c.lifetime:
		return fmt.Errorf("-window must be at least 0 and shorter than -lifetime, got %v", c.window)
	case c.latency < 0 || c.latency >= c.lifetime-c.window:
		return fmt.Errorf("-latency must be at least 0 and shorter than -lifetime minus -window, got %v", c.latency)
	case c.interval < 0 || c.threshold <= 0:
		return errors.New("-interval must not be negative and -threshold must be positive")
	}
	return nil
}

// demoResult is what a demo run measured.
type demoResult struct {
	origin   string
	elapsed  time.Duration
	served   int64 // API requests the server accepted
	rejected int64 // API requests the server answered 401
	grants   int64 // token requests the server answered with a token
	failed   int64 // client requests that ended in an error
	firstErr error

	first []time.Duration // how long each client's first token lookup took
	later []time.Duration // how long every other lookup took

	background int // refreshes while the old token was still served
	blocking   int // Authenticate or Refresh calls callers had to wait for
	blocked    int // clients with a later lookup during a blocking call
	slow       int // later lookups over the threshold
	slowIn     int // clients with such a lookup
}

// demo runs the server and the clients and returns what it measured. It
// returns when cfg.duration has passed or ctx ends, and after every
// goroutine it started has exited.
func demo(ctx context.Context, cfg demoConfig, progress io.Writer, tty bool) (*demoResult, error) {
	secret, err := newToken()
	if err != nil {
		return nil, err
	}
	srv := &tokenServer{clientID: "demo", clientSecret: secret, lifetime: cfg.lifetime, latency: cfg.latency}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on loopback: %w", err)
	}
	hs := &http.Server{Handler: srv.handler(), ReadHeaderTimeout: 5 * time.Second}
	var wg sync.WaitGroup
	wg.Go(func() { hs.Serve(ln) })
	defer func() {
		hs.Close()
		wg.Wait()
	}()
	origin := "http://" + ln.Addr().String()

	// One pool for the token endpoint and the API; enough idle connections
	// that the clients reuse them instead of exhausting ephemeral ports.
	base := &http.Transport{
		MaxIdleConns:        cfg.clients + 10,
		MaxIdleConnsPerHost: cfg.clients + 10,
		IdleConnTimeout:     30 * time.Second,
	}
	defer base.CloseIdleConnections()
	hc := &http.Client{Transport: base, Timeout: 10 * time.Second}

	start := time.Now()
	calls := &refreshLog{start: start}
	key, err := strategy.NewAccessKey(
		strategy.AccessKeyConfig{TokenURL: origin + "/token", ClientID: "demo", ClientSecret: secret, HTTPClient: hc},
		tokenactor.WithRefreshWindow(cfg.window),
		tokenactor.WithEventHook(calls.record),
	)
	if err != nil {
		return nil, err
	}
	defer key.Close()
	strat := &measured{key: key, start: start}
	api := &http.Client{Transport: &httpauth.Transport{Strategy: strat, Origins: []string{origin}, Base: base}}

	runCtx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	fmt.Fprintf(progress, "tokenactor demo: %d clients for %v against an OAuth 2.0 server at %s\n", cfg.clients, cfg.duration, origin)
	fmt.Fprintf(progress, "tokens live %v and are refreshed %v before expiry; the token endpoint answers after %v\n\n", cfg.lifetime, cfg.window, cfg.latency)

	stats := make([]clientStats, cfg.clients)
	var clients sync.WaitGroup
	for i := range stats {
		clients.Go(func() { client(runCtx, api, origin+"/api", cfg.interval, &stats[i]) })
	}
	var prog sync.WaitGroup
	progCtx, stopProgress := context.WithCancel(runCtx)
	prog.Go(func() { showProgress(progCtx, progress, tty, start, srv, strat) })
	clients.Wait()
	stopProgress()
	prog.Wait()

	res := &demoResult{
		origin:   origin,
		elapsed:  time.Since(start),
		served:   srv.served.Load(),
		rejected: srv.rejected.Load(),
		grants:   srv.grants.Load(),
	}
	blocking := calls.blockingCalls()
	res.blocking = len(blocking)
	res.background = calls.backgroundCalls()
	for i := range stats {
		s := &stats[i]
		res.failed += s.failed
		if res.firstErr == nil {
			res.firstErr = s.firstErr
		}
		if len(s.lookups) == 0 {
			continue
		}
		res.first = append(res.first, s.lookups[0].took)
		blocked, slow := false, 0
		for _, l := range s.lookups[1:] {
			res.later = append(res.later, l.took)
			blocked = blocked || slices.ContainsFunc(blocking, l.overlaps)
			if l.took > cfg.threshold {
				slow++
			}
		}
		if blocked {
			res.blocked++
		}
		if slow > 0 {
			res.slow += slow
			res.slowIn++
		}
	}
	return res, nil
}

// A span is an interval of the run, measured from its start.
type span struct {
	at, took time.Duration
}

func (s span) overlaps(o span) bool {
	return s.at < o.at+o.took && o.at < s.at+s.took
}

// refreshLog records when the cache's Authenticate and Refresh calls ran,
// from its event hook.
type refreshLog struct {
	start time.Time

	mu         sync.Mutex
	open       time.Time // start of the blocking call in flight; zero if none
	blocking   []span    // finished blocking calls
	background int       // background calls started
}

func (l *refreshLog) record(e tokenactor.Event) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	switch e := e.(type) {
	case tokenactor.RefreshStarted:
		if e.Background {
			l.background++
		} else {
			l.open = now
		}
	case tokenactor.RefreshSucceeded, tokenactor.RefreshFailed:
		if !l.open.IsZero() {
			l.blocking = append(l.blocking, span{at: l.open.Sub(l.start), took: now.Sub(l.open)})
			l.open = time.Time{}
		}
	}
}

// blockingCalls returns the blocking calls but the first (the first grant,
// which every client waits for by definition).
func (l *refreshLog) blockingCalls() []span {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.blocking) == 0 {
		return nil
	}
	return slices.Clone(l.blocking[1:])
}

func (l *refreshLog) backgroundCalls() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.background
}

// clientStats is one client's record. Only that client's goroutine writes
// it, until demo reads it after the goroutine has exited.
type clientStats struct {
	lookups  []span // each token lookup, in order
	failed   int64
	firstErr error
}

// statsKey is the context key under which a request carries its client's
// stats, so the shared strategy can record the lookup it makes for it.
type statsKey struct{}

// client sends requests to url until ctx ends.
func client(ctx context.Context, api *http.Client, url string, interval time.Duration, s *clientStats) {
	ctx = context.WithValue(ctx, statsKey{}, s)
	for ctx.Err() == nil {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			panic(err) // the URL is ours
		}
		resp, err := api.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		switch {
		case ctx.Err() != nil:
			// The run ended during the request: not a failure.
		case err != nil:
			s.fail(err)
		case resp.StatusCode != http.StatusOK:
			s.fail(fmt.Errorf("GET %s: %s", url, resp.Status))
		}
		if interval > 0 {
			select {
			case <-time.After(interval):
			case <-ctx.Done():
			}
		}
	}
}

func (s *clientStats) fail(err error) {
	s.failed++
	if s.firstErr == nil {
		s.firstErr = err
	}
}

// measured is the access key strategy as the API client sees it, timing
// each lookup for the client whose request asked for it.
type measured struct {
	key   *strategy.AccessKeyStrategy
	start time.Time // start of the run; spans are measured from it
	// expiresAt is the expiry of the last token handed out, in Unix
	// nanoseconds, for the progress line.
	expiresAt atomic.Int64
}

func (m *measured) Get(ctx context.Context) (tokenactor.ServiceToken, error) {
	start := time.Now()
	tok, err := m.key.Get(ctx)
	took := time.Since(start)
	if s, ok := ctx.Value(statsKey{}).(*clientStats); ok {
		s.lookups = append(s.lookups, span{at: start.Sub(m.start), took: took})
	}
	if err == nil && m.expiresAt.Load() != tok.ExpiresAt.UnixNano() {
		m.expiresAt.Store(tok.ExpiresAt.UnixNano())
	}
	return tok, err
}

// Invalidate lets the transport report a rejected token to the strategy.
func (m *measured) Invalidate() { m.key.Invalidate() }

// InvalidateIf lets the transport report one rejected token.
func (m *measured) InvalidateIf(rejected func(tokenactor.ServiceToken) bool) {
	m.key.InvalidateIf(rejected)
}

// showProgress reports the run once per tick until ctx ends: one line
// redrawn in place on a terminal, a new line per second otherwise.
func showProgress(ctx context.Context, w io.Writer, tty bool, start time.Time, srv *tokenServer, m *measured) {
	every := time.Second
	if tty {
		every = 200 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if tty {
				fmt.Fprint(w, "\r\033[K")
			}
			return
		case now := <-t.C:
			expiry := "no token yet"
			if exp := m.expiresAt.Load(); exp != 0 {
				expiry = "token expires in " + time.Duration(exp-now.UnixNano()).Round(100*time.Millisecond).String()
			}
			line := fmt.Sprintf("%5.1fs  requests %-9d token requests %-4d %s",
				now.Sub(start).Seconds(), srv.served.Load(), srv.grants.Load(), expiry)
			if tty {
				fmt.Fprint(w, "\r\033[K"+line)
			} else {
				fmt.Fprintln(w, line)
			}
		}
	}
}

func (r *demoResult) print(w io.Writer, cfg demoConfig) {
	clients := len(r.first)
	fmt.Fprintf(w, "\nsummary after %v\n", r.elapsed.Round(10*time.Millisecond))
	fmt.Fprintf(w, "  requests served    %d (%.0f/s), %d rejected with 401, %d failed\n",
		r.served, float64(r.served)/r.elapsed.Seconds(), r.rejected, r.failed)
	fmt.Fprintf(w, "  token requests     %d at the server for %d clients: 1 first grant, %d refreshes in the background, %d that callers waited for\n",
		r.grants, clients, r.background, r.blocking)
	fmt.Fprintf(w, "  first token        %d clients waited for the one shared first grant: p50 %v, max %v\n",
		clients, round(percentile(r.first, 50)), round(percentile(r.first, 100)))
	fmt.Fprintf(w, "  callers blocked    %d of %d clients waited for a token after their first\n", r.blocked, clients)
	fmt.Fprintf(w, "  token lookups      %d after the first: p50 %v, p99 %v, max %v; %d over %v (in %d clients)\n",
		len(r.later), round(percentile(r.later, 50)), round(percentile(r.later, 99)), round(percentile(r.later, 100)),
		r.slow, cfg.threshold, r.slowIn)
}

// round shortens d to three significant digits or so for the summary.
func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	case d >= time.Microsecond:
		return d.Round(10 * time.Nanosecond)
	}
	return d
}

// percentile returns the p-th percentile of ds (nearest rank), 0 if empty.
// It sorts ds.
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := (len(ds)*p + 99) / 100
	return ds[max(i-1, 0)]
}
