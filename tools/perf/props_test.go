package perf

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-io/samsa/tools/cli"
)

// producerWith is a client (not connected) built from the producer
// props, to read back the settings they made.
func producerWith(t *testing.T, props ...string) *kgo.Client {
	t.Helper()
	opts, err := producerOptions(props)
	if err != nil {
		t.Fatalf("producer props %q: %v", props, err)
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers("127.0.0.1:1")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func TestProducerPropsTakeKafkasNamesAndMeanings(t *testing.T) {
	cl := producerWith(t)
	if acks := cl.OptValue(kgo.RequiredAcks).(kgo.Acks); acks != kgo.AllISRAcks() || cl.OptValue(kgo.DisableIdempotentWrite).(bool) {
		t.Errorf("with no props: acks %v, idempotence disabled %v: want acks=all and idempotence, Kafka 3's defaults",
			acks, cl.OptValue(kgo.DisableIdempotentWrite))
	}

	cl = producerWith(t, "acks=1")
	if acks := cl.OptValue(kgo.RequiredAcks).(kgo.Acks); acks != kgo.LeaderAck() || !cl.OptValue(kgo.DisableIdempotentWrite).(bool) {
		t.Errorf("acks=1: acks %v, idempotence disabled %v: want the leader's ack, without idempotence", acks, cl.OptValue(kgo.DisableIdempotentWrite))
	}

	cl = producerWith(t, "acks=1", "acks=all")
	if acks := cl.OptValue(kgo.RequiredAcks).(kgo.Acks); acks != kgo.AllISRAcks() || cl.OptValue(kgo.DisableIdempotentWrite).(bool) {
		t.Errorf("acks=1 then acks=all: acks %v: want the later to win", acks)
	}

	cl = producerWith(t, "linger.ms=7", "batch.size=16384", "max.in.flight.requests.per.connection=1")
	if l := cl.OptValue(kgo.ProducerLinger).(time.Duration); l != 7*time.Millisecond {
		t.Errorf("linger.ms=7: linger %v", l)
	}
	if b := cl.OptValue(kgo.ProducerBatchMaxBytes).(int32); b != 16384 {
		t.Errorf("batch.size=16384: batch max %d", b)
	}
	if n := cl.OptValue(kgo.MaxProduceRequestsInflightPerBroker).(int); n != 1 {
		t.Errorf("max.in.flight.requests.per.connection=1: %d in flight", n)
	}

	cl = producerWith(t, "bootstrap.servers=a:9092, b:9092")
	if seeds := cl.OptValue(kgo.SeedBrokers).([]string); !slices.Equal(seeds, []string{"a:9092", "b:9092"}) {
		t.Errorf("bootstrap.servers=a:9092, b:9092: seeds %q", seeds)
	}
}

func TestProducerPropsThatCannotBeHonouredAreRefused(t *testing.T) {
	cases := []struct {
		props []string
		want  string
	}{
		{[]string{"enable.idempotence=true", "acks=1"}, "enable.idempotence=true needs acks=all"},
		{[]string{"acks=2"}, "want all, -1, 1 or 0"},
		{[]string{"compression.type=brotli"}, "want none, gzip, snappy, lz4 or zstd"},
		{[]string{"linger.ms=-1"}, "want a whole number, 0 or more"},
		{[]string{"batch.size=0"}, "want a whole number from 1"},
		{[]string{"transactional.id=x"}, `producer property "transactional.id" is not supported`},
		{[]string{"acks"}, "want key=value"},
	}
	for _, c := range cases {
		_, err := producerOptions(c.props)
		var usage cli.UsageError
		if !errors.As(err, &usage) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("producer props %q: error %v, want a usage error saying %q", c.props, err, c.want)
		}
	}
}
