package broker

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/wire"
)

const (
	apiTableBegin = "<!-- BEGIN api table -->"
	apiTableEnd   = "<!-- END api table -->"
)

// apiMarkdownTable renders the README's API table from the declared APIs:
// one row per API in key order, with its versions and note.
func apiMarkdownTable(list []api) string {
	var sb strings.Builder
	sb.WriteString("| API (key) | Versions | Notes |\n| --- | --- | --- |\n")
	for _, a := range list {
		fmt.Fprintf(&sb, "| %s (%d) | %d–%d |", a.key.Name(), a.key, a.min, a.max)
		if a.note != "" {
			sb.WriteString(" " + a.note)
		}
		sb.WriteString(" |\n")
	}
	return sb.String()
}

// TestREADMEAPITableMatchesApiVersions keeps the README's compatibility
// table honest: it is generated from the API declarations, which are
// exactly what ApiVersions advertises. The test fails when the README
// differs; UPDATE_README=1 rewrites it.
func TestREADMEAPITableMatchesApiVersions(t *testing.T) {
	declared := declaredAPIs()

	b := newTestBroker(t)
	resp, err := b.handleApiVersions(context.Background(), &wire.Conn{}, kmsg.NewPtrApiVersionsRequest())
	if err != nil {
		t.Fatal(err)
	}
	advertised := resp.(*kmsg.ApiVersionsResponse).ApiKeys
	if len(advertised) != len(declared) {
		t.Errorf("ApiVersions advertises %d APIs, %d are declared", len(advertised), len(declared))
	}
	for i := range min(len(advertised), len(declared)) {
		got, a := advertised[i], declared[i]
		if got.ApiKey != int16(a.key) || got.MinVersion != a.min || got.MaxVersion != a.max {
			t.Errorf("ApiVersions advertises %s (%d) v%d–v%d, the declaration is %s (%d) v%d–v%d",
				kmsg.NameForKey(got.ApiKey), got.ApiKey, got.MinVersion, got.MaxVersion, a.key.Name(), a.key, a.min, a.max)
		}
	}

	path := filepath.Join("..", "README.md")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	begin, end := strings.Index(readme, apiTableBegin), strings.Index(readme, apiTableEnd)
	if begin < 0 || end < begin {
		t.Fatal("README.md has no api table markers")
	}
	want := apiTableBegin + "\n" + apiMarkdownTable(declared) + apiTableEnd
	if readme[begin:end+len(apiTableEnd)] == want {
		return
	}
	if os.Getenv("UPDATE_README") != "" {
		if err := os.WriteFile(path, []byte(readme[:begin]+want+readme[end+len(apiTableEnd):]), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Log("README.md updated")
		return
	}
	t.Errorf("README.md's API table differs from the API declarations; run: UPDATE_README=1 go test ./broker -run TestREADMEAPITableMatchesApiVersions")
}
