package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's times: 100 on
// every Linux architecture Go runs on (sysconf(_SC_CLK_TCK)).
const clockTicks = 100

// parseProcStat returns utime+stime from the text of /proc/<pid>/stat.
// The command name (field 2) is in parentheses and may hold spaces and
// parentheses itself, so the fields are counted from the last ')'.
func parseProcStat(stat string) (time.Duration, error) {
	end := strings.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, fmt.Errorf("parse /proc stat: no command name in %q", stat)
	}
	// After ") ": field 3 (state) onwards; utime and stime are 14 and 15.
	fields := strings.Fields(stat[end+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("parse /proc stat: %d fields after the command name, want at least 13", len(fields))
	}
	var ticks uint64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse /proc stat: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// processCPU returns the CPU time (user and system) pid has used so far.
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseProcStat(string(b))
}

// cpuOf sums the CPU time of pids.
func cpuOf(pids []int) (time.Duration, error) {
	var total time.Duration
	for _, pid := range pids {
		d, err := processCPU(pid)
		if err != nil {
			return 0, err
		}
		total += d
	}
	return total, nil
}

// rssParts is a process's resident memory as /proc/<pid>/status splits
// it, in bytes: anonymous (the Go heap and stacks) and file-backed (mapped
// files: the binary, and any segment or index a broker maps).
type rssParts struct {
	Total, Anon, File int64
}

// parseRSSParts reads VmRSS, RssAnon and RssFile from the text of
// /proc/<pid>/status; the last two are 0 on kernels before 4.5, which
// lack them.
func parseRSSParts(status string) (rssParts, error) {
	var p rssParts
	found := false
	for line := range strings.Lines(status) {
		key, rest, ok := strings.Cut(line, ":")
		var dst *int64
		switch key {
		case "VmRSS":
			dst, found = &p.Total, true
		case "RssAnon":
			dst = &p.Anon
		case "RssFile":
			dst = &p.File
		}
		if !ok || dst == nil {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return p, fmt.Errorf("parse /proc status: %s line %q", key, strings.TrimSpace(line))
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return p, fmt.Errorf("parse /proc status: %w", err)
		}
		*dst = kb << 10
	}
	if !found {
		return p, fmt.Errorf("parse /proc status: no VmRSS line")
	}
	return p, nil
}

// processRSSParts returns pid's resident memory, split.
func processRSSParts(pid int) (rssParts, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return rssParts{}, err
	}
	return parseRSSParts(string(b))
}
