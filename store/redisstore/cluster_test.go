package redisstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/internal/redistest"
	"github.com/tokenactor/tokenactor/store"
	"github.com/tokenactor/tokenactor/store/redisstore"
)

// commandCount counts the commands a client sends, by name, and closes
// scripted when the first script has run (for a Shared: its lease attempt).
type commandCount struct {
	mu       sync.Mutex
	n        map[string]int
	scripted chan struct{}
	once     sync.Once
}

func (c *commandCount) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *commandCount) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.mu.Lock()
		c.n[cmd.Name()]++
		c.mu.Unlock()
		err := next(ctx, cmd)
		if name := cmd.Name(); err == nil && (name == "evalsha" || name == "eval") {
			c.once.Do(func() { close(c.scripted) })
		}
		return err
	}
}
func (c *commandCount) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (c *commandCount) get(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[name]
}

// TestCluster runs two replicas on a three-node Redis Cluster: a record and
// its lease share a slot, the second replica adopts the first one's value,
// and a replica waiting on the lease hears the save (one load, no poll).
func TestCluster(t *testing.T) {
	cl := redistest.StartCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	newReplica := func(count *commandCount) *redisstore.Store {
		cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cl.Addrs, ContextTimeoutEnabled: true})
		if count != nil {
			cc.AddHook(count)
		}
		st := redisstore.New(cc)
		t.Cleanup(func() { _ = st.Close(); _ = cc.Close() })
		return st
	}
	a := newReplica(nil)
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cl.Addrs})
	defer cc.Close()
	if rs, ls := cc.ClusterKeySlot(ctx, a.RecordKey(healKey)).Val(), cc.ClusterKeySlot(ctx, a.LeaseKey(healKey)).Val(); rs != ls {
		t.Errorf("record in slot %d, lease in slot %d; want one slot", rs, ls)
	}

	gate, entered := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	n := 0
	inner := tokenactor.RefresherFunc[string](func(ctx context.Context, _ *tokenactor.Entry[string]) (tokenactor.Entry[string], error) {
		close(entered) // called once: by a, under the lease
		select {
		case <-gate:
		case <-ctx.Done():
			return tokenactor.Entry[string]{}, ctx.Err()
		}
		mu.Lock()
		defer mu.Unlock()
		n++
		return tokenactor.Entry[string]{Value: "v" + string(rune('0'+n)), ExpiresAt: time.Now().Add(time.Hour)}, nil
	})
	// Polls 5 s apart: a waiter that adopts after one load heard the save.
	slow := []store.Option{store.WithPollInterval(5*time.Second, 5*time.Second), store.WithLease(10*time.Second, 15*time.Second)}
	var evA, evB eventLog
	sa := wrapString(inner, a, &evA, slow...)
	count := &commandCount{n: map[string]int{}, scripted: make(chan struct{})}
	sb := wrapString(inner, newReplica(count), &evB, slow...)

	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := sa.Refresh(ctx, nil); err != nil {
			t.Error(err)
		}
	})
	<-entered // a holds the lease
	var got tokenactor.Entry[string]
	var err error
	wg.Go(func() { got, err = sb.Refresh(ctx, nil) })
	// b has loaded (nothing) and found the lease held: it waits.
	<-count.scripted
	close(gate)
	wg.Wait()
	if err != nil || got.Value != "v1" || n != 1 {
		t.Errorf("b got %q, %v with %d token requests; want v1 with 1", got.Value, err, n)
	}
	if diff := cmp.Diff([]string{"Adopted"}, evB.kinds()); diff != "" {
		t.Errorf("events of b (-want +got):\n%s", diff)
	}
	if loads := count.get("getrange"); loads != 1 {
		t.Errorf("b loaded %d times; want 1 (it should hear the save, not poll)", loads)
	}
}
