package compattests

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// kcat runs kcat (librdkafka) with stdin and returns its stdout.
func kcat(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kcat", args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kcat %s: %v\nstderr:\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

func TestKcatListsProducesAndConsumes(t *testing.T) {
	requireKcat(t)
	t.Parallel()
	b := startBroker(t)
	createTopic(t, b.admin(t), "lines", 1, nil)

	type kcatTopic struct {
		Topic      string            `json:"topic"`
		Partitions []json.RawMessage `json:"partitions"`
	}
	var meta struct {
		Brokers []struct {
			ID   int32  `json:"id"`
			Name string `json:"name"`
		} `json:"brokers"`
		Topics []kcatTopic `json:"topics"`
	}
	out := kcat(t, "", "-b", b.Addr(), "-L", "-J")
	if err := json.Unmarshal([]byte(out), &meta); err != nil {
		t.Fatalf("kcat -L -J printed something that is not JSON: %v\n%s", err, out)
	}
	if len(meta.Brokers) != 1 || !strings.HasPrefix(meta.Brokers[0].Name, b.Addr()) {
		t.Errorf("kcat sees brokers %+v, want one at %s", meta.Brokers, b.Addr())
	}
	i := slices.IndexFunc(meta.Topics, func(tp kcatTopic) bool { return tp.Topic == "lines" })
	if i < 0 || len(meta.Topics[i].Partitions) != 1 {
		t.Fatalf("kcat metadata does not list topic lines with 1 partition:\n%s", out)
	}

	kcat(t, "first line\nsecond line\nthird line\n", "-P", "-b", b.Addr(), "-t", "lines")
	kcat(t, "k1:keyed value\nk2:another\n", "-P", "-b", b.Addr(), "-t", "lines", "-K:")
	got := kcat(t, "", "-C", "-b", b.Addr(), "-t", "lines", "-o", "beginning", "-e", "-f", "%k:%s\n")
	want := ":first line\n:second line\n:third line\nk1:keyed value\nk2:another\n"
	if got != want {
		t.Fatalf("kcat consumed:\n%s\nwant:\n%s", got, want)
	}

	// What kcat wrote is what a kgo consumer reads.
	recs := readAll(t, b, "lines")[0]
	if len(recs) != 5 || string(recs[3].Key) != "k1" || string(recs[3].Value) != "keyed value" || recs[0].Key != nil && len(recs[0].Key) != 0 {
		t.Errorf("kgo reads %d records from what kcat wrote, want 5 with keys k1, k2 on the last two", len(recs))
	}
}
