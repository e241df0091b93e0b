package actor

import (
	"errors"
	"runtime/debug"
)

// A Panic is a recovered panic: the value passed to panic and the stack of the
// goroutine at the moment it panicked. It is a plain value, not changed after
// it is made, so safe for concurrent use; the zero Panic describes a nil
// panic value.
type Panic struct {
	Value any
	Stack []byte
}

// Recover calls f and returns nil if f returns normally. If f panics, Recover
// returns the panic's value and stack instead of letting it unwind further.
//
// runtime.Goexit is not a panic and cannot be recovered: if f calls it, the
// goroutine ends all the same. Use [Isolate] where that must not happen.
func Recover(f func()) (p *Panic) {
	normal := false
	defer func() {
		if normal {
			return
		}
		if v := recover(); v != nil {
			p = &Panic{Value: v, Stack: debug.Stack()}
		}
	}()
	f()
	normal = true
	return nil
}

// ErrGoexit is the Value of the Panic that [Isolate] returns when f called
// runtime.Goexit.
var ErrGoexit = errors.New("actor: runtime.Goexit called")

// Isolate calls f in a goroutine of its own and waits for it to end, so that
// nothing f does can end the caller's goroutine. It returns nil if f
// returned, the recovered Panic if f panicked, and a Panic whose Value is
// [ErrGoexit] (and whose Stack is empty) if f called runtime.Goexit.
//
// Isolate returns when f does: if f blocks, so does Isolate.
func Isolate(f func()) *Panic {
	done := make(chan *Panic, 1)
	go func() {
		p := &Panic{Value: ErrGoexit} // stays if f calls Goexit: the assignment below never happens
		defer func() { done <- p }()
		p = Recover(f)
	}()
	return <-done
}
