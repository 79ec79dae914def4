// Package atomicfile replaces small files so that a crash leaves either the
// old or the new content, never a torn file: a partition's checkpoints and
// metadata, the controller's metadata file, the broker's ready file.
//
// It sits under log, the bottom layer, which owns Samsa's files on disk,
// and is a package of its own, knowing nothing of partitions, so that
// controller and tools/samsa can use it without depending on the partition
// log.
package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrDirNotSynced: the file was replaced but its directory could not be
// fsynced, so the rename may not survive a crash. The file already holds
// the new content.
var ErrDirNotSynced = errors.New("file replaced but its directory not synced")

// Write replaces path with data: it writes path+".tmp", fsyncs it, renames
// it over path and fsyncs the directory. A failure before the rename
// leaves path as it was and removes the temporary file, so a full disk
// gets back what it lent. A failure of the last step wraps
// ErrDirNotSynced.
func Write(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := writeSynced(tmp, data); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("replace %s: %w", path, err)
	}
	if err := SyncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("%w: %w", ErrDirNotSynced, err)
	}
	return nil
}

// Replace replaces path with data by writing path+".tmp" and renaming it
// over path, without fsync: a process crash (kill -9) leaves the old or
// the new content, as with Write, but a power failure may lose the new
// content (or, on some file systems, leave an empty file) until Sync has
// made it durable. It is for files written on a hot path whose fsync can
// wait and be batched, and whose readers cope with an old or empty file.
func Replace(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("replace %s: %w", path, err)
	}
	return nil
}

// Sync fsyncs a file written by Replace, then its directory, making it
// durable. A file gone since (its directory deleted) is not an error.
func Sync(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	err = f.Sync()
	f.Close()
	if err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := SyncDir(filepath.Dir(path)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// writeSynced writes data to a new file at path and fsyncs it.
func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
}

// SyncDir fsyncs a directory, making renames and new files in it durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
