package broker

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/log/disktest"
)

// Storage failures: no admin request that failed on disk is answered OK,
// and nothing half-made is left behind.

// partitionDirs lists the directories of topic's partitions in the log
// directory (deletion directories, being removed, are not).
func partitionDirs(t *testing.T, b *Broker, topic string) []string {
	t.Helper()
	entries, err := os.ReadDir(b.cfg.LogDirs[0])
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if i := strings.LastIndexByte(e.Name(), '-'); e.IsDir() && i > 0 && e.Name()[:i] == topic {
			dirs = append(dirs, e.Name())
		}
	}
	return dirs
}

func TestEveryMetadataChangeOnAFullDiskAnswersKafkaStorageErrorAndChangesNothing(t *testing.T) {
	b := newTestBrokerWith(t, "log.dirs="+disktest.MountTmpfs(t, "2m"))
	createTopicForTest(t, b, "before", 1, nil)
	produceValues(t, b, "before", 0, "acknowledged")
	filler := disktest.FillDisk(t, b.cfg.LogDirs[0])
	t.Cleanup(func() { os.Remove(filler) }) // so the broker can close cleanly

	created := createTopics(t, b, 7, false, newCreatableTopic("new", 2, 1, nil))[0]
	requireCode(t, "CreateTopics", created.ErrorCode, kerr.KafkaStorageError)
	requireMessage(t, "CreateTopics", created.ErrorMessage, "no space left on device")
	requireTopicAbsent(t, b, "new")

	requireCode(t, "CreatePartitions", createPartitions(t, b, 3, false, "before", 3).ErrorCode, kerr.KafkaStorageError)
	requireCode(t, "AlterConfigs of a topic", alterConfigs(t, b, 2, false,
		alterResource(kmsg.ConfigResourceTypeTopic, "before", "retention.ms", "1000"))[0].ErrorCode, kerr.KafkaStorageError)
	requireCode(t, "AlterConfigs of the broker", alterConfigs(t, b, 2, false,
		alterResource(kmsg.ConfigResourceTypeBroker, "", "log.retention.ms", "1000"))[0].ErrorCode, kerr.KafkaStorageError)
	requireCode(t, "IncrementalAlterConfigs", incrementalAlter(t, b, 1, false, kmsg.ConfigResourceTypeTopic, "before",
		configOp(kmsg.IncrementalAlterConfigOpSet, "retention.ms", kmsg.StringPtr("1000"))).ErrorCode, kerr.KafkaStorageError)
	requireCode(t, "DeleteTopics", deleteTopicsByName(t, b, 6, "before")[0].ErrorCode, kerr.KafkaStorageError)

	got, ok := b.store.Topic("before")
	if !ok || len(got.Partitions) != 1 || len(got.Configs) != 0 {
		t.Fatalf("after the failed changes the topic is %+v (exists %v), want it unchanged", got, ok)
	}
	if c := topicConfigs(t, b, "before")["retention.ms"]; c.Source == kmsg.ConfigSourceDynamicTopicConfig {
		t.Fatal("a failed AlterConfigs changed retention.ms")
	}
}

func TestCreateTopicsWhoseLogsCannotBeCreatedIsUndoneWithKafkaStorageError(t *testing.T) {
	b := newTestBroker(t)
	// Partition 1's directory cannot be made: a file has its name.
	blocker := filepath.Join(b.cfg.LogDirs[0], "half-1")
	if err := os.WriteFile(blocker, []byte("in the way"), 0o644); err != nil {
		t.Fatal(err)
	}
	st := createTopics(t, b, 7, false, newCreatableTopic("half", 3, 1, nil))[0]
	requireCode(t, "CreateTopics", st.ErrorCode, kerr.KafkaStorageError)
	requireMessage(t, "CreateTopics", st.ErrorMessage, "half-1")
	if st.NumPartitions != -1 || st.TopicID != [16]byte{} || len(st.Configs) != 0 {
		t.Errorf("a failed creation answered %d partitions, topic ID %x, %d configs", st.NumPartitions, st.TopicID, len(st.Configs))
	}
	requireTopicAbsent(t, b, "half")
	if dirs := partitionDirs(t, b, "half"); len(dirs) != 0 {
		t.Fatalf("the undone topic left partition directories %v", dirs)
	}

	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	createTopicForTest(t, b, "half", 3, nil)
	produceValues(t, b, "half", 1, "works")
}

func TestCreatePartitionsWhoseLogsCannotBeCreatedTakesThemBack(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "grow", 1, nil)
	blocker := filepath.Join(b.cfg.LogDirs[0], "grow-2")
	if err := os.WriteFile(blocker, []byte("in the way"), 0o644); err != nil {
		t.Fatal(err)
	}
	st := createPartitions(t, b, 3, false, "grow", 4)
	requireCode(t, "CreatePartitions", st.ErrorCode, kerr.KafkaStorageError)
	requireMessage(t, "CreatePartitions", st.ErrorMessage, "grow-2")
	if got, _ := b.store.Topic("grow"); len(got.Partitions) != 1 {
		t.Fatalf("the topic has %d partitions after a failed growth, want 1", len(got.Partitions))
	}
	if mt := metadataTopic(t, b, "grow"); len(mt.Partitions) != 1 {
		t.Fatalf("metadata lists %d partitions after a failed growth, want 1", len(mt.Partitions))
	}
	if dirs := partitionDirs(t, b, "grow"); len(dirs) != 1 {
		t.Fatalf("partition directories %v after a failed growth, want only grow-0", dirs)
	}

	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	requireCode(t, "CreatePartitions once the way is clear", createPartitions(t, b, 3, false, "grow", 4).ErrorCode, nil)
	produceValues(t, b, "grow", 3, "works")
}

func TestDeleteTopicsWhoseDataCannotBeRemovedAnswersKafkaStorageErrorAndTheDataNeverReturns(t *testing.T) {
	b := newTestBroker(t)
	createTopicForTest(t, b, "stuck", 1, nil)
	produceValues(t, b, "stuck", 0, "deleted record")
	clear := disktest.Immutable(t, filepath.Join(b.cfg.LogDirs[0], "stuck-0"))

	st := deleteTopicsByName(t, b, 6, "stuck")[0]
	requireCode(t, "DeleteTopics", st.ErrorCode, kerr.KafkaStorageError)
	requireMessage(t, "DeleteTopics", st.ErrorMessage, "stuck-0")
	if _, ok := b.store.Topic("stuck"); ok {
		t.Fatal("the topic is still in the metadata")
	}
	// The name cannot be taken while the old data is on disk.
	created := createTopics(t, b, 7, false, newCreatableTopic("stuck", 1, 1, nil))[0]
	requireCode(t, "CreateTopics over undeleted data", created.ErrorCode, kerr.KafkaStorageError)
	requireTopicAbsent(t, b, "stuck")

	clear()
	createTopicForTest(t, b, "stuck", 1, nil)
	if hw := serve(t, b, fetchRequest(b, 11, "stuck", 0, 0)).(*kmsg.FetchResponse).Topics[0].Partitions[0].HighWatermark; hw != 0 {
		t.Fatalf("the re-created topic starts at high watermark %d: deleted records came back", hw)
	}
}
