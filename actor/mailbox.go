package actor

import (
	"sync"
)

// A Mailbox is the queue of messages of one actor whose loop goroutine runs
// only while there is work. Posting to an idle mailbox starts a loop (through
// the start function given to [Mailbox.Init]); the loop takes messages with
// [Mailbox.Next] and leaves with [Mailbox.Exit] once it has nothing left to do.
//
// The running flag and the queue change together under one lock, so no
// message is ever stranded between a loop deciding to exit and a sender
// enqueuing: either the sender sees the loop still running (and the loop will
// see the message before it can exit), or the loop has exited and the sender
// starts a new one.
//
// The zero value is not usable: call [Mailbox.Init] first. A Mailbox is safe
// for concurrent use by any number of senders and one loop at a time.
type Mailbox[M any] struct {
	mu      sync.Mutex
	queue   []M           // pending messages; guarded by mu
	running bool          // a loop owns the mailbox; guarded by mu
	closed  error         // non-nil once closed: the error Post returns; guarded by mu
	wake    chan struct{} // buffer 1: set when a message arrives for a waiting loop; never closed
	start   func()        // starts a loop goroutine; called with mu held
}

// Init prepares the mailbox. start is called, with the mailbox's lock held,
// each time a posted message finds no loop running; it must start a goroutine
// that drives the loop and must not block or call back into the mailbox.
// Calling start under the lock lets an owner count the goroutine (for example
// with sync.WaitGroup.Add) before anyone can observe the mailbox closed.
func (mb *Mailbox[M]) Init(start func()) {
	mb.start = start
	mb.wake = make(chan struct{}, 1)
}

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
		mb.start()
		return
	}
	select {
	case mb.wake <- struct{}{}:
	default: // a wake-up is already pending
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
	return true
}

// Wake returns the channel the loop receives from when it has nothing to do
// but must stay (work is in flight): a value arrives after a Post. The channel
// has a buffer of one and is never closed; a wake-up may be spurious, so the
// loop calls Next again after each one.
func (mb *Mailbox[M]) Wake() <-chan struct{} { return mb.wake }

// Drain removes and returns every pending message. The loop uses it when it
// stops for good, to answer what was left.
func (mb *Mailbox[M]) Drain() []M {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	q := mb.queue
	mb.queue = nil
	return q
}
