//go:build unix

package safefile

import (
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Open reads regular files, follows a link only when asked, and refuses
// everything else at once (a FIFO would block a plain open until a writer
// came), saying what the path holds.
func TestOpen(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("content"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	fifoLink := filepath.Join(dir, "fifo-link")
	if err := os.Symlink(fifo, fifoLink); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	tests := []struct {
		path   string
		follow bool
		want   string // the content, or what a *NotRegularError says
	}{
		{file, false, "content"},
		{file, true, "content"},
		{link, true, "content"},
		{link, false, "a symbolic link, not a regular file"},
		{dir, false, "a directory, not a regular file"},
		{fifo, false, "a named pipe, not a regular file"},
		{fifoLink, true, "a named pipe, not a regular file"},
		{sock, false, "a socket, not a regular file"},
		{"/dev/null", false, "a device, not a regular file"},
	}
	for _, tt := range tests {
		f, fi, err := Open(tt.path, tt.follow)
		var got string
		var nr *NotRegularError
		switch {
		case errors.As(err, &nr):
			got = nr.What()
			if nr.Path != tt.path {
				t.Errorf("%s: the error names %s", tt.path, nr.Path)
			}
		case err != nil:
			t.Errorf("Open(%s, %t): %v", tt.path, tt.follow, err)
			continue
		default:
			b, rerr := io.ReadAll(f)
			f.Close()
			if rerr != nil {
				t.Errorf("reading %s: %v", tt.path, rerr)
			}
			if !fi.Mode().IsRegular() || fi.Size() != int64(len(b)) {
				t.Errorf("%s: info %v, %d bytes; want the opened file's", tt.path, fi.Mode(), fi.Size())
			}
			got = string(b)
		}
		if got != tt.want {
			t.Errorf("Open(%s, follow %t) = %q; want %q", filepath.Base(tt.path), tt.follow, got, tt.want)
		}
	}
	if _, _, err := Open(filepath.Join(dir, "missing"), false); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file: %v; want fs.ErrNotExist", err)
	}
}
