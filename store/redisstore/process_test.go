package redisstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/internal/redistest"
)

// Environment of a child process of TestFleetProcesses.
const (
	childEnv   = "TOKENACTOR_FLEET_CHILD" // "1": run childMain, not the tests
	envRedis   = "TOKENACTOR_FLEET_REDIS"
	envAuth    = "TOKENACTOR_FLEET_AUTH"
	envCaches  = "TOKENACTOR_FLEET_CACHES"
	envGens    = "TOKENACTOR_FLEET_GENS"
	processes  = 4
	perProcess = 4
)

// TestFleetProcesses runs the fleet as 4 OS processes (this test binary run
// again), 4 caches each, sharing one Redis and one auth server: one token
// request per expiry across processes.
func TestFleetProcesses(t *testing.T) {
	srv := redistest.Start(t)
	a := newAuthServer(t)
	const gens = 5
	ctx, cancel := context.WithTimeout(context.Background(), runLimit)
	defer cancel()

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	type outcome struct {
		out []byte
		err error
	}
	results := make([]outcome, processes)
	var wg sync.WaitGroup
	for i := range processes {
		cmd := exec.CommandContext(ctx, exe)
		cmd.Env = append(os.Environ(),
			childEnv+"=1", envRedis+"="+srv.Addr, envAuth+"="+a.URL,
			envCaches+"="+strconv.Itoa(perProcess), envGens+"="+strconv.Itoa(gens))
		wg.Go(func() {
			out, err := cmd.CombinedOutput()
			results[i] = outcome{out, err}
		})
	}
	wg.Wait()
	for i, r := range results {
		if r.err != nil {
			t.Errorf("process %d: %v\n%s", i, r.err, r.out)
		} else {
			t.Logf("process %d: %s", i, r.out)
		}
	}
	st := a.stats()
	if st.Gens < gens {
		t.Errorf("server saw %d expiries, want at least %d", st.Gens, gens)
	}
	if st.Dups != 0 || st.Requests != st.Gens {
		t.Errorf("server saw %d token requests for %d expiries (%d duplicates); want one per expiry", st.Requests, st.Gens, st.Dups)
	}
}

// childMain is one process of TestFleetProcesses: it runs its caches until
// the auth server has seen the wanted number of expiries, checks every
// token it got, and exits 0 if all were valid.
func childMain() int {
	caches, _ := strconv.Atoi(os.Getenv(envCaches))
	gens, _ := strconv.Atoi(os.Getenv(envGens))
	auth := os.Getenv(envAuth)
	if caches <= 0 || gens <= 0 || auth == "" {
		fmt.Fprintln(os.Stderr, "child: missing environment")
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), runLimit)
	defer cancel()
	ev := newEventCounter()
	reps := make([]*replica, caches)
	for i := range reps {
		reps[i] = newReplica(os.Getenv(envRedis), auth, fleetConfig{shared: true, encrypt: true, events: ev})
	}
	defer func() {
		for _, r := range reps {
			r.close()
		}
	}()
	hc := &http.Client{Timeout: 5 * time.Second}
	defer hc.CloseIdleConnections()
	v := &remoteValidator{url: auth, client: hc, ok: map[string]bool{}}
	d := startDrive(ctx, reps, v.valid)
	reached := waitRemote(ctx, hc, auth, gens)
	d.stop()
	fmt.Printf("gets=%d errors=%d invalid=%d tokens=%d events=%v", d.gets.Load(), d.errs.Load(), d.invalid.Load(), v.count(), ev)
	switch {
	case !reached:
		fmt.Fprintln(os.Stderr, "\nchild: the fleet did not reach", gens, "expiries in time")
		return 1
	case d.gets.Load() == 0 || d.errs.Load() != 0 || d.invalid.Load() != 0:
		if p := d.firstErr.Load(); p != nil {
			fmt.Fprintln(os.Stderr, "\nchild: first error:", *p)
		}
		return 1
	}
	return 0
}

// remoteValidator checks tokens with the auth server, once per token, and
// each use against the token's expiry.
type remoteValidator struct {
	url    string
	client *http.Client
	mu     sync.Mutex
	ok     map[string]bool
}

func (v *remoteValidator) valid(tok tokenactor.ServiceToken, at time.Time) bool {
	if !at.Before(tok.ExpiresAt) {
		return false
	}
	s := tok.AccessToken.Reveal()
	v.mu.Lock()
	known := v.ok[s]
	v.mu.Unlock()
	if known {
		return true
	}
	req, err := http.NewRequest(http.MethodGet, v.url+"/check", nil)
	if err != nil {
		return false
	}
	req.Header.Set("Authorization", "Bearer "+s)
	resp, err := v.client.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return false
	}
	v.mu.Lock()
	v.ok[s] = true
	v.mu.Unlock()
	return true
}

func (v *remoteValidator) count() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.ok)
}

// waitRemote polls the auth server's counts until it has seen gens
// expiries, and reports whether it did before ctx ended.
func waitRemote(ctx context.Context, hc *http.Client, url string, gens int) bool {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
		resp, err := hc.Get(url + "/stats")
		if err != nil {
			continue
		}
		var st fleetStats
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if err == nil && st.Gens >= gens {
			return true
		}
	}
}
