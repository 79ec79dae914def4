package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/samsa-io/samsa/broker/config"
	"github.com/samsa-io/samsa/broker/node"
	"github.com/samsa-io/samsa/controller"
	"github.com/samsa-io/samsa/controller/zk"
	"github.com/samsa-io/samsa/log/atomicfile"
	"github.com/samsa-io/samsa/tools/devsecurity"
)

// brokerArgs is the parsed command line of "samsa broker".
type brokerArgs struct {
	configPath      string
	overrides       []string // key=value, in command-line order
	logLevel        zerolog.Level
	logFormat       string // console or json
	readyFile       string
	shutdownTimeout time.Duration
	devSecurity     bool
}

// listFlag collects a flag given several times.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// defaultShutdownTimeout bounds how long SIGTERM waits for the responses
// of requests in flight to reach clients (node.DefaultShutdownTimeout).
const defaultShutdownTimeout = node.DefaultShutdownTimeout

// parseBrokerArgs reads "samsa broker"'s flags. As with Kafka's
// kafka-server-start.sh, the properties file may also come as the one
// positional argument, before or among the flags.
func parseBrokerArgs(args []string, output io.Writer) (brokerArgs, error) {
	a := brokerArgs{logLevel: zerolog.InfoLevel, logFormat: "console", shutdownTimeout: defaultShutdownTimeout}
	fs := flag.NewFlagSet("samsa broker", flag.ContinueOnError)
	fs.SetOutput(output)
	var overrides listFlag
	var level string
	fs.StringVar(&a.configPath, "config", "", "server.properties `file` to read")
	fs.Var(&overrides, "override", "set a config, `key=value`, over the file (repeatable)")
	fs.Var(&overrides, "c", "short for --override (repeatable)")
	fs.StringVar(&level, "log-level", "info", "log `level`: trace, debug, info, warn or error")
	fs.StringVar(&a.logFormat, "log-format", "console", "log format: console or json")
	fs.StringVar(&a.readyFile, "ready-file", "", "write the listening addresses to `path` once serving")
	fs.BoolVar(&a.devSecurity, "dev-security", false, "secure the broker for development: SASL_SSL with SCRAM and PLAIN users, ACLs on, a CA and certificate generated in the data directory; prints client settings")
	fs.DurationVar(&a.shutdownTimeout, "shutdown-timeout", a.shutdownTimeout, "how long a graceful shutdown waits for responses to reach their clients before it closes their connections")
	fs.Usage = func() {
		fmt.Fprintf(output, "Usage: samsa broker [server.properties] [flags]\n\nFlags:\n")
		fs.PrintDefaults()
	}
	for {
		if err := fs.Parse(args); err != nil {
			return brokerArgs{}, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if a.configPath != "" {
			return brokerArgs{}, fmt.Errorf("unexpected argument %q (the config file is %s)", rest[0], a.configPath)
		}
		a.configPath, args = rest[0], rest[1:]
	}
	for _, o := range overrides {
		if k, _, ok := strings.Cut(o, "="); !ok || strings.TrimSpace(k) == "" {
			return brokerArgs{}, fmt.Errorf("override %q: want key=value", o)
		}
	}
	a.overrides = overrides
	lvl, err := zerolog.ParseLevel(strings.ToLower(level))
	if err != nil || level == "" {
		return brokerArgs{}, fmt.Errorf("unknown log level %q", level)
	}
	a.logLevel = lvl
	if a.logFormat != "console" && a.logFormat != "json" {
		return brokerArgs{}, fmt.Errorf("unknown log format %q: want console or json", a.logFormat)
	}
	return a, nil
}

func newLogger(a brokerArgs, w io.Writer) zerolog.Logger {
	zerolog.TimeFieldFormat = "2006-01-02T15:04:05.000Z07:00" // milliseconds, for ordering events
	if a.logFormat == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05.000"}
	}
	return zerolog.New(w).Level(a.logLevel).With().Timestamp().Logger()
}

func runBroker(args []string, stdout, stderr io.Writer) int {
	a, err := parseBrokerArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "samsa broker: %v\n", err)
		return 2
	}
	logger := newLogger(a, stderr)
	var dev *devsecurity.Material
	if a.devSecurity {
		if dev, a.overrides, err = prepareDevSecurity(a); err != nil {
			fmt.Fprintf(stderr, "samsa broker: %v\n", err)
			return 2
		}
	}
	cfg, warnings, err := config.Load(a.configPath, a.overrides)
	for _, w := range warnings {
		logger.Warn().Msg(w)
	}
	if err != nil {
		fmt.Fprintf(stderr, "samsa broker: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := serveBroker(ctx, cfg, a, dev, logger, stdout); err != nil {
		logger.Error().Err(err).Msg("broker failed")
		return 1
	}
	logger.Info().Msg("broker stopped")
	return 0
}

// serveBroker runs one broker (package broker/node) until ctx is done,
// then shuts it down gracefully: in a cluster its controlled shutdown
// first, then the servers stop accepting and finish the requests in
// flight, then the broker, the store and the logs close, the logs last
// because closing them writes the clean-shutdown markers that spare the
// next start a log recovery (node.Close).
func serveBroker(ctx context.Context, cfg *config.Broker, a brokerArgs, dev *devsecurity.Material, logger zerolog.Logger, stdout io.Writer) (err error) {
	var cleanups []func() error
	defer func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			if cerr := cleanups[i](); cerr != nil && err == nil {
				err = cerr
			}
		}
	}()

	n, err := node.Start(ctx, node.Options{
		Config: cfg,
		Logger: logger,
		OpenStore: func(ctx context.Context, self controller.Broker, cfg *config.Broker) (controller.Store, error) {
			return openStore(ctx, cfg, self, logger.With().Str("component", "store").Logger())
		},
		ShutdownTimeout: a.shutdownTimeout,
	})
	if err != nil {
		return err
	}
	cleanups = append(cleanups, n.Close)
	addrs := n.Addrs()
	if dev != nil {
		// Before the ready file: a client that waits for it finds the
		// users and their ACLs there.
		if err := dev.Provision(ctx, addrs[0]); err != nil {
			return fmt.Errorf("dev security: %w", err)
		}
		files, err := dev.WriteClientFiles(addrs[0])
		if err != nil {
			return fmt.Errorf("dev security: %w", err)
		}
		dev.PrintSettings(stdout, addrs[0], files)
	}
	for _, addr := range addrs {
		fmt.Fprintf(stdout, "samsa broker listening on %s\n", addr)
	}
	if a.readyFile != "" {
		// Written atomically, so a test polling for the file never reads
		// half of it; it need not survive a crash.
		err := atomicfile.Write(a.readyFile, []byte(strings.Join(addrs, "\n")+"\n"))
		if err != nil && !errors.Is(err, atomicfile.ErrDirNotSynced) {
			return fmt.Errorf("write ready file: %w", err)
		}
		cleanups = append(cleanups, func() error { os.Remove(a.readyFile); return nil })
	}
	logger.Info().Int32("broker.id", cfg.BrokerID).Strs("log.dirs", cfg.LogDirs).Msg("broker started")

	select {
	case <-ctx.Done():
		logger.Info().Msg("shutting down")
		// Move leaderships away while still serving, so clients find
		// the new leaders before this broker goes; the ready file goes
		// next, then the node closes (cleanups run in reverse).
		n.ControlledShutdown(context.Background())
		return nil
	case err := <-n.ServeErr():
		return fmt.Errorf("serve: %w", err)
	}
}

// prepareDevSecurity loads or generates the --dev-security material in
// the first log directory and returns the overrides that secure the
// broker, followed by the command line's own (which win). The one
// listener, SASL_SSL, takes the host and port of the first configured
// one.
func prepareDevSecurity(a brokerArgs) (*devsecurity.Material, []string, error) {
	cfg, _, err := config.Load(a.configPath, a.overrides)
	if err != nil {
		return nil, nil, err
	}
	l := cfg.Listeners[0]
	dev, err := devsecurity.Prepare(filepath.Join(cfg.LogDirs[0], devsecurity.DirName), []string{l.Host})
	if err != nil {
		return nil, nil, err
	}
	hostPort := net.JoinHostPort(l.Host, strconv.Itoa(int(l.Port)))
	overrides := dev.Overrides(hostPort)
	for _, o := range a.overrides {
		// listeners gave the host and port; the protocol is SASL_SSL.
		if k, _, _ := strings.Cut(o, "="); strings.TrimSpace(k) != "listeners" {
			overrides = append(overrides, o)
		}
	}
	return dev, overrides, nil
}

// openStore opens the cluster metadata store: ZooKeeper when
// zookeeper.connect is set, else the single-broker store in the first log
// directory.
func openStore(ctx context.Context, cfg *config.Broker, self controller.Broker, logger zerolog.Logger) (controller.Store, error) {
	if cfg.ZookeeperConnect == "" {
		return controller.NewLocalStore(cfg.LogDirs[0], cfg.BrokerID, self, logger)
	}
	var listeners []zk.Endpoint
	for _, l := range cfg.AdvertisedListeners {
		listeners = append(listeners, zk.Endpoint{Name: l.Name, Host: l.Host, Port: l.Port, SecurityProtocol: l.SecurityProtocol})
	}
	return zk.NewStore(ctx, zk.Config{
		Connect:                            cfg.ZookeeperConnect,
		SessionTimeout:                     cfg.ZookeeperSessionTimeout,
		ConnectionTimeout:                  cfg.ZookeeperConnectionTimeout,
		Self:                               self,
		Listeners:                          listeners,
		UncleanLeaderElection:              cfg.UncleanLeaderElection,
		AutoLeaderRebalance:                cfg.AutoLeaderRebalanceEnable,
		LeaderImbalanceCheckInterval:       cfg.LeaderImbalanceCheckInterval,
		LeaderImbalancePerBrokerPercentage: int(cfg.LeaderImbalancePerBrokerPercentage),
		Logger:                             logger,
		Now:                                time.Now,
	})
}
