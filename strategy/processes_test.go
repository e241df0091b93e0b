package strategy_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/fakeclock"
	"github.com/tokenactor/tokenactor/strategy"
)

// Tests in this file start copies of the test binary as child processes
// that share one FileStore directory with the parent. The child side of
// each is a Test function that does nothing unless the parent set its
// environment variable.

// longRun reports whether the long versions were asked for.
func longRun() bool { return os.Getenv("TOKENACTOR_LONG") == "1" }

// chainServer is a token endpoint for the refresh token grant that rotates
// refresh tokens the way servers with a reuse grace do: refresh token rt-n
// comes with access token at-n, and a refresh token keeps working until a
// newer one has been used. Using an older one is refused with
// invalid_grant and counted. Using one twice (allowed while no newer one
// was used: the answer to the first use was lost) is counted as a reuse.
type chainServer struct {
	lifetime int // seconds

	// reached, if not nil, is closed when target refreshes have been made.
	target  int
	reached chan struct{}

	mu        sync.Mutex
	times     []time.Time // when each refresh was made
	issued    int         // n of the last rt-n/at-n issued
	newest    int         // n of the newest refresh token used, -1 before any
	used      map[int]bool
	refreshes int
	reuses    int
	refused   int
}

func newChainServer(lifetime int) *chainServer {
	return &chainServer{lifetime: lifetime, newest: -1, used: map[int]bool{}}
}

func (s *chainServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	n, err := strconv.Atoi(strings.TrimPrefix(r.PostForm.Get("refresh_token"), "rt-"))
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil || r.PostForm.Get("grant_type") != "refresh_token" || n > s.issued || n < s.newest {
		s.refused++
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":"invalid_grant"}`)
		return
	}
	if s.used[n] {
		s.reuses++
	}
	s.used[n] = true
	s.newest = n
	s.refreshes++
	s.times = append(s.times, time.Now())
	if s.reached != nil && s.refreshes == s.target {
		close(s.reached)
	}
	s.issued++
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"access_token":  fmt.Sprintf("at-%d", s.issued),
		"token_type":    "Bearer",
		"expires_in":    s.lifetime,
		"refresh_token": fmt.Sprintf("rt-%d", s.issued),
	})
}

// chainCounts is a snapshot of a chainServer's counters.
type chainCounts struct {
	Issued, Refreshes, Reuses, Refused int
}

func (s *chainServer) counts() chainCounts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return chainCounts{Issued: s.issued, Refreshes: s.refreshes, Reuses: s.reuses, Refused: s.refused}
}

// tokenNumber returns n for "at-n" or "rt-n", or -1.
func tokenNumber(s string) int {
	_, num, ok := strings.Cut(s, "-")
	n, err := strconv.Atoi(num)
	if !ok || err != nil {
		return -1
	}
	return n
}

// startChild starts this test binary running only the test named run, with
// env set, and returns it with pipes to its stdin and stdout.
func startChild(t *testing.T, run string, env ...string) (*exec.Cmd, io.WriteCloser, io.ReadCloser) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+run+"$", "-test.count=1")
	// A race-enabled binary sleeps a second at exit to let late reports
	// in; children that exit one after another need not.
	cmd.Env = append(os.Environ(), append(env, "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, in, out
}

const killChildEnv = "TOKENACTOR_TEST_KILL_CHILD"

// TestFileStoreSurvivesSIGKILL kills a process with SIGKILL at random
// moments while it refreshes a rotating session and saves it, over and
// over. After every kill the session file must be readable, must hold a
// session the server issued whole (at-n with rt-n: the old or the new one,
// never a mix), and must hold the refresh token issued with the last
// access token the process handed out, or a newer one: a rotated refresh
// token is never lost once a token built on it was in use.
//
// The child writes each access token to its stdout (a pipe) as it hands it
// out, so the parent knows, after the kill, the newest one handed out.
// TOKENACTOR_LONG=1 runs 1000 kills instead of 100; TOKENACTOR_SEED
// replays the kill moments of a printed seed.
func TestFileStoreSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a hundred processes")
	}
	runs := 100
	if longRun() {
		runs = 1000
	}
	seed := uint64(time.Now().UnixNano())
	if s, err := strconv.ParseUint(os.Getenv("TOKENACTOR_SEED"), 10, 64); err == nil {
		seed = s
	}
	rng := rand.New(rand.NewPCG(seed, 0))

	srv := newChainServer(3600)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	dir := t.TempDir()
	store := strategy.NewFileStore(dir)
	if err := store.Save(t.Context(), strategy.DefaultProfile, seedSession(ts.URL, time.Now())); err != nil {
		t.Fatal(err)
	}

	var handedOut, readable, lost, mixed, unsavedRotations, kills int
	for run := range runs {
		issuedBefore := srv.counts().Issued
		cmd, in, out := startChild(t, "TestFileStoreKillChild", killChildEnv+"="+dir)
		in.Close()
		lines := bufio.NewScanner(out)
		latest := -1
		if !lines.Scan() || !strings.HasPrefix(lines.Text(), "token ") {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("run %d: child did not start its loop: %q", run, lines.Text())
		}
		// The child is in its loop: kill it soon.
		latest = tokenNumber(strings.TrimPrefix(lines.Text(), "token "))
		handedOut++
		// The delay picks the moment of the kill; it synchronises nothing.
		time.Sleep(time.Duration(rng.IntN(25000)) * time.Microsecond)
		cmd.Process.Signal(syscall.SIGKILL)
		for lines.Scan() {
			line, ok := strings.CutPrefix(lines.Text(), "token ")
			if !ok {
				t.Fatalf("run %d: child said %q", run, lines.Text())
			}
			latest = tokenNumber(line)
			handedOut++
		}
		err := cmd.Wait()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("run %d: child ended with %v, want killed", run, err)
		}
		kills++

		sess, err := store.Load(t.Context(), strategy.DefaultProfile)
		if err != nil {
			t.Errorf("run %d (seed %d): session unreadable after the kill: %v", run, seed, err)
			continue
		}
		readable++
		at, rt := tokenNumber(sess.AccessToken.Reveal()), tokenNumber(sess.RefreshToken.Reveal())
		issued := srv.counts().Issued
		switch {
		case at != rt || rt < 0 || rt > issued:
			mixed++
			t.Errorf("run %d (seed %d): saved session holds at-%d with rt-%d", run, seed, at, rt)
		case rt < latest:
			lost++
			t.Errorf("run %d (seed %d): saved refresh token rt-%d is older than handed-out at-%d", run, seed, rt, latest)
		}
		if issued > issuedBefore && rt < issued {
			unsavedRotations++ // the server rotated, the kill came before the save
		}
	}
	temps, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
	c := srv.counts()
	t.Logf("kill: seed=%d, runs=%d, kills=%d, tokens handed out=%d, readable=%d, mixed=%d, lost=%d, "+
		"kills between rotation and save=%d, refreshes=%d, reuses after such kills=%d, refused=%d, stray temp files=%d",
		seed, runs, kills, handedOut, readable, mixed, lost, unsavedRotations, c.Refreshes, c.Reuses, c.Refused, len(temps))
	if c.Refused != 0 {
		t.Errorf("the server refused %d refresh tokens: a session was lost", c.Refused)
	}
	// Most kills should come after the child did some work; a machine
	// too slow for a quarter of them is not proving anything.
	if c.Refreshes < runs/4 {
		t.Errorf("only %d refreshes in %d runs: the kills came before any work", c.Refreshes, runs)
	}
}

// TestFileStoreKillChild is the child side of TestFileStoreSurvivesSIGKILL:
// it renews the session as fast as it can (each round a service "rejects"
// the token) and writes every access token it gets to stdout, until it is
// killed. Run directly, it does nothing.
func TestFileStoreKillChild(t *testing.T) {
	dir := os.Getenv(killChildEnv)
	if dir == "" {
		return
	}
	s, err := strategy.NewOAuth(strategy.OAuthConfig{Store: strategy.NewFileStore(dir)})
	if err != nil {
		fmt.Printf("error %v\n", err)
		return
	}
	defer s.Close()
	for {
		tok, err := s.Get(t.Context())
		if err != nil {
			fmt.Printf("error %v\n", err)
			return
		}
		// Handed out: written to the pipe before anything else happens.
		os.Stdout.WriteString("token " + tok.AccessToken.Reveal() + "\n")
		s.Invalidate()
	}
}

const clockChildEnv = "TOKENACTOR_TEST_CLOCK_CHILD"

// TestFileStoreEightProcessesOneRefreshPerExpiry runs eight processes on
// one session file through many expiry cycles. Each child has a fake clock
// that the parent moves: on an "advance" round every child moves its clock
// past the token's expiry and asks for a token; on an "invalidate" round
// every child drops its token (a service rejected it) and asks again. All
// eight ask at once. Per round exactly one refresh may reach the server,
// no refresh token may be replayed, and all eight must get the new token.
// The clock makes the expiries exact, so the test asserts counts, never
// timings. TOKENACTOR_LONG=1 runs 400 rounds instead of 40.
func TestFileStoreEightProcessesOneRefreshPerExpiry(t *testing.T) {
	if testing.Short() {
		t.Skip("starts eight processes")
	}
	const procs = 8
	const lifetime = 600 * time.Second
	rounds := 40
	if longRun() {
		rounds = 400
	}
	srv := newChainServer(int(lifetime / time.Second))
	ts := httptest.NewServer(srv)
	defer ts.Close()
	dir := t.TempDir()
	store := strategy.NewFileStore(dir)
	if err := store.Save(t.Context(), strategy.DefaultProfile, seedSession(ts.URL, fakeclock.Start)); err != nil {
		t.Fatal(err)
	}

	type child struct {
		cmd *exec.Cmd
		in  io.WriteCloser
		out *bufio.Scanner
	}
	children := make([]child, procs)
	for i := range children {
		cmd, in, out := startChild(t, "TestFileStoreClockChild", clockChildEnv+"="+dir)
		children[i] = child{cmd: cmd, in: in, out: bufio.NewScanner(out)}
	}
	t.Cleanup(func() {
		for _, c := range children {
			c.in.Close() // the child's test ends at EOF
		}
		for i, c := range children {
			if err := c.cmd.Wait(); err != nil {
				t.Errorf("child %d: %v", i, err)
			}
		}
	})
	// ask sends cmd to every child at once and returns their answers.
	ask := func(cmd string) []string {
		answers := make([]string, procs)
		var wg sync.WaitGroup
		for i, c := range children {
			wg.Go(func() {
				fmt.Fprintln(c.in, cmd)
				answers[i] = "no answer"
				if c.out.Scan() {
					answers[i] = c.out.Text()
				}
			})
		}
		wg.Wait()
		return answers
	}
	same := func(s string) []string {
		out := make([]string, procs)
		for i := range out {
			out[i] = s
		}
		return out
	}

	var now, refreshedAt time.Duration // offsets from fakeclock.Start
	mismatched := 0
	for round := 1; round <= rounds; round++ {
		cmd := "invalidate"
		if round%2 == 1 { // the first round finds the saved token expired
			now = refreshedAt + lifetime + time.Second
			cmd = fmt.Sprintf("advance %d", now)
		}
		got := ask(cmd)
		refreshedAt = now
		if diff := cmp.Diff(same(fmt.Sprintf("token at-%d", round)), got); diff != "" {
			mismatched++
			t.Errorf("round %d (%s): answers (-want +got):\n%s", round, cmd, diff)
		}
		if c := srv.counts(); c.Refreshes != round {
			t.Fatalf("round %d: %d refreshes in all, want %d", round, c.Refreshes, round)
		}
	}
	c := srv.counts()
	t.Logf("shared file: processes=%d, rounds=%d (expiries=%d, invalidations=%d), refreshes=%d, replayed=%d, refused=%d, rounds with differing tokens=%d",
		procs, rounds, (rounds+1)/2, rounds/2, c.Refreshes, c.Reuses, c.Refused, mismatched)
	if diff := cmp.Diff(chainCounts{Issued: rounds, Refreshes: rounds}, c); diff != "" {
		t.Errorf("server counts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(fmt.Sprintf("rt-%d", rounds), savedRefreshToken(t, store)); diff != "" {
		t.Errorf("saved refresh token (-want +got):\n%s", diff)
	}
}

// TestFileStoreClockChild is the child side of the eight-process test. Its
// cache and strategy read a fake clock that only the parent's commands
// move. Run directly, it does nothing.
func TestFileStoreClockChild(t *testing.T) {
	dir := os.Getenv(clockChildEnv)
	if dir == "" {
		return
	}
	// Its own transport, so its keep-alive connections can be closed at
	// the end and the child's goroutine leak check passes at once.
	client := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(client.CloseIdleConnections)
	clk := fakeclock.New()
	// Zero window: a token is renewed when it expires, by the caller that
	// finds it expired, so every refresh happens at a time the parent set.
	// No fast path: it is driven by timers, which the clock's jumps fire
	// asynchronously, so a Get right after a jump could still be served the
	// token from before it. Without it every Get reads the clock.
	s := newOAuth(t, strategy.OAuthConfig{Store: strategy.NewFileStore(dir), Clock: clk, HTTPClient: client}, tokenactor.WithRefreshWindow(0), tokenactor.WithoutFastPath())
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		switch cmd, arg, _ := strings.Cut(in.Text(), " "); cmd {
		case "advance":
			d, _ := strconv.ParseInt(arg, 10, 64)
			clk.AdvanceTo(fakeclock.Start.Add(time.Duration(d)))
		case "invalidate":
			s.Invalidate()
		}
		tok, err := s.Get(t.Context())
		if err != nil {
			fmt.Printf("error %v\n", err)
			continue
		}
		fmt.Printf("token %s\n", tok.AccessToken.Reveal())
	}
}

const realClockChildEnv = "TOKENACTOR_TEST_REAL_CLOCK_CHILD"

// TestFileStoreEightProcessesRealExpiry is the long version of the
// shared-file test on the real clock: eight processes ask for a token every
// 20 ms while tokens live 8 s and are renewed in the background at half
// their life, until the server has made 8 refreshes. No refresh token may
// be used twice, no process may get an error or an expired token, every
// process must have followed the renewals, and no two refreshes may come
// closer than a quarter of the lifetime (which two processes refreshing
// for the same expiry would). It runs only with TOKENACTOR_LONG=1: real
// expiry takes real time.
func TestFileStoreEightProcessesRealExpiry(t *testing.T) {
	if !longRun() {
		t.Skip("takes half a minute; set TOKENACTOR_LONG=1")
	}
	const procs, refreshes = 8, 8
	const lifetime = 8 * time.Second
	srv := newChainServer(int(lifetime / time.Second))
	srv.target, srv.reached = refreshes, make(chan struct{})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	dir := t.TempDir()
	store := strategy.NewFileStore(dir)
	if err := store.Save(t.Context(), strategy.DefaultProfile, seedSession(ts.URL, time.Now())); err != nil {
		t.Fatal(err)
	}

	type report struct {
		tokens, bad  int
		generations  map[int]bool
		firstProblem string
	}
	reports := make([]report, procs)
	var ins []io.WriteCloser
	var wg sync.WaitGroup
	var cmds []*exec.Cmd
	for i := range procs {
		cmd, in, out := startChild(t, "TestFileStoreRealClockChild", realClockChildEnv+"="+dir)
		ins, cmds = append(ins, in), append(cmds, cmd)
		wg.Go(func() {
			r := report{generations: map[int]bool{}}
			for sc := bufio.NewScanner(out); sc.Scan(); {
				kind, line, _ := strings.Cut(sc.Text(), " ")
				switch kind {
				case "token":
				case "error", "expired":
					r.bad++
					if r.firstProblem == "" {
						r.firstProblem = sc.Text()
					}
					continue
				default:
					continue // the child's test framework talking
				}
				r.tokens++
				r.generations[tokenNumber(line)] = true
			}
			reports[i] = r
		})
	}
	select {
	case <-srv.reached:
	case <-time.After(time.Duration(refreshes+4) * lifetime):
		t.Errorf("only %d refreshes in %v", srv.counts().Refreshes, time.Duration(refreshes+4)*lifetime)
	}
	for _, in := range ins {
		in.Close()
	}
	wg.Wait()
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("child %d: %v", i, err)
		}
	}

	c := srv.counts()
	srv.mu.Lock()
	minGap := time.Duration(1 << 62)
	for i := 1; i < len(srv.times); i++ {
		minGap = min(minGap, srv.times[i].Sub(srv.times[i-1]))
	}
	srv.mu.Unlock()
	tokens, bad := 0, 0
	for i, r := range reports {
		tokens += r.tokens
		bad += r.bad
		if r.bad > 0 {
			t.Errorf("child %d: %d bad answers, the first: %s", i, r.bad, r.firstProblem)
		}
		// The last refresh may come just before the stop.
		if len(r.generations) < refreshes-1 {
			t.Errorf("child %d saw %d generations of tokens, want at least %d", i, len(r.generations), refreshes-1)
		}
	}
	t.Logf("shared file, real clock: processes=%d, lifetime=%v, tokens handed out=%d, refreshes=%d, replayed=%d, refused=%d, errors or expired=%d, closest refreshes=%v",
		procs, lifetime, tokens, c.Refreshes, c.Reuses, c.Refused, bad, minGap.Round(time.Millisecond))
	if c.Reuses != 0 || c.Refused != 0 {
		t.Errorf("replayed=%d, refused=%d: want 0", c.Reuses, c.Refused)
	}
	if minGap < lifetime/4 {
		t.Errorf("two refreshes %v apart: one expiry was refreshed twice", minGap)
	}
}

// TestFileStoreRealClockChild is the child side of the real-clock test: it
// asks for a token every 20 ms until its stdin closes, and prints each, or
// the error, or "expired" for a token past its expiry. Run directly, it
// does nothing.
func TestFileStoreRealClockChild(t *testing.T) {
	dir := os.Getenv(realClockChildEnv)
	if dir == "" {
		return
	}
	client := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(client.CloseIdleConnections)
	s := newOAuth(t, strategy.OAuthConfig{Store: strategy.NewFileStore(dir), HTTPClient: client})
	done := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(done)
	}()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		tok, err := s.Get(t.Context())
		switch {
		case err != nil:
			fmt.Printf("error %v\n", err)
		case !time.Now().Before(tok.ExpiresAt):
			fmt.Printf("expired %s\n", tok.AccessToken.Reveal())
		default:
			fmt.Printf("token %s\n", tok.AccessToken.Reveal())
		}
	}
}
