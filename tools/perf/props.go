package perf

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-io/samsa/tools/cli"
)

// producerProps are the Kafka producer configs --producer-props takes,
// each turned into the kgo option that does the same. A key outside the
// list is refused rather than ignored, so a run never measures something
// other than what was asked.
var producerProps = map[string]func(v string, p *producerSettings) error{
	"acks": func(v string, p *producerSettings) error {
		switch v {
		case "all", "-1":
			p.acks = kgo.AllISRAcks()
		case "1":
			p.acks = kgo.LeaderAck()
		case "0":
			p.acks = kgo.NoAck()
		default:
			return fmt.Errorf("want all, -1, 1 or 0")
		}
		p.acksAll = v == "all" || v == "-1"
		p.acksSet = true
		return nil
	},
	"enable.idempotence": func(v string, p *producerSettings) error {
		b, err := strconv.ParseBool(v)
		p.idempotence = &b
		return err
	},
	"linger.ms": func(v string, p *producerSettings) error {
		n, err := nonNegative(v)
		p.opts = append(p.opts, kgo.ProducerLinger(time.Duration(n)*time.Millisecond))
		return err
	},
	"batch.size": func(v string, p *producerSettings) error {
		n, err := positive(v)
		p.opts = append(p.opts, kgo.ProducerBatchMaxBytes(int32(n)))
		return err
	},
	"compression.type": func(v string, p *producerSettings) error {
		c, err := codec(v)
		p.opts = append(p.opts, kgo.ProducerBatchCompression(c))
		return err
	},
	"max.in.flight.requests.per.connection": func(v string, p *producerSettings) error {
		n, err := positive(v)
		p.opts = append(p.opts, kgo.MaxProduceRequestsInflightPerBroker(int(n)))
		return err
	},
	"request.timeout.ms": func(v string, p *producerSettings) error {
		n, err := positive(v)
		p.opts = append(p.opts, kgo.ProduceRequestTimeout(time.Duration(n)*time.Millisecond))
		return err
	},
	"delivery.timeout.ms": func(v string, p *producerSettings) error {
		n, err := positive(v)
		p.opts = append(p.opts, kgo.RecordDeliveryTimeout(time.Duration(n)*time.Millisecond))
		return err
	},
	"retries": func(v string, p *producerSettings) error {
		n, err := nonNegative(v)
		p.opts = append(p.opts, kgo.RecordRetries(int(min(n, 1<<31-1))))
		return err
	},
	"buffer.memory": func(v string, p *producerSettings) error {
		n, err := positive(v)
		p.opts = append(p.opts, kgo.MaxBufferedBytes(int(n)))
		return err
	},
	"client.id": func(v string, p *producerSettings) error {
		p.opts = append(p.opts, kgo.ClientID(v))
		return nil
	},
	"bootstrap.servers": func(v string, p *producerSettings) error {
		var seeds []string
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				seeds = append(seeds, s)
			}
		}
		if len(seeds) == 0 {
			return fmt.Errorf("empty")
		}
		p.opts = append(p.opts, kgo.SeedBrokers(seeds...))
		return nil
	},
	// Kafka's perf test sends raw bytes whatever the serializers say;
	// so does this one, and Kafka command lines that name them still run.
	"key.serializer":   func(string, *producerSettings) error { return nil },
	"value.serializer": func(string, *producerSettings) error { return nil },
}

// producerSettings is what the producer configs add up to.
type producerSettings struct {
	opts        []kgo.Opt
	acks        kgo.Acks
	acksSet     bool
	acksAll     bool
	idempotence *bool
}

// producerOptions turns key=value producer configs, applied in order (a
// later one wins), into kgo options. As Kafka's producer (3.0 and later)
// does, it writes idempotently with acks=all unless acks or
// enable.idempotence says otherwise; asking for both idempotence and
// acks other than all is an error, in Kafka too.
func producerOptions(props []string) ([]kgo.Opt, error) {
	// Kafka's producer compresses nothing unless compression.type says
	// so (franz-go's default is snappy), as its perf tool measures.
	p := producerSettings{opts: []kgo.Opt{kgo.ProducerBatchCompression(kgo.NoCompression())}}
	for _, kv := range props {
		key, value, ok := strings.Cut(kv, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			return nil, cli.Usagef("producer property %q: want key=value", kv)
		}
		set, known := producerProps[key]
		if !known {
			return nil, cli.Usagef("producer property %q is not supported; supported: %s", key, strings.Join(supportedProps(), ", "))
		}
		if err := set(strings.TrimSpace(value), &p); err != nil {
			return nil, cli.Usagef("producer property %s=%s: %v", key, value, err)
		}
	}
	opts := p.opts
	if p.acksSet {
		opts = append(opts, kgo.RequiredAcks(p.acks))
	}
	switch {
	case p.idempotence != nil && *p.idempotence && p.acksSet && !p.acksAll:
		return nil, cli.Usagef("enable.idempotence=true needs acks=all")
	case p.idempotence != nil && !*p.idempotence, p.acksSet && !p.acksAll:
		opts = append(opts, kgo.DisableIdempotentWrite())
	}
	return opts, nil
}

func supportedProps() []string {
	keys := make([]string, 0, len(producerProps))
	for k := range producerProps {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func codec(name string) (kgo.CompressionCodec, error) {
	if c, ok := cli.CompressionCodecs[name]; ok {
		return c, nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("want none, gzip, snappy, lz4 or zstd")
}

func nonNegative(v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("want a whole number, 0 or more")
	}
	return n, nil
}

func positive(v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 || n > 1<<31-1 {
		return 0, fmt.Errorf("want a whole number from 1 to %d", 1<<31-1)
	}
	return n, nil
}
