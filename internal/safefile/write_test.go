package safefile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// temps lists the temporary files of name in dir.
func temps(t *testing.T, dir, name string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, tempPrefix(name)+"*"))
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestWriteFileCreatesAndReplaces(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "dir")
	for _, content := range []string{"first", "second, longer than the first", "3"} {
		if err := WriteFile(dir, "f.json", []byte(content), time.Minute); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, "f.json"))
		if err != nil || string(got) != content {
			t.Fatalf("file holds %q, %v; want %q", got, err, content)
		}
	}
	fi, err := os.Stat(filepath.Join(dir, "f.json"))
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Errorf("file mode %v, want 0600", m)
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m := di.Mode().Perm(); m != 0o700 {
		t.Errorf("directory mode %v, want 0700", m)
	}
	if left := temps(t, dir, "f.json"); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// A replacement that cannot be renamed into place (a directory holds the
// name) fails, leaves what was there, and leaves no temporary file.
func TestFailedCommitLeavesNoTemporary(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "f.json"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "f.json", "inside"), []byte("kept"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(dir, "f.json", []byte("new"), time.Minute); err == nil {
		t.Fatal("WriteFile over a non-empty directory succeeded")
	}
	if got, err := os.ReadFile(filepath.Join(dir, "f.json", "inside")); err != nil || string(got) != "kept" {
		t.Errorf("what was there: %q, %v", got, err)
	}
	if left := temps(t, dir, "f.json"); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// A crash between WriteTemp and Commit leaves the old file whole and a
// temporary file, which a later write removes once it is old enough.
func TestCrashBeforeCommit(t *testing.T) {
	dir := t.TempDir()
	if err := WriteFile(dir, "f.json", []byte("old"), time.Minute); err != nil {
		t.Fatal(err)
	}
	tmp, err := WriteTemp(dir, "f.json", []byte("half"))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "f.json")); string(got) != "old" {
		t.Fatalf("after the crash the file holds %q, want old", got)
	}
	young := filepath.Join(dir, tempPrefix("f.json")+"young")
	if err := os.WriteFile(young, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, tempPrefix("f.json")+"link")
	if err := os.Symlink(filepath.Join(dir, "f.json"), link); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Hour)
	if err := os.Chtimes(tmp, past, past); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(dir, "f.json", []byte("new"), 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("the crashed write's temporary file is still there (%v)", err)
	}
	if _, err := os.Stat(young); err != nil {
		t.Errorf("a young temporary file, maybe a write in progress, was removed: %v", err)
	}
	if _, err := os.Lstat(link); err != nil {
		t.Errorf("a link with a temporary's name was removed: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "f.json")); string(got) != "new" {
		t.Errorf("file holds %q, want new", got)
	}
}

func TestRemove(t *testing.T) {
	dir := t.TempDir()
	if err := Remove(dir, "missing"); err != nil {
		t.Errorf("Remove of a missing file: %v", err)
	}
	if err := WriteFile(dir, "f", []byte("x"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := Remove(dir, "f"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "f")); !os.IsNotExist(err) {
		t.Errorf("file still there (%v)", err)
	}
}

// Remove takes the temporary files of unfinished replacements with the
// file, whatever their age, and with no file left: they hold its content.
// Names are not patterns: a name with [, * or ? is handled as any other.
func TestRemoveTakesUnfinishedReplacements(t *testing.T) {
	for _, name := range []string{"f", "work[1].json", "a*b?"} {
		for _, withFile := range []bool{true, false} {
			dir := t.TempDir()
			var paths []string
			if withFile {
				paths = append(paths, filepath.Join(dir, name))
			}
			paths = append(paths, filepath.Join(dir, "."+name+".tmp-1"), filepath.Join(dir, "."+name+".tmp-2"))
			for _, p := range paths {
				if err := os.WriteFile(p, []byte("refresh token"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			other := filepath.Join(dir, ".g.tmp-1")
			if err := os.WriteFile(other, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := Remove(dir, name); err != nil {
				t.Fatal(err)
			}
			for _, p := range paths {
				if _, err := os.Lstat(p); !os.IsNotExist(err) {
					t.Errorf("%q (file too: %t): %s left (%v)", name, withFile, filepath.Base(p), err)
				}
			}
			if _, err := os.Lstat(other); err != nil {
				t.Errorf("another file's temporary was removed: %v", err)
			}
		}
	}
}

// RemoveStale finds the temporaries of a name with pattern characters.
func TestRemoveStaleLiteralNames(t *testing.T) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, ".work[1].json.tmp-9")
	if err := os.WriteFile(tmp, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(tmp, old, old); err != nil {
		t.Fatal(err)
	}
	RemoveStale(dir, "work[1].json", time.Minute)
	if _, err := os.Lstat(tmp); !os.IsNotExist(err) {
		t.Errorf("stale temporary left (%v)", err)
	}
}

// Remove keeps a directory at the path, whatever it holds, and says what
// the path holds.
func TestRemoveKeepsADirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "f", "inside"), 0o700); err != nil {
		t.Fatal(err)
	}
	err := Remove(dir, "f")
	var nr *NotRegularError
	if !errors.As(err, &nr) || nr.What() != "a directory, not a regular file" {
		t.Errorf("Remove of a directory: %v, want a *NotRegularError saying it is a directory", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "f", "inside")); err != nil {
		t.Errorf("the directory's content is gone: %v", err)
	}
}
