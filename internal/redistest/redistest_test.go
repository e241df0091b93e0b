package redistest_test

import (
	"bufio"
	"net"
	"testing"
	"time"

	"github.com/tokenactor/tokenactor/internal/redistest"
)

// ping sends PING over a raw connection and reports whether +PONG came.
func ping(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && line == "+PONG\r\n"
}

func TestStartStopRestart(t *testing.T) {
	s := redistest.Start(t)
	if !ping(s.Addr) {
		t.Fatal("no PONG from a started server")
	}
	s.Stop()
	if ping(s.Addr) {
		t.Fatal("PONG from a stopped server")
	}
	s.Stop() // stopping twice is harmless
	s.Restart()
	if !ping(s.Addr) {
		t.Fatal("no PONG after Restart")
	}
}

func TestStartCluster(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	if len(c.Addrs) != 3 {
		t.Fatalf("%d nodes, want 3", len(c.Addrs))
	}
	for _, a := range c.Addrs {
		if !ping(a) {
			t.Errorf("no PONG from node %s", a)
		}
	}
}
