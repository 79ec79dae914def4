package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain serves kfake when the test binary is re-executed as the kfake
// child, as the bench binary is.
func TestMain(m *testing.M) {
	if os.Getenv(kfakeEnv) != "" {
		os.Exit(serveKfake())
	}
	os.Exit(m.Run())
}

// TestBenchSmokeAgainstSamsaAndKfake runs the whole single-broker bench
// small (2,000 records, one round, no ZooKeeper): both targets start, every
// record is read back, and the table has a row per workload and target.
func TestBenchSmokeAgainstSamsaAndKfake(t *testing.T) {
	if testing.Short() {
		t.Skip("starts brokers")
	}
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	bin := filepath.Join(t.TempDir(), "samsa")
	build := exec.Command("go", "build", "-o", bin, "github.com/samsa-io/samsa/tools/samsa")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build samsa: %v\n%s", err, out)
	}
	o, err := parseOptions([]string{"--samsa", bin, "--records", "2000", "--large-records", "500",
		"--e2e-rate", "1000", "--e2e-duration", "300ms", "--rounds", "1", "--cluster=false", "--dir", t.TempDir()}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, log bytes.Buffer
	start := time.Now()
	if err := run(ctx, o, &out, &log); err != nil {
		t.Fatalf("bench: %v\n%s", err, log.String())
	}
	t.Logf("bench took %v:\n%s", time.Since(start), out.String())
	for _, want := range []string{"| produce 100 B | samsa |", "| produce 100 B | kfake |", "| produce 1 KiB | samsa |",
		"| produce 100 B zstd | samsa |", "| produce 100 B zstd | kfake |",
		"| end-to-end 1.00k rec/s, linger 0 | kfake |", "vs kfake:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the table lacks %q:\n%s", want, out.String())
		}
	}
}

func TestParseOptionsRejectsRecordsTooSmallToCheck(t *testing.T) {
	var stderr bytes.Buffer
	if _, err := parseOptions([]string{"--record-size", "4"}, &stderr); err == nil {
		t.Error("a 4-byte record size was accepted")
	}
	o, err := parseOptions(nil, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if o.records != 1_000_000 || o.rounds != 3 || o.clusterRecords != o.records || o.zstdRecords != o.records || !o.cluster {
		t.Errorf("defaults = %+v", o)
	}
}
