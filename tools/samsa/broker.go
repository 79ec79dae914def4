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
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/samsa-io/samsa/broker"
	"github.com/samsa-io/samsa/broker/config"
	"github.com/samsa-io/samsa/controller"
	"github.com/samsa-io/samsa/controller/zk"
	plog "github.com/samsa-io/samsa/log"
	"github.com/samsa-io/samsa/log/atomicfile"
	"github.com/samsa-io/samsa/wire"
	"github.com/samsa-io/samsa/wire/membudget"
)

// brokerArgs is the parsed command line of "samsa broker".
type brokerArgs struct {
	configPath      string
	overrides       []string // key=value, in command-line order
	logLevel        zerolog.Level
	logFormat       string // console or json
	readyFile       string
	shutdownTimeout time.Duration
}

// listFlag collects a flag given several times.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// defaultShutdownTimeout bounds how long SIGTERM waits for the responses
// of requests in flight to reach clients. Waiting requests (a fetch
// waiting for records) answer at once when shutdown starts, so this only
// runs out for clients that do not read: the broker then closes their
// connections, and its logs, within seconds whatever clients do.
const defaultShutdownTimeout = 5 * time.Second

// controlledShutdownTimeout bounds a cluster broker's controlled shutdown
// (moving its leaderships away), which comes before the above.
const controlledShutdownTimeout = 30 * time.Second

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
	if err := serveBroker(ctx, cfg, a, logger, stdout); err != nil {
		logger.Error().Err(err).Msg("broker failed")
		return 1
	}
	logger.Info().Msg("broker stopped")
	return 0
}

// serveBroker runs one broker until ctx is done, then shuts it down
// gracefully: the servers stop accepting and finish the requests in
// flight, then the broker, the store and the logs close, the logs last
// because closing them writes the clean-shutdown markers that spare the
// next start a log recovery.
func serveBroker(ctx context.Context, cfg *config.Broker, a brokerArgs, logger zerolog.Logger, stdout io.Writer) (err error) {
	var cleanups []func() error
	defer func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			if cerr := cleanups[i](); cerr != nil && err == nil {
				err = cerr
			}
		}
	}()

	// Bind first: a port-0 listener's port must be known before the store
	// records this broker's advertised address, and a port in use should
	// fail before any data is opened.
	var listeners []net.Listener
	for _, l := range cfg.Listeners {
		ln, err := net.Listen("tcp", l.Addr())
		if err != nil {
			return fmt.Errorf("listener %s: %w", l.Name, err)
		}
		cleanups = append(cleanups, func() error { ln.Close(); return nil })
		listeners = append(listeners, ln)
		if l.Port == 0 {
			cfg.SetBoundPort(l.Name, int32(ln.Addr().(*net.TCPAddr).Port))
		}
	}
	adv := cfg.AdvertisedListeners[0]
	self := controller.Broker{ID: cfg.BrokerID, Host: adv.Host, Port: adv.Port, Rack: cfg.Rack}

	logs, err := plog.OpenManager(plog.ManagerConfig{
		Dirs:                   cfg.LogDirs,
		RetentionCheckInterval: cfg.LogRetentionCheckInterval,
		FlushCheckInterval:     flushCheckInterval(cfg),
		Logger:                 logger.With().Str("component", "log").Logger(),
		Now:                    time.Now,
		CleanerBackoff:         cfg.CleanerBackoff(),
		CleanerMaxKeys:         cfg.CleanerMaxKeys(),
	})
	if err != nil {
		return fmt.Errorf("open logs: %w", err)
	}
	cleanups = append(cleanups, wrapClose("close logs", logs.Close))

	store, err := openStore(ctx, cfg, self, logger.With().Str("component", "store").Logger())
	if err != nil {
		return fmt.Errorf("open metadata store: %w", err)
	}
	cleanups = append(cleanups, wrapClose("close metadata store", store.Close))
	if err := logs.ClaimDirs(cfg.BrokerID, store.ClusterID()); err != nil {
		return err
	}

	b, err := broker.New(broker.Options{Config: cfg, Store: store, Logs: logs, Logger: logger, Now: time.Now})
	if err != nil {
		return fmt.Errorf("start broker: %w", err)
	}
	cleanups = append(cleanups, func() error { b.Close(); return nil })

	// Broker-wide bounds shared by every listener: the bytes of requests
	// held at once, and the connection quotas (dynamic, so they follow
	// AlterConfigs).
	requestBudget := membudget.New(cfg.QueuedMaxRequestBytes)
	limits := wire.NewConnLimits(int(cfg.MaxConnections), int(cfg.MaxConnectionsPerIP), cfg.MaxConnectionsPerIPOverrides)
	setLimits := func(e *config.Broker) {
		limits.Set(int(e.MaxConnections), int(e.MaxConnectionsPerIP), e.MaxConnectionsPerIPOverrides)
	}
	setLimits(b.EffectiveConfig())
	stopWatching := b.OnConfigChange(setLimits)
	cleanups = append(cleanups, func() error { stopWatching(); return nil })

	servers := make([]*wire.Server, len(listeners))
	serveErr := make(chan error, len(listeners))
	addrs := make([]string, len(listeners))
	for i, ln := range listeners {
		name := cfg.Listeners[i].Name
		servers[i] = wire.NewServer(wire.ServerConfig{
			MaxRequestBytes: cfg.SocketRequestMaxBytes,
			IdleTimeout:     cfg.ConnectionsMaxIdle,
			RequestBudget:   requestBudget,
			Limits:          limits,
			Listener:        name,
			Logger:          logger.With().Str("listener", name).Logger(),
		}, b)
		go func(srv *wire.Server, ln net.Listener) {
			serveErr <- srv.Serve(ln)
		}(servers[i], ln)
		addrs[i] = dialAddr(ln.Addr())
		logger.Info().Str("listener", name).Str("bind", ln.Addr().String()).
			Str("advertised", cfg.AdvertisedListeners[min(i, len(cfg.AdvertisedListeners)-1)].Addr()).Msg("listening")
		fmt.Fprintf(stdout, "samsa broker listening on %s\n", addrs[i])
	}
	// Shut the servers down before the broker closes (cleanups run in
	// reverse).
	cleanups = append(cleanups, func() error {
		sctx, cancel := context.WithTimeout(context.Background(), a.shutdownTimeout)
		defer cancel()
		for _, srv := range servers {
			if err := srv.Shutdown(sctx); err != nil {
				// Clients that did not read their responses in time:
				// their connections are closed, the rest of the
				// shutdown goes on as usual.
				logger.Warn().Dur("shutdown_timeout", a.shutdownTimeout).
					Msg("closed connections whose clients had not read their responses")
			}
		}
		return nil
	})
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
		if cfg.ZookeeperConnect != "" && cfg.ControlledShutdownEnable {
			// Move leaderships away while still serving, so clients
			// find the new leaders before this broker goes.
			sctx, cancel := context.WithTimeout(context.Background(), controlledShutdownTimeout)
			if err := b.ControlledShutdown(sctx); err != nil {
				logger.Warn().Err(err).Msg("controlled shutdown incomplete; stopping anyway")
			}
			cancel()
		}
		return nil
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	}
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

// flushCheckInterval is how often the log manager looks for logs due a
// time-based flush. Kafka checks every log.flush.scheduler.interval.ms
// (never, by default); Samsa checks at least every second so a topic's
// flush.ms works without tuning the scheduler.
func flushCheckInterval(cfg *config.Broker) time.Duration {
	if d := cfg.LogFlushSchedulerInterval; d > 0 && d < time.Second {
		return d
	}
	return time.Second
}

func wrapClose(what string, closeFn func() error) func() error {
	return func() error {
		if err := closeFn(); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}
}

// dialAddr is an address a local client can dial: a listener bound to
// every interface is reached through the loopback address.
func dialAddr(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return addr.String()
	}
	host := tcp.IP.String()
	if tcp.IP == nil || tcp.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, strconv.Itoa(tcp.Port))
}
