package mirror

import "testing"

func TestOffsetSyncsTranslateExactlyInsideARunAndNeverAheadOutsideIt(t *testing.T) {
	tp := topicPartition{"t", 0}
	s := newOffsetSyncs()
	// Source 0..9 went to target 100..109; then source 15..19 (after a
	// compacted gap) to 110..114; then a resend after a crash put source
	// 18..19 again at 115..116.
	for i := int64(0); i < 10; i++ {
		s.add(tp, i, 100+i)
	}
	for i := int64(15); i < 20; i++ {
		s.add(tp, i, 95+i)
	}
	s.add(tp, 18, 115)
	s.add(tp, 19, 116)

	for _, tc := range []struct {
		committed int64
		want      int64
		ok        bool
	}{
		{0, 100, true},  // exact, first record
		{9, 109, true},  // exact, inside the first run
		{10, 110, true}, // just after the first run: after its last record
		{12, 110, true}, // in the gap: never ahead of the group
		{15, 110, true}, // exact in the second run
		{18, 115, true}, // the newest run decides: the resent copy
		{20, 117, true}, // after everything mirrored
		{25, 117, true}, // not mirrored yet: after the last mirrored record
	} {
		got, ok := s.translate(tp, tc.committed)
		if got != tc.want || ok != tc.ok {
			t.Errorf("translate(%d) = %d, %v; want %d, %v", tc.committed, got, ok, tc.want, tc.ok)
		}
	}
	if _, ok := s.translate(topicPartition{"other", 0}, 5); ok {
		t.Error("a partition with no syncs translated")
	}
	if got := len(s.runs[tp]); got != 3 {
		t.Errorf("%d runs kept, want 3 (contiguous pairs merge)", got)
	}
}

func TestOffsetSyncsReadBackReplaceTheRunTheyContinue(t *testing.T) {
	tp := topicPartition{"t", 1}
	s := newOffsetSyncs()
	// The offset-syncs topic holds each run's successive states under one
	// key; reading them back in order leaves the last.
	for _, line := range []string{
		`{"topic":"t","partition":1,"source":0,"target":0,"count":1}`,
		`{"topic":"t","partition":1,"source":0,"target":0,"count":7}`,
		`{"topic":"t","partition":1,"source":9,"target":7,"count":2}`,
	} {
		o, err := parseOffsetSync([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		s.put(topicPartition{o.Topic, o.Partition}, o.offsetRun)
	}
	if got, _ := s.translate(tp, 6); got != 6 {
		t.Errorf("translate(6) = %d, want 6", got)
	}
	if got, _ := s.translate(tp, 8); got != 7 {
		t.Errorf("translate(8) = %d, want 7 (source 7 and 8 were never mirrored)", got)
	}
	if got, _ := s.translate(tp, 11); got != 9 {
		t.Errorf("translate(11) = %d, want 9", got)
	}
	if _, err := parseOffsetSync([]byte(`{"topic":"t","count":0}`)); err == nil {
		t.Error("an offset sync of no records parsed")
	}
}
