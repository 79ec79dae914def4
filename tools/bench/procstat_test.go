package main

import (
	"os"
	"testing"
	"time"
)

func TestParseProcStatAddsUserAndSystemTime(t *testing.T) {
	// utime 250 and stime 75 ticks; the command name holds a space and a
	// parenthesis, as a process may name itself.
	stat := "4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 12 0 100 1000000 500 18446744073709551615\n"
	got, err := parseProcStat(stat)
	if err != nil {
		t.Fatal(err)
	}
	if want := 3250 * time.Millisecond; got != want {
		t.Errorf("parseProcStat = %v, want %v", got, want)
	}
}

func TestParseProcStatRejectsMalformedText(t *testing.T) {
	for _, stat := range []string{"", "1 cmd S 1", "1 (cmd) S 1 2 3", "1 (cmd) S 1 1 1 0 -1 0 0 0 0 0 x 5 0"} {
		if _, err := parseProcStat(stat); err == nil {
			t.Errorf("parseProcStat(%q) succeeded, want an error", stat)
		}
	}
}

func TestProcessCPUReadsThisProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	before, err := processCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(50 * time.Millisecond)
	for x := 0; time.Now().Before(deadline); x++ {
	}
	after, err := processCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if after < before {
		t.Errorf("CPU time went back: %v then %v", before, after)
	}
}

func TestParseRSSReadsVmRSSInBytes(t *testing.T) {
	status := "Name:\tsamsa\nVmPeak:\t  900000 kB\nVmHWM:\t   70000 kB\nVmRSS:\t   63488 kB\nRssAnon:\t   40000 kB\n"
	got, err := parseRSSParts(status)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(63488) * 1024; got.Total != want {
		t.Errorf("parseRSSParts = %+v, want VmRSS %d", got, want)
	}
}

func TestParseRSSPartsSplitsAnonymousFromFileBacked(t *testing.T) {
	status := "VmRSS:\t   63488 kB\nRssAnon:\t   40000 kB\nRssFile:\t   23000 kB\nRssShmem:\t     488 kB\n"
	got, err := parseRSSParts(status)
	if err != nil {
		t.Fatal(err)
	}
	if want := (rssParts{Total: 63488 << 10, Anon: 40000 << 10, File: 23000 << 10}); got != want {
		t.Errorf("parseRSSParts = %+v, want %+v", got, want)
	}
	if _, err := parseRSSParts("VmRSS:\t 1 kB\nRssFile:\t 2 MB\n"); err == nil {
		t.Error("an RssFile in MB was accepted")
	}
}

func TestParseRSSRejectsMissingOrMalformedLine(t *testing.T) {
	for _, status := range []string{"", "Name:\tx\nVmHWM:\t 5 kB\n", "VmRSS:\t 12 MB\n", "VmRSS:\t x kB\n", "VmRSS:\n"} {
		if _, err := parseRSSParts(status); err == nil {
			t.Errorf("parseRSSParts(%q) succeeded, want an error", status)
		}
	}
}

func TestProcessRSSPartsReadsThisProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc")
	}
	rss, err := processRSSParts(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// A Go test binary holds at least a megabyte resident, less than the
	// machine, and its parts within the whole.
	if rss.Total < 1<<20 || rss.Total > 1<<40 || rss.Anon+rss.File > rss.Total {
		t.Errorf("processRSSParts = %+v", rss)
	}
}
