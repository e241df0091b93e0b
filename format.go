package tokenactor

import (
	"fmt"
	"io"
	"log/slog"
)

// Formatting a Cache, with any fmt verb or through log/slog, shows whether
// it holds a value and whether that value is fresh, never the value (a
// secret) nor the Refresher (which may hold credentials). Left to fmt's
// defaults, %v would print the Refresher's fields, and %s the value.

// Format writes the same description as String, whatever the verb.
func (c *Cache[T]) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// GoString returns the same description as String.
func (c *Cache[T]) GoString() string { return c.String() }

// String says whether the cache holds a value and whether Get serves it
// without asking the loop. It reads two atomic pointers and nothing else,
// so it is safe for concurrent use.
func (c *Cache[T]) String() string {
	return fmt.Sprintf("tokenactor.Cache{holding: %t, fresh: %t}", c.l.held.Load() != nil, c.l.fast.Load() != nil)
}

// LogValue logs what String says.
func (c *Cache[T]) LogValue() slog.Value {
	return slog.GroupValue(slog.Bool("holding", c.l.held.Load() != nil), slog.Bool("fresh", c.l.fast.Load() != nil))
}
