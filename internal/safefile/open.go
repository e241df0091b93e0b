package safefile

import (
	"errors"
	"io/fs"
	"os"
)

// A NotRegularError reports a path that holds something other than a
// regular file: a link (where links are not followed), a FIFO, a socket,
// a device or a directory.
type NotRegularError struct {
	Path string
	Mode fs.FileMode // the type bits of what the path holds
}

func (e *NotRegularError) Error() string { return e.Path + ": " + e.What() }

// What says what the path holds, in a user's words: "a named pipe, not a
// regular file".
func (e *NotRegularError) What() string {
	m := e.Mode
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link, not a regular file"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe, not a regular file"
	case m&fs.ModeSocket != 0:
		return "a socket, not a regular file"
	case m&fs.ModeDevice != 0:
		return "a device, not a regular file"
	case m.IsDir():
		return "a directory, not a regular file"
	}
	return "not a regular file"
}

// Open opens path for reading and returns the file with its info, if it
// is a regular file; otherwise a *NotRegularError, or the error of the
// open (errors.Is finds fs.ErrNotExist and fs.ErrPermission).
//
// The open never blocks: a FIFO at path would otherwise hold it until a
// writer came. With follow false, a symbolic link at path's last element
// is refused rather than followed (it could point anywhere, another user's
// file among them); with follow true it is followed, as a mounted secret
// needs. Every check is made on the opened handle, not the path, so
// nothing swapped in after the check is read.
func Open(path string, follow bool) (*os.File, fs.FileInfo, error) {
	f, err := open(path, follow)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return nil, nil, err
		}
		// A link refused (ELOOP), a socket (ENXIO): say what it is.
		stat := os.Lstat
		if follow {
			stat = os.Stat
		}
		if fi, serr := stat(path); serr == nil && !fi.Mode().IsRegular() {
			return nil, nil, &NotRegularError{Path: path, Mode: fi.Mode().Type()}
		}
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = &NotRegularError{Path: path, Mode: fi.Mode().Type()}
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}
