package broker

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestREADMEAPITableMatchesApiVersions keeps the README's compatibility
// table honest: every API the broker serves has a row with exactly the
// version range ApiVersions advertises, and no row names an API it does
// not serve.
func TestREADMEAPITableMatchesApiVersions(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	begin, end := strings.Index(readme, "<!-- BEGIN api table -->"), strings.Index(readme, "<!-- END api table -->")
	if begin < 0 || end < begin {
		t.Fatal("README.md has no api table markers")
	}
	row := regexp.MustCompile(`^\| (\w+) \((\d+)\) \| (\d+)–(\d+) \|`)
	documented := map[int16][2]int16{}
	for _, line := range strings.Split(readme[begin:end], "\n") {
		m := row.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		key, _ := strconv.Atoi(m[2])
		lo, _ := strconv.Atoi(m[3])
		hi, _ := strconv.Atoi(m[4])
		if name := kmsg.NameForKey(int16(key)); name != m[1] {
			t.Errorf("README row %q: key %d is %s", m[1], key, name)
		}
		documented[int16(key)] = [2]int16{int16(lo), int16(hi)}
	}
	b := newTestBroker(t)
	for _, r := range b.routes {
		if r.serve == nil {
			continue
		}
		key := int16(r.key)
		got, ok := documented[key]
		if !ok {
			t.Errorf("README does not list %s (%d), which the broker serves at v%d–v%d", r.key.Name(), key, r.min, r.max)
			continue
		}
		if got != [2]int16{r.min, r.max} {
			t.Errorf("README lists %s as v%d–v%d, the broker serves v%d–v%d", r.key.Name(), got[0], got[1], r.min, r.max)
		}
		delete(documented, key)
	}
	for key := range documented {
		t.Errorf("README lists %s (%d), which the broker does not serve", kmsg.NameForKey(key), key)
	}
}
