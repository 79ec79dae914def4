package recordbatch

// Control batches: the transaction markers (COMMIT, ABORT) a transaction
// coordinator has the partition leader write, in Kafka's layout. A control
// batch is transactional and has the control attribute; it carries the
// producer's ID and epoch, base sequence -1, and one record whose key is
// the control type (int16 version 0, int16 type) and whose value, for a
// transaction marker, is int16 version 0 and the int32 coordinator epoch.

import (
	"encoding/binary"
	"fmt"
)

// Control record types (Kafka's ControlRecordType). Only ABORT and COMMIT
// end transactions; other types (LEADER_CHANGE and the KRaft snapshot
// records) do not concern the producer state.
const (
	ControlAbort  int16 = 0
	ControlCommit int16 = 1
)

// ControlRecord is the decoded record of a control batch.
type ControlRecord struct {
	Type int16
	// CoordinatorEpoch is the transaction coordinator's epoch for a
	// marker (COMMIT or ABORT); -1 for other types.
	CoordinatorEpoch int32
}

// Marker reports whether the record is a transaction marker.
func (c ControlRecord) Marker() bool { return c.Type == ControlAbort || c.Type == ControlCommit }

// BuildControl encodes a transaction marker as Kafka writes one: one
// uncompressed control batch with base offset 0 (the log assigns it),
// partition leader epoch -1, CreateTime timestamp ts.
func BuildControl(producerID int64, producerEpoch int16, commit bool, coordinatorEpoch int32, ts int64) ([]byte, error) {
	typ := ControlAbort
	if commit {
		typ = ControlCommit
	}
	key := binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, 0), uint16(typ))
	value := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint16(nil, 0), uint32(coordinatorEpoch))
	h := Header{
		Magic: 2, Attributes: transactionalBit | controlBit,
		BaseTimestamp: ts, MaxTimestamp: ts,
		ProducerID: producerID, ProducerEpoch: producerEpoch, BaseSequence: noSequence,
		PartitionLeaderEpoch: -1, RecordCount: 1,
	}
	b := NewRetained(h)
	b.Add(Record{Offset: 0, Timestamp: ts, Key: key, Value: value, Headers: []byte{0}})
	return b.Bytes(-1)
}

// ParseControl decodes the record of a control batch (one whole batch).
// A marker whose value is shorter than Kafka's version 0 is corrupt; a
// longer value (a later version) is read for its version 0 fields.
func ParseControl(batch []byte) (ControlRecord, error) {
	h, err := ParseHeader(batch)
	if err != nil {
		return ControlRecord{}, err
	}
	if !h.Control() {
		return ControlRecord{}, fmt.Errorf("%w: batch at offset %d is not a control batch", ErrInvalidRecord, h.BaseOffset)
	}
	cr := ControlRecord{Type: -1, CoordinatorEpoch: -1}
	seen := false
	var bad error
	err = Records(batch, func(r Record) bool {
		seen = true
		if len(r.Key) < 4 {
			bad = fmt.Errorf("%w: control record key of %d bytes", ErrInvalidRecord, len(r.Key))
			return false
		}
		cr.Type = int16(binary.BigEndian.Uint16(r.Key[2:]))
		if cr.Marker() {
			if len(r.Value) < 6 {
				bad = fmt.Errorf("%w: transaction marker value of %d bytes", ErrInvalidRecord, len(r.Value))
				return false
			}
			cr.CoordinatorEpoch = int32(binary.BigEndian.Uint32(r.Value[2:]))
		}
		return false // one record is all a control batch holds
	})
	switch {
	case err != nil:
		return ControlRecord{}, err
	case bad != nil:
		return ControlRecord{}, bad
	case !seen:
		return ControlRecord{}, fmt.Errorf("%w: control batch at offset %d has no record", ErrInvalidRecord, h.BaseOffset)
	}
	return cr, nil
}
