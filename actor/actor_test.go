package actor_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tokenactor/tokenactor/actor"
)

// counter is a tiny actor: a mailbox of ints and a loop that sums them.
type counter struct {
	mb     actor.Mailbox[int]
	wg     sync.WaitGroup
	sum    int // owned by the loop
	starts atomic.Int32
	total  atomic.Int64
}

func newCounter() *counter {
	c := &counter{}
	c.mb.Init(c)
	return c
}

func (c *counter) StartLoop() {
	c.starts.Add(1)
	c.wg.Add(1)
	go c.loop()
}

func (c *counter) loop() {
	defer c.wg.Done()
	for {
		n, ok := c.mb.Next()
		if ok {
			c.sum += n
			c.total.Store(int64(c.sum))
			continue
		}
		if c.mb.Exit() {
			return
		}
	}
}

func TestMailboxStartsLoopOnDemandAndLosesNothing(t *testing.T) {
	c := newCounter()
	const senders, each = 8, 2000
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for range each {
				if err := c.mb.Post(1); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	c.mb.Close(errors.New("closed"), 0)
	c.wg.Wait()
	if got := c.total.Load(); got != senders*each {
		t.Fatalf("sum = %d, want %d: a message was stranded", got, senders*each)
	}
	if c.starts.Load() < 1 {
		t.Fatal("the loop never started")
	}
}

func TestMailboxIdleHoldsNoGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCounter()
		for i := range 3 {
			if err := c.mb.Post(1); err != nil {
				t.Fatal(err)
			}
			synctest.Wait() // the loop has exited: otherwise it would be a goroutine left when the bubble ends
			if got := c.starts.Load(); got != int32(i+1) {
				t.Fatalf("after post %d the loop started %d times, want %d", i+1, got, i+1)
			}
		}
		c.wg.Wait()
	})
}

func TestMailboxClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCounter()
		errStop := errors.New("stopped")
		if !c.mb.Close(errStop, 5) {
			t.Fatal("first Close reported false")
		}
		if c.mb.Close(errors.New("again"), 7) {
			t.Fatal("second Close reported true")
		}
		if err := c.mb.Post(1); !errors.Is(err, errStop) {
			t.Fatalf("Post after Close = %v, want %v", err, errStop)
		}
		c.wg.Wait()
		if got := c.total.Load(); got != 5 {
			t.Fatalf("sum = %d, want 5: Close's last message must be delivered", got)
		}
	})
}

func TestMailboxDrain(t *testing.T) {
	var mb actor.Mailbox[int]
	mb.Init(noLoop{}) // messages stay queued
	for i := range 3 {
		mb.Post(i)
	}
	if got := mb.Drain(); len(got) != 3 || got[2] != 2 {
		t.Fatalf("Drain() = %v, want [0 1 2]", got)
	}
	if _, ok := mb.Next(); ok {
		t.Fatal("Next after Drain returned a message")
	}
}

func TestRecover(t *testing.T) {
	if p := actor.Recover(func() {}); p != nil {
		t.Fatalf("Recover of a normal return = %+v, want nil", p)
	}
	p := actor.Recover(func() { panic("boom") })
	if p == nil || p.Value != "boom" || len(p.Stack) == 0 {
		t.Fatalf("Recover(panic) = %+v, want value boom and a stack", p)
	}
	// panic(nil) is a panic too (a *runtime.PanicNilError since Go 1.21),
	// not a normal return.
	if p := actor.Recover(func() { panic(nil) }); p == nil {
		t.Fatal("Recover(panic(nil)) = nil, want the panic")
	} else if _, ok := p.Value.(*runtime.PanicNilError); !ok {
		t.Fatalf("Recover(panic(nil)) value = %T, want *runtime.PanicNilError", p.Value)
	}
}

func TestIsolate(t *testing.T) {
	if p := actor.Isolate(func() {}); p != nil {
		t.Fatalf("Isolate of a normal return = %+v, want nil", p)
	}
	if p := actor.Isolate(func() { panic("boom") }); p == nil || p.Value != "boom" || len(p.Stack) == 0 {
		t.Fatalf("Isolate(panic) = %+v, want value boom and a stack", p)
	}
	p := actor.Isolate(runtime.Goexit)
	if p == nil || p.Value != actor.ErrGoexit {
		t.Fatalf("Isolate(runtime.Goexit) = %+v, want value ErrGoexit", p)
	}
	// Reaching this line is the point: Goexit ended f's goroutine, not this one.
}

func TestAwait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ch := make(chan int, 1)
		ch <- 42
		if got, err := actor.Await(context.Background(), ch); got != 42 || err != nil {
			t.Fatalf("Await = %d, %v; want 42, nil", got, err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := actor.Await(ctx, make(chan int, 1))
			done <- err
		}()
		synctest.Wait()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Await after cancel = %v, want context.Canceled", err)
		}
	})
}

// noLoop starts no loop.
type noLoop struct{}

func (noLoop) StartLoop() {}

// TestMailboxWaitLosesNoWakeUp: a loop that must stay waits for work, and a
// post racing with its decision to wait is never lost.
func TestMailboxWaitLosesNoWakeUp(t *testing.T) {
	var mb actor.Mailbox[int]
	mb.Init(noLoop{})
	mb.Post(0) // the mailbox is running from now on, driven by the goroutine below
	const n = 20000
	done := make(chan int)
	go func() {
		sum := 0
		for taken := 0; taken <= n; {
			if v, ok := mb.Next(); ok {
				sum += v
				taken++
				continue
			}
			mb.Wait()
		}
		done <- sum
	}()
	for i := 1; i <= n; i++ {
		mb.Post(i)
		if i%64 == 0 {
			runtime.Gosched()
		}
	}
	select {
	case got := <-done:
		if got != n*(n+1)/2 {
			t.Fatalf("sum = %d, want %d", got, n*(n+1)/2)
		}
	case <-time.After(time.Minute): // a watchdog, not a synchronisation
		t.Fatal("the loop is stuck in Wait: a wake-up was lost")
	}
}
