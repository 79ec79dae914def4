package log

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/samsa-io/samsa/log/recordbatch"
	"github.com/samsa-io/samsa/log/recordbatch/batchtest"
)

func compactConfig() Config {
	cfg := testConfig()
	cfg.Compact, cfg.Delete = true, false
	cfg.SegmentBytes = 600
	cfg.MinCleanableDirtyRatio = 0.01
	cfg.DeleteRetention = time.Hour
	cfg.MaxCompactionLag = 1<<63 - 1
	return cfg
}

// keyed is one record to write: a nil value is a tombstone.
type keyed struct {
	key   string
	value *string
}

func val(s string) *string { return &s }

func appendKeyed(t *testing.T, l *Log, ts int64, codec int, recs ...keyed) {
	t.Helper()
	b := batchtest.Batch{ProducerID: -1, BaseSequence: -1, Codec: codec}
	for _, r := range recs {
		rec := batchtest.Record{Key: []byte(r.key), Timestamp: ts}
		if r.value != nil {
			rec.Value = []byte(*r.value)
		}
		b.Records = append(b.Records, rec)
	}
	mustAppend(t, l, b.Bytes())
}

// readKeyed reads every record from the log start: offset -> "key=value"
// ("key=<nil>" for tombstones).
func readKeyed(t *testing.T, l *Log) map[int64]string {
	t.Helper()
	out := map[int64]string{}
	for _, s := range *l.segs.Load() {
		_, err := s.eachBatch(0, func(h recordbatch.Header, pos int64) (bool, error) {
			batch, err := s.readBatch(pos, h)
			if err != nil {
				return false, err
			}
			if !recordbatch.CRCValid(batch) {
				t.Fatalf("batch at %d fails its CRC", h.BaseOffset)
			}
			return false, recordbatch.Records(batch, func(r recordbatch.Record) bool {
				v := "<nil>"
				if r.Value != nil {
					v = string(r.Value)
				}
				out[r.Offset] = string(r.Key) + "=" + v
				return true
			})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// latestPerKey is what compaction must leave of the records below end (the
// cleanable part): the last record of each key, at its offset.
func latestPerKey(all map[int64]string, end int64) map[string]int64 {
	latest := map[string]int64{}
	for off, kv := range all {
		if off >= end {
			continue
		}
		key, _, _ := strings.Cut(kv, "=")
		if prev, ok := latest[key]; !ok || off > prev {
			latest[key] = off
		}
	}
	return latest
}

func TestCompactionKeepsTheLatestRecordOfEachKeyAtItsOffset(t *testing.T) {
	for _, codec := range []int{batchtest.None, batchtest.Gzip, batchtest.Snappy, batchtest.LZ4, batchtest.Zstd} {
		t.Run(fmt.Sprint(codec), func(t *testing.T) {
			tl := newTestLogs(t)
			cfg := compactConfig()
			l := tl.open(cfg)
			now := tl.clock.Now().UnixMilli()
			for round := range 12 {
				appendKeyed(t, l, now, codec,
					keyed{"a", val(fmt.Sprintf("a%d", round))},
					keyed{fmt.Sprintf("k%d", round%4), val(fmt.Sprintf("v%d", round))},
					keyed{"b", val(fmt.Sprintf("b%d", round))},
				)
			}
			before := readKeyed(t, l)
			activeBase := l.active().baseOffset
			if _, due := l.needsCleaning(tl.clock.Now()); !due {
				t.Fatal("a dirty compacted log is not due for cleaning")
			}
			stats, err := l.Clean(tl.clock.Now(), 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if stats.RecordsRemoved == 0 || stats.BytesAfter >= stats.BytesBefore {
				t.Fatalf("cleaning removed nothing: %+v", stats)
			}
			after := readKeyed(t, l)
			// Below the active segment exactly the latest record of each
			// key (among the records there: the cleaner never reads the
			// active segment) remains, at its offset and with its value.
			latest := latestPerKey(before, activeBase)
			for off, kv := range before {
				key, _, _ := strings.Cut(kv, "=")
				_, kept := after[off]
				switch {
				case off >= activeBase && !kept:
					t.Errorf("offset %d in the active segment was removed", off)
				case off < activeBase && latest[key] == off && (!kept || after[off] != kv):
					t.Errorf("latest record of %s at %d is %q after cleaning, want %q", key, off, after[off], kv)
				case off < activeBase && latest[key] != off && kept:
					t.Errorf("offset %d (%s) was kept although offset %d overwrites it", off, kv, latest[key])
				}
			}
			// Reading from the start still works, and offsets still end at
			// the same place.
			l.SetHighWatermark(l.Offsets().LogEndOffset)
			if leo := l.Offsets().LogEndOffset; leo != 36 {
				t.Errorf("log end after cleaning %d, want 36", leo)
			}
			if got := readValues(t, l, 0); len(got) != len(after) {
				t.Errorf("fetch path reads %d records, the segments hold %d", len(got), len(after))
			}
			// A clean restart trusts the cleaned segments' indexes.
			tl.cleanRestart()
			l = tl.open(cfg)
			if again := readKeyed(t, l); len(again) != len(after) {
				t.Errorf("after restart %d records, before %d", len(again), len(after))
			}
		})
	}
}

func TestTombstonesOutliveDeleteRetentionMsThenDisappear(t *testing.T) {
	tl := newTestLogs(t)
	cfg := compactConfig()
	l := tl.open(cfg)
	now := tl.clock.Now().UnixMilli()
	appendKeyed(t, l, now, batchtest.None, keyed{"gone", val("v1")}, keyed{"stays", val("s1")})
	appendKeyed(t, l, now, batchtest.None, keyed{"gone", nil})
	for i := range 20 {
		appendKeyed(t, l, now, batchtest.None, keyed{fmt.Sprintf("filler%d", i), val("x")})
	}
	if _, err := l.Clean(tl.clock.Now(), 1<<20); err != nil {
		t.Fatal(err)
	}
	got := readKeyed(t, l)
	if got[1] != "gone=v1" && got[2] != "gone=<nil>" {
		t.Logf("records: %v", got)
	}
	if _, ok := got[0]; ok {
		t.Error("the overwritten value of gone is still there")
	}
	if got[2] != "gone=<nil>" {
		t.Fatalf("the tombstone did not survive its first cleaning: %v", got)
	}
	if _, due := l.needsCleaning(tl.clock.Now()); due {
		t.Error("the log is due again before the tombstone's delete horizon")
	}
	tl.clock.Advance(cfg.DeleteRetention + time.Second)
	if _, due := l.needsCleaning(tl.clock.Now()); !due {
		t.Fatal("the log is not due once the tombstone's delete horizon passed")
	}
	if _, err := l.Clean(tl.clock.Now(), 1<<20); err != nil {
		t.Fatal(err)
	}
	got = readKeyed(t, l)
	if _, ok := got[2]; ok {
		t.Errorf("the tombstone is still there after delete.retention.ms: %v", got)
	}
	if got[1] != "stays=s1" {
		t.Errorf("an untouched key was lost: %v", got[1])
	}
}

func TestCleaningNeverTouchesTheActiveSegmentOrRecordsAboveTheHighWatermark(t *testing.T) {
	tl := newTestLogs(t)
	cfg := compactConfig()
	l := tl.open(cfg)
	now := tl.clock.Now().UnixMilli()
	for i := range 30 {
		b := batchtest.Batch{ProducerID: -1, BaseSequence: -1, Records: []batchtest.Record{{Key: []byte("same"), Value: []byte(fmt.Sprint(i)), Timestamp: now}}}
		if _, err := l.Append(b.Bytes(), 0, now); err != nil {
			t.Fatal(err)
		}
	}
	l.SetHighWatermark(3)
	if _, err := l.Clean(tl.clock.Now(), 1<<20); err != nil {
		t.Fatal(err)
	}
	got := readKeyed(t, l)
	for off := int64(3); off < 30; off++ {
		if _, ok := got[off]; !ok {
			t.Errorf("offset %d above the high watermark was cleaned away", off)
		}
	}
}

func TestACrashDuringTheSwapIsCompletedOnRestart(t *testing.T) {
	tl := newTestLogs(t)
	cfg := compactConfig()
	l := tl.open(cfg)
	now := tl.clock.Now().UnixMilli()
	for i := range 30 {
		appendKeyed(t, l, now, batchtest.None, keyed{fmt.Sprintf("k%d", i%3), val(fmt.Sprint(i))})
	}
	// Clean into a copy of the directory up to the point where the
	// cleaned segment is renamed to "*.swap", as a crash would leave it.
	before := readKeyed(t, l)
	first := (*l.segs.Load())[0]
	group := []*segment{first}
	latest := map[string]int64{"k0": 27, "k1": 28, "k2": 29}
	stats := CleanStats{NextDeleteHorizon: -1}
	out, err := l.cleanGroup(group, &cfg, retainRules{latest: latest, mapEnd: 30, nowMs: now}, &stats)
	if err != nil {
		t.Fatal(err)
	}
	swap := segmentName(tl.partitionDir(), first.baseOffset, logSuffix+swapSuffix)
	if err := os.Rename(out.path(), swap); err != nil {
		t.Fatal(err)
	}
	out.release()
	tl.crashRestart()
	l = tl.open(cfg)
	if _, err := os.Stat(swap); !os.IsNotExist(err) {
		t.Errorf("the swap file is still there: %v", err)
	}
	got := readKeyed(t, l)
	for off, kv := range before {
		_, kept := got[off]
		if off < first.tail.Load().nextOffset {
			if kept {
				t.Errorf("offset %d (%s) of the swapped segment survived", off, kv)
			}
		} else if got[off] != kv {
			t.Errorf("offset %d of a later segment is %q, want %q", off, got[off], kv)
		}
	}
	matches, _ := filepath.Glob(filepath.Join(tl.partitionDir(), "*"+cleanedSuffix))
	if len(matches) > 0 {
		t.Errorf("cleaned leftovers: %v", matches)
	}
}

// log.cleaner.backoff.ms is a dynamic broker config: shortening it wakes a
// cleaner that was sleeping for the old, long backoff.
func TestSetCleanerShortensTheBackoffAtOnce(t *testing.T) {
	dir := t.TempDir()
	m, err := OpenManager(ManagerConfig{Dirs: []string{dir}, Logger: zerolog.Nop(), CleanerBackoff: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	l, err := m.Open("events", 0, testTopicID, compactConfig())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	for i := range 30 {
		appendKeyed(t, l, now, batchtest.None, keyed{"same", val(fmt.Sprint(i))})
	}
	l.SetHighWatermark(30)
	countRecords := func() int { return len(readKeyed(t, l)) }
	if n := countRecords(); n != 30 {
		t.Fatalf("%d records before cleaning, want 30", n)
	}

	m.SetCleaner(10*time.Millisecond, 1<<20)
	deadline := time.Now().Add(10 * time.Second)
	for countRecords() == 30 {
		if time.Now().After(deadline) {
			t.Fatal("the cleaner did not run within 10s of its backoff dropping to 10ms")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
