package actor

import (
	"sync"
)

// A Mailbox is the queue of messages of one actor whose loop goroutine runs
// only while there is work. Posting to an idle mailbox starts a loop (through
// the [Starter] given to [Mailbox.Init]); the loop takes messages with
// [Mailbox.Next], blocks in [Mailbox.Wait] while it must stay but has nothing
// to do, and leaves with [Mailbox.Exit] once it has nothing left to do.
//
// The running flag and the queue change together under one lock, so no
// message is ever stranded between a loop deciding to exit and a sender
// enqueuing: either the sender sees the loop still running (and the loop will
// see the message before it can exit), or the loop has exited and the sender
// starts a new one.
//
// The zero value is not usable: call [Mailbox.Init] first. A Mailbox is safe
// for concurrent use by any number of senders and one loop at a time.
//
// An idle Mailbox holds no goroutine, no queue memory and no channel: it is
// a few words inside its owner.
type Mailbox[M any] struct {
	mu      sync.Mutex
	queue   []M           // pending messages; guarded by mu
	running bool          // a loop owns the mailbox; guarded by mu
	closed  error         // non-nil once closed: the error Post returns; guarded by mu
	wake    chan struct{} // buffer 1; exists only while the loop waits in Wait; guarded by mu; never closed
	starter Starter
}

// A Starter starts the goroutine that drives a mailbox's loop.
type Starter interface {
	// StartLoop is called, with the mailbox's lock held, each time a posted
	// message finds no loop running. It must start a goroutine and return
	// without blocking or calling back into the mailbox. Being called under
	// the lock lets the owner count the goroutine (sync.WaitGroup.Add)
	// before anyone can observe the mailbox closed.
	StartLoop()
}

// Init prepares the mailbox; s starts its loops.
func (mb *Mailbox[M]) Init(s Starter) { mb.starter = s }

// Post enqueues msg and starts a loop if none is running. It never blocks on
// the loop. After [Mailbox.Close] it enqueues nothing and returns the error
// given to Close.
func (mb *Mailbox[M]) Post(msg M) error {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if mb.closed != nil {
		return mb.closed
	}
	mb.push(msg)
	return nil
}

// push enqueues msg and starts or wakes the loop. mu must be held.
func (mb *Mailbox[M]) push(msg M) {
	mb.queue = append(mb.queue, msg)
	if !mb.running {
		mb.running = true
		mb.starter.StartLoop()
		return
	}
	if mb.wake != nil {
		select {
		case mb.wake <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
}

// Close makes every later Post fail with err and enqueues last, the final
// message the loop will see after everything posted before it. It starts a
// loop if none is running, so the loop can observe last. Close reports
// whether this call closed the mailbox; later calls change nothing.
func (mb *Mailbox[M]) Close(err error, last M) bool {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if mb.closed != nil {
		return false
	}
	mb.closed = err
	mb.push(last)
	return true
}

// Next returns the oldest pending message, if any. Only the loop calls it.
func (mb *Mailbox[M]) Next() (M, bool) {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	var zero M
	if len(mb.queue) == 0 {
		if cap(mb.queue) > 0 {
			mb.queue = nil // an idle actor keeps no queue memory
		}
		return zero, false
	}
	msg := mb.queue[0]
	mb.queue[0] = zero
	mb.queue = mb.queue[1:]
	return msg, true
}

// Exit ends the loop's ownership of the mailbox if no message is pending and
// reports whether it did. When it returns false the loop must keep going:
// a message arrived after the loop's last Next.
func (mb *Mailbox[M]) Exit() bool {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if len(mb.queue) > 0 {
		return false
	}
	mb.running = false
	mb.wake = nil
	return true
}

// Wait blocks the loop until a message is pending. The loop calls it when it
// has nothing to do but must stay (work is in flight). It returns at once if
// a message arrived since the loop's last Next, so no wake-up is lost; it may
// also return spuriously, so the loop calls Next again after it.
func (mb *Mailbox[M]) Wait() {
	mb.mu.Lock()
	if len(mb.queue) > 0 {
		mb.mu.Unlock()
		return
	}
	if mb.wake == nil {
		mb.wake = make(chan struct{}, 1)
	}
	wake := mb.wake
	mb.mu.Unlock()
	<-wake
}

// Drain removes and returns every pending message. The loop uses it when it
// stops for good, to answer what was left.
func (mb *Mailbox[M]) Drain() []M {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	q := mb.queue
	mb.queue = nil
	return q
}
