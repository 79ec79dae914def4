package embedded_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

const (
	exampleBegin = "<!-- BEGIN embedded example: broker/embedded/internal/readmeexample/main.go"
	exampleEnd   = "<!-- END embedded example -->"
	exampleFile  = "internal/readmeexample/main.go"
)

// TestREADMEEmbeddedExample keeps the README's embedded program honest:
// its code block is internal/readmeexample/main.go byte for byte
// (UPDATE_README=1 copies the file into the README), and that program
// builds, runs and prints what the README says.
func TestREADMEEmbeddedExample(t *testing.T) {
	readmePath := filepath.Join("..", "..", "README.md")
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	begin := bytes.Index(readme, []byte(exampleBegin))
	end := bytes.Index(readme, []byte(exampleEnd))
	if begin < 0 || end < begin {
		t.Fatalf("README.md has no %q ... %q section", exampleBegin, exampleEnd)
	}
	open := begin + bytes.IndexByte(readme[begin:], '\n') + 1
	want := append(append([]byte("```go\n"), src...), "```\n"...)
	if got := readme[open:end]; !bytes.Equal(got, want) {
		if os.Getenv("UPDATE_README") != "" {
			updated := append(append(append([]byte(nil), readme[:open]...), want...), readme[end:]...)
			if err := os.WriteFile(readmePath, updated, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Log("README.md updated")
		} else {
			t.Errorf("README.md's embedded program differs from %s; run: UPDATE_README=1 go test ./broker/embedded -run TestREADMEEmbeddedExample", exampleFile)
		}
	}

	// Build and run it as a user would.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "readmeexample")
	build := exec.CommandContext(ctx, goTool(t), "build", "-o", bin, "./internal/readmeexample")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build the README's program: %v\n%s", err, out)
	}
	run := exec.CommandContext(ctx, bin)
	run.WaitDelay = 10 * time.Second
	out, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("the README's program failed: %v\n%s", err, out)
	}
	wantOut := regexp.MustCompile(`^produced 300 records to orders
consumed 300 records
killed broker [123], the leader of orders-0; broker [123] leads it now
read back 300 of 300 records, each partition in the order produced
$`)
	if !wantOut.Match(out) {
		t.Fatalf("the README's program printed:\n%s", out)
	}
	if m := regexp.MustCompile(`broker (\d), the leader of orders-0; broker (\d)`).FindSubmatch(out); string(m[1]) == string(m[2]) {
		t.Fatalf("the leader did not move:\n%s", out)
	}
	// The README shows what it prints, with the brokers of one run.
	shown := regexp.MustCompile(`broker \d`).ReplaceAll(readme[end:], []byte("broker N"))
	if !bytes.Contains(shown, regexp.MustCompile(`broker \d`).ReplaceAll(out, []byte("broker N"))) {
		t.Errorf("README.md does not show what the program prints after its code:\n%s", out)
	}
}

// goTool is the go command: go test puts its toolchain's first on PATH.
func goTool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command to build the README's program: %v", err)
	}
	return path
}
