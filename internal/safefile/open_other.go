//go:build !unix

package safefile

import "os"

// open opens path read-only, refusing what is not a regular file before
// opening it: this platform has no open flags for that. Open checks the
// opened handle again.
func open(path string, follow bool) (*os.File, error) {
	stat := os.Lstat
	if follow {
		stat = os.Stat
	}
	fi, err := stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &NotRegularError{Path: path, Mode: fi.Mode().Type()}
	}
	return os.Open(path)
}
