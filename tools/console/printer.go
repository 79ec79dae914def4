package console

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-io/samsa/tools/cli"
)

// recordPrinter appends a record as the consumer prints it (a whole
// line, or lines, with their endings) to a buffer.
type recordPrinter interface {
	appendRecord(b []byte, r *kgo.Record) ([]byte, error)
}

// The --property keys of Kafka's console consumer (its
// DefaultMessageFormatter), with Kafka's defaults.
const (
	propPrintTimestamp   = "print.timestamp"   // false
	propPrintKey         = "print.key"         // false
	propPrintOffset      = "print.offset"      // false
	propPrintPartition   = "print.partition"   // false
	propPrintHeaders     = "print.headers"     // false
	propPrintValue       = "print.value"       // true
	propFmtKeySeparator  = "key.separator"     // "\t": between the printed fields
	propLineSeparator    = "line.separator"    // "\n"
	propFmtHeadersSep    = "headers.separator" // ",": between headers
	propNullLiteral      = "null.literal"      // "null": how a null key, value or header value prints
	propKeyDeserializer  = "key.deserializer"
	propValDeserializer  = "value.deserializer"
	propHeadDeserializer = "headers.deserializer"
)

var formatterProperties = []string{
	propPrintTimestamp, propPrintKey, propPrintOffset, propPrintPartition, propPrintHeaders, propPrintValue,
	propFmtKeySeparator, propLineSeparator, propFmtHeadersSep, propNullLiteral,
	propKeyDeserializer, propValDeserializer, propHeadDeserializer,
}

// kafkaFormatter prints a record as Kafka's DefaultMessageFormatter does:
// the fields asked for, in the order timestamp, partition, offset,
// headers, key, value, separated by key.separator, the record ended by
// line.separator:
//
//	CreateTime:1700000000000	Partition:0	Offset:3	h1:v1,h2:v2	key	value
type kafkaFormatter struct {
	printTimestamp, printPartition, printOffset, printHeaders, printKey, printValue bool

	keySeparator, lineSeparator, headersSeparator, nullLiteral string
}

func newKafkaFormatter(props map[string]string) (*kafkaFormatter, error) {
	if err := checkKnown("property", props, formatterProperties); err != nil {
		return nil, err
	}
	// The bytes are printed as they are, which is what Kafka's String and
	// ByteArray deserializers print; other deserializers (Avro, JSON
	// schemas) are not available here.
	for _, key := range []string{propKeyDeserializer, propValDeserializer, propHeadDeserializer} {
		if v, ok := props[key]; ok && !strings.HasSuffix(v, ".StringDeserializer") && !strings.HasSuffix(v, ".ByteArrayDeserializer") {
			return nil, cli.Usagef("property %s=%s: only String and ByteArray deserializers are supported", key, v)
		}
	}
	f := &kafkaFormatter{keySeparator: "\t", lineSeparator: "\n", headersSeparator: ",", nullLiteral: "null"}
	for key, field := range map[string]*bool{
		propPrintTimestamp: &f.printTimestamp,
		propPrintPartition: &f.printPartition,
		propPrintOffset:    &f.printOffset,
		propPrintHeaders:   &f.printHeaders,
		propPrintKey:       &f.printKey,
	} {
		v, err := boolProperty(props, key, false)
		if err != nil {
			return nil, err
		}
		*field = v
	}
	var err error
	if f.printValue, err = boolProperty(props, propPrintValue, true); err != nil {
		return nil, err
	}
	for key, field := range map[string]*string{
		propFmtKeySeparator: &f.keySeparator,
		propLineSeparator:   &f.lineSeparator,
		propFmtHeadersSep:   &f.headersSeparator,
		propNullLiteral:     &f.nullLiteral,
	} {
		if v, ok := props[key]; ok {
			*field = unescape(v)
		}
	}
	return f, nil
}

func (f *kafkaFormatter) appendRecord(b []byte, r *kgo.Record) ([]byte, error) {
	// After each field: key.separator if another field follows, else
	// line.separator, as Kafka's formatter writes them.
	sep := func(more bool) {
		if more {
			b = append(b, f.keySeparator...)
		} else {
			b = append(b, f.lineSeparator...)
		}
	}
	if f.printTimestamp {
		switch r.Attrs.TimestampType() {
		case 0:
			b = append(b, "CreateTime:"...)
			b = strconv.AppendInt(b, r.Timestamp.UnixMilli(), 10)
		case 1:
			b = append(b, "LogAppendTime:"...)
			b = strconv.AppendInt(b, r.Timestamp.UnixMilli(), 10)
		default:
			b = append(b, "NO_TIMESTAMP"...)
		}
		sep(f.printPartition || f.printOffset || f.printHeaders || f.printKey || f.printValue)
	}
	if f.printPartition {
		b = append(b, "Partition:"...)
		b = strconv.AppendInt(b, int64(r.Partition), 10)
		sep(f.printOffset || f.printHeaders || f.printKey || f.printValue)
	}
	if f.printOffset {
		b = append(b, "Offset:"...)
		b = strconv.AppendInt(b, r.Offset, 10)
		sep(f.printHeaders || f.printKey || f.printValue)
	}
	if f.printHeaders {
		if len(r.Headers) == 0 {
			b = append(b, "NO_HEADERS"...)
		}
		for i, h := range r.Headers {
			if i > 0 {
				b = append(b, f.headersSeparator...)
			}
			b = append(b, h.Key...)
			b = append(b, ':')
			b = f.appendNullable(b, h.Value)
		}
		sep(f.printKey || f.printValue)
	}
	if f.printKey {
		b = f.appendNullable(b, r.Key)
		sep(f.printValue)
	}
	if f.printValue {
		b = f.appendNullable(b, r.Value)
		b = append(b, f.lineSeparator...)
	}
	return b, nil
}

func (f *kafkaFormatter) appendNullable(b, v []byte) []byte {
	if v == nil {
		return append(b, f.nullLiteral...)
	}
	return append(b, v...)
}

// formatPrinter prints a record by a kcat-style format string (kcat's -f):
//
//	%t topic  %p partition  %o offset  %T timestamp (ms)
//	%k key  %s value  %h headers (k=v,k=v)  %K key length  %S value length
//	%% a percent sign; \n \t \r \\ escapes
//
// A null key or value prints as nothing, and its length as -1, as in kcat.
type formatPrinter struct {
	parts []formatPart
}

type formatPart struct {
	literal string
	verb    byte // 0 for a literal
}

func newFormatPrinter(format string) (*formatPrinter, error) {
	format = unescape(format)
	p := &formatPrinter{}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			p.parts = append(p.parts, formatPart{literal: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			lit.WriteByte(c)
			continue
		}
		if i+1 == len(format) {
			return nil, cli.Usagef("--format %q: ends with a lone %%", format)
		}
		i++
		switch v := format[i]; v {
		case '%':
			lit.WriteByte('%')
		case 't', 'p', 'o', 'T', 'k', 's', 'h', 'K', 'S':
			flush()
			p.parts = append(p.parts, formatPart{verb: v})
		default:
			return nil, cli.Usagef("--format %q: unknown directive %%%c (want %%t %%p %%o %%T %%k %%s %%h %%K %%S or %%%%)", format, v)
		}
	}
	flush()
	return p, nil
}

func (p *formatPrinter) appendRecord(b []byte, r *kgo.Record) ([]byte, error) {
	for _, part := range p.parts {
		switch part.verb {
		case 0:
			b = append(b, part.literal...)
		case 't':
			b = append(b, r.Topic...)
		case 'p':
			b = strconv.AppendInt(b, int64(r.Partition), 10)
		case 'o':
			b = strconv.AppendInt(b, r.Offset, 10)
		case 'T':
			b = strconv.AppendInt(b, r.Timestamp.UnixMilli(), 10)
		case 'k':
			b = append(b, r.Key...)
		case 's':
			b = append(b, r.Value...)
		case 'K':
			b = strconv.AppendInt(b, nullableLen(r.Key), 10)
		case 'S':
			b = strconv.AppendInt(b, nullableLen(r.Value), 10)
		case 'h':
			for i, h := range r.Headers {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, h.Key...)
				b = append(b, '=')
				b = append(b, h.Value...)
			}
		}
	}
	return b, nil
}

func nullableLen(v []byte) int64 {
	if v == nil {
		return -1
	}
	return int64(len(v))
}

// jsonPrinter prints each record as one JSON object on one line. Keys,
// values and header values are JSON strings when their bytes are UTF-8;
// otherwise the string field is null and the bytes are in a _base64
// field beside it (key_base64, value_base64, a header's value_base64).
// A null key or value is null with no _base64 field.
type jsonPrinter struct{}

type jsonRecord struct {
	Topic       string       `json:"topic"`
	Partition   int32        `json:"partition"`
	Offset      int64        `json:"offset"`
	Timestamp   int64        `json:"timestamp"`
	Key         *string      `json:"key"`
	KeyBase64   string       `json:"key_base64,omitempty"`
	Value       *string      `json:"value"`
	ValueBase64 string       `json:"value_base64,omitempty"`
	Headers     []jsonHeader `json:"headers"`
}

type jsonHeader struct {
	Key         string  `json:"key"`
	Value       *string `json:"value"`
	ValueBase64 string  `json:"value_base64,omitempty"`
}

// jsonBytes is v as the JSON printer's pair of fields.
func jsonBytes(v []byte) (text *string, b64 string) {
	switch {
	case v == nil:
		return nil, ""
	case utf8.Valid(v):
		s := string(v)
		return &s, ""
	}
	return nil, base64.StdEncoding.EncodeToString(v)
}

func (jsonPrinter) appendRecord(b []byte, r *kgo.Record) ([]byte, error) {
	jr := jsonRecord{
		Topic:     r.Topic,
		Partition: r.Partition,
		Offset:    r.Offset,
		Timestamp: r.Timestamp.UnixMilli(),
		Headers:   make([]jsonHeader, 0, len(r.Headers)),
	}
	jr.Key, jr.KeyBase64 = jsonBytes(r.Key)
	jr.Value, jr.ValueBase64 = jsonBytes(r.Value)
	for _, h := range r.Headers {
		jh := jsonHeader{Key: h.Key}
		jh.Value, jh.ValueBase64 = jsonBytes(h.Value)
		jr.Headers = append(jr.Headers, jh)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(jr); err != nil {
		return b, fmt.Errorf("record %s/%d@%d as JSON: %w", r.Topic, r.Partition, r.Offset, err)
	}
	return append(b, buf.Bytes()...), nil
}
