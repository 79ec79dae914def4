package recordbatch

import (
	"bytes"
	"testing"
)

func TestBuildTransactionalCarriesTheProducerAndTheTransactionalAttribute(t *testing.T) {
	records := []KeyValue{{Key: []byte("k1"), Value: []byte("v1")}, {Key: []byte("k2")}}
	batch, err := BuildTransactional(records, 1000, 42, 3, 7)
	if err != nil {
		t.Fatal(err)
	}
	h, err := ParseHeader(batch)
	if err != nil {
		t.Fatal(err)
	}
	if !h.Transactional() || h.Control() || h.ProducerID != 42 || h.ProducerEpoch != 3 || h.BaseSequence != 7 || h.LastSequence() != 8 {
		t.Fatalf("header %+v", h)
	}
	if h.TotalSize() != int64(len(batch)) || !CRCValid(batch) || h.RecordCount != 2 {
		t.Fatalf("framing: size %d of %d, crc valid %v, %d records", h.TotalSize(), len(batch), CRCValid(batch), h.RecordCount)
	}
	var got []KeyValue
	if err := Records(batch, func(r Record) bool {
		got = append(got, KeyValue{Key: r.Key, Value: r.Value})
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !bytes.Equal(got[0].Key, []byte("k1")) || !bytes.Equal(got[0].Value, []byte("v1")) || got[1].Value != nil {
		t.Fatalf("records %q", got)
	}
}
