package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The workloads' producer sends its batches uncompressed even when they
// would shrink (kgo alone would send them snappy): Samsa and kfake get
// the same bytes, as a Kafka producer with its defaults sends them.
func TestWorkloadProducerSendsUncompressedBatches(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := newProducer(c.ListenAddrs(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := createTopic(ctx, cl, "codec", 1, 1); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "codec", Value: bytes.Repeat([]byte("compressible "), 100)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	consumer, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics("codec"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	fetches := consumer.PollRecords(ctx, 1)
	if err := fetches.Err(); err != nil {
		t.Fatal(err)
	}
	records := fetches.Records()
	if len(records) != 1 {
		t.Fatalf("read %d records, want 1", len(records))
	}
	if codec := records[0].Attrs.CompressionType(); codec != 0 {
		t.Errorf("the batch went with codec %d, want none (0)", codec)
	}
}
