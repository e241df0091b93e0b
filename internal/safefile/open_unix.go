//go:build unix

package safefile

import (
	"os"
	"syscall"
)

// open opens path read-only without blocking and, unless follow, without
// following a link at its last element.
func open(path string, follow bool) (*os.File, error) {
	flags := os.O_RDONLY | syscall.O_NONBLOCK
	if !follow {
		flags |= syscall.O_NOFOLLOW
	}
	return os.OpenFile(path, flags, 0)
}
