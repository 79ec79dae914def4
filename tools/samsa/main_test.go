package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestParseBrokerArgsDefaults(t *testing.T) {
	a, err := parseBrokerArgs(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := brokerArgs{logLevel: zerolog.InfoLevel, logFormat: "console", shutdownTimeout: 5 * time.Second}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("got %+v, want %+v", a, want)
	}
}

func TestParseBrokerArgs(t *testing.T) {
	with := func(change func(a *brokerArgs)) brokerArgs {
		a := brokerArgs{logLevel: zerolog.InfoLevel, logFormat: "console", shutdownTimeout: 5 * time.Second}
		change(&a)
		return a
	}
	cases := []struct {
		name string
		args []string
		want brokerArgs
	}{
		{"config flag", []string{"--config", "s.properties"},
			with(func(a *brokerArgs) { a.configPath = "s.properties" })},
		{"positional config file, flags after it", []string{"s.properties", "--override", "num.partitions=3"},
			with(func(a *brokerArgs) { a.configPath, a.overrides = "s.properties", []string{"num.partitions=3"} })},
		{"overrides keep their order, long and short", []string{"--override", "a=1", "-c", "b=2", "--c=a=3", "-override=x.y= z"},
			with(func(a *brokerArgs) { a.overrides = []string{"a=1", "b=2", "a=3", "x.y= z"} })},
		{"logging", []string{"--log-level", "DEBUG", "--log-format", "json"},
			with(func(a *brokerArgs) { a.logLevel, a.logFormat = zerolog.DebugLevel, "json" })},
		{"ready file and shutdown timeout", []string{"--ready-file", "/tmp/r", "--shutdown-timeout", "2s"},
			with(func(a *brokerArgs) { a.readyFile, a.shutdownTimeout = "/tmp/r", 2*time.Second })},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseBrokerArgs(c.args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestParseBrokerArgsErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--override", "num.partitions"}, `override "num.partitions": want key=value`},
		{[]string{"-c", "=3"}, `want key=value`},
		{[]string{"--log-level", "loud"}, `unknown log level "loud"`},
		{[]string{"--log-format", "xml"}, `unknown log format "xml"`},
		{[]string{"a.properties", "b.properties"}, `unexpected argument "b.properties"`},
		{[]string{"--config", "a.properties", "b.properties"}, `unexpected argument "b.properties"`},
		{[]string{"--no-such-flag"}, "flag provided but not defined"},
	}
	for _, c := range cases {
		_, err := parseBrokerArgs(c.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.args, err, c.want)
		}
	}
	if _, err := parseBrokerArgs([]string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: error %v, want flag.ErrHelp", err)
	}
}

func runCmd(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCommands(t *testing.T) {
	if code, out, _ := runCmd("version"); code != 0 || !strings.HasPrefix(out, "samsa ") {
		t.Errorf("version: %d %q", code, out)
	}
	if code, out, _ := runCmd("help"); code != 0 || !strings.Contains(out, "samsa broker") {
		t.Errorf("help: %d %q", code, out)
	}
	if code, _, errOut := runCmd("frobnicate"); code != 2 || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: %d %q", code, errOut)
	}
	if code, _, errOut := runCmd(); code != 2 || !strings.Contains(errOut, "Usage") {
		t.Errorf("no command: %d %q", code, errOut)
	}
	if code, out, _ := runCmd("config-table"); code != 0 || !strings.Contains(out, "`log.retention.ms`") {
		t.Errorf("config-table: %d %q", code, out)
	}
	if code, _, errOut := runCmd("broker", "--help"); code != 0 || !strings.Contains(errOut, "--ready-file") && !strings.Contains(errOut, "-ready-file") {
		t.Errorf("broker --help: %d %q", code, errOut)
	}
}

// The broker refuses a bad configuration before it opens anything.
func TestBrokerConfigErrorsExitWithStatus2(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "server.properties")
	if err := os.WriteFile(path, []byte("log.segment.bytes=abc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCmd("broker", "--config", path, "-c", "log.dirs="+dir)
	if code != 2 || !strings.Contains(errOut, `invalid value "abc" for log.segment.bytes: not a number`) {
		t.Errorf("invalid value: %d %q", code, errOut)
	}
	code, _, errOut = runCmd("broker", "-c", "zookeeper.connect=localhost:notaport", "-c", "log.dirs="+dir)
	if code != 2 || !strings.Contains(errOut, `invalid value "localhost:notaport" for zookeeper.connect`) {
		t.Errorf("zookeeper.connect: %d %q", code, errOut)
	}
	code, _, errOut = runCmd("broker", "--config", filepath.Join(dir, "missing.properties"))
	if code != 2 || !strings.Contains(errOut, "missing.properties") {
		t.Errorf("missing file: %d %q", code, errOut)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the broker wrote to its log dir before failing: %v", entries)
	}
}

func TestUnknownKeysAreLoggedAsWarnings(t *testing.T) {
	dir := t.TempDir()
	// An invalid value after the unknown key makes the broker stop once
	// the warnings are out.
	code, _, errOut := runCmd("broker", "--log-format", "json", "-c", "num.network.threads=3",
		"-c", "log.segment.bytes=abc", "-c", "log.dirs="+dir)
	if code != 2 || !strings.Contains(errOut, `"level":"warn"`) || !strings.Contains(errOut, "num.network.threads") {
		t.Errorf("%d %q", code, errOut)
	}
}
