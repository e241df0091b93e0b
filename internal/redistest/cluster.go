package redistest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A Cluster is a Redis Cluster of redis-server processes this test started
// on loopback, each a primary owning an equal share of the hash slots, with
// no replicas and no persistence.
type Cluster struct {
	// Addrs are the nodes' host:port addresses.
	Addrs []string
}

// clusterSlots is the number of hash slots of Redis Cluster.
const clusterSlots = 16384

// StartCluster starts n nodes, gives each its share of the slots, joins
// them and returns once every node reports the cluster ok; the nodes stop
// when the test ends. Without redis-server it skips the test, or fails it
// if TOKENACTOR_REQUIRE_REDIS=1.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	c := &Cluster{}
	var buses []int
	for i := range n {
		var bus int
		s := start(t, func() ([]string, error) {
			var err error
			if bus, err = freePort(); err != nil {
				return nil, err
			}
			return []string{"--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(bus),
				"--cluster-config-file", fmt.Sprintf("nodes-%d.conf", i), "--cluster-node-timeout", "2000"}, nil
		})
		c.Addrs = append(c.Addrs, s.Addr)
		buses = append(buses, bus)
		lo, hi := i*clusterSlots/n, (i+1)*clusterSlots/n-1
		if _, err := command(s.Addr, "CLUSTER", "ADDSLOTSRANGE", strconv.Itoa(lo), strconv.Itoa(hi)); err != nil {
			t.Fatalf("redistest: %v", err)
		}
	}
	for i, a := range c.Addrs[1:] {
		host, port, _ := net.SplitHostPort(a)
		if _, err := command(c.Addrs[0], "CLUSTER", "MEET", host, port, strconv.Itoa(buses[i+1])); err != nil {
			t.Fatalf("redistest: %v", err)
		}
	}
	deadline := time.Now().Add(readyTimeout)
	for _, a := range c.Addrs {
		for {
			info, err := command(a, "CLUSTER", "INFO")
			if err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d", n)) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("redistest: cluster not ok after %v: %q, %v", readyTimeout, info, err)
			}
			time.Sleep(50 * time.Millisecond) // polling a real server's state
		}
	}
	return c
}

// command sends one command to addr and returns its reply, a status or a
// bulk string; an error reply is returned as an error.
func command(addr string, args ...string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := conn.Write([]byte(b.String())); err != nil {
		return "", err
	}
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	switch {
	case strings.HasPrefix(line, "-"):
		return "", fmt.Errorf("%s: %s", strings.Join(args, " "), line[1:])
	case strings.HasPrefix(line, "$"):
		size, err := strconv.Atoi(line[1:])
		if err != nil || size < 0 {
			return "", err
		}
		body := make([]byte, size+2)
		if _, err := io.ReadFull(r, body); err != nil {
			return "", err
		}
		return string(body[:size]), nil
	}
	return line[1:], nil
}
