//go:build !unix

package strategy

import "io/fs"

// lockFlags are the flags a lock file is opened with; zero means the
// locking package's own.
func lockFlags() int { return 0 }

// writableByOthers reports false: this platform's permissions are not mode
// bits.
func writableByOthers(fs.FileMode) bool { return false }
