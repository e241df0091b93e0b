//go:build unix

package strategy_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/strategy"
)

// TestFileStoreRefusesSpecialFiles puts what is not a regular file at a
// session path: Load must report it at once as a *CorruptSessionError (a
// FIFO used to block Load, and Close behind it, forever), and a strategy
// over the store must fail its Get and close.
func TestFileStoreRefusesSpecialFiles(t *testing.T) {
	regular := filepath.Join(t.TempDir(), "elsewhere.json")
	if err := os.WriteFile(regular, []byte(`{"version":1,"refresh_token":"rt-0"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		make func(t *testing.T, path string)
	}{
		{name: "FIFO", make: func(t *testing.T, path string) {
			if err := syscall.Mkfifo(path, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "directory", make: func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "socket", make: func(t *testing.T, path string) {
			ln, err := net.Listen("unix", path)
			if err != nil {
				t.Skipf("no unix socket here (path length?): %v", err)
			}
			t.Cleanup(func() { ln.Close() })
		}},
		{name: "symlink to a regular file", make: func(t *testing.T, path string) {
			if err := os.Symlink(regular, path); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "symlink to a device", make: func(t *testing.T, path string) {
			if err := os.Symlink("/dev/zero", path); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "dangling symlink", make: func(t *testing.T, path string) {
			if err := os.Symlink(filepath.Join(t.TempDir(), "missing"), path); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, err := os.MkdirTemp("", "ta") // short: socket paths are limited
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			store := strategy.NewFileStore(dir)
			tt.make(t, store.Path("default"))

			done := make(chan error, 1)
			go func() {
				_, err := store.Load(t.Context(), "default")
				done <- err
			}()
			select {
			case err := <-done:
				var ce *strategy.CorruptSessionError
				if !errors.As(err, &ce) {
					t.Fatalf("Load: got %v, want a *CorruptSessionError", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Load blocked") // the FIFO's old behaviour; the goroutine stays stuck
			}

			s, err := strategy.NewOAuth(strategy.OAuthConfig{Store: store}, tokenactor.WithRefreshTimeout(5*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Get(t.Context())
			var ce *strategy.CorruptSessionError
			if !errors.As(err, &ce) {
				t.Errorf("Get: got %v, want a *CorruptSessionError", err)
			}
			s.Close()
		})
	}
}

// TestFileStoreRefusesSpecialLockFiles: a FIFO or a link at the lock path
// used to block Lock in open(2), the refresh with it, and Close behind it.
func TestFileStoreRefusesSpecialLockFiles(t *testing.T) {
	for name, create := range map[string]func(path string) error{
		"FIFO":    func(path string) error { return syscall.Mkfifo(path, 0o600) },
		"symlink": func(path string) error { return os.Symlink("/dev/null", path) },
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := create(filepath.Join(dir, "default.lock")); err != nil {
				t.Fatal(err)
			}
			store := strategy.NewFileStore(dir)
			done := make(chan error, 1)
			go func() {
				unlock, err := store.Lock(t.Context(), "default")
				if err == nil {
					unlock()
				}
				done <- err
			}()
			select {
			case err := <-done:
				var ce *strategy.CorruptSessionError
				if !errors.As(err, &ce) {
					t.Fatalf("Lock: got %v, want a *CorruptSessionError", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Lock blocked")
			}
		})
	}
}

// TestFileStoreRefusesFilesOthersCanWrite: another user who can change the
// session file can point token_url at their server and collect the refresh
// token; such a file is refused.
func TestFileStoreRefusesFilesOthersCanWrite(t *testing.T) {
	for _, mode := range []os.FileMode{0o666, 0o620, 0o602} {
		store := strategy.NewFileStore(t.TempDir())
		if err := store.Save(t.Context(), "default", strategy.Session{RefreshToken: tokenactor.NewSecretToken("rt")}); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(store.Path("default"), mode); err != nil {
			t.Fatal(err)
		}
		_, err := store.Load(t.Context(), "default")
		var ce *strategy.CorruptSessionError
		if !errors.As(err, &ce) {
			t.Errorf("mode %v: got %v, want a *CorruptSessionError", mode, err)
		}
	}
	// Readable by others is a leak of its own, but not a takeover: loaded.
	store := strategy.NewFileStore(t.TempDir())
	store.Save(t.Context(), "default", strategy.Session{RefreshToken: tokenactor.NewSecretToken("rt")})
	os.Chmod(store.Path("default"), 0o644)
	if _, err := store.Load(t.Context(), "default"); err != nil {
		t.Errorf("mode 0644: %v", err)
	}
}
