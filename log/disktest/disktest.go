// Package disktest makes the disk fail for real in tests: a small tmpfs
// that a filler file makes full (ENOSPC), and directories made immutable
// (chattr +i), which even root cannot create, rename or delete in. Tests
// of every layer use it, from the log to the broker binary, so the
// failures they see are the kernel's, not a fake's.
//
// It needs root (mount, chattr); without it the helpers skip the test,
// saying why. Everything it does is undone when the test ends.
package disktest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// MountTmpfs mounts a tmpfs of the given size ("4m") at a new directory
// and unmounts it when the test ends, after cleanups registered later
// (a broker using it stops first). Only an EPERM (not root) skips.
func MountTmpfs(t testing.TB, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		if errors.Is(err, syscall.EPERM) {
			t.Skipf("mount tmpfs: %v (needs root)", err)
		}
		t.Fatalf("mount tmpfs at %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// FillDisk writes a file in dir until the file system is full and
// returns its path; removing it frees the space.
func FillDisk(t testing.TB, dir string) (filler string) {
	t.Helper()
	filler = filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", dir, err)
			}
			return filler
		}
	}
}

// Immutable sets the immutable attribute on path (chattr +i), through
// which even root can neither create, rename nor delete, and clears it
// when the test ends or when clear is called. It skips the test where
// the file system cannot.
func Immutable(t testing.TB, path string) (clear func()) {
	t.Helper()
	if out, err := exec.Command("chattr", "+i", path).CombinedOutput(); err != nil {
		t.Skipf("chattr +i %s: %v %s (needs root and a file system with attributes)", path, err, out)
	}
	cleared := false
	clear = func() {
		if !cleared {
			cleared = true
			if out, err := exec.Command("chattr", "-i", path).CombinedOutput(); err != nil {
				t.Errorf("chattr -i %s: %v %s", path, err, out)
			}
		}
	}
	t.Cleanup(clear)
	return clear
}
