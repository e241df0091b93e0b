//go:build !unix

package strategy

import (
	"io/fs"
	"os"
)

// openSession opens a session file for reading, refusing what is not a
// regular file before opening it (this platform has no open flags for
// that; the caller checks the opened handle again).
func openSession(path string) (*os.File, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrInvalid}
	}
	return os.Open(path)
}

// lockFlags are the flags a lock file is opened with; zero means the
// locking package's own.
func lockFlags() int { return 0 }

// writableByOthers reports false: this platform's permissions are not mode
// bits.
func writableByOthers(fs.FileMode) bool { return false }
