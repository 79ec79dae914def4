package compattests

// Topic names on disk: every legal name (1 to 249 characters of
// [a-zA-Z0-9._-]) lives through creation, produce, segment rolls,
// compaction, deletion, re-creation and a restart, and a deleted topic's
// records never come back. Before the deletion directory names were capped
// (issue 9), names of 230 characters and more were answered OK by
// DeleteTopics while the rename failed ("file name too long"), their
// records came back with the next topic of the name, and the broker no
// longer started.
//
// The broker caps a topic at 100,000 partitions, so the longest partition
// directory is "<249 characters>-99999", exactly 255 bytes. Creating that
// many partitions is not affordable here (100,000 open segment files); the
// log package tests that directory (TestTheLongestTopicNameWithThe...).

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-io/samsa/log/disktest"
)

// legalTopicName is a topic name of n characters using every class of
// legal character, ending in "-1" so that the partition directory
// "<name>-<p>" has a '-' and digits twice over.
func legalTopicName(n int) string {
	const pattern = "aZ9._-"
	b := make([]byte, n)
	for i := range b {
		b[i] = pattern[i%len(pattern)]
	}
	if n >= 3 {
		b[n-2], b[n-1] = '-', '1'
	}
	return string(b)
}

// partitionDirsOf lists the directories of topic's partitions, and any
// directory still being deleted, in a broker's data directory.
func partitionDirsOf(t *testing.T, b *testBroker, topic string) (live, deleting []string) {
	t.Helper()
	entries, err := os.ReadDir(b.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case !e.IsDir():
		case strings.HasSuffix(name, "-delete"):
			deleting = append(deleting, name)
		case strings.HasPrefix(name, topic+"-") && !strings.ContainsAny(name[len(topic)+1:], "-."):
			live = append(live, name)
		}
	}
	return live, deleting
}

// segmentCount is the number of segment files of one partition.
func segmentCount(t *testing.T, b *testBroker, topic string, partition int32) int {
	t.Helper()
	logs, err := filepath.Glob(filepath.Join(b.dataDir, fmt.Sprintf("%s-%d", topic, partition), "*.log"))
	if err != nil {
		t.Fatal(err)
	}
	return len(logs)
}

func TestEveryLegalTopicNameLivesOnDiskFromCreationToDeletionReCreationAndRestart(t *testing.T) {
	skipOnKfake(t, "checks the broker's directories")
	t.Parallel()
	b := startBroker(t, withOverride("log.cleaner.backoff.ms", "100"))
	names := []string{"x", legalTopicName(229), legalTopicName(230), legalTopicName(249)}
	const partitions = 3
	compacted := map[string]string{
		"cleanup.policy":            "compact",
		"segment.bytes":             "1024",
		"min.cleanable.dirty.ratio": "0.01",
	}
	for _, name := range names {
		t.Logf("topic of %d characters: %s", len(name), name)
		adm := b.admin(t)
		createTopic(t, adm, name, partitions, compacted)
		cl := b.client(t, kgo.DefaultProduceTopic(name), kgo.RecordPartitioner(kgo.ManualPartitioner()))
		// Key k is overwritten, then filler rolls several segments so
		// the old values leave the active segment and get compacted.
		for v := range 5 {
			produceSync(t, cl, &kgo.Record{Partition: 0, Key: []byte("k"), Value: fmt.Appendf(nil, "k-v%d", v)})
		}
		for i := range 40 {
			produceSync(t, cl, &kgo.Record{Partition: int32(i % partitions), Key: fmt.Appendf(nil, "filler-%d", i), Value: []byte(strings.Repeat("f", 100))})
		}
		if n := segmentCount(t, b, name, 0); n < 2 {
			t.Fatalf("%d-character topic: partition 0 has %d segment, want a roll", len(name), n)
		}
		checkFor(t, 30*time.Second, 200*time.Millisecond, func() error {
			var values []string
			for _, r := range readAll(t, b, name)[0] {
				if string(r.Key) == "k" {
					values = append(values, string(r.Value))
				}
			}
			if !slices.Equal(values, []string{"k-v4"}) {
				return fmt.Errorf("%d-character topic: key k reads %v, want only its latest value once compacted", len(name), values)
			}
			return nil
		})

		deleted, err := adm.DeleteTopics(testContext(t, 20*time.Second), name)
		if err == nil {
			err = deleted.Error()
		}
		if err != nil {
			t.Fatalf("delete %d-character topic: %v", len(name), err)
		}
		checkFor(t, 10*time.Second, 50*time.Millisecond, func() error {
			if live, deleting := partitionDirsOf(t, b, name); len(live)+len(deleting) > 0 {
				return fmt.Errorf("%d-character topic: after DeleteTopics the data directory still holds %v %v", len(name), live, deleting)
			}
			return nil
		})

		createTopic(t, adm, name, partitions, compacted)
		for p, recs := range readAll(t, b, name) {
			if len(recs) > 0 {
				t.Fatalf("%d-character topic re-created: partition %d holds %d records of the deleted topic", len(name), p, len(recs))
			}
		}
		// A fresh client: the old one knows the deleted topic's ID.
		cl = b.client(t, kgo.DefaultProduceTopic(name), kgo.RecordPartitioner(kgo.ManualPartitioner()))
		produceSync(t, cl, &kgo.Record{Partition: 1, Key: []byte("new"), Value: []byte("after re-creation")})
	}

	b.Stop()
	b.Restart()
	adm := b.admin(t)
	topics, err := adm.ListTopics(testContext(t, 10*time.Second), names...)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		td, ok := topics[name]
		if !ok || td.Err != nil || len(td.Partitions) != partitions {
			t.Fatalf("after the restart the %d-character topic is %+v (listed %v)", len(name), td, ok)
		}
		got := readAll(t, b, name)
		if len(got[0])+len(got[2]) != 0 || len(got[1]) != 1 || string(got[1][0].Value) != "after re-creation" {
			t.Fatalf("after the restart the %d-character topic holds %d/%d/%d records, want only the one written after re-creation",
				len(name), len(got[0]), len(got[1]), len(got[2]))
		}
	}
	if out := b.output(); strings.Contains(out, "file name too long") {
		t.Error("the broker log reports 'file name too long'")
	}
}

// withDataDir puts the broker's log.dirs at dir (a file system the test
// prepared) instead of a fresh temporary directory.
func withDataDir(dir string) brokerOpt {
	return func(b *testBroker) { b.dataDir = dir }
}

// plantDir makes a directory with a file in it under the data directory.
func plantDir(t *testing.T, dataDir, name string) string {
	t.Helper()
	path := filepath.Join(dataDir, name)
	if err := os.MkdirAll(path, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(path, "00000000000000000000.log"), []byte("left over"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBrokerStartsOverLeftoverDirectoriesLogsEachAndSetsAsideWhatItCannotDelete(t *testing.T) {
	skipOnKfake(t, "plants directories in the broker's log directory")
	t.Parallel()
	b := startBroker(t)
	createTopic(t, b.admin(t), "kept", 1, nil)
	produceSync(t, b.client(t), valueRecords("kept", "before the restart")...)
	b.Stop()

	lostFound := plantDir(t, b.dataDir, "lost+found")
	halfDeleted := plantDir(t, b.dataDir, "x-0.0123456789abcdef0123456789abcdef-delete")
	orphan := plantDir(t, b.dataDir, "gone-0")
	undeletable := plantDir(t, b.dataDir, "stuck-0")
	clearImmutable := disktest.Immutable(t, undeletable)

	b.Restart()
	requireGone := func(path string) {
		t.Helper()
		checkFor(t, 10*time.Second, 50*time.Millisecond, func() error {
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("%s is still there (%v)", filepath.Base(path), err)
			}
			return nil
		})
	}
	requireGone(halfDeleted)
	requireGone(orphan)
	// Deleting a partition's data is never silent.
	if !strings.Contains(b.output(), "gone-0") {
		t.Errorf("the broker deleted the orphan gone-0 without a log line")
	}
	for _, path := range []string{lostFound, undeletable} {
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("%s: %v, want it left alone", filepath.Base(path), err)
		}
	}
	out := b.output()
	for _, want := range []string{lostFound, "stuck-0"} {
		if !strings.Contains(out, want) {
			t.Errorf("the broker log does not mention %s", want)
		}
	}
	if got := readAll(t, b, "kept")[0]; len(got) != 1 || string(got[0].Value) != "before the restart" {
		t.Fatalf("topic kept after the restart reads %d records", len(got))
	}

	// The name of the undeletable orphan cannot be taken while its
	// records are on disk; once they can go, the broker removes them by
	// itself and the name is free, with no record of the orphan's.
	adm := b.admin(t)
	resp, err := adm.CreateTopic(testContext(t, 10*time.Second), 1, 1, nil, "stuck")
	if err == nil {
		err = resp.Err
	}
	if err == nil {
		t.Fatal("created a topic over an undeletable directory of the same name")
	}
	clearImmutable()
	requireGone(undeletable)
	createTopic(t, adm, "stuck", 1, nil)
	if got := readAll(t, b, "stuck")[0]; len(got) != 0 {
		t.Fatalf("the new topic stuck reads %d records of the orphan", len(got))
	}
}
