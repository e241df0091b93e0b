package docsnippets

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tokenactor/tokenactor/internal/redistest"
)

// runTimeout bounds one run of a README program.
const runTimeout = 30 * time.Second

// Credentials the README programs are given; the token server accepts only
// these.
const (
	clientID     = "orders-api"
	clientSecret = "s3cret-for-the-readme-test"
)

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

// A tokenServer is a client-credentials token endpoint (RFC 6749 §4.4) on
// loopback that counts the tokens it issues.
type tokenServer struct {
	*httptest.Server

	mu     sync.Mutex
	issued []string // guarded by mu
}

func newTokenServer(t *testing.T) *tokenServer {
	s := &tokenServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(s.token))
	t.Cleanup(s.Close)
	return s
}

func (s *tokenServer) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if r.Method != http.MethodPost || r.FormValue("grant_type") != "client_credentials" ||
		!ok || id != clientID || secret != clientSecret {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
		return
	}
	s.mu.Lock()
	tok := fmt.Sprintf("token-%d", len(s.issued)+1)
	s.issued = append(s.issued, tok)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": tok, "token_type": "Bearer", "expires_in": 3600,
	})
}

func (s *tokenServer) tokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issued...)
}

// An apiServer answers GET /v1/things to a request bearing a token its
// token server issued, and records the tokens it saw.
type apiServer struct {
	*httptest.Server

	mu   sync.Mutex
	seen []string // guarded by mu
}

func newAPIServer(t *testing.T, ts *tokenServer) *apiServer {
	s := &apiServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		s.mu.Lock()
		s.seen = append(s.seen, tok)
		s.mu.Unlock()
		if r.URL.Path != "/v1/things" || !ok || !slices.Contains(ts.tokens(), tok) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte("[]"))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *apiServer) tokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
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
		ts := newTokenServer(t)
		api := newAPIServer(t, ts)
		out := runProgram(t, binDir, "oauth",
			"TOKEN_URL="+ts.URL+"/token", "CLIENT_ID="+clientID, "CLIENT_SECRET="+clientSecret,
			"API_URL="+api.URL)
		if got, want := strings.TrimSpace(out), "200 OK"; got != want {
			t.Errorf("output = %q, want %q", got, want)
		}
		if got := ts.tokens(); len(got) != 1 {
			t.Errorf("token requests = %d, want 1", len(got))
		}
	})

	t.Run("fleet", func(t *testing.T) {
		rs := redistest.Start(t)
		ts := newTokenServer(t)
		api := newAPIServer(t, ts)
		sealKey := hex.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
		env := []string{
			"TOKEN_URL=" + ts.URL + "/token", "CLIENT_ID=" + clientID, "CLIENT_SECRET=" + clientSecret,
			"TOKEN_SEAL_KEY=" + sealKey, "REDIS_ADDR=" + rs.Addr, "API_URL=" + api.URL,
		}
		for replica := 1; replica <= 2; replica++ {
			if got, want := strings.TrimSpace(runProgram(t, binDir, "fleet", env...)), "200 OK"; got != want {
				t.Errorf("replica %d printed %q, want %q", replica, got, want)
			}
		}
		issued := ts.tokens()
		if len(issued) != 1 {
			t.Fatalf("token requests for two replicas = %d (%v), want 1: the second should adopt the first's token from Redis", len(issued), issued)
		}
		if got, want := api.tokens(), []string{issued[0], issued[0]}; !slices.Equal(got, want) {
			t.Errorf("tokens the API saw = %v, want %v", got, want)
		}

		// The record is in Redis under the README's key, sealed: neither
		// readable JSON (a plain record is) nor holding the token.
		rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
		defer rdb.Close()
		record, err := rdb.Get(t.Context(), "tokenactor:token:orders-api/"+clientID).Bytes()
		if err != nil {
			t.Fatalf("reading the shared record: %v", err)
		}
		if json.Valid(record) || strings.Contains(string(record), issued[0]) {
			t.Error("the shared record holds the token in clear; the README seals it with store.WithEncryption")
		}
	})
}
