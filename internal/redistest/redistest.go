// Package redistest starts real redis-server processes for tests.
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RequireEnv names the environment variable that turns a missing
// redis-server into a test failure instead of a skip. CI sets it to 1.
const RequireEnv = "TOKENACTOR_REQUIRE_REDIS"

// readyTimeout bounds how long a redis-server may take to start.
const readyTimeout = 10 * time.Second

// A Server is a redis-server process this test started, listening on a
// loopback port with its own temporary directory and no persistence.
// Its methods must be called from the test's goroutine.
type Server struct {
	// Addr is host:port, stable across Restart.
	Addr string

	t    testing.TB
	bin  string
	port int
	dir  string
	args []string // more redis-server arguments
	proc *process
}

// process is one run of redis-server.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when its output is drained (it exited)
}

// Start starts a redis-server on a free loopback port and stops it when the
// test ends. Without the binary it skips the test, or fails it if
// TOKENACTOR_REQUIRE_REDIS=1.
func Start(t testing.TB) *Server {
	t.Helper()
	return start(t, nil)
}

// start starts a redis-server with more arguments; more may return extra
// arguments per attempt (fresh ports, say).
func start(t testing.TB, more func() ([]string, error)) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("redis-server not found and %s=1: install it (apt-get install -y redis-server)", RequireEnv)
		}
		t.Skipf("redis-server not found (set %s=1 to make this a failure)", RequireEnv)
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir()}
	var lastErr error
	for range 3 { // the free port may be taken between finding and binding it
		s.port, err = freePort()
		if err != nil {
			t.Fatalf("redistest: %v", err)
		}
		if more != nil {
			if s.args, err = more(); err != nil {
				t.Fatalf("redistest: %v", err)
			}
		}
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
		if lastErr = s.start(); lastErr == nil {
			t.Cleanup(s.Stop)
			return s
		}
	}
	t.Fatalf("redistest: %v", lastErr)
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start runs redis-server and returns once it accepts connections.
func (s *Server) start() error {
	cmd := exec.Command(s.bin,
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir,
		"--daemonize", "no", "--logfile", "")
	cmd.Args = append(cmd.Args, s.args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return err
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	ready := make(chan struct{})
	var log strings.Builder
	go func() { // drains the output until the process exits
		defer close(p.done)
		sc := bufio.NewScanner(out)
		seen := false
		for sc.Scan() {
			if !seen {
				log.WriteString(sc.Text() + "\n")
				if strings.Contains(sc.Text(), "Ready to accept connections") {
					seen = true
					close(ready)
				}
			}
		}
	}()
	timeout := time.NewTimer(readyTimeout)
	defer timeout.Stop()
	select {
	case <-ready:
		s.proc = p
		return nil
	case <-p.done:
		_ = cmd.Wait()
		return fmt.Errorf("redis-server exited before it was ready:\n%s", log.String())
	case <-timeout.C:
		_ = cmd.Process.Kill()
		<-p.done
		_ = cmd.Wait()
		return fmt.Errorf("redis-server not ready after %v", readyTimeout)
	}
}

// Stop kills the server (SIGKILL: no shutdown, as a crash) and waits for it.
// Stopping a stopped server does nothing.
func (s *Server) Stop() {
	if s.proc == nil {
		return
	}
	_ = s.proc.cmd.Process.Kill()
	<-s.proc.done
	_ = s.proc.cmd.Wait()
	s.proc = nil
}

// Restart starts the server again on the same port, empty.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		s.t.Fatalf("redistest: restart: %v", err)
	}
}
