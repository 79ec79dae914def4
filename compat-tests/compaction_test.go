package compattests

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestCompactedTopicEndsWithExactlyTheLatestValuePerKey writes overwrites
// and tombstones to a compacted topic, then filler records so the
// interesting ones leave the active segment. Once the cleaner ran, reading
// from the start finds each live key exactly once with its latest value,
// and no record of the deleted keys (delete.retention.ms=0).
func TestCompactedTopicEndsWithExactlyTheLatestValuePerKey(t *testing.T) {
	skipOnKfake(t, "kfake does not compact")
	t.Parallel()
	b := startBroker(t, withOverride("log.cleaner.backoff.ms", "100"))
	adm := b.admin(t)
	createTopic(t, adm, "table", 1, map[string]string{
		"cleanup.policy":            "compact",
		"segment.bytes":             "2048",
		"min.cleanable.dirty.ratio": "0.01",
		"delete.retention.ms":       "0",
	})
	cl := b.client(t, kgo.DefaultProduceTopic("table"), kgo.ProducerBatchCompression(kgo.Lz4Compression()))
	const keys, versions, deleted = 20, 5, 5
	for v := range versions {
		var recs []*kgo.Record
		for k := range keys {
			recs = append(recs, &kgo.Record{Key: fmt.Appendf(nil, "k%02d", k), Value: fmt.Appendf(nil, "k%02d-v%d", k, v)})
		}
		produceSync(t, cl, recs...)
	}
	for k := range deleted {
		produceSync(t, cl, &kgo.Record{Key: fmt.Appendf(nil, "k%02d", k), Value: nil})
	}
	for i := range 60 {
		produceSync(t, cl, &kgo.Record{Key: fmt.Appendf(nil, "filler-%02d", i), Value: []byte(strings.Repeat("f", 100))})
	}

	checkFor(t, 30*time.Second, 200*time.Millisecond, func() error {
		seen := map[string][]string{}
		var last int64 = -1
		for _, r := range readAll(t, b, "table")[0] {
			if r.Offset <= last {
				return fmt.Errorf("offset %d after %d", r.Offset, last)
			}
			last = r.Offset
			if k := string(r.Key); strings.HasPrefix(k, "k") {
				v := "<tombstone>"
				if r.Value != nil {
					v = string(r.Value)
				}
				seen[k] = append(seen[k], v)
			}
		}
		for k := range keys {
			key := fmt.Sprintf("k%02d", k)
			got := seen[key]
			switch {
			case k < deleted && len(got) > 0:
				return fmt.Errorf("deleted key %s still reads %v", key, got)
			case k >= deleted && (len(got) != 1 || got[0] != fmt.Sprintf("%s-v%d", key, versions-1)):
				return fmt.Errorf("key %s reads %v, want only its latest value", key, got)
			}
		}
		return nil
	})
}
