package actor

import "context"

// Await waits for a reply on ch and returns it. If ctx ends first, Await
// returns ctx's error at once (context.Canceled if a broken ctx closed Done
// without one); the replier must then be able to send without a
// receiver, so ch needs a buffer of at least one.
func Await[R any](ctx context.Context, ch <-chan R) (R, error) {
	select {
	case r := <-ch:
		return r, nil
	case <-ctx.Done():
		var zero R
		err := ctx.Err()
		if err == nil { // a Context that breaks its contract: still an error, never a zero reply
			err = context.Canceled
		}
		return zero, err
	}
}
