package strategy_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/strategy"
)

func TestFileStoreRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tokenactor")
	store := strategy.NewFileStore(dir)
	want := strategy.Session{
		TokenURL: "https://auth.example/token", ClientID: "cli",
		AccessToken: tokenactor.NewSecretToken("at"), TokenType: "Bearer",
		ExpiresAt:    time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC),
		RefreshToken: tokenactor.NewSecretToken("rt"), Scope: "openid offline_access",
		RefreshAt: time.Date(2030, 1, 2, 2, 4, 5, 6, time.UTC),
	}
	if err := store.Save(t.Context(), "work", want); err != nil {
		t.Fatal(err)
	}
	got, err := store.Load(t.Context(), "work")
	if err != nil {
		t.Fatal(err)
	}
	reveal := cmp.Transformer("reveal", func(s tokenactor.SecretToken) string { return s.Reveal() })
	if diff := cmp.Diff(want, got, reveal); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	modes := map[string]os.FileMode{}
	for _, p := range []string{dir, store.Path("work")} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		modes[filepath.Base(p)] = fi.Mode().Perm()
	}
	if diff := cmp.Diff(map[string]os.FileMode{"tokenactor": 0o700, "work.json": 0o600}, modes); diff != "" {
		t.Errorf("modes (-want +got):\n%s", diff)
	}
}

func TestFileStoreMissingAndDelete(t *testing.T) {
	store := strategy.NewFileStore(t.TempDir())
	if _, err := store.Load(t.Context(), "default"); !errors.Is(err, strategy.ErrNoSession) || !errors.Is(err, tokenactor.ErrNotAuthenticated) {
		t.Errorf("Load of nothing: got %v, want ErrNoSession", err)
	}
	if err := store.Delete(t.Context(), "default"); err != nil {
		t.Errorf("Delete of nothing: %v", err)
	}
	store.Save(t.Context(), "default", strategy.Session{AccessToken: tokenactor.NewSecretToken("at")})
	if err := store.Delete(t.Context(), "default"); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Load(t.Context(), "default"); !errors.Is(err, strategy.ErrNoSession) {
		t.Errorf("Load after Delete: got %v, want ErrNoSession", err)
	}
}

func TestFileStoreRejectsBadProfiles(t *testing.T) {
	store := strategy.NewFileStore(t.TempDir())
	for _, p := range []string{"", "../etc/passwd", ".hidden", "a/b", strings.Repeat("x", 65), "spa ce"} {
		_, err := store.Load(t.Context(), p)
		var ce *strategy.ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("profile %q: got %v, want *ConfigError", p, err)
		}
	}
}

func TestFileStoreCorruptFile(t *testing.T) {
	tests := []struct {
		name, give, want string
	}{
		{name: "not JSON", give: "hello", want: "malformed JSON"},
		{name: "truncated", give: `{"version":1,"access_token":"a`, want: "truncated JSON"},
		{name: "empty", give: "", want: "empty"},
		{name: "wrong version", give: `{"version":9,"access_token":"a"}`, want: "unknown version 9"},
		{name: "no tokens", give: `{"version":1}`, want: "no access_token and no refresh_token"},
		{name: "trailing data", give: `{"version":1,"access_token":"a"} {}`, want: "data after the JSON object"},
		{name: "wrong type", give: `{"version":1,"access_token":5}`, want: "field access_token has the wrong JSON type"},
		{name: "bad expiry", give: `{"version":1,"access_token":"a","expires_at":"tomorrow"}`, want: "malformed JSON"},
		{name: "too big", give: `{"version":1,"access_token":"` + strings.Repeat("a", 2<<20) + `"}`, want: "larger than 1 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := strategy.NewFileStore(t.TempDir())
			path := store.Path("default")
			os.WriteFile(path, []byte(tt.give), 0o600)

			_, err := store.Load(t.Context(), "default")
			var ce *strategy.CorruptSessionError
			got := ""
			if errors.As(err, &ce) {
				got = ce.Reason
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s\nerror: %v", diff, err)
			}
			// A strategy using the file reports it and leaves it alone.
			s := newOAuth(t, strategy.OAuthConfig{Store: store, HTTPClient: memClient(newRotatingServer(60))})
			if _, err := s.Get(t.Context()); !errors.As(err, &ce) {
				t.Errorf("Get: got %v, want *CorruptSessionError", err)
			}
			after, _ := os.ReadFile(path)
			if string(after) != tt.give {
				t.Errorf("the corrupt file was changed")
			}
		})
	}
}

func TestFileStoreLockIsExclusiveAndHonoursContext(t *testing.T) {
	dir := t.TempDir()
	a, b := strategy.NewFileStore(dir), strategy.NewFileStore(dir)
	unlock, err := a.Lock(t.Context(), "default")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := b.Lock(ctx, "default"); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled while the lock is held", err)
	}
	got := make(chan error, 1)
	go func() {
		unlockB, err := b.Lock(t.Context(), "default")
		if err == nil {
			unlockB()
		}
		got <- err
	}()
	unlock()
	unlock() // idempotent
	if err := <-got; err != nil {
		t.Errorf("Lock after unlock: %v", err)
	}
}

// The two-process test: the parent runs a rotating token endpoint and two
// copies of this test binary sharing one FileStore directory. On each
// command from the parent, both children invalidate their token (a service
// rejected it) and get a new one at the same time. Exactly one refresh per
// round may reach the server, no refresh token may be replayed, and both
// children must end up with the same token.

const childEnv = "TOKENACTOR_TEST_CHILD_STORE"

func TestFileStoreTwoProcessesRefreshOncePerExpiry(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two processes")
	}
	srv := newRotatingServer(3600)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	dir := t.TempDir()
	store := strategy.NewFileStore(dir)
	if err := store.Save(t.Context(), strategy.DefaultProfile, seedSession(ts.URL, time.Now())); err != nil {
		t.Fatal(err)
	}

	type child struct {
		in  io.WriteCloser
		out *bufio.Scanner
	}
	var children []child
	for range 2 {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestFileStoreChildProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), childEnv+"="+dir)
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
		t.Cleanup(func() { in.Close(); cmd.Wait() })
		children = append(children, child{in: in, out: bufio.NewScanner(out)})
	}

	// ask sends cmd to both children at once and returns their answers.
	ask := func(cmd string) []string {
		answers := make([]string, len(children))
		var wg sync.WaitGroup
		for i, c := range children {
			wg.Go(func() {
				fmt.Fprintln(c.in, cmd)
				for c.out.Scan() {
					if line, ok := strings.CutPrefix(c.out.Text(), "token "); ok {
						answers[i] = line
						return
					}
				}
				answers[i] = "no answer"
			})
		}
		wg.Wait()
		return answers
	}

	const rounds = 5
	var got, want [][]string
	got = append(got, ask("get")) // both start from the expired saved token
	want = append(want, []string{"at-1", "at-1"})
	for i := range rounds {
		got = append(got, ask("invalidate"))
		n := fmt.Sprintf("at-%d", i+2)
		want = append(want, []string{n, n})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tokens per round (-want +got):\n%s", diff)
	}
	refreshes, replays := srv.counts()
	if diff := cmp.Diff([2]int{rounds + 1, 0}, [2]int{refreshes, replays}); diff != "" {
		t.Errorf("refreshes, replays (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(fmt.Sprintf("rt-%d", rounds+1), savedRefreshToken(t, store)); diff != "" {
		t.Errorf("saved refresh token (-want +got):\n%s", diff)
	}
}

// TestFileStoreChildProcess is the child side of the two-process test. Run
// directly, without the parent's environment, it does nothing.
func TestFileStoreChildProcess(t *testing.T) {
	dir := os.Getenv(childEnv)
	if dir == "" {
		return // not started by the parent test
	}
	s := newOAuth(t, strategy.OAuthConfig{Store: strategy.NewFileStore(dir)})
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if in.Text() == "invalidate" {
			s.Invalidate()
		}
		tok, err := s.Get(t.Context())
		if err != nil {
			fmt.Printf("token error: %v\n", err)
			continue
		}
		fmt.Printf("token %s\n", tok.AccessToken.Reveal())
	}
}
