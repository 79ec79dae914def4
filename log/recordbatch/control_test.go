package recordbatch_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/samsa-io/samsa/log/recordbatch"
)

// A marker is laid out as Kafka's EndTransactionMarker writes it: a
// transactional control batch with base sequence -1 and one record whose
// key is (version 0, type) and value (version 0, coordinator epoch).
func TestBuildControlWritesKafkasMarkerLayout(t *testing.T) {
	batch, err := recordbatch.BuildControl(42, 3, true, 7, 1_700_000_000_123)
	if err != nil {
		t.Fatal(err)
	}
	h, err := recordbatch.ParseHeader(batch)
	if err != nil || h.TotalSize() != int64(len(batch)) || !recordbatch.CRCValid(batch) {
		t.Fatalf("header %+v %v, crc valid %v", h, err, recordbatch.CRCValid(batch))
	}
	if h.Attributes != 0x30 || !h.Control() || !h.Transactional() || h.Compression() != 0 {
		t.Errorf("attributes %#x, want transactional|control, no codec", h.Attributes)
	}
	if h.ProducerID != 42 || h.ProducerEpoch != 3 || h.BaseSequence != -1 || h.RecordCount != 1 || h.LastOffsetDelta != 0 {
		t.Errorf("header %+v", h)
	}
	if h.BaseTimestamp != 1_700_000_000_123 || h.MaxTimestamp != 1_700_000_000_123 {
		t.Errorf("timestamps %d %d", h.BaseTimestamp, h.MaxTimestamp)
	}
	var key, value []byte
	if err := recordbatch.Records(batch, func(r recordbatch.Record) bool {
		key, value = bytes.Clone(r.Key), bytes.Clone(r.Value)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if want := []byte{0, 0, 0, 1}; !bytes.Equal(key, want) {
		t.Errorf("key %x, want %x", key, want)
	}
	if want := []byte{0, 0, 0, 0, 0, 7}; !bytes.Equal(value, want) {
		t.Errorf("value %x, want %x", value, want)
	}
	cr, err := recordbatch.ParseControl(batch)
	if err != nil || cr.Type != recordbatch.ControlCommit || cr.CoordinatorEpoch != 7 || !cr.Marker() {
		t.Errorf("ParseControl = %+v %v", cr, err)
	}
	abort, _ := recordbatch.BuildControl(42, 3, false, -1, 0)
	if cr, err := recordbatch.ParseControl(abort); err != nil || cr.Type != recordbatch.ControlAbort || cr.CoordinatorEpoch != -1 {
		t.Errorf("ParseControl(abort) = %+v %v", cr, err)
	}
}

func TestParseControlRefusesDataBatchesAndShortMarkers(t *testing.T) {
	if _, err := recordbatch.ParseControl(sample(0)); !errors.Is(err, recordbatch.ErrInvalidRecord) {
		t.Errorf("a data batch: %v, want ErrInvalidRecord", err)
	}
	// A marker whose value lost its coordinator epoch.
	batch, _ := recordbatch.BuildControl(1, 0, false, 5, 0)
	h, _ := recordbatch.ParseHeader(batch)
	r := recordbatch.NewRetained(h)
	recordbatch.Records(batch, func(rec recordbatch.Record) bool {
		rec.Value = rec.Value[:2]
		r.Add(rec)
		return true
	})
	short, err := r.Bytes(-1)
	if err != nil {
		t.Fatal(err)
	}
	binary.BigEndian.PutUint32(short[8:], uint32(len(short)-12))
	if _, err := recordbatch.ParseControl(short); !errors.Is(err, recordbatch.ErrInvalidRecord) {
		t.Errorf("a short marker value: %v, want ErrInvalidRecord", err)
	}
}
