package log

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/rs/zerolog"

	"github.com/samsa-io/samsa/log/disktest"
)

// longName is a legal topic name of n characters using every class of
// legal character, ending in "-1" so that a directory name parser must
// find the partition after the last '-'.
func longName(n int) string {
	const pattern = "Ab9._-"
	var b strings.Builder
	for b.Len() < n-2 {
		b.WriteByte(pattern[b.Len()%len(pattern)])
	}
	return (b.String() + "-1")[:n]
}

func TestDeletionDirectoryNamesAreCappedAt255BytesAsKafkaCapsThem(t *testing.T) {
	for _, n := range []int{1, 2, 212, 213, 214, 229, 230, 249} {
		for _, p := range []int32{0, 9, 10, 99999} {
			tp := TopicPartition{Topic: longName(n), Partition: p}
			name := deleteDirName(tp)
			if len(name) > maxFileNameBytes {
				t.Fatalf("%d-character topic, partition %d: deletion name of %d bytes", n, p, len(name))
			}
			if !isDeleteDir(name) {
				t.Fatalf("%q is not recognised as a deletion directory", name)
			}
			if _, ok := parsePartitionDir(name); ok {
				t.Fatalf("deletion directory %q parses as a partition directory", name)
			}
			// Kafka's logDirNameWithSuffixCappedLength: the topic, cut
			// so the name is at most 255 bytes, then
			// "-<partition>.<32 hex digits>-delete".
			suffix := "-" + strconv.Itoa(int(p)) + "." + strings.Repeat("x", 32) + deleteDirSuffix
			keep := min(n, maxFileNameBytes-len(suffix))
			if !strings.HasPrefix(name, tp.Topic[:keep]+"-"+strconv.Itoa(int(p))+".") || len(name) != keep+len(suffix) {
				t.Fatalf("%d-character topic, partition %d: deletion name %q, want the topic's first %d characters and the suffix", n, p, name, keep)
			}
		}
	}
	if a, b := deleteDirName(TopicPartition{"t", 0}), deleteDirName(TopicPartition{"t", 0}); a == b {
		t.Errorf("two deletions of one partition got the same name %q", a)
	}
}

func TestOnlyTheBrokersOwnPartitionDirectoryNamesAreTakenForPartitions(t *testing.T) {
	for name, want := range map[string]*TopicPartition{
		"events-0":                    {"events", 0},
		"a-b-c-12":                    {"a-b-c", 12},
		"x-1-0":                       {"x-1", 0},
		longName(249) + "-99999":      {longName(249), 99999},
		"lost+found":                  nil,
		"lost+found-0":                nil, // '+' is not a topic character
		"events":                      nil,
		"-0":                          nil,
		"events-":                     nil,
		"events-+1":                   nil,
		"events-01":                   nil,
		"events--1":                   {"events-", 1},
		"events-2147483648":           nil,
		longName(250) + "-0":          nil,
		".-0":                         nil,
		"..-0":                        nil,
		"x-0.0123456789abcdef-delete": nil,
	} {
		got, ok := parsePartitionDir(name)
		switch {
		case want == nil && ok:
			t.Errorf("%q parsed as partition %v, want it left alone", name, got)
		case want != nil && (!ok || got != *want):
			t.Errorf("%q parsed as %v (%v), want %v", name, got, ok, *want)
		}
	}
}

func TestTheLongestTopicNameWithTheHighestPartitionIsCreatedDeletedAndNeverComesBack(t *testing.T) {
	tl := newTestLogs(t)
	topic := longName(249)
	l, err := tl.m.Open(topic, 99999, testTopicID, testConfig())
	if err != nil {
		t.Fatalf("open %d-byte partition directory: %v", len(topic)+6, err)
	}
	if got := len(filepath.Base(l.Dir())); got != 255 {
		t.Fatalf("partition directory name has %d bytes, want 255", got)
	}
	mustAppend(t, l, plainBatch(0, "old"))
	if err := tl.m.Delete(topic, 99999); err != nil {
		t.Fatalf("delete: %v", err)
	}
	tl.m.tasks.Wait() // the background removal
	if entries := dirEntries(t, tl.dir); len(entries) != 0 {
		t.Fatalf("log directory after the deletion holds %v", entries)
	}
	// Even under the same topic ID, the records are gone for good.
	l, err = tl.m.Open(topic, 99999, testTopicID, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	if leo := l.Offsets().LogEndOffset; leo != 0 {
		t.Fatalf("re-created partition starts at %d, want 0", leo)
	}
	tl.cleanRestart()
	if got := tl.m.Existing(); !slices.Equal(got, []TopicPartition{{topic, 99999}}) {
		t.Fatalf("after a restart the manager finds %v", got)
	}
}

// dirEntries lists a log directory without the Manager's own files.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if n := e.Name(); n != lockFile && n != cleanShutdownFile && n != metaPropertiesFile {
			names = append(names, n)
		}
	}
	return names
}

func TestStartupLeavesUnknownDirectoriesAloneAndFinishesCutShortDeletions(t *testing.T) {
	dir := t.TempDir()
	mkdirWithFile := func(name string) string {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(path, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(path, "00000000000000000000.log"), []byte("old records"), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	unknown := []string{"lost+found", "backup-delete", "events-0.copy", "bad name-0"}
	for _, name := range unknown {
		mkdirWithFile(name)
	}
	mkdirWithFile("x-0.0123456789abcdef0123456789abcdef-delete")
	mkdirWithFile("y-3.0123456789abcdef-delete") // an earlier version's name
	mkdirWithFile("gone-0")

	m, err := OpenManager(ManagerConfig{Dirs: []string{dir}, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatalf("start with leftovers: %v", err)
	}
	m.tasks.Wait()
	if got := m.Existing(); !slices.Equal(got, []TopicPartition{{"gone", 0}}) {
		t.Errorf("partitions found: %v, want only gone-0", got)
	}
	want := append(slices.Clone(unknown), "gone-0")
	slices.Sort(want)
	if got := dirEntries(t, dir); !slices.Equal(got, want) {
		t.Errorf("log directory holds %v, want %v (unknown directories kept, cut-short deletions finished)", got, want)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenNeverAdoptsADirectoryItDidNotFindAtStartup(t *testing.T) {
	tl := newTestLogs(t)
	l := tl.open(testConfig())
	mustAppend(t, l, plainBatch(0, "old"))
	tl.cleanRestart()
	// Hide the partition while the manager starts, then put it back: it
	// appeared behind the manager's back.
	hidden := filepath.Join(tl.dir, "hidden")
	if err := os.Rename(tl.partitionDir(), hidden); err != nil {
		t.Fatal(err)
	}
	tl.cleanRestart()
	if err := os.Rename(hidden, tl.partitionDir()); err != nil {
		t.Fatal(err)
	}
	l, err := tl.m.Open("events", 0, testTopicID, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	if leo := l.Offsets().LogEndOffset; leo != 0 {
		t.Fatalf("a directory that appeared after startup was adopted: log end offset %d, want 0", leo)
	}

	// Something that is not a directory is not deleted: Open fails.
	if err := os.WriteFile(filepath.Join(tl.dir, "events-1"), []byte("not mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := tl.m.Open("events", 1, testTopicID, testConfig()); err == nil {
		t.Fatal("opened a log where a file of the same name is")
	}
}

func TestAFailedDeletionIsRetriedAndItsRecordsNeverComeBack(t *testing.T) {
	tl := newTestLogs(t)
	l := tl.open(testConfig())
	mustAppend(t, l, plainBatch(0, "deleted record"))
	clear := disktest.Immutable(t, tl.partitionDir())

	if err := tl.m.Delete("events", 0); err == nil {
		t.Fatal("deleting an immutable partition directory succeeded")
	}
	if tl.m.PendingDeletion("events") == nil {
		t.Fatal("the failed deletion is not pending")
	}
	if _, err := l.Append(plainBatch(0, "late"), 0, 0); !errors.Is(err, ErrClosed) {
		t.Errorf("append to a log whose deletion failed: %v, want ErrClosed", err)
	}
	newID := testTopicID
	newID[0] = 42
	for _, id := range [][16]byte{newID, testTopicID} {
		if _, err := tl.m.Open("events", 0, id, testConfig()); err == nil {
			t.Fatal("opened a log on top of a deleted partition's directory")
		}
	}

	clear()
	tl.m.retryDeletions()
	tl.m.tasks.Wait()
	if err := tl.m.PendingDeletion("events"); err != nil {
		t.Fatalf("still pending after the cause is gone: %v", err)
	}
	if entries := dirEntries(t, tl.dir); len(entries) != 0 {
		t.Fatalf("log directory after the retried deletion holds %v", entries)
	}
	l, err := tl.m.Open("events", 0, newID, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	if leo := l.Offsets().LogEndOffset; leo != 0 {
		t.Fatalf("the new topic's log starts at %d, want 0", leo)
	}
}

func TestAnUndeletableOrphanIsSetAsideAndDeletedByTheNextStart(t *testing.T) {
	tl := newTestLogs(t)
	mustAppend(t, tl.open(testConfig()), plainBatch(0, "orphaned"))
	tl.cleanRestart()
	clear := disktest.Immutable(t, tl.partitionDir())
	if err := tl.m.Delete("events", 0); err == nil {
		t.Fatal("deleted an immutable directory")
	}
	// The manager still works for other partitions.
	if _, err := tl.m.Open("other", 0, testTopicID, testConfig()); err != nil {
		t.Fatal(err)
	}
	clear()
	tl.cleanRestart()
	if err := tl.m.Delete("events", 0); err != nil {
		t.Fatalf("delete after the restart: %v", err)
	}
	tl.m.tasks.Wait()
	if got := dirEntries(t, tl.dir); !slices.Equal(got, []string{"other-0"}) {
		t.Fatalf("log directory holds %v, want only other-0", got)
	}
}

func TestALogThatCannotBeCreatedOnAFullDiskLeavesNoDirectory(t *testing.T) {
	dir := disktest.MountTmpfs(t, "1m")
	m, err := OpenManager(ManagerConfig{Dirs: []string{dir}, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	filler := disktest.FillDisk(t, dir)
	if _, err := m.Open("events", 0, testTopicID, testConfig()); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("open on a full disk: %v, want ENOSPC", err)
	}
	if got := dirEntries(t, dir); !slices.Equal(got, []string{"filler"}) {
		t.Fatalf("after the failed open the log directory holds %v", got)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	l, err := m.Open("events", 0, testTopicID, testConfig())
	if err != nil {
		t.Fatalf("open once space is back: %v", err)
	}
	mustAppend(t, l, plainBatch(0, "works"))
}

func TestDeleteRecordsThatCannotBeWrittenDeletesNothing(t *testing.T) {
	// A full disk: the new log start cannot be recorded, so DeleteRecords
	// fails and changes nothing, now or after space is back.
	dir := disktest.MountTmpfs(t, "1m")
	m, err := OpenManager(ManagerConfig{Dirs: []string{dir}, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	l, err := m.Open("events", 0, testTopicID, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		mustAppend(t, l, plainBatch(0, fmt.Sprintf("v%d", i)))
	}
	l.SetHighWatermark(5)
	filler := disktest.FillDisk(t, dir)
	if _, err := l.DeleteRecords(3); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("DeleteRecords on a full disk: %v, want ENOSPC", err)
	}
	if start := l.Offsets().LogStartOffset; start != 0 {
		t.Fatalf("the failed DeleteRecords moved the log start to %d", start)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	m.flushAndCheckpoint() // what the periodic checkpoint does
	if start := l.Offsets().LogStartOffset; start != 0 {
		t.Fatalf("after space came back the log start is %d", start)
	}
	if got := readValues(t, l, 0); len(got) != 5 {
		t.Fatalf("the log holds %v after a failed DeleteRecords", got)
	}
}
