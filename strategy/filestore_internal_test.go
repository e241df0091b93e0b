package strategy

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenactor/tokenactor"
)

// TestFileStoreCrashBeforeRename stops a save where a crash would: the
// temporary file is written and synced, the rename has not happened. The
// old session must still load, and the next save must work.
func TestFileStoreCrashBeforeRename(t *testing.T) {
	store := NewFileStore(t.TempDir())
	old := Session{AccessToken: tokenactor.NewSecretToken("old"), RefreshToken: tokenactor.NewSecretToken("rt-old")}
	if err := store.Save(t.Context(), "default", old); err != nil {
		t.Fatal(err)
	}
	data, err := encodeSession(Session{AccessToken: tokenactor.NewSecretToken("new")})
	if err != nil {
		t.Fatal(err)
	}
	tmp, err := store.writeTemp("default", data[:len(data)/2]) // half written, then the crash
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); err != nil {
		t.Fatalf("the temporary file should be left behind: %v", err)
	}
	got, err := store.Load(t.Context(), "default")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("old", got.AccessToken.Reveal()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if err := store.Save(t.Context(), "default", Session{AccessToken: tokenactor.NewSecretToken("newer")}); err != nil {
		t.Fatal(err)
	}
	got, _ = store.Load(t.Context(), "default")
	if diff := cmp.Diff("newer", got.AccessToken.Reveal()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if matches, _ := filepath.Glob(filepath.Join(store.Dir(), "*.json")); len(matches) != 1 {
		t.Errorf("visible session files: %v", matches)
	}
}

// TestFileStoreRemovesStaleTemps leaves temporary files as crashed saves
// do: a save removes those older than staleTemp and keeps a young one,
// which may belong to a save in progress.
func TestFileStoreRemovesStaleTemps(t *testing.T) {
	dir := t.TempDir()
	store := NewFileStore(dir)
	old := filepath.Join(dir, ".default.json.tmp-old")
	young := filepath.Join(dir, ".default.json.tmp-young")
	other := filepath.Join(dir, ".work.json.tmp-old")
	for _, name := range []string{old, young, other} {
		if err := os.WriteFile(name, []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-2 * staleTemp)
	os.Chtimes(old, past, past)
	os.Chtimes(other, past, past)

	if err := store.Save(t.Context(), "default", Session{AccessToken: tokenactor.NewSecretToken("at")}); err != nil {
		t.Fatal(err)
	}
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	want := []string{".default.json.tmp-young", ".work.json.tmp-old", "default.json"}
	if diff := cmp.Diff(want, left); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
}
