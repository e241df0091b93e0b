package strategy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gofrs/flock"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/internal/safefile"
)

// sessionFileVersion is the version of the session file format written.
const sessionFileVersion = 1

// lockRetry is how often a FileStore retries a lock held by another
// process. flock(2) has no wait-with-deadline, so waiting means polling.
const lockRetry = 10 * time.Millisecond

// A FileStore keeps one session per profile in a directory: the session in
// "<profile>.json", mode 0600, in a directory of mode 0700, and an empty
// "<profile>.lock" used as an OS file lock (flock(2), LockFileEx on
// Windows) shared by every process using the directory.
//
// Saves are atomic and durable: the session is written to a temporary file
// in the same directory, synced, renamed over the old file, and the
// directory is synced, so a crash at any point leaves either the old or the
// new session, never a mix. A file that cannot be read is reported as a
// *CorruptSessionError and never overwritten by the store on its own.
//
// Create one with [NewFileStore]; the zero value is not usable. A FileStore
// is safe for concurrent use by goroutines and processes.
type FileStore struct {
	dir string
}

var _ TokenStore = (*FileStore)(nil)

// NewFileStore returns a store keeping sessions in dir. The directory is
// created when the first session is saved or locked.
func NewFileStore(dir string) *FileStore { return &FileStore{dir: dir} }

// Dir returns the store's directory.
func (s *FileStore) Dir() string { return s.dir }

// Path returns the file holding profile's session.
func (s *FileStore) Path(profile string) string { return filepath.Join(s.dir, sessionName(profile)) }

// sessionName is the name of profile's session file in the directory.
func sessionName(profile string) string { return profile + ".json" }

// sessionFile is the JSON form of a Session on disk. Secrets are written in
// clear: the file's mode keeps them to the user, as ~/.netrc or
// ~/.aws/credentials do.
type sessionFile struct {
	Version      int        `json:"version"`
	TokenURL     string     `json:"token_url,omitempty"`
	ClientID     string     `json:"client_id,omitempty"`
	AccessToken  string     `json:"access_token,omitempty"`
	TokenType    string     `json:"token_type,omitempty"`
	ExpiresAt    *time.Time `json:"expires_at,omitempty"`
	RefreshToken string     `json:"refresh_token,omitempty"`
	Scope        string     `json:"scope,omitempty"`
	RefreshAt    *time.Time `json:"refresh_at,omitempty"`
}

// encodeSession returns the file content for sess.
func encodeSession(sess Session) ([]byte, error) {
	f := sessionFile{
		Version: sessionFileVersion, TokenURL: sess.TokenURL, ClientID: sess.ClientID,
		AccessToken: sess.AccessToken.Reveal(), TokenType: sess.TokenType,
		RefreshToken: sess.RefreshToken.Reveal(), Scope: sess.Scope,
	}
	if !sess.ExpiresAt.IsZero() {
		t := sess.ExpiresAt.UTC()
		f.ExpiresAt = &t
	}
	if !sess.RefreshAt.IsZero() {
		t := sess.RefreshAt.UTC()
		f.RefreshAt = &t
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("strategy: encode session: %w", err)
	}
	return append(b, '\n'), nil
}

// parseSessionFile parses a session file's content. Its errors are
// *CorruptSessionError with path, and never quote the content.
func parseSessionFile(path string, data []byte) (Session, error) {
	corrupt := func(reason string) (Session, error) {
		return Session{}, &CorruptSessionError{Path: path, Reason: reason}
	}
	if len(data) > maxBodySize {
		return corrupt("larger than 1 MiB")
	}
	var f sessionFile
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&f); err != nil {
		return corrupt(jsonReason(err, len(data)))
	}
	if _, err := dec.Token(); err != io.EOF {
		return corrupt("data after the JSON object")
	}
	switch {
	case f.Version != sessionFileVersion:
		return corrupt(fmt.Sprintf("unknown version %d", f.Version))
	case f.AccessToken == "" && f.RefreshToken == "":
		return corrupt("no access_token and no refresh_token")
	case !headerSafe(f.AccessToken) || !headerSafe(f.RefreshToken):
		return corrupt("a token has characters not allowed in a header")
	}
	tokenType, err := parseTokenType(f.TokenType)
	if err != nil {
		return corrupt("bad token_type")
	}
	if f.TokenURL != "" && checkTokenURL("token_url", f.TokenURL) != nil {
		return corrupt("bad token_url")
	}
	sess := Session{
		TokenURL: f.TokenURL, ClientID: f.ClientID,
		AccessToken: tokenactor.NewSecretToken(f.AccessToken), TokenType: tokenType,
		RefreshToken: tokenactor.NewSecretToken(f.RefreshToken), Scope: f.Scope,
	}
	if f.ExpiresAt != nil {
		sess.ExpiresAt = *f.ExpiresAt
	}
	if f.RefreshAt != nil {
		sess.RefreshAt = *f.RefreshAt
	}
	return sess, nil
}

// Load reads profile's session. It returns an error matching ErrNoSession
// if the file does not exist, and a *CorruptSessionError if it cannot be
// parsed, is not a regular file (a symbolic link, a FIFO, a socket, a
// device, a directory), or is writable by other users (on Unix, mode bits
// 022: they could redirect the next refresh to their own server). Such a
// file is reported at once, never opened in a way that could block, and
// never followed. Load takes no lock: a
// concurrent Save replaces the file atomically, so Load sees the old or the
// new session.
func (s *FileStore) Load(ctx context.Context, profile string) (Session, error) {
	if err := checkProfile(profile); err != nil {
		return Session{}, err
	}
	path := s.Path(profile)
	f, fi, err := safefile.Open(path, false)
	var nr *safefile.NotRegularError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return Session{}, ErrNoSession
	case errors.As(err, &nr):
		return Session{}, &CorruptSessionError{Path: path, Reason: nr.What()}
	case err != nil:
		return Session{}, fmt.Errorf("strategy: read session: %w", err)
	}
	defer f.Close()
	if writableByOthers(fi.Mode()) {
		return Session{}, &CorruptSessionError{Path: path, Reason: fmt.Sprintf("mode %v lets other users change it (chmod 600)", fi.Mode().Perm())}
	}
	data, err := io.ReadAll(io.LimitReader(f, maxBodySize+1))
	if err != nil {
		return Session{}, fmt.Errorf("strategy: read session: %w", err)
	}
	return parseSessionFile(path, data)
}

// Save replaces profile's session atomically and durably (see FileStore).
// It does not take the profile's lock; callers that read, modify and write
// hold it.
func (s *FileStore) Save(ctx context.Context, profile string, sess Session) error {
	if err := checkProfile(profile); err != nil {
		return err
	}
	data, err := encodeSession(sess)
	if err != nil {
		return err
	}
	tmp, err := s.writeTemp(profile, data)
	if err != nil {
		return err
	}
	if err := safefile.Commit(tmp, s.dir, sessionName(profile)); err != nil {
		return fmt.Errorf("strategy: save session: %w", err)
	}
	safefile.RemoveStale(s.dir, sessionName(profile), staleTemp)
	return nil
}

// staleTemp is the age past which a temporary file is left over from a
// save that crashed: a save takes milliseconds.
const staleTemp = 10 * time.Minute

// writeTemp writes data to a new, synced temporary file beside profile's
// session file and returns its name. A crash after it leaves the old
// session untouched and a stray temporary file, which Load ignores and a
// later Save removes once it is older than 10 minutes.
func (s *FileStore) writeTemp(profile string, data []byte) (string, error) {
	tmp, err := safefile.WriteTemp(s.dir, sessionName(profile), data)
	if err != nil {
		return "", fmt.Errorf("strategy: save session: %w", err)
	}
	return tmp, nil
}

// Delete removes profile's session file. A missing file is not an error.
// The lock file stays: removing it could let two processes lock different
// files of the same name.
func (s *FileStore) Delete(ctx context.Context, profile string) error {
	if err := checkProfile(profile); err != nil {
		return err
	}
	err := safefile.Remove(s.dir, sessionName(profile))
	var nr *safefile.NotRegularError
	switch {
	case errors.As(err, &nr):
		return &CorruptSessionError{Path: s.Path(profile), Reason: nr.What()}
	case err != nil:
		return fmt.Errorf("strategy: delete session: %w", err)
	}
	return nil
}

// Lock takes profile's lock file, shared with every process, polling every
// 10 ms while another holds it. It returns when the lock is held or when
// ctx ends. A lock path holding something other than a regular file (a
// FIFO, a link) is a *CorruptSessionError at once. The lock is released by unlock, or by the OS if the process
// dies.
func (s *FileStore) Lock(ctx context.Context, profile string) (func(), error) {
	if err := checkProfile(profile); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("strategy: lock session: %w", err)
	}
	path := filepath.Join(s.dir, profile+".lock")
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, &CorruptSessionError{Path: path, Reason: (&safefile.NotRegularError{Mode: fi.Mode().Type()}).What()}
	}
	var opts []flock.Option
	if flags := lockFlags(); flags != 0 {
		opts = append(opts, flock.SetFlag(flags))
	}
	fl := flock.New(path, opts...)
	ok, err := fl.TryLockContext(ctx, lockRetry)
	if err != nil || !ok {
		fl.Close()
		if err == nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("strategy: lock session: %w", err)
	}
	var once sync.Once
	return func() { once.Do(func() { fl.Unlock() }) }, nil
}
