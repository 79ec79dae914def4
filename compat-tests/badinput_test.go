package compattests

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// rawConn speaks the Kafka framing by hand: a 4-byte size, then the request
// header and body. It lets a test send what no client library would.
type rawConn struct {
	t    *testing.T
	conn net.Conn
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &rawConn{t: t, conn: conn}
}

// frame encodes a request: header v1 (key, version, correlation ID, client
// ID), plus an empty tagged-field section for header v2 when flexible.
func frame(key, version int16, corr int32, flexible bool, body []byte) []byte {
	return frameWithClientID(key, version, corr, flexible, "compat-raw", body)
}

// frameWithClientID is frame with the client ID given.
func frameWithClientID(key, version int16, corr int32, flexible bool, clientID string, body []byte) []byte {
	b := make([]byte, 4, 64+len(body))
	b = binary.BigEndian.AppendUint16(b, uint16(key))
	b = binary.BigEndian.AppendUint16(b, uint16(version))
	b = binary.BigEndian.AppendUint32(b, uint32(corr))
	b = binary.BigEndian.AppendUint16(b, uint16(len(clientID)))
	b = append(b, clientID...)
	if flexible {
		b = append(b, 0)
	}
	b = append(b, body...)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

func (c *rawConn) write(b []byte) {
	c.t.Helper()
	_ = c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// readFrame reads one response frame and returns its correlation ID and the
// bytes after it.
func (c *rawConn) readFrame() (int32, []byte, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var size [4]byte
	if _, err := io.ReadFull(c.conn, size[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(size[:])
	if n < 4 || n > 64<<20 {
		return 0, nil, fmt.Errorf("response frame of %d bytes", n)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(c.conn, buf); err != nil {
		return 0, nil, err
	}
	return int32(binary.BigEndian.Uint32(buf)), buf[4:], nil
}

// roundTrip sends req at its set version and decodes the response.
func (c *rawConn) roundTrip(req kmsg.Request, corr int32) kmsg.Response {
	c.t.Helper()
	c.write(frame(req.Key(), req.GetVersion(), corr, req.IsFlexible(), req.AppendTo(nil)))
	gotCorr, body, err := c.readFrame()
	if err != nil {
		c.t.Fatalf("reading the response to key %d v%d: %v", req.Key(), req.GetVersion(), err)
	}
	if gotCorr != corr {
		c.t.Fatalf("response correlation ID %d, want %d", gotCorr, corr)
	}
	resp := req.ResponseKind()
	// Response header v1 adds tagged fields, except for ApiVersions, whose
	// response header is always v0 (KIP-511).
	if resp.IsFlexible() && req.Key() != 18 {
		if len(body) == 0 || body[0] != 0 {
			c.t.Fatalf("flexible response header with tagged fields % x", body[:min(len(body), 8)])
		}
		body = body[1:]
	}
	if err := resp.ReadFrom(body); err != nil {
		c.t.Fatalf("decode response to key %d v%d: %v", req.Key(), req.GetVersion(), err)
	}
	return resp
}

// maxVersion asks the broker for its range of key and returns the highest
// version both it and the test understand, capped at limit.
func (c *rawConn) maxVersion(key, limit int16) int16 {
	c.t.Helper()
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = 0
	resp := c.roundTrip(req, 1).(*kmsg.ApiVersionsResponse)
	if resp.ErrorCode != 0 {
		c.t.Fatalf("ApiVersions v0: error %d", resp.ErrorCode)
	}
	for _, k := range resp.ApiKeys {
		if k.ApiKey == key {
			return min(k.MaxVersion, limit)
		}
	}
	c.t.Fatalf("broker does not advertise API key %d", key)
	return 0
}

// closed reports whether the broker closed the connection within timeout.
func (c *rawConn) closed(timeout time.Duration) bool {
	c.t.Helper()
	closed, err := closedByPeer(c.conn, timeout)
	if err != nil {
		c.t.Logf("read after bad input: %v", err)
		return true
	}
	return closed
}

// recordBatch encodes a magic-2 batch of values with a correct length and
// CRC-32C (over everything from the attributes on, KAFKA-NOTES #8).
func recordBatch(values ...string) []byte {
	var records []byte
	for i, v := range values {
		r := kmsg.Record{OffsetDelta: int32(i), Value: []byte(v)}
		r.Length = int32(len(r.AppendTo(nil)) - 1) // the 0 length is one varint byte
		records = r.AppendTo(records)
	}
	now := time.Now().UnixMilli()
	batch := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1,
		Magic:                2,
		LastOffsetDelta:      int32(len(values) - 1),
		FirstTimestamp:       now,
		MaxTimestamp:         now,
		ProducerID:           -1,
		ProducerEpoch:        -1,
		FirstSequence:        -1,
		NumRecords:           int32(len(values)),
		Records:              records,
	}
	raw := batch.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[8:], uint32(len(raw)-12))
	crc := crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli))
	binary.BigEndian.PutUint32(raw[17:], crc)
	return raw
}

func produceRequest(version int16, topic string, batch []byte) *kmsg.ProduceRequest {
	req := kmsg.NewPtrProduceRequest()
	req.Version = version
	req.Acks = -1
	req.TimeoutMillis = 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition = 0
	rp.Records = batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

func partitionResult(t *testing.T, resp kmsg.Response) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	pr := resp.(*kmsg.ProduceResponse)
	if len(pr.Topics) != 1 || len(pr.Topics[0].Partitions) != 1 {
		t.Fatalf("produce response has %d topics, want one with one partition", len(pr.Topics))
	}
	return pr.Topics[0].Partitions[0]
}

// victim is a topic with records written before the bad input, checked by
// stillServes afterwards.
const victim = "victim"

func writeVictim(t *testing.T, b *testBroker) []string {
	t.Helper()
	createTopic(t, b.admin(t), victim, 1, nil)
	values := numbered("before", 5)
	produceSync(t, b.client(t), valueRecords(victim, values...)...)
	return values
}

// stillServes checks, from a new client on another connection, that the
// broker takes a new record and still holds everything written before.
func stillServes(t *testing.T, b *testBroker, before []string) {
	t.Helper()
	cl := b.client(t)
	produceSync(t, cl, &kgo.Record{Topic: victim, Value: []byte("after")})
	got := readAll(t, b, victim)[0]
	want := append(slices.Clone(before), "after")
	var values []string
	for _, r := range got {
		values = append(values, string(r.Value))
	}
	if !slices.Equal(values, want) {
		t.Fatalf("after the bad input the log holds %q, want %q", values, want)
	}
}

func TestCorruptBatchCRCGetsCorruptMessageAndConnectionStaysUsable(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	createTopic(t, b.admin(t), "crc", 1, nil)
	c := dialRaw(t, b.Addr())
	version := c.maxVersion(0, 9) // v9 is the last before topic IDs and is flexible

	good := recordBatch("raw-good-1", "raw-good-2")
	corrupt := slices.Clone(good)
	corrupt[len(corrupt)-2] ^= 0x01 // last byte of the last value; structure stays valid

	p := partitionResult(t, c.roundTrip(produceRequest(version, "crc", corrupt), 2))
	if p.ErrorCode != kerr.CorruptMessage.Code {
		t.Fatalf("produce v%d of a batch with a bad CRC: error %v, want CORRUPT_MESSAGE", version, kerr.ErrorForCode(p.ErrorCode))
	}
	// The same connection still works, and the bad batch left no trace.
	p = partitionResult(t, c.roundTrip(produceRequest(version, "crc", good), 3))
	if p.ErrorCode != 0 || p.BaseOffset != 0 {
		t.Fatalf("valid batch after the corrupt one: error %v base offset %d, want success at 0", kerr.ErrorForCode(p.ErrorCode), p.BaseOffset)
	}
	got := readAll(t, b, "crc")[0]
	if len(got) != 2 || string(got[0].Value) != "raw-good-1" || string(got[1].Value) != "raw-good-2" {
		t.Fatalf("log holds %d records starting at %s, want only the two good ones", len(got), describeFirst(got))
	}
	before := writeVictim(t, b)
	stillServes(t, b, before)
}

func TestOversizeFrameClosesOnlyThatConnection(t *testing.T) {
	skipOnKfake(t, "socket.request.max.bytes")
	t.Parallel()
	b := startBroker(t, withOverride("socket.request.max.bytes", "65536"))
	before := writeVictim(t, b)
	// A request under the limit is fine.
	big := strings.Repeat("big", 10000)
	produceSync(t, b.client(t), &kgo.Record{Topic: victim, Value: []byte(big)})
	before = append(before, big)

	c := dialRaw(t, b.Addr())
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], 1<<20)
	c.write(hdr[:])
	c.write(make([]byte, 1000))
	if !c.closed(10 * time.Second) {
		t.Fatal("a frame of 1 MiB over socket.request.max.bytes=65536 did not close the connection")
	}
	stillServes(t, b, before)
}

func TestGarbageBytesCloseOnlyThatConnection(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	before := writeVictim(t, b)

	t.Run("http request", func(t *testing.T) {
		// "GET " read as a size is over 1 GB, far above the default
		// socket.request.max.bytes (100 MiB).
		skipOnKfake(t, "kfake waits for the whole claimed frame")
		c := dialRaw(t, b.Addr())
		c.write([]byte("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"))
		if !c.closed(10 * time.Second) {
			t.Fatal("an HTTP request did not close the connection")
		}
	})
	t.Run("truncated metadata body", func(t *testing.T) {
		// A well-framed Metadata v1 whose topic array claims 1000 entries
		// and holds none.
		c := dialRaw(t, b.Addr())
		c.write(frame(3, 1, 7, false, []byte{0, 0, 0x03, 0xe8}))
		if !c.closed(10 * time.Second) {
			t.Fatal("an unparsable request did not close the connection")
		}
	})
	t.Run("frame shorter than a header", func(t *testing.T) {
		c := dialRaw(t, b.Addr())
		c.write([]byte{0, 0, 0, 3, 0, 1, 0})
		if !c.closed(10 * time.Second) {
			t.Fatal("a 3-byte request did not close the connection")
		}
	})
	stillServes(t, b, before)
}

func TestUnknownApiKeyOrVersionClosesTheConnection(t *testing.T) {
	// Kafka closes the connection rather than answer a request whose
	// schema it does not know: a client parsing an answer by the version
	// it sent would read garbage. Only ApiVersions is answered at any
	// version (the next test).
	skipOnKfake(t, "kfake panics on unknown API keys")
	t.Parallel()
	b := startBroker(t)
	before := writeVictim(t, b)
	for name, f := range map[string][]byte{
		"API key 9999":   frame(9999, 0, 424242, false, nil),
		"Metadata v99":   frame(3, 99, 7, true, []byte{0, 0}),
		"Produce v2":     frame(0, 2, 8, false, nil),
		"Fetch v3":       frame(1, 3, 9, false, nil),
		"negative key":   frame(-5, 0, 10, false, nil),
		"ListOffsets v0": frame(2, 0, 11, false, nil),
	} {
		c := dialRaw(t, b.Addr())
		c.write(f)
		if !c.closed(10 * time.Second) {
			t.Fatalf("%s: the connection stayed open", name)
		}
	}
	stillServes(t, b, before)
}

func TestApiVersionsFromTheFutureGetsV0UnsupportedVersionWithRanges(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	before := writeVictim(t, b)
	c := dialRaw(t, b.Addr())

	// A v127 request is framed as the newest flexible one (header v2). Its
	// body holds every field kmsg knows, as a newer client would send a
	// superset; Kafka does not read it at all (KIP-511).
	body := kmsg.NewPtrApiVersionsRequest()
	body.Version = 127
	body.ClientSoftwareName = "compat"
	body.ClientSoftwareVersion = "1.0"
	c.write(frame(18, 127, 99, true, body.AppendTo(nil)))
	corr, raw, err := c.readFrame()
	if err != nil {
		t.Fatalf("no response to ApiVersions v127: %v", err)
	}
	if corr != 99 {
		t.Fatalf("correlation ID %d, want 99", corr)
	}
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = 0
	if err := resp.ReadFrom(raw); err != nil {
		t.Fatalf("response to ApiVersions v127 is not a v0 response: %v (% x)", err, raw)
	}
	if resp.ErrorCode != kerr.UnsupportedVersion.Code {
		t.Errorf("error %d, want 35 (UNSUPPORTED_VERSION)", resp.ErrorCode)
	}
	var apiVersions *kmsg.ApiVersionsResponseApiKey
	for i, k := range resp.ApiKeys {
		if k.ApiKey == 18 {
			apiVersions = &resp.ApiKeys[i]
		}
	}
	if apiVersions == nil || apiVersions.MinVersion != 0 || apiVersions.MaxVersion < 3 || apiVersions.MaxVersion >= 127 {
		t.Fatalf("ranges %+v: want ApiVersions (18) from 0 to a max of at least 3", resp.ApiKeys)
	}

	// The client retries at the broker's max, on the same connection.
	retry := kmsg.NewPtrApiVersionsRequest()
	retry.Version = apiVersions.MaxVersion
	retry.ClientSoftwareName = "compat"
	retry.ClientSoftwareVersion = "1.0"
	got := c.roundTrip(retry, 100).(*kmsg.ApiVersionsResponse)
	if got.ErrorCode != 0 || len(got.ApiKeys) < 10 {
		t.Fatalf("ApiVersions v%d after the fallback: error %d, %d keys", retry.Version, got.ErrorCode, len(got.ApiKeys))
	}
	for _, k := range got.ApiKeys {
		if k.MinVersion > k.MaxVersion {
			t.Errorf("API key %d advertises min %d > max %d", k.ApiKey, k.MinVersion, k.MaxVersion)
		}
	}
	stillServes(t, b, before)
}
