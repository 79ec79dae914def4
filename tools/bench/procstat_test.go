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
	got, err := parseRSS(status)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(63488) * 1024; got != want {
		t.Errorf("parseRSS = %d, want %d", got, want)
	}
}

func TestParseRSSRejectsMissingOrMalformedLine(t *testing.T) {
	for _, status := range []string{"", "Name:\tx\nVmHWM:\t 5 kB\n", "VmRSS:\t 12 MB\n", "VmRSS:\t x kB\n", "VmRSS:\n"} {
		if _, err := parseRSS(status); err == nil {
			t.Errorf("parseRSS(%q) succeeded, want an error", status)
		}
	}
}

func TestProcessRSSReadsThisProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc")
	}
	rss, err := processRSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// A Go test binary holds at least a megabyte resident and less than
	// the machine.
	if rss < 1<<20 || rss > 1<<40 {
		t.Errorf("processRSS = %d bytes", rss)
	}
}
