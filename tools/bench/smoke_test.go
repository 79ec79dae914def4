package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMain serves kfake when the test binary is re-executed as the kfake
// child, as the bench binary is.
func TestMain(m *testing.M) {
	if os.Getenv(kfakeEnv) != "" {
		os.Exit(serveKfake())
	}
	code := m.Run()
	if smokeBuild.bin != "" {
		os.RemoveAll(filepath.Dir(smokeBuild.bin))
	}
	os.Exit(code)
}

// samsaForSmoke builds the samsa binary once for the smoke runs, which
// start brokers and read /proc: they skip under -short and off Linux.
func samsaForSmoke(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts brokers")
	}
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	smokeBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "bench-smoke-samsa-")
		if err != nil {
			smokeBuild.err = err
			return
		}
		smokeBuild.bin = filepath.Join(dir, "samsa")
		out, err := exec.Command("go", "build", "-o", smokeBuild.bin, "github.com/samsa-io/samsa/tools/samsa").CombinedOutput()
		if err != nil {
			smokeBuild.err = fmt.Errorf("build samsa: %v\n%s", err, out)
		}
	})
	if smokeBuild.err != nil {
		t.Fatal(smokeBuild.err)
	}
	return smokeBuild.bin
}

var smokeBuild struct {
	once sync.Once
	bin  string
	err  error
}

// TestBenchSmokeAgainstSamsaAndKfake runs the whole single-broker bench
// small (2,000 records, one round, no ZooKeeper): both targets start, every
// record is read back, and the table has a row per workload and target.
func TestBenchSmokeAgainstSamsaAndKfake(t *testing.T) {
	bin := samsaForSmoke(t)
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
		"| end-to-end 1.00k rec/s, linger 0 | kfake |", "| read 1 KiB | samsa |", "| read 1 KiB | kfake |", "vs kfake:"} {
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
