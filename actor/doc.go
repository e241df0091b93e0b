// Package actor holds the small building blocks the tokenactor engine is made
// of: a [Mailbox] whose loop goroutine runs only while there is work, [Recover]
// to turn a panic in user code into a value with its stack, [Isolate] to run
// user code so that neither a panic nor runtime.Goexit ends the caller's
// goroutine, and [Await] to wait for a reply without outliving the caller's
// context.
package actor
