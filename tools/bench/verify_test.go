package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestVerifyFailsOnALostDuplicatedOrCorruptRecord writes a partition's
// records with one fault each to an in-process kfake and checks that the
// read-back refuses it.
func TestVerifyFailsOnALostDuplicatedOrCorruptRecord(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	addrs := c.ListenAddrs()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := newProducer(addrs, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	const n, size = 4, 16
	for _, c := range []struct {
		name string
		seqs []uint64
		bad  int // index of the record to corrupt, or -1
		want string
	}{
		{"intact", []uint64{0, 1, 2, 3}, -1, ""},
		{"lost", []uint64{0, 1, 3}, -1, "is not record 2"},
		{"duplicated", []uint64{0, 1, 1, 2, 3}, -1, "is not record 2"},
		{"corrupt", []uint64{0, 1, 2, 3}, 2, "is not record 2"},
		{"extra", []uint64{0, 1, 2, 3, 3}, -1, "more records than were produced"},
	} {
		t.Run(c.name, func(t *testing.T) {
			topic := "verify-" + c.name
			if err := createTopic(ctx, cl, topic, 1, 1); err != nil {
				t.Fatal(err)
			}
			for i, seq := range c.seqs {
				v := make([]byte, size)
				payload(v, seq)
				if i == c.bad {
					v[size-1]++
				}
				if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: v}).FirstErr(); err != nil {
					t.Fatal(err)
				}
			}
			err := verify(ctx, addrs, produceSpec{topic: topic, partitions: 1, n: n, size: size}, map[int32]int64{})
			switch {
			case c.want == "" && err != nil:
				t.Errorf("verify: %v, want no error", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("verify: %v, want an error with %q", err, c.want)
			}
		})
	}
}
