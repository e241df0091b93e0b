package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/tokenactor/tokenactor/internal/durable"
	"github.com/tokenactor/tokenactor/strategy"
)

// A profile logged in with a key or a certificate remembers the paths of
// its files (never their content) in "<profile>.client-auth" beside its
// session file, so that 'tokenactor token' refreshes the session with
// them. The name cannot be another profile's session ("<profile>.json") or
// lock ("<profile>.lock"). The file is written by login, removed by login
// without key flags and by logout, and read by token, status and logout.

// clientFilesVersion is the version of the file's format.
const clientFilesVersion = 1

// maxClientFiles bounds the file: a few paths.
const maxClientFiles = 64 << 10

// checkedHook, if set, is called between the checks of a file and its
// opening: tests change the file there.
var checkedHook func(path string)

// errChanged reports a path that named another file by the time it was
// opened than when it was checked.
var errChanged = errors.New("it changed while being read (replaced, or made a link): try again")

// openChecked opens path, whose info checked (from os.Stat or os.Lstat)
// says it is a regular file, and returns the file and the info of the file
// opened, on which the caller makes its other checks. If path names
// another file by now (renamed over, or made a link), it is refused with
// errChanged: checked said nothing about that one.
func openChecked(path string, checked fs.FileInfo) (*os.File, fs.FileInfo, error) {
	if checkedHook != nil {
		checkedHook(path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err == nil && (!os.SameFile(checked, fi) || !fi.Mode().IsRegular()) {
		err = errChanged
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// clientFilesPath returns the file where profile remembers its key files.
func clientFilesPath(store *strategy.FileStore, profile string) string {
	return filepath.Join(store.Dir(), clientFilesName(profile))
}

// clientFilesName is the name of that file in the store's directory.
func clientFilesName(profile string) string { return profile + ".client-auth" }

// clientFilesFile is the file's JSON form.
type clientFilesFile struct {
	Version int `json:"version"`
	clientFiles
}

// A clientFilesError reports a file of remembered key files that cannot
// be read or trusted. It never quotes the file.
type clientFilesError struct {
	path, reason string
}

func (e *clientFilesError) Error() string {
	return fmt.Sprintf("the key files remembered for the profile in %s cannot be used: %s", e.path, e.reason)
}

// loadClientFiles returns the key files profile remembers; none (the zero
// value) if it remembers none. Like a session file, the file must be a
// regular file, not a link, that other users cannot change: they could
// make the next refresh present another key. Errors are a
// *clientFilesError.
func loadClientFiles(store *strategy.FileStore, profile string) (clientFiles, error) {
	path := clientFilesPath(store, profile)
	bad := func(reason string) (clientFiles, error) {
		return clientFiles{}, &clientFilesError{path: path, reason: reason}
	}
	lfi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return clientFiles{}, nil
	case err != nil:
		return bad(fileReason(err))
	case !lfi.Mode().IsRegular():
		return bad("not a regular file")
	}
	// Judged by the file opened, not the path: the path may have changed
	// since the Lstat.
	file, fi, err := openChecked(path, lfi)
	if err != nil {
		return bad(fileReason(err))
	}
	defer file.Close()
	switch {
	case runtime.GOOS != "windows" && fi.Mode().Perm()&0o022 != 0:
		return bad(fmt.Sprintf("mode %04o lets other users change it (chmod 600)", fi.Mode().Perm()))
	case fi.Size() > maxClientFiles:
		return bad("larger than 64 KiB")
	}
	data, err := io.ReadAll(io.LimitReader(file, maxClientFiles+1))
	switch {
	case err != nil:
		return bad(fileReason(err))
	case len(data) > maxClientFiles:
		return bad("larger than 64 KiB")
	}
	var f clientFilesFile
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&f); err != nil {
		return bad("not the JSON tokenactor writes")
	}
	if _, err := dec.Token(); err != io.EOF {
		return bad("data after the JSON object")
	}
	files := f.clientFiles
	switch {
	case f.Version != clientFilesVersion:
		return bad(fmt.Sprintf("unknown version %d", f.Version))
	case files.Key != "" && files.Cert != "", files.Key == "" && files.Cert == "",
		files.Key != "" && !filepath.IsAbs(files.Key), files.Cert != "" && !filepath.IsAbs(files.Cert),
		files.CertKey != "" && (files.Cert == "" || !filepath.IsAbs(files.CertKey)):
		return bad("it does not name one key or one certificate by absolute path")
	}
	return files, nil
}

// saveClientFiles makes profile remember files, or nothing when files is
// empty. The file is replaced atomically and durably (see package
// internal/durable), mode 0600, so that a crash leaves the old list or the
// new one, as it does the session beside it.
func saveClientFiles(store *strategy.FileStore, profile string, files clientFiles) error {
	name := clientFilesName(profile)
	if files.empty() {
		return durable.Remove(store.Dir(), name)
	}
	data, err := json.MarshalIndent(clientFilesFile{Version: clientFilesVersion, clientFiles: files}, "", "  ")
	if err != nil {
		return err
	}
	return durable.WriteFile(store.Dir(), name, append(data, '\n'), 10*time.Minute) // a write takes milliseconds: older temporaries are a crash's
}
