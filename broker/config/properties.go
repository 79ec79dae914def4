package config

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// property is one key/value pair of a .properties file.
type property struct {
	key, value string
	line       int // where the logical line starts, for messages
}

// parseProperties reads a Java .properties file as
// java.util.Properties.load does, so a server.properties written for Kafka
// reads the same:
//
//   - lines end with \n, \r or \r\n; a line whose first non-blank
//     character is # or ! is a comment;
//   - a line ending in an odd number of backslashes continues on the next,
//     whose leading blanks are dropped;
//   - the key ends at the first unescaped '=', ':' or blank; blanks and
//     one '=' or ':' after it are skipped, and the rest is the value;
//   - \t \n \r \f and \uXXXX are escapes; a backslash before any other
//     character stands for that character ("\:" is ':', "\\" is '\').
//
// Java reads the file as ISO-8859-1; Samsa reads UTF-8, so non-ASCII text
// needs no \u escapes. A later duplicate key replaces an earlier one when
// the caller fills a map.
func parseProperties(r io.Reader) ([]property, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	lines := splitLines(string(data))
	var props []property
	for i := 0; i < len(lines); i++ {
		start := i + 1
		line := trimLeftBlank(lines[i])
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		for endsInEscape(line) {
			line = line[:len(line)-1]
			if i+1 >= len(lines) {
				break
			}
			i++
			line += trimLeftBlank(lines[i])
		}
		key, value, err := splitKeyValue(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", start, err)
		}
		props = append(props, property{key: key, value: value, line: start})
	}
	return props, nil
}

func splitLines(s string) []string {
	var lines []string
	for len(s) > 0 {
		i := strings.IndexAny(s, "\r\n")
		if i < 0 {
			lines = append(lines, s)
			break
		}
		lines = append(lines, s[:i])
		if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
			i++
		}
		s = s[i+1:]
	}
	return lines
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\f' }

func trimLeftBlank(s string) string {
	i := 0
	for i < len(s) && isBlank(s[i]) {
		i++
	}
	return s[i:]
}

// endsInEscape reports whether s ends in an odd number of backslashes: the
// last one escapes the line end.
func endsInEscape(s string) bool {
	n := 0
	for i := len(s) - 1; i >= 0 && s[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

func splitKeyValue(line string) (key, value string, err error) {
	keyEnd, valueStart := len(line), len(line)
	hasSep := false
	escaped := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		if !escaped && (c == '=' || c == ':') {
			keyEnd, valueStart, hasSep = i, i+1, true
			break
		}
		if !escaped && isBlank(c) {
			keyEnd, valueStart = i, i+1
			break
		}
		escaped = c == '\\' && !escaped
	}
	for valueStart < len(line) {
		c := line[valueStart]
		if !isBlank(c) {
			if hasSep || (c != '=' && c != ':') {
				break
			}
			hasSep = true
		}
		valueStart++
	}
	if key, err = unescape(line[:keyEnd]); err != nil {
		return "", "", err
	}
	if value, err = unescape(line[valueStart:]); err != nil {
		return "", "", err
	}
	return key, value, nil
}

func unescape(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(s) {
			break // a lone backslash at the end of the file
		}
		switch c = s[i]; c {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			r, ok := hex4(s, i+1)
			if !ok {
				return "", fmt.Errorf(`malformed \uxxxx escape in %q`, s)
			}
			i += 4
			// Java strings are UTF-16: a character outside the BMP is
			// written as two escapes, a surrogate pair.
			if utf16.IsSurrogate(r) && strings.HasPrefix(s[i+1:], `\u`) {
				if lo, ok := hex4(s, i+3); ok {
					if pair := utf16.DecodeRune(r, lo); pair != utf8.RuneError {
						r = pair
						i += 6
					}
				}
			}
			b.WriteRune(r)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// hex4 reads the four hex digits of a \u escape starting at s[i].
func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	n, err := strconv.ParseUint(s[i:i+4], 16, 16)
	return rune(n), err == nil
}

// ReadProperties reads the .properties file at path as
// java.util.Properties.load does (parseProperties) into a map; a later
// duplicate key wins. Client tools read their --command-config with it.
func ReadProperties(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	props, err := parseProperties(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := make(map[string]string, len(props))
	for _, p := range props {
		out[p.key] = p.value
	}
	return out, nil
}
