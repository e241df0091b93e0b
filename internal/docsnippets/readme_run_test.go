package docsnippets

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tokenactor/tokenactor/internal/redistest"
	"github.com/tokenactor/tokenactor/oauthtest"
)

// runTimeout bounds one run of a README program.
const runTimeout = 30 * time.Second

// readmePrograms builds the README's named programs and returns where the
// binaries are.
func readmePrograms(t *testing.T, names ...string) string {
	t.Helper()
	root := repoRoot(t)
	ss, err := extract(root, "README.md")
	if err != nil {
		t.Fatal(err)
	}
	var want []snippet
	for _, name := range names {
		i := indexOf(ss, name)
		if i < 0 {
			t.Fatalf("README.md has no snippet named %q", name)
		}
		want = append(want, ss[i])
	}
	binDir := t.TempDir()
	build(t, root, want, binDir)
	return binDir
}

func indexOf(ss []snippet, name string) int {
	for i, s := range ss {
		if s.name == name {
			return i
		}
	}
	return -1
}

// runProgram runs a built README program with env added to the test's
// environment and returns its standard output. A non-zero exit fails the
// test.
func runProgram(t *testing.T, binDir, name string, env ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, name))
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("README program %q: %v\nstdout:\n%s\nstderr:\n%s", name, err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// clientEnv is the environment that points a README program at srv, as a
// reader following the README would set it for "tokenactor serve".
func clientEnv(srv *oauthtest.Server) []string {
	return []string{
		"TOKENACTOR_TOKEN_URL=" + srv.TokenURL(),
		"TOKENACTOR_CLIENT_ID=" + oauthtest.DefaultClientID,
		"TOKENACTOR_CLIENT_SECRET=" + oauthtest.DefaultClientSecret,
		"API_URL=" + srv.ResourceURL(),
	}
}

// grants returns how many client credentials grants srv made.
func grants(srv *oauthtest.Server) int {
	return srv.Stats().Grants["client_credentials"]
}

// TestREADMEPrograms runs the README's three examples: the generic cache on
// its own; client credentials through httpauth against a token server and an
// API on loopback; and the fleet recipe as two replicas, one after the
// other, sharing one token through a real redis-server.
func TestREADMEPrograms(t *testing.T) {
	binDir := readmePrograms(t, "cache", "oauth", "fleet")

	t.Run("cache", func(t *testing.T) {
		out := runProgram(t, binDir, "cache")
		if strings.TrimSpace(out) == "" {
			t.Error("the cache example printed nothing; it prints the cached value")
		}
	})

	t.Run("oauth", func(t *testing.T) {
		srv := oauthtest.NewServer()
		t.Cleanup(srv.Close)
		out := runProgram(t, binDir, "oauth", clientEnv(srv)...)
		if got, want := strings.TrimSpace(out), "200 OK"; got != want {
			t.Errorf("output = %q, want %q", got, want)
		}
		if got := grants(srv); got != 1 {
			t.Errorf("token requests = %d, want 1", got)
		}
	})

	t.Run("fleet", func(t *testing.T) {
		rs := redistest.Start(t)
		srv := oauthtest.NewServer()
		t.Cleanup(srv.Close)
		sealKey := hex.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
		env := append(clientEnv(srv), "TOKEN_SEAL_KEY="+sealKey, "REDIS_ADDR="+rs.Addr)

		var tokens []string
		for replica := 1; replica <= 2; replica++ {
			if got, want := strings.TrimSpace(runProgram(t, binDir, "fleet", env...)), "200 OK"; got != want {
				t.Errorf("replica %d printed %q, want %q", replica, got, want)
			}
			req, ok := srv.LastRequest(oauthtest.EndpointResource)
			if !ok {
				t.Fatalf("replica %d sent no request to the API", replica)
			}
			tokens = append(tokens, strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer "))
		}
		if got := grants(srv); got != 1 {
			t.Fatalf("token requests for two replicas = %d, want 1: the second should adopt the first's token from Redis", got)
		}
		if tokens[0] == "" || tokens[1] != tokens[0] {
			t.Errorf("the replicas sent different tokens (or none): %q", tokens)
		}
		if st := srv.Stats(); st.Accepted != 2 {
			t.Errorf("API requests accepted = %d, want 2", st.Accepted)
		}

		// The record is in Redis under the README's key, sealed: neither
		// readable JSON (a plain record is) nor holding the token.
		rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
		defer rdb.Close()
		record, err := rdb.Get(t.Context(), "tokenactor:{orders-api/"+oauthtest.DefaultClientID+"}:token").Bytes()
		if err != nil {
			t.Fatalf("reading the shared record: %v", err)
		}
		if json.Valid(record) || strings.Contains(string(record), tokens[0]) {
			t.Error("the shared record holds the token in clear; the README seals it with store.WithEncryption")
		}
	})
}
