// Command samsa is Samsa's one binary: the broker and the tools around it.
//
//	samsa broker [server.properties] [--config FILE] [--override key=value ...] [-c key=value ...]
//	samsa bench --brokers HOST:PORT ...
//	samsa config-table
//	samsa version
//	samsa help
package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/samsa-io/samsa/broker/config"
	"github.com/samsa-io/samsa/tools/bench"
)

// version is set at build time: go build -ldflags "-X main.version=v1.2.3".
var version = "dev"

const usage = `Samsa is a Kafka-compatible broker.

Usage:
  samsa broker [server.properties] [flags]   run a broker (samsa broker -h for flags)
  samsa bench [flags]                        measure produce and fetch throughput against a broker
  samsa config-table                         print the supported configuration keys as Markdown
  samsa version                              print the version
  samsa help                                 print this help
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches a command line and returns the exit code: 0 for success,
// 1 for a failure while running, 2 for a bad command line or configuration.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "broker":
		return runBroker(args[1:], stdout, stderr)
	case "bench":
		return bench.Main(args[1:])
	case "config-table":
		fmt.Fprint(stdout, config.MarkdownTable())
		return 0
	case "version", "--version", "-version":
		fmt.Fprintf(stdout, "samsa %s (%s, %s/%s)\n", buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "samsa: unknown command %q\n\n%s", args[0], usage)
	return 2
}

// buildVersion is the -ldflags version, else the module version of an
// installed binary ("go install ...@v1.2.3"), else "dev".
func buildVersion() string {
	if version != "dev" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return version
}
