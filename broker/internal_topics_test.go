package broker

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

func TestDeleteRecordsRefusesEveryInternalTopicByItsName(t *testing.T) {
	b := newTestBroker(t)
	// A user may create __transaction_state; it is internal all the same.
	createTopicForTest(t, b, "__transaction_state", 2, nil)
	produceValues(t, b, "__transaction_state", 0, "a", "b")
	if mt := metadataTopic(t, b, "__transaction_state"); !mt.IsInternal {
		t.Error("metadata does not mark __transaction_state internal")
	}
	p := deleteRecords(t, b, 2, "__transaction_state", 0, 1)
	requireCode(t, "DeleteRecords of __transaction_state", p.ErrorCode, kerr.InvalidTopicException)
	if p.LowWatermark != -1 {
		t.Errorf("refused DeleteRecords answered low watermark %d, want -1", p.LowWatermark)
	}
	// A partition that does not exist is unknown first, as in Kafka.
	requireCode(t, "DeleteRecords of a missing partition", deleteRecords(t, b, 2, "__transaction_state", 7, 1).ErrorCode, kerr.UnknownTopicOrPartition)
	if got := earliestOffset(t, b, "__transaction_state", 0); got != 0 {
		t.Errorf("refused DeleteRecords moved the earliest offset to %d", got)
	}
}
