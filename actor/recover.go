package actor

import "runtime/debug"

// A Panic is a recovered panic: the value passed to panic and the stack of the
// goroutine at the moment it panicked.
type Panic struct {
	Value any
	Stack []byte
}

// Recover calls f and returns nil if f returns normally. If f panics, Recover
// returns the panic's value and stack instead of letting it unwind further.
//
// A panic with a nil value (possible before Go 1.21 semantics or via
// runtime.Goexit) is not recovered: Goexit still ends the goroutine.
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
