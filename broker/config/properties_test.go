package config

import (
	"reflect"
	"strings"
	"testing"
)

func props(t *testing.T, text string) map[string]string {
	t.Helper()
	ps, err := parseProperties(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parseProperties: %v", err)
	}
	m := make(map[string]string)
	for _, p := range ps {
		m[p.key] = p.value
	}
	return m
}

func TestPropertiesReadLikeJava(t *testing.T) {
	cases := []struct {
		name string
		text string
		want map[string]string
	}{
		{"separators", "a=1\nb: 2\nc 3\nd\t=\t4\ne  :5\n",
			map[string]string{"a": "1", "b": "2", "c": "3", "d": "4", "e": "5"}},
		{"comments and blanks", "# comment\n  ! also a comment\n\n   \na=1\n",
			map[string]string{"a": "1"}},
		{"leading blanks of the line are dropped", "   \t a = 1\n",
			map[string]string{"a": "1"}},
		{"trailing blanks of the value are kept", "a=1  \n",
			map[string]string{"a": "1  "}},
		{"key without value", "a\nb=\nc:\n",
			map[string]string{"a": "", "b": "", "c": ""}},
		{"only the first separator splits", "a==b\nc=d=e\nf::g\nh = = i\n",
			map[string]string{"a": "=b", "c": "d=e", "f": ":g", "h": "= i"}},
		{"continuation", "listeners=PLAINTEXT://a:1,\\\n     PLAINTEXT2://b:2\nnext=x\n",
			map[string]string{"listeners": "PLAINTEXT://a:1,PLAINTEXT2://b:2", "next": "x"}},
		{"continuation over several lines", "a=1\\\n 2\\\n\t3\n",
			map[string]string{"a": "123"}},
		{"even backslashes do not continue", "a=x\\\\\nb=y\n",
			map[string]string{"a": `x\`, "b": "y"}},
		{"comment lines do not continue", "# a comment \\\na=1\n",
			map[string]string{"a": "1"}},
		{"a continued line may start with #", "a=1,\\\n#2\n",
			map[string]string{"a": "1,#2"}},
		{"escaped separators in the key", "a\\=b=c\nd\\:e:f\ng\\ h=i\n",
			map[string]string{"a=b": "c", "d:e": "f", "g h": "i"}},
		{"escapes", `a=tab\there\nnl\rcr\fff\\bs\qq` + "\n",
			map[string]string{"a": "tab\there\nnl\rcr\fff\\bsqq"}},
		{"unicode escapes", `a=\u0041\u00e9` + "\n" + `b=\uD83D\uDE00` + "\n",
			map[string]string{"a": "Aé", "b": "😀"}},
		{"UTF-8 text as is", "a=héllo\n",
			map[string]string{"a": "héllo"}},
		{"CRLF and CR line ends", "a=1\r\nb=2\rc=3",
			map[string]string{"a": "1", "b": "2", "c": "3"}},
		{"later duplicates win", "a=1\na=2\n",
			map[string]string{"a": "2"}},
		{"backslash at end of file", "a=1\\",
			map[string]string{"a": "1"}},
		{"no final newline", "a=1",
			map[string]string{"a": "1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := props(t, c.text); !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestPropertiesMalformedUnicodeEscapeIsAnError(t *testing.T) {
	for _, text := range []string{`a=\u12`, `a=\uzzzz`, "a=b\nc=\\u00\n"} {
		if _, err := parseProperties(strings.NewReader(text)); err == nil {
			t.Errorf("%q: no error", text)
		}
	}
	_, err := parseProperties(strings.NewReader("a=1\nb=\\u00g0\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("error %v does not name line 2", err)
	}
}

// escapeProperty writes key=value so that parseProperties reads back
// exactly key and value.
func escapeProperty(key, value string) string {
	esc := func(s string, all bool) string {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			switch c := s[i]; c {
			case '\\', '=', ':', '#', '!':
				b.WriteByte('\\')
				b.WriteByte(c)
			case ' ', '\t', '\f':
				if all || i == 0 {
					b.WriteByte('\\')
				}
				b.WriteByte(c)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			default:
				b.WriteByte(c)
			}
		}
		return b.String()
	}
	return esc(key, true) + "=" + esc(value, false) + "\n"
}

// FuzzParseProperties: any input parses or fails without panicking, and
// every property read writes back out and reads back the same.
func FuzzParseProperties(f *testing.F) {
	for _, seed := range []string{
		"a=1\n", "# c\n! c\n", "a\\\n  b=c\\\\\n", "k\\ ey : v\\u00e9\r\n", "\\uD83D\\uDE00=x", "=\n:\n \\\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data string) {
		ps, err := parseProperties(strings.NewReader(data))
		if err != nil {
			return
		}
		for _, p := range ps {
			again, err := parseProperties(strings.NewReader(escapeProperty(p.key, p.value)))
			if err != nil || len(again) != 1 || again[0].key != p.key || again[0].value != p.value {
				t.Fatalf("%q=%q wrote as %q, read back %+v (%v)", p.key, p.value, escapeProperty(p.key, p.value), again, err)
			}
		}
	})
}
