package console

import (
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The --property keys of Kafka's console producer (its LineMessageReader;
// parse.headers and the headers.* keys are KIP-798's, null.marker is
// KIP-810's), with Kafka's defaults.
const (
	propParseKey            = "parse.key"             // false
	propKeySeparator        = "key.separator"         // "\t"
	propIgnoreError         = "ignore.error"          // false: a line without the key separator is an error
	propParseHeaders        = "parse.headers"         // false
	propHeadersDelimiter    = "headers.delimiter"     // "\t": ends the headers part of a line
	propHeadersSeparator    = "headers.separator"     // ",": between header pairs
	propHeadersKeySeparator = "headers.key.separator" // ":": between a header's key and value
	propNullMarker          = "null.marker"           // unset: a field equal to it is null
)

var lineReaderProperties = []string{
	propParseKey, propKeySeparator, propIgnoreError, propParseHeaders,
	propHeadersDelimiter, propHeadersSeparator, propHeadersKeySeparator, propNullMarker,
}

// lineReader turns a line of input into a record as Kafka's
// LineMessageReader does: with parse.headers, the line starts with
// headers (h1:v1,h2:v2) up to headers.delimiter; with parse.key, the key
// runs up to the first key.separator; the rest is the value. A key,
// value or header value equal to null.marker is null.
type lineReader struct {
	parseKey            bool
	keySeparator        string
	ignoreError         bool
	parseHeaders        bool
	headersDelimiter    string
	headersSeparator    string
	headersKeySeparator string
	nullMarker          *string
	// extraHeaders (--header k=v) go on every record, after the line's own.
	extraHeaders []kgo.RecordHeader
}

// newLineReader reads the --property map (already checked for unknown
// keys).
func newLineReader(props map[string]string) (*lineReader, error) {
	lr := &lineReader{
		keySeparator:        "\t",
		headersDelimiter:    "\t",
		headersSeparator:    ",",
		headersKeySeparator: ":",
	}
	var err error
	if lr.parseKey, err = boolProperty(props, propParseKey, false); err != nil {
		return nil, err
	}
	if lr.ignoreError, err = boolProperty(props, propIgnoreError, false); err != nil {
		return nil, err
	}
	if lr.parseHeaders, err = boolProperty(props, propParseHeaders, false); err != nil {
		return nil, err
	}
	for key, field := range map[string]*string{
		propKeySeparator:        &lr.keySeparator,
		propHeadersDelimiter:    &lr.headersDelimiter,
		propHeadersSeparator:    &lr.headersSeparator,
		propHeadersKeySeparator: &lr.headersKeySeparator,
	} {
		if v, ok := props[key]; ok {
			if v = unescape(v); v == "" {
				return nil, fmt.Errorf("property %s is empty", key)
			}
			*field = v
		}
	}
	if v, ok := props[propNullMarker]; ok {
		v = unescape(v)
		lr.nullMarker = &v
	}
	return lr, nil
}

// record parses line number n (counted from 1, for errors).
func (lr *lineReader) record(n int, line string) (*kgo.Record, error) {
	r := &kgo.Record{}
	rest := line
	if lr.parseHeaders {
		hs, after, ok := strings.Cut(rest, lr.headersDelimiter)
		if !ok {
			return nil, fmt.Errorf("no headers delimiter %q found on %s", lr.headersDelimiter, quoteLine(n, line))
		}
		headers, err := lr.headers(hs)
		if err != nil {
			return nil, fmt.Errorf("%w on %s", err, quoteLine(n, line))
		}
		r.Headers = headers
		rest = after
	}
	if lr.parseKey {
		key, value, ok := strings.Cut(rest, lr.keySeparator)
		switch {
		case ok:
			r.Key, rest = lr.bytes(key), value
		case !lr.ignoreError:
			return nil, fmt.Errorf("no key separator %q found on %s", lr.keySeparator, quoteLine(n, line))
		}
	}
	r.Value = lr.bytes(rest)
	r.Headers = append(r.Headers, lr.extraHeaders...)
	return r, nil
}

// headers parses "h1:v1,h2:v2". An empty string is no headers, as in
// Kafka.
func (lr *lineReader) headers(s string) ([]kgo.RecordHeader, error) {
	if s == "" {
		return nil, nil
	}
	var out []kgo.RecordHeader
	for _, pair := range strings.Split(s, lr.headersSeparator) {
		k, v, ok := strings.Cut(pair, lr.headersKeySeparator)
		if !ok {
			return nil, fmt.Errorf("no header key separator %q found in pair %q", lr.headersKeySeparator, pair)
		}
		if lr.nullMarker != nil && k == *lr.nullMarker {
			return nil, fmt.Errorf("header key %q equals the null marker: header keys cannot be null", k)
		}
		out = append(out, kgo.RecordHeader{Key: k, Value: lr.bytes(v)})
	}
	return out, nil
}

// bytes is a field's bytes, or nil when it is the null marker. A field
// that is not the marker is never nil, even when empty: an empty line is
// a record with an empty value, as Kafka produces it.
func (lr *lineReader) bytes(s string) []byte {
	if lr.nullMarker != nil && s == *lr.nullMarker {
		return nil
	}
	return append([]byte{}, s...)
}
