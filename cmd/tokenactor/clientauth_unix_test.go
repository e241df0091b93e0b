//go:build unix

package main

import (
	"crypto/elliptic"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A key file given through a link (a mounted secret is one) is judged by
// the file the link names: its mode, and what it is. A FIFO is refused at
// once, without waiting for a writer.
func TestKeyFileJudgedThroughItsLink(t *testing.T) {
	dir := t.TempDir()
	ec := newECTestKey(t, elliptic.P256())
	open := writePEM(t, dir, "open.pem", 0o644, pkcs8(t, ec))
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for target, want := range map[string]string{open: "lets every user read the private key", fifo: "a named pipe, not a regular file"} {
		link := filepath.Join(t.TempDir(), "key.pem")
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		c, err := loadClientCreds(clientFiles{Key: link}, "")
		var kfe *keyFileError
		if !errors.As(err, &kfe) || c != nil || !strings.Contains(err.Error(), want) {
			t.Errorf("a link to %s: loadClientCreds = %v, %v; want a *keyFileError saying %q", filepath.Base(target), c, err, want)
		}
	}
}
