package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"runtime"
	"time"

	"github.com/tokenactor/tokenactor/internal/safefile"
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

// clientFilesPath returns the file where profile remembers its key files.
func clientFilesPath(store *strategy.FileStore, profile string) string {
	return filepath.Join(store.Dir(), clientFilesName(profile))
}

// clientFilesName is the name of that file in the store's directory.
func clientFilesName(profile string) string { return profile + ".client-auth" }

// clientFilesFile is the file's JSON form. ClientID and TokenURL are the
// session's the files were saved with: the list and the session are two
// files, written one after the other, and a list left from an earlier
// login (a crash between the two writes) must not sign for another
// client's session. A list without them (written before they were) goes
// with any session.
type clientFilesFile struct {
	Version  int    `json:"version"`
	ClientID string `json:"client_id,omitempty"`
	TokenURL string `json:"token_url,omitempty"`
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

// loadClientFiles returns the key files profile remembers for its session
// sess; none (the zero value) if it remembers none, or remembers them for
// another session (another client or token URL). Like a session file, the
// file must be a regular file, not a link, that other users cannot
// change: they could make the next refresh present another key. Errors
// are a *clientFilesError.
func loadClientFiles(store *strategy.FileStore, profile string, sess strategy.Session) (clientFiles, error) {
	path := clientFilesPath(store, profile)
	bad := func(reason string) (clientFiles, error) {
		return clientFiles{}, &clientFilesError{path: path, reason: reason}
	}
	// Judged by the file opened, never by the path, and never through a
	// link: nothing swapped in can be read.
	file, fi, err := safefile.Open(path, false)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return clientFiles{}, nil
	case err != nil:
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
	case f.ClientID != "" && f.ClientID != sess.ClientID, f.TokenURL != "" && !sameURL(f.TokenURL, sess.TokenURL):
		return clientFiles{}, nil // saved for a session since replaced
	}
	return files, nil
}

// saveClientFiles makes profile remember files for its session sess, or
// nothing when files is empty. The file is replaced atomically and durably
// (see package internal/safefile), mode 0600, so that a crash leaves the
// old list or the new one, as it does the session beside it.
func saveClientFiles(store *strategy.FileStore, profile string, files clientFiles, sess strategy.Session) error {
	name := clientFilesName(profile)
	if files.empty() {
		err := safefile.Remove(store.Dir(), name)
		var nr *safefile.NotRegularError
		if errors.As(err, &nr) {
			return &clientFilesError{path: clientFilesPath(store, profile), reason: nr.What()}
		}
		return err
	}
	data, err := json.MarshalIndent(clientFilesFile{Version: clientFilesVersion, ClientID: sess.ClientID, TokenURL: sess.TokenURL, clientFiles: files}, "", "  ")
	if err != nil {
		return err
	}
	return safefile.WriteFile(store.Dir(), name, append(data, '\n'), 10*time.Minute) // a write takes milliseconds: older temporaries are a crash's
}
