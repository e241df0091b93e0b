//go:build unix

package strategy

import (
	"io/fs"
	"os"
	"runtime"
	"syscall"
)

// lockFlags are the flags a lock file is opened with: created if missing,
// never blocking (a FIFO put there would block the open until a writer
// came), never through a link. AIX and Solaris lock only files open for
// writing.
func lockFlags() int {
	flags := os.O_CREATE | os.O_RDONLY | syscall.O_NONBLOCK | syscall.O_NOFOLLOW
	switch runtime.GOOS {
	case "aix", "solaris", "illumos":
		flags = os.O_CREATE | os.O_RDWR | syscall.O_NONBLOCK | syscall.O_NOFOLLOW
	}
	return flags
}

// writableByOthers reports whether a session file's mode lets other users
// change it: one who can would point token_url at their own server and
// receive the refresh token at the next refresh.
func writableByOthers(m fs.FileMode) bool { return m.Perm()&0o022 != 0 }
