package broker

import (
	"github.com/twmb/franz-go/pkg/kbin"

	plog "github.com/samsa-io/samsa/log"
	"github.com/samsa-io/samsa/wire"
)

// fetchPartitionResult is one partition of a Fetch response. Its records
// are a byte range of a segment file, sent with sendfile.
type fetchPartitionResult struct {
	partition            int32
	errorCode            int16
	highWatermark        int64
	lastStableOffset     int64
	logStartOffset       int64
	preferredReadReplica int32
	// currentLeader is the KIP-951 hint sent with NOT_LEADER_OR_FOLLOWER
	// and FENCED_LEADER_EPOCH (tagged field 1, v12+); leaderID -1 = none.
	currentLeaderID    int32
	currentLeaderEpoch int32
	// abortedTxns are the aborted transactions a read_committed
	// consumer must drop from records; nil (sent as null) for
	// read_uncommitted and followers.
	abortedTxns []plog.AbortedTxn
	records     plog.ReadResult
}

type fetchTopicResult struct {
	topic      string
	topicID    [16]byte
	partitions []fetchPartitionResult
}

// fetchResponseWriter encodes a Fetch response (v4-v18) as wire parts. It
// mirrors kmsg.FetchResponse.AppendTo field by field, except that record
// batches are file ranges instead of bytes, so they reach the socket by
// sendfile instead of being copied into the response. A test checks the
// bytes against kmsg's encoder for every version.
type fetchResponseWriter struct {
	version  int16
	flexible bool
	buf      []byte
	mark     int // start of the bytes not yet cut into a part
	parts    []wire.Part
}

// nodeEndpoint is a broker named in a response's node_endpoints (KIP-951),
// so a client told NOT_LEADER_OR_FOLLOWER can reach the new leader.
type nodeEndpoint struct {
	id   int32
	host string
	port int32
	rack *string
}

func encodeFetchResponse(version int16, errorCode int16, sessionID int32, topics []fetchTopicResult, nodes []nodeEndpoint) []wire.Part {
	w := fetchResponseWriter{version: version, flexible: version >= 12, buf: make([]byte, 0, 512)}
	w.buf = kbin.AppendInt32(w.buf, 0) // throttle_time_ms (v1+)
	if version >= 7 {
		w.buf = kbin.AppendInt16(w.buf, errorCode)
		w.buf = kbin.AppendInt32(w.buf, sessionID)
	}
	w.arrayLen(len(topics))
	for i := range topics {
		t := &topics[i]
		if version <= 12 {
			w.string(t.topic)
		} else {
			w.buf = kbin.AppendUuid(w.buf, t.topicID)
		}
		w.arrayLen(len(t.partitions))
		for j := range t.partitions {
			w.partition(&t.partitions[j])
		}
		w.emptyTags()
	}
	if w.flexible && version >= 16 && len(nodes) > 0 {
		w.nodeEndpoints(nodes)
	} else {
		w.emptyTags()
	}
	w.cut()
	return w.parts
}

// nodeEndpoints writes the response's tagged field 0 (v16+).
func (w *fetchResponseWriter) nodeEndpoints(nodes []nodeEndpoint) {
	var field []byte
	field = kbin.AppendCompactArrayLen(field, len(nodes))
	for _, n := range nodes {
		field = kbin.AppendInt32(field, n.id)
		field = kbin.AppendCompactString(field, n.host)
		field = kbin.AppendInt32(field, n.port)
		field = kbin.AppendCompactNullableString(field, n.rack)
		field = kbin.AppendUvarint(field, 0)
	}
	w.buf = kbin.AppendUvarint(w.buf, 1) // one tagged field
	w.buf = kbin.AppendUvarint(w.buf, 0) // tag 0: node endpoints
	w.buf = kbin.AppendUvarint(w.buf, uint32(len(field)))
	w.buf = append(w.buf, field...)
}

func (w *fetchResponseWriter) partition(p *fetchPartitionResult) {
	w.buf = kbin.AppendInt32(w.buf, p.partition)
	w.buf = kbin.AppendInt16(w.buf, p.errorCode)
	w.buf = kbin.AppendInt64(w.buf, p.highWatermark)
	w.buf = kbin.AppendInt64(w.buf, p.lastStableOffset) // v4+
	if w.version >= 5 {
		w.buf = kbin.AppendInt64(w.buf, p.logStartOffset)
	}
	// aborted_transactions (v4+): null unless read_committed.
	switch {
	case p.abortedTxns == nil && w.flexible:
		w.buf = kbin.AppendUvarint(w.buf, 0)
	case p.abortedTxns == nil:
		w.buf = kbin.AppendInt32(w.buf, -1)
	default:
		if w.flexible {
			w.buf = kbin.AppendUvarint(w.buf, uint32(len(p.abortedTxns)+1))
		} else {
			w.buf = kbin.AppendInt32(w.buf, int32(len(p.abortedTxns)))
		}
		for _, a := range p.abortedTxns {
			w.buf = kbin.AppendInt64(w.buf, a.ProducerID)
			w.buf = kbin.AppendInt64(w.buf, a.FirstOffset)
			if w.flexible {
				w.buf = kbin.AppendUvarint(w.buf, 0) // no tagged fields
			}
		}
	}
	if w.version >= 11 {
		w.buf = kbin.AppendInt32(w.buf, p.preferredReadReplica)
	}
	size := p.records.Size
	if size == 0 {
		// An empty, non-null record set, as Kafka sends.
		if w.flexible {
			w.buf = kbin.AppendUvarint(w.buf, 1)
		} else {
			w.buf = kbin.AppendInt32(w.buf, 0)
		}
	} else {
		if w.flexible {
			w.buf = kbin.AppendUvarint(w.buf, uint32(size)+1)
		} else {
			w.buf = kbin.AppendInt32(w.buf, int32(size))
		}
		w.cut()
		w.parts = append(w.parts, wire.Part{File: p.records.File, FileOffset: p.records.Position, Length: size})
	}
	if w.flexible {
		if p.currentLeaderID >= 0 {
			w.buf = kbin.AppendUvarint(w.buf, 1) // one tagged field
			w.buf = kbin.AppendUvarint(w.buf, 1) // tag 1: current leader
			w.buf = kbin.AppendUvarint(w.buf, 9) // its size: two int32 and empty tags
			w.buf = kbin.AppendInt32(w.buf, p.currentLeaderID)
			w.buf = kbin.AppendInt32(w.buf, p.currentLeaderEpoch)
			w.buf = kbin.AppendUvarint(w.buf, 0)
		} else {
			w.buf = kbin.AppendUvarint(w.buf, 0)
		}
	}
}

func (w *fetchResponseWriter) arrayLen(n int) {
	if w.flexible {
		w.buf = kbin.AppendCompactArrayLen(w.buf, n)
	} else {
		w.buf = kbin.AppendArrayLen(w.buf, n)
	}
}

func (w *fetchResponseWriter) string(s string) {
	if w.flexible {
		w.buf = kbin.AppendCompactString(w.buf, s)
	} else {
		w.buf = kbin.AppendString(w.buf, s)
	}
}

func (w *fetchResponseWriter) emptyTags() {
	if w.flexible {
		w.buf = kbin.AppendUvarint(w.buf, 0)
	}
}

// cut turns the bytes written since the last cut into a part. Later
// appends may grow buf into a new array; parts keep the old one.
func (w *fetchResponseWriter) cut() {
	if len(w.buf) > w.mark {
		w.parts = append(w.parts, wire.Part{Bytes: w.buf[w.mark:len(w.buf):len(w.buf)]})
	}
	w.mark = len(w.buf)
}
