package redisstore_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
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

// BenchmarkAdoption measures, for 16 replicas on loopback against a real
// redis-server, how long after the lease holder saved a new record the last
// replica has it (every replica's Refresh returned it), and how many Redis
// commands each replica costs per expiry: polling only ("poll", a store
// that is not a Watcher) against hearing the save ("watch"). Each iteration
// is one expiry: all replicas ask at once, one refreshes (a token request
// taking refreshCost), the others wait. Run it as:
//
//	go test -run '^$' -bench Adoption -benchtime 200x ./store/redisstore/
func BenchmarkAdoption(b *testing.B) {
	for _, mode := range []string{"poll", "watch"} {
		b.Run(mode, func(b *testing.B) { runAdoption(b, 16, mode == "watch") })
	}
}

// refreshCost is how long the lease holder's token request takes.
const refreshCost = 50 * time.Millisecond

// savedAt records when a Save last returned.
type savedAt struct{ at atomic.Int64 }

func (s *savedAt) mark() { s.at.Store(time.Now().UnixNano()) }

// pollOnly hides Watch (and keeps Extend): the Shared polls, as before
// stores could watch.
type pollOnly struct {
	store.Store
	saved *savedAt
}

// Extend keeps the lease alive, as the Store it hides Watch of does.
func (p pollOnly) Extend(ctx context.Context, key, owner string, ttl time.Duration) error {
	return p.Store.(store.Extender).Extend(ctx, key, owner, ttl)
}

func (p pollOnly) Save(ctx context.Context, key string, b []byte, ttl time.Duration) error {
	err := p.Store.Save(ctx, key, b, ttl)
	p.saved.mark()
	return err
}

// watching keeps Watch (promoted from *redisstore.Store).
type watching struct {
	*redisstore.Store
	saved *savedAt
}

func (w watching) Save(ctx context.Context, key string, b []byte, ttl time.Duration) error {
	err := w.Store.Save(ctx, key, b, ttl)
	w.saved.mark()
	return err
}

// clientCount counts the commands a client sends (scripts count once).
type clientCount struct{ n atomic.Int64 }

func (c *clientCount) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *clientCount) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { c.n.Add(1); return next(ctx, cmd) }
}
func (c *clientCount) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

func runAdoption(b *testing.B, n int, watch bool) {
	srv := redistest.Start(b)
	ctx := context.Background()
	var saved savedAt
	var sent clientCount
	var gen atomic.Int64
	inner := tokenactor.RefresherFunc[string](func(ctx context.Context, _ *tokenactor.Entry[string]) (tokenactor.Entry[string], error) {
		t := time.NewTimer(refreshCost)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return tokenactor.Entry[string]{}, ctx.Err()
		}
		return tokenactor.Entry[string]{Value: fmt.Sprint("v", gen.Add(1)), ExpiresAt: time.Now().Add(time.Hour)}, nil
	})
	reps := make([]*store.Shared[string], n)
	for i := range reps {
		c := redis.NewClient(&redis.Options{Addr: srv.Addr, ContextTimeoutEnabled: true, DisableIdentity: true})
		c.AddHook(&sent)
		rs := redisstore.New(c)
		b.Cleanup(func() { _ = rs.Close(); _ = c.Close() })
		var st store.Store = pollOnly{rs, &saved}
		if watch {
			st = watching{rs, &saved}
		}
		reps[i] = store.Wrap(inner, st, "bench", stringCodec, store.WithLease(5*time.Second, 10*time.Second))
	}
	held := make([]*tokenactor.Entry[string], n)
	expiry := func() time.Duration {
		var wg sync.WaitGroup
		var last atomic.Int64
		for i, r := range reps {
			wg.Go(func() {
				e, err := r.Refresh(ctx, held[i])
				if err != nil {
					b.Error(err)
					return
				}
				held[i] = &e
				now := time.Now().UnixNano()
				for {
					l := last.Load()
					if now <= l || last.CompareAndSwap(l, now) {
						break
					}
				}
			})
		}
		wg.Wait()
		for _, e := range held[1:] {
			if e == nil || held[0] == nil || e.Value != held[0].Value {
				b.Fatalf("replicas disagree after an expiry")
			}
		}
		return time.Duration(last.Load() - saved.at.Load())
	}
	expiry() // the first value, and every subscription made
	before, sentBefore := serverCalls(b, srv.Addr), sent.n.Load()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		lat = append(lat, expiry())
	}
	b.StopTimer()
	calls, sentCalls := serverCalls(b, srv.Addr)-before, sent.n.Load()-sentBefore
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / 1e6 }
	per := float64(b.N * n)
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(sentCalls)/per, "client-cmds/expiry/replica")
	b.ReportMetric(float64(calls)/per, "server-cmds/expiry/replica")
	b.ReportMetric(float64(gen.Load()-1)/float64(b.N), "requests/expiry")
}

// serverCalls sums the calls of INFO commandstats, scripts' inner calls
// included, less the INFO calls made to read it. It talks RESP on a plain
// connection, so the counting client is not counted.
func serverCalls(b *testing.B, addr string) int64 {
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte("INFO commandstats\r\n")); err != nil {
		b.Fatal(err)
	}
	r := bufio.NewReader(conn)
	head, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(head, "$") {
		b.Fatalf("INFO: %q, %v", head, err)
	}
	size, _ := strconv.Atoi(strings.TrimSpace(head[1:]))
	body := make([]byte, size+2)
	if _, err := io.ReadFull(r, body); err != nil {
		b.Fatal(err)
	}
	var total int64
	for _, line := range strings.Split(string(body), "\r\n") {
		name, rest, ok := strings.Cut(line, ":calls=")
		if !ok || name == "cmdstat_info" {
			continue
		}
		v, _, _ := strings.Cut(rest, ",")
		n, _ := strconv.ParseInt(v, 10, 64)
		total += n
	}
	return total
}
