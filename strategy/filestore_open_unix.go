//go:build unix

package strategy

import (
	"os"
	"syscall"
)

// openSession opens a session file for reading without blocking and
// without following a symbolic link at its last element: a FIFO at the
// path would otherwise block the open until a writer appears, and a link
// could point anywhere (a device, another user's file).
func openSession(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
}
