// Package node runs one broker: it binds the listeners, opens the
// partition logs and the metadata store, builds the broker, serves every
// listener with a wire.Server, and stops all of it in the right order,
// gracefully (Shutdown, Close) or as a crash would (Kill). The samsa
// binary (tools/samsa), the tests and the embedded package start brokers
// through it, so they all run the same wiring.
//
// Why a package of its own: package broker serves Kafka's APIs and owns
// the partition state; the process around it (sockets, the order in
// which logs, store and broker open and close, clean-shutdown markers,
// request budgets and connection quotas shared by the listeners) is a
// second job, which the binary's main used to do alone. It sits under
// broker because it serves one broker and nothing else, and apart from
// it because it imports broker, wire, log and controller, none of which
// should import the others' setup. It knows no store but the
// single-broker LocalStore: a cluster's store (ZooKeeper in the binary,
// an in-process twin in an embedded cluster) is opened by the caller
// through Options.OpenStore, so importing node does not bring in a
// ZooKeeper client.
//
// Ownership: a Node owns everything Start opened and releases it once,
// in whichever of Close, Shutdown and Kill comes first; later calls do
// nothing. Every method is safe to call from any goroutine.
package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/samsa-io/samsa/broker"
	"github.com/samsa-io/samsa/broker/config"
	"github.com/samsa-io/samsa/broker/metrics"
	"github.com/samsa-io/samsa/broker/quota"
	"github.com/samsa-io/samsa/broker/tlsconf"
	"github.com/samsa-io/samsa/controller"
	plog "github.com/samsa-io/samsa/log"
	"github.com/samsa-io/samsa/wire"
	"github.com/samsa-io/samsa/wire/membudget"
)

// DefaultShutdownTimeout bounds how long a graceful shutdown waits for the
// responses of requests in flight to reach clients. Waiting requests (a
// fetch waiting for records) answer at once when shutdown starts, so this
// only runs out for clients that do not read: the broker then closes
// their connections, and its logs, within seconds whatever clients do.
const DefaultShutdownTimeout = 5 * time.Second

// controlledShutdownTimeout bounds a cluster broker's controlled shutdown
// (moving its leaderships away), which comes before the above.
const controlledShutdownTimeout = 30 * time.Second

// Options are what a Node is started from.
type Options struct {
	// Config is the broker's configuration. Start binds its listeners
	// and writes the ports of those given port 0 back into it
	// (config.Broker.SetBoundPort), so a second Start from the same
	// Config binds, and advertises, the same ports: a restarted broker
	// keeps its address.
	Config *config.Broker
	// Logger receives the broker's logs; the zero Logger discards them.
	Logger zerolog.Logger
	// OpenStore opens the metadata store once the listeners are bound,
	// given this broker as the store should record it (broker.id, the
	// first advertised listener's host and port, broker.rack). Nil opens
	// the single-broker LocalStore in the first log directory, which
	// needs zookeeper.connect unset.
	OpenStore func(ctx context.Context, self controller.Broker, cfg *config.Broker) (controller.Store, error)
	// Dial makes every connection this broker opens to another broker
	// (broker.Options.Dial): nil means TCP. A test harness passes its
	// own to cut the broker off from the others' replication traffic.
	Dial wire.DialFunc
	// ShutdownTimeout bounds how long Shutdown and Close wait for the
	// responses of requests in flight to reach clients before closing
	// their connections; zero closes them at once. The binary's default
	// is DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
}

// Crasher is a metadata store that can stop as its process dying would:
// a cluster store's session is left to expire, as after kill -9, instead
// of the broker deregistering. Kill calls Crash on a store that has it,
// else Close.
type Crasher interface {
	Crash()
}

// Node is one running broker with its listeners, logs, store and servers.
type Node struct {
	cfg             *config.Broker
	logger          zerolog.Logger
	shutdownTimeout time.Duration

	listeners    []net.Listener
	addrs        []string // dialable, one per listener
	logs         *plog.Manager
	store        controller.Store
	single       bool // the store is the single-broker LocalStore
	broker       *broker.Broker
	stopWatching func()
	servers      []*wire.Server
	serving      sync.WaitGroup // the servers' Serve goroutines
	serveErr     chan error

	// metricsServer serves metrics.listener (nil when it is unset), from
	// Start to the end of the node's stop, so /readyz can tell a
	// starting or stopping broker from a serving one.
	metricsServer *metrics.Server
	// ready is set once every listener serves; stopping once Close,
	// Shutdown or Kill begins (Node.notReady).
	ready, stopping atomic.Bool

	// held is closed by ReleaseRequests; nil while requests pass
	// (HoldRequests).
	held atomic.Pointer[chan struct{}]

	mu      sync.Mutex
	stopped bool
}

// Start runs a broker: it binds the listeners, opens the logs and the
// store, claims the log directories, builds the broker and serves every
// listener. When a step fails, what was opened is closed again and the
// error names the step. ctx bounds opening the store only.
func Start(ctx context.Context, opts Options) (_ *Node, err error) {
	cfg := opts.Config
	if cfg == nil || len(cfg.Listeners) == 0 || len(cfg.AdvertisedListeners) == 0 {
		return nil, errors.New("start broker: no config, or no listener in it")
	}
	n := &Node{cfg: cfg, logger: opts.Logger, shutdownTimeout: opts.ShutdownTimeout}
	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()

	// Bind first: a port-0 listener's port must be known before the store
	// records this broker's advertised address, and a port in use should
	// fail before any data is opened.
	for _, l := range cfg.Listeners {
		ln, err := net.Listen("tcp", l.Addr())
		if err != nil {
			return nil, fmt.Errorf("listener %s: %w", l.Name, err)
		}
		undo = append(undo, func() { ln.Close() })
		n.listeners = append(n.listeners, ln)
		n.addrs = append(n.addrs, dialAddr(ln.Addr()))
		if l.Port == 0 {
			cfg.SetBoundPort(l.Name, int32(ln.Addr().(*net.TCPAddr).Port))
		}
	}
	var brokerMetrics *metrics.Metrics
	if cfg.MetricsListener != "" {
		brokerMetrics = metrics.New()
		n.metricsServer, err = metrics.Listen(cfg.MetricsAddr(), brokerMetrics, n.notReady,
			n.logger.With().Str("component", "metrics").Logger())
		if err != nil {
			return nil, err
		}
		undo = append(undo, func() { n.metricsServer.Close() })
		cfg.SetMetricsBoundPort(n.metricsServer.Port())
		n.logger.Info().Str("metrics", "http://"+n.metricsServer.Addr()).Msg("serving metrics")
	}
	adv := cfg.AdvertisedListeners[0]
	self := controller.Broker{ID: cfg.BrokerID, Host: adv.Host, Port: adv.Port, Rack: cfg.Rack}
	var names, hosts []string
	var ports []int32
	for _, l := range cfg.AdvertisedListeners {
		names, hosts, ports = append(names, l.Name), append(hosts, l.Host), append(ports, l.Port)
	}
	self.Endpoints = controller.JoinEndpoints(names, hosts, ports)

	n.logs, err = plog.OpenManager(plog.ManagerConfig{
		Dirs:                   cfg.LogDirs,
		RetentionCheckInterval: cfg.LogRetentionCheckInterval,
		FlushCheckInterval:     flushCheckInterval(cfg),
		CheckpointInterval:     cfg.ReplicaHighWatermarkCheckpointInterval,
		Logger:                 n.logger.With().Str("component", "log").Logger(),
		Now:                    time.Now,
		CleanerBackoff:         cfg.CleanerBackoff(),
		CleanerMaxKeys:         cfg.CleanerMaxKeys(),
	})
	if err != nil {
		return nil, fmt.Errorf("open logs: %w", err)
	}
	undo = append(undo, func() { n.logs.Close() })

	openStore := opts.OpenStore
	if openStore == nil {
		openStore = n.openLocalStore
	}
	n.store, err = openStore(ctx, self, cfg)
	if err != nil {
		return nil, fmt.Errorf("open metadata store: %w", err)
	}
	undo = append(undo, func() { n.store.Close() })
	_, n.single = n.store.(*controller.LocalStore)
	if err := n.logs.ClaimDirs(cfg.BrokerID, n.store.ClusterID()); err != nil {
		return nil, err
	}

	brokerOpts := broker.Options{Config: cfg, Store: n.store, Logs: n.logs, Logger: n.logger, Now: time.Now, Dial: opts.Dial}
	if brokerMetrics != nil {
		brokerOpts.Observer = brokerMetrics
	}
	n.broker, err = broker.New(brokerOpts)
	if err != nil {
		return nil, fmt.Errorf("start broker: %w", err)
	}
	undo = append(undo, n.broker.Close)

	// Broker-wide bounds shared by every listener: the bytes of requests
	// held at once, and the connection quotas (dynamic, so they follow
	// AlterConfigs).
	requestBudget := membudget.New(cfg.QueuedMaxRequestBytes)
	limits := wire.NewConnLimits(int(cfg.MaxConnections), int(cfg.MaxConnectionsPerIP), cfg.MaxConnectionsPerIPOverrides)
	creationRates := quota.NewConnectionRates(quota.Window{Samples: int(cfg.QuotaWindowNum), Size: time.Duration(cfg.QuotaWindowSizeSeconds) * time.Second})
	limits.SetCreationRate(creationRates)
	setLimits := func(e *config.Broker) {
		limits.Set(int(e.MaxConnections), int(e.MaxConnectionsPerIP), e.MaxConnectionsPerIPOverrides)
		creationRates.Set(e.MaxConnectionCreationRate, n.store.ListEntityConfigs(controller.EntityIPs))
		// As Kafka protects the inter-broker listener from the
		// broker-wide rate only when there are others (ConnectionQuotas).
		protected := ""
		if len(e.Listeners) > 1 {
			protected = e.InterBrokerListener().Name
		}
		creationRates.SetListeners(e.ListenerConnectionCreationRates(), protected)
	}
	setLimits(n.broker.EffectiveConfig())
	n.stopWatching = n.broker.OnConfigChange(setLimits)
	if brokerMetrics != nil {
		err := brokerMetrics.Watch(metrics.Sources{Broker: n.broker, Store: n.store, RequestBudget: requestBudget, Connections: limits.Open})
		if err != nil {
			return nil, err
		}
	}

	// TLS setups first: a key store that does not load fails the start
	// before any listener serves.
	serverCfgs := make([]wire.ServerConfig, len(n.listeners))
	for i, l := range cfg.Listeners {
		serverCfgs[i] = wire.ServerConfig{
			MaxRequestBytes: cfg.SocketRequestMaxBytes,
			IdleTimeout:     cfg.ConnectionsMaxIdle,
			RequestBudget:   requestBudget,
			Limits:          limits,
			Listener:        l.Name,
			Logger:          n.logger.With().Str("listener", l.Name).Logger(),
		}
		if l.UsesTLS() {
			if err := n.serveTLS(&serverCfgs[i], l); err != nil {
				return nil, err
			}
		}
	}
	n.serveErr = make(chan error, len(n.listeners))
	for i, ln := range n.listeners {
		name := cfg.Listeners[i].Name
		srv := wire.NewServer(serverCfgs[i], gatedHandler{n})
		n.servers = append(n.servers, srv)
		n.serving.Add(1)
		go func() {
			defer n.serving.Done()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, wire.ErrServerClosed) {
				n.serveErr <- err
			}
		}()
		n.logger.Info().Str("listener", name).Str("bind", ln.Addr().String()).
			Str("advertised", cfg.AdvertisedListeners[min(i, len(cfg.AdvertisedListeners)-1)].Addr()).Msg("listening")
	}
	n.ready.Store(true)
	return n, nil
}

// serveTLS sets up TLS for an SSL or SASL_SSL listener from its ssl.*
// settings (dynamic ones included), and follows AlterConfigs changes of
// its key store so new connections get the new certificate. On an SSL
// listener the client certificate gives the principal; on SASL_SSL the
// SASL login does.
func (n *Node) serveTLS(serverCfg *wire.ServerConfig, l config.Listener) error {
	logger := n.logger.With().Str("listener", l.Name).Logger()
	tl, err := tlsconf.NewListener(l.Name, n.broker.EffectiveConfig().ListenerSSL(l.Name), logger)
	if err != nil {
		return fmt.Errorf("TLS: %w", err)
	}
	serverCfg.TLS = tl.ServerConfig()
	if l.SecurityProtocol == "SSL" {
		serverCfg.TLSPrincipal = tl.Principal
	}
	stop := n.broker.OnConfigChange(func(e *config.Broker) {
		if err := tl.Update(e.ListenerSSL(l.Name)); err != nil {
			logger.Error().Err(err).Msg("new TLS settings refused; the listener keeps its certificate")
		}
	})
	prev := n.stopWatching
	n.stopWatching = func() { prev(); stop() }
	return nil
}

// MetricsAddr is the address metrics.listener bound, dialable from this
// host (host:port), or empty when it is unset.
func (n *Node) MetricsAddr() string {
	if n.metricsServer == nil {
		return ""
	}
	return n.metricsServer.Addr()
}

// notReady answers /readyz: why the broker does not serve now, nil when
// it does. It serves once its logs are open and its listeners up, while
// its metadata store's session lives and the cluster lists it among its
// live brokers, until it begins to stop.
func (n *Node) notReady() error {
	switch {
	case n.stopping.Load():
		return errors.New("shutting down")
	case !n.ready.Load():
		return errors.New("starting")
	}
	if s, ok := n.store.(controller.SessionStater); ok {
		if state := s.SessionState(); state != controller.SessionConnected {
			return fmt.Errorf("metadata store session %s", state)
		}
	}
	for _, b := range n.store.Brokers() {
		if b.ID == n.cfg.BrokerID {
			return nil
		}
	}
	return fmt.Errorf("broker %d is not registered in the cluster", n.cfg.BrokerID)
}

// openLocalStore opens the single-broker store in the first log
// directory.
func (n *Node) openLocalStore(_ context.Context, self controller.Broker, cfg *config.Broker) (controller.Store, error) {
	if cfg.ZookeeperConnect != "" {
		return nil, errors.New("zookeeper.connect is set, but no OpenStore was given to open a cluster's store")
	}
	return controller.NewLocalStore(cfg.LogDirs[0], cfg.BrokerID, self, n.logger.With().Str("component", "store").Logger())
}

// Addrs returns an address a local client can dial for each listener, in
// the order of the listeners config.
func (n *Node) Addrs() []string { return append([]string(nil), n.addrs...) }

// Broker returns the running broker, for tests that call its handlers
// directly or its methods (EffectiveConfig, OnConfigChange).
func (n *Node) Broker() *broker.Broker { return n.broker }

// ServeErr delivers the error of a listener that stopped serving on its
// own (its accept failed); the broker should then be stopped. Nothing is
// delivered for listeners stopped by Close, Shutdown or Kill.
func (n *Node) ServeErr() <-chan error { return n.serveErr }

// HoldRequests makes the broker stop answering, as a stopped process
// (SIGSTOP) does for its clients: from now on every request on every
// listener waits, unanswered, until ReleaseRequests. Connections are
// still accepted and requests read (a stopped process's kernel accepts
// and buffers them too), and clients time out as they would. A held
// request whose connection closes, or whose node stops, is dropped with
// its connection, so Kill and Close do not wait for ReleaseRequests.
//
// Only request handling stops: the broker's own work (replica fetchers,
// ISR checks, the group coordinator's timers) goes on. A harness that
// models a paused process also cuts the broker off from the other
// brokers (Options.Dial) and from the metadata store; package
// broker/embedded's Pause does all three.
func (n *Node) HoldRequests() {
	held := make(chan struct{})
	n.held.CompareAndSwap(nil, &held)
}

// ReleaseRequests lets held requests, and those after them, through
// again. It does nothing when requests are not held.
func (n *Node) ReleaseRequests() {
	if held := n.held.Swap(nil); held != nil {
		close(*held)
	}
}

// gatedHandler is what the listeners serve: the broker, behind the gate
// of HoldRequests.
type gatedHandler struct{ n *Node }

func (g gatedHandler) ServeKafka(ctx context.Context, conn *wire.Conn, req *wire.Request) (*wire.Response, error) {
	if held := g.n.held.Load(); held != nil {
		select {
		case <-*held:
		case <-ctx.Done():
			return nil, fmt.Errorf("request held (HoldRequests) until its connection closed: %w", ctx.Err())
		}
	}
	return g.n.broker.ServeKafka(ctx, conn, req)
}

// ControlledShutdown moves this broker's leaderships to other in-sync
// replicas while it still serves, so clients find the new leaders before
// it goes (controlled.shutdown.enable; Kafka's controlled shutdown). A
// single broker (LocalStore) has nowhere to move them and skips it. It is
// bounded by ctx and 30 seconds; a failure is logged and returned, and
// the broker can stop anyway. Shutdown calls it first; a caller with
// something to do between the two steps calls it, then Close.
func (n *Node) ControlledShutdown(ctx context.Context) error {
	n.stopping.Store(true) // /readyz: load balancers stop routing here now
	if n.single || !n.cfg.ControlledShutdownEnable || n.isStopped() {
		return nil
	}
	sctx, cancel := context.WithTimeout(ctx, controlledShutdownTimeout)
	defer cancel()
	if err := n.broker.ControlledShutdown(sctx); err != nil {
		n.logger.Warn().Err(err).Msg("controlled shutdown incomplete; stopping anyway")
		return err
	}
	return nil
}

// Shutdown stops the broker gracefully: its controlled shutdown first
// (ControlledShutdown, in a cluster), then Close. ctx can cut both short.
func (n *Node) Shutdown(ctx context.Context) error {
	n.ControlledShutdown(ctx) // logged; the broker stops anyway
	return n.close(ctx)
}

// Close stops the broker without moving its leaderships first: the
// servers stop accepting and finish the requests in flight (for at most
// Options.ShutdownTimeout), then the broker, the store and the logs
// close, the logs last because closing them writes the clean-shutdown
// markers that spare the next start a log recovery. It returns the first
// failure to close the store or the logs.
func (n *Node) Close() error { return n.close(context.Background()) }

func (n *Node) close(ctx context.Context) error {
	if !n.markStopped() {
		return nil
	}
	sctx, cancel := context.WithTimeout(ctx, n.shutdownTimeout)
	defer cancel()
	for _, srv := range n.servers {
		switch err := srv.Shutdown(sctx); {
		case errors.Is(err, wire.ErrHandlersAbandoned):
			// A request still working after its connection was
			// closed: the rest of the shutdown does not wait for it.
			n.logger.Warn().Err(err).Msg("stopping with requests still being served")
		case err != nil:
			// Clients that did not read their responses in time:
			// their connections are closed, the rest of the
			// shutdown goes on as usual.
			n.logger.Warn().Dur("shutdown_timeout", n.shutdownTimeout).
				Msg("closed connections whose clients had not read their responses")
		}
	}
	n.serving.Wait()
	n.stopWatching()
	n.broker.Close()
	var errs []error
	if err := n.store.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close metadata store: %w", err))
	}
	if err := n.logs.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close logs: %w", err))
	}
	n.closeListeners()
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// Kill stops the broker as kill -9 would leave it, for tests and
// embedded clusters: no controlled shutdown, every connection dropped at
// once without waiting for responses, the store crashed (Crasher) or
// else closed, and the logs abandoned (log.Manager.Abandon): nothing
// more is written and no clean-shutdown marker, so a Start from the same
// Config recovers every log as after a crash. Records already written
// stay, as they would in a killed process's page cache; an acknowledged
// record is never lost. The goroutines stop and the files and directory
// locks are released, so the broker can be started again in-process.
func (n *Node) Kill() {
	if !n.markStopped() {
		return
	}
	n.logger.Info().Msg("killed: no clean shutdown")
	noWait, cancel := context.WithCancel(context.Background())
	cancel()
	for _, srv := range n.servers {
		srv.Shutdown(noWait) // closes every connection at once
	}
	n.serving.Wait()
	n.stopWatching()
	n.broker.Close()
	if c, ok := n.store.(Crasher); ok {
		c.Crash()
	} else {
		n.store.Close()
	}
	n.logs.Abandon()
	n.closeListeners()
}

// markStopped reports whether this call is the one that stops the node.
func (n *Node) markStopped() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopped {
		return false
	}
	n.stopped = true
	n.stopping.Store(true)
	return true
}

func (n *Node) isStopped() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stopped
}

func (n *Node) closeListeners() {
	for _, ln := range n.listeners {
		ln.Close() // closed already by its server, unless Serve never ran
	}
	if n.metricsServer != nil {
		n.metricsServer.Close() // last: /readyz says "shutting down" until now
	}
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
