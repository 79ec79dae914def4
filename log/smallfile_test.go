package log

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// readSmallFile reads what os.ReadFile reads: empty files, files within
// its first read, files larger than it, and a missing file is
// os.ErrNotExist.
func TestReadSmallFileReadsWholeFiles(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{0, 1, 4095, 4096, 4097, 1 << 20} {
		path := filepath.Join(dir, "f")
		want := make([]byte, size)
		for i := range want {
			want[i] = byte(i * 7)
		}
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := readSmallFile(path)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%d-byte file: read %d bytes, err %v", size, len(got), err)
		}
	}
	if _, err := readSmallFile(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v, want os.ErrNotExist", err)
	}
	if _, err := readSmallFile(dir); err == nil {
		t.Fatal("read a directory as a file")
	}
}
