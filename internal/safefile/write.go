// Package safefile reads and writes the files a user keeps (sessions, key
// files, lists of them) without being fooled by what else a path can hold,
// and without losing data to a crash.
//
// Reading: [Open] opens without blocking and checks the opened handle, not
// the path, so a FIFO, a device, a directory or (where asked) a link is
// refused at once, and nothing can be swapped in between the check and the
// read.
//
// Writing: a file is replaced in three steps: the new content goes to a
// temporary file beside it (mode 0600), which is synced; the temporary file
// is renamed over the old one; the directory is synced, so the rename
// itself is on disk (Windows has no way to sync a directory; there the
// rename is as durable as the file system makes it). A crash at any point
// leaves the old content or the new, never a mix; a crash before the
// rename leaves a stray temporary file, named ".NAME.tmp-*", which
// [RemoveStale] clears later.
package safefile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// WriteFile replaces dir/name with data, mode 0600, creating dir (mode
// 0700) if needed, and then removes temporary files of name left by
// crashed replacements more than staleAge ago.
func WriteFile(dir, name string, data []byte, staleAge time.Duration) error {
	tmp, err := WriteTemp(dir, name, data)
	if err != nil {
		return err
	}
	if err := Commit(tmp, dir, name); err != nil {
		return err
	}
	RemoveStale(dir, name, staleAge)
	return nil
}

// WriteTemp writes data to a new temporary file beside dir/name, mode 0600,
// syncs it, and returns its path. It creates dir (mode 0700) if needed. On
// error nothing is left behind.
func WriteTemp(dir, name string, data []byte) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, tempPrefix(name)+"*")
	if err != nil {
		return "", err
	}
	path := f.Name()
	err = f.Chmod(0o600) // CreateTemp uses 0600 already; say it anyway
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", err
	}
	return path, nil
}

// Commit renames the temporary file tmp over dir/name and syncs dir, so
// the rename survives a crash. If the rename fails, tmp is removed.
func Commit(tmp, dir, name string) error {
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

// Remove removes dir/name, if it exists, and the temporary files of
// replacements of it that never finished (they hold its content, secrets
// included), then syncs dir so the removal survives a crash. A missing
// file is not an error; a directory is a *NotRegularError, and is kept
// (whatever it holds is not a file this package wrote). A link, a FIFO or
// a socket at the path is removed, not what it points to.
func Remove(dir, name string) error {
	path := filepath.Join(dir, name)
	if fi, err := os.Lstat(path); err == nil && fi.IsDir() {
		return &NotRegularError{Path: path, Mode: fi.Mode().Type()}
	}
	removed := removeTemps(dir, name, 0)
	err := os.Remove(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if removed == 0 {
			return nil
		}
	case err != nil:
		return err
	}
	return syncDir(dir)
}

// RemoveStale removes the temporary files of dir/name whose last change
// is more than age ago: left by processes that died while replacing it.
// They may hold secrets (mode 0600), so they should not pile up. Best
// effort: errors are ignored, and a file young enough to belong to a
// replacement in progress is kept.
func RemoveStale(dir, name string, age time.Duration) {
	removeTemps(dir, name, age)
}

// removeTemps removes the regular files among dir/name's temporary files
// whose last change is more than age ago, and returns how many it removed.
// Names are compared as they are, not as patterns.
func removeTemps(dir, name string, age time.Duration) int {
	entries, _ := os.ReadDir(dir)
	prefix, n := tempPrefix(name), 0
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), prefix) || !e.Type().IsRegular() {
			continue
		}
		if fi, err := e.Info(); err == nil && (age == 0 || time.Since(fi.ModTime()) > age) && os.Remove(filepath.Join(dir, e.Name())) == nil {
			n++
		}
	}
	return n
}

// tempPrefix is the name of name's temporary files but for a random
// suffix: hidden, and never matching name itself.
func tempPrefix(name string) string { return "." + name + ".tmp-" }
