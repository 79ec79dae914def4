package console

import (
	"fmt"
	"slices"
	"strings"

	"github.com/samsa-io/samsa/tools/cli"
)

// parseProperties reads Kafka-style `key=value` flag values (--property,
// --producer-property) into a map; what flag named them goes into the
// error. A key given twice keeps its last value, as Kafka's
// Properties do.
func parseProperties(flag string, pairs []string) (map[string]string, error) {
	props := make(map[string]string, len(pairs))
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, cli.Usagef("--%s %q: want key=value", flag, p)
		}
		props[k] = v
	}
	return props, nil
}

// boolProperty reads a "true"/"false" property as Java's
// Boolean.parseBoolean would accept it, but refuses anything else
// rather than reading it as false.
func boolProperty(props map[string]string, key string, def bool) (bool, error) {
	v, ok := props[key]
	if !ok {
		return def, nil
	}
	switch strings.ToLower(v) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, cli.Usagef("property %s=%q: want true or false", key, v)
}

// unescape reads the escapes a shell user types for a separator
// (\t, \n, \r, \\), so `--property key.separator='\t'` means a tab.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case '\\':
			b.WriteByte('\\')
		default:
			b.WriteByte('\\')
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// unknownProperty is the error for a property key the command does not
// read: a typo (header.separator for headers.separator) would otherwise
// be silently ignored, as Kafka's tools ignore it.
func unknownProperty(flag, key string, known []string) error {
	return cli.Usagef("--%s %s: unknown property (known: %s)", flag, key, strings.Join(known, ", "))
}

func checkKnown(flag string, props map[string]string, known []string) error {
	for k := range props {
		if !slices.Contains(known, k) {
			return unknownProperty(flag, k, known)
		}
	}
	return nil
}

// quoteLine is a line as an error message shows it.
func quoteLine(n int, line string) string {
	const max = 80
	if len(line) > max {
		line = line[:max] + "..."
	}
	return fmt.Sprintf("line %d %q", n, line)
}
