package tokenactor

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// stressRefresher answers at once with a value good for an hour.
type stressRefresher struct{ n atomic.Int64 }

func (r *stressRefresher) Refresh(context.Context, *Entry[string]) (Entry[string], error) {
	return r.next(), nil
}

func (r *stressRefresher) next() Entry[string] {
	return Entry[string]{
		Value:     fmt.Sprintf("token-%d", r.n.Add(1)),
		ExpiresAt: time.Now().Add(time.Hour),
	}
}

// TestNoMessageStrandedWhenLoopExits races senders against a loop that keeps
// exiting: in each round, a few workers post Gets and Invalidates at once
// while the loop drains the mailbox and leaves whenever it finds it empty
// with nothing in flight. A message stranded between the loop deciding to
// exit and a sender enqueuing would wait for the next post to start a loop;
// the rounds are short so that the last message of a round has none, and
// its sender stays blocked for ever: inside the synctest bubble that is a
// deadlock, which fails the test. Between rounds synctest.Wait lets the
// loop exit, so every round starts it afresh; the test counts the starts to
// show the loop really came and went.
func TestNoMessageStrandedWhenLoopExits(t *testing.T) {
	const (
		rounds  = 10000
		workers = 4
		ops     = 2
	)
	tests := []struct {
		name string
		opts []Option
	}{
		{name: "fast path", opts: nil},
		{name: "every Get through the mailbox", opts: []Option{WithoutFastPath()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := New[string](&stressRefresher{}, tt.opts...)
				var starts, live atomic.Int64
				// Count loop goroutines: wrap the start function before
				// anything is posted.
				c.l.mb.Init(countingStarter{l: &c.l, starts: &starts, live: &live})
				for round := range rounds {
					var wg sync.WaitGroup
					for w := range workers {
						wg.Go(func() {
							for i := range ops {
								if (w+i+round)%7 == 0 {
									c.Invalidate()
									continue
								}
								if _, err := c.Get(t.Context()); err != nil {
									t.Errorf("round %d: Get: %v", round, err)
									return
								}
							}
						})
					}
					wg.Wait()
					synctest.Wait()
					if n := live.Load(); n != 0 {
						t.Fatalf("round %d: %d loop goroutines still running on an idle cache", round, n)
					}
				}
				if got := starts.Load(); got < rounds {
					t.Errorf("loop started %d times in %d rounds; want at least one start per round", got, rounds)
				}
				t.Logf("loop started %d times in %d rounds", starts.Load(), rounds)
				c.Close()
			})
		})
	}
}

// countingStarter starts the cache's loop like the cache does, and counts
// the loop goroutines started and still running.
type countingStarter struct {
	l            *loop[string]
	starts, live *atomic.Int64
}

func (s countingStarter) StartLoop() {
	s.starts.Add(1)
	s.live.Add(1)
	s.l.wg.Add(1)
	go func() {
		defer s.live.Add(-1)
		s.l.run()
	}()
}
