package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteReplacesTheFileAndLeavesNoTemporaryFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	for _, content := range []string{"first\n", "second, longer than the first\n", ""} {
		if err := Write(path, []byte(content)); err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(path); err != nil || string(got) != content {
			t.Fatalf("file holds %q (%v), want %q", got, err, content)
		}
	}
	requireNoTemporaryFile(t, path)
}

func TestAFailedRenameLeavesTheOldContentAndNoTemporaryFile(t *testing.T) {
	// A non-empty directory where the file should go: the rename fails
	// after the temporary file was written in full.
	path := filepath.Join(t.TempDir(), "state")
	if err := os.MkdirAll(filepath.Join(path, "inside"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := Write(path, []byte("new"))
	if err == nil {
		t.Fatal("Write over a non-empty directory succeeded")
	}
	if errors.Is(err, ErrDirNotSynced) {
		t.Fatalf("a failed rename is reported as %v", err)
	}
	if st, err := os.Stat(path); err != nil || !st.IsDir() {
		t.Fatalf("the directory in the way was changed: %v", err)
	}
	requireNoTemporaryFile(t, path)
}

func TestWriteInAMissingDirectoryFailsWithErrNotExist(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "state")
	if err := Write(path, []byte("new")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Write in a missing directory: %v, want ErrNotExist", err)
	}
}

func requireNoTemporaryFile(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the temporary file is still there: %v", err)
	}
}

func TestReplaceSwapsTheContentAndSyncMakesItDurable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	for _, content := range []string{"first\n", "second, longer than the first\n", ""} {
		if err := Replace(path, []byte(content)); err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(path); err != nil || string(got) != content {
			t.Fatalf("file holds %q (%v), want %q", got, err, content)
		}
		if err := Sync(path); err != nil {
			t.Fatal(err)
		}
	}
	requireNoTemporaryFile(t, path)
}

func TestAFailedReplaceLeavesTheOldContentAndNoTemporaryFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	if err := os.MkdirAll(filepath.Join(path, "inside"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Replace(path, []byte("new")); err == nil {
		t.Fatal("Replace over a non-empty directory succeeded")
	}
	if st, err := os.Stat(path); err != nil || !st.IsDir() {
		t.Fatalf("the directory in the way was changed: %v", err)
	}
	requireNoTemporaryFile(t, path)
}

func TestSyncOfAFileDeletedSinceIsNotAnError(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "partition")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "state")
	if err := Replace(path, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := Sync(path); err != nil {
		t.Fatalf("Sync of a deleted file: %v", err)
	}
}
