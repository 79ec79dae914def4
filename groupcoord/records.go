package groupcoord

// Encoding of __consumer_offsets records with Kafka's schemas. Keys start
// with an int16 version: 0 and 1 are offset commits (group, topic,
// partition), 2 is group metadata (group). Kafka 2.3+ writes offset keys at
// v1, offset values at v3 (v1 when the commit carries an expire timestamp,
// from OffsetCommit v1 with a timestamp or v2-v4 with a retention time) and
// group metadata values at v3; the same versions are written here so Kafka
// tools read the topic and a Kafka-written log loads.

import (
	"encoding/binary"
	"fmt"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
)

type topicPartition struct {
	topic     string
	partition int32
}

// offsetEntry is a committed offset as stored in OffsetCommitValue.
type offsetEntry struct {
	offset      int64
	leaderEpoch int32 // -1: none
	metadata    string
	commitTime  int64 // ms
	expireTime  int64 // ms; -1 unless committed with an explicit expiry (pre-2.1 semantics)
	// position orders the record in its partition's log: a transactional
	// offset that commits replaces the committed one only if it was written
	// after it (Kafka compares the records' log offsets). Not stored; a
	// replay numbers the records again in log order.
	position uint64
}

func offsetKey(group string, tp topicPartition) []byte {
	k := kmsg.NewOffsetCommitKey()
	k.Version = 1
	k.Group, k.Topic, k.Partition = group, tp.topic, tp.partition
	return k.AppendTo(nil)
}

func offsetValue(e offsetEntry) []byte {
	v := kmsg.NewOffsetCommitValue()
	v.Version = 3
	if e.expireTime >= 0 {
		v.Version = 1
		v.ExpireTimestamp = e.expireTime
	}
	v.Offset, v.LeaderEpoch, v.Metadata, v.CommitTimestamp = e.offset, e.leaderEpoch, e.metadata, e.commitTime
	return v.AppendTo(nil)
}

func groupKey(group string) []byte {
	k := kmsg.NewGroupMetadataKey()
	k.Version = 2
	k.Group = group
	return k.AppendTo(nil)
}

// decodedKey is a parsed record key: an offset key (isOffset) or a group
// metadata key.
type decodedKey struct {
	isOffset bool
	group    string
	tp       topicPartition
}

// decodeKey parses a record key. ok is false for key versions this
// coordinator does not know (Kafka skips them with a warning: leftovers of
// an aborted upgrade, or newer record types).
func decodeKey(b []byte) (k decodedKey, ok bool, err error) {
	if len(b) < 2 {
		return k, false, fmt.Errorf("record key of %d bytes", len(b))
	}
	switch version := int16(binary.BigEndian.Uint16(b)); version {
	case 0, 1:
		var ck kmsg.OffsetCommitKey
		if err := ck.ReadFrom(b); err != nil {
			return k, false, fmt.Errorf("decode offset commit key: %w", err)
		}
		return decodedKey{isOffset: true, group: ck.Group, tp: topicPartition{ck.Topic, ck.Partition}}, true, nil
	case 2:
		var gk kmsg.GroupMetadataKey
		if err := gk.ReadFrom(b); err != nil {
			return k, false, fmt.Errorf("decode group metadata key: %w", err)
		}
		return decodedKey{group: gk.Group}, true, nil
	default:
		return k, false, nil
	}
}

func decodeOffsetValue(b []byte) (offsetEntry, error) {
	var v kmsg.OffsetCommitValue
	if err := v.ReadFrom(b); err != nil {
		return offsetEntry{}, fmt.Errorf("decode offset commit value: %w", err)
	}
	if v.Version < 0 || v.Version > 4 {
		return offsetEntry{}, fmt.Errorf("offset commit value version %d", v.Version)
	}
	e := offsetEntry{offset: v.Offset, leaderEpoch: -1, metadata: v.Metadata, commitTime: v.CommitTimestamp, expireTime: -1}
	if v.Version >= 3 {
		e.leaderEpoch = v.LeaderEpoch
	}
	if v.Version == 1 && v.ExpireTimestamp != -1 {
		e.expireTime = v.ExpireTimestamp
	}
	return e, nil
}

func decodeGroupValue(b []byte) (*kmsg.GroupMetadataValue, error) {
	v := new(kmsg.GroupMetadataValue)
	if err := v.ReadFrom(b); err != nil {
		return nil, fmt.Errorf("decode group metadata value: %w", err)
	}
	if v.Version < 0 || v.Version > 4 {
		return nil, fmt.Errorf("group metadata value version %d", v.Version)
	}
	return v, nil
}

// subscribedTopicsOf parses the topics of a consumer protocol subscription
// (ConsumerMemberMetadata). Like Kafka it reads only the v0 prefix every
// version shares — version, topics — so newer versions parse too.
func subscribedTopicsOf(metadata []byte) ([]string, bool) {
	r := kbin.Reader{Src: metadata}
	if version := r.Int16(); version < 0 {
		return nil, false
	}
	n := r.ArrayLen()
	if !r.Ok() || n < 0 || int(n) > len(r.Src) {
		return nil, false
	}
	topics := make([]string, 0, n)
	for i := int32(0); i < n; i++ {
		topics = append(topics, r.String())
	}
	return topics, r.Ok()
}
