package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
)

// Server is the broker's HTTP endpoint (metrics.listener):
//
//   - /metrics: the registry in Prometheus' text format;
//   - /healthz: 200 while the process is up, whatever the broker does;
//   - /readyz: 200 while the broker serves, else 503 with the reason on
//     one line (starting, its metadata store session lost, shutting
//     down): what a load balancer or an orchestrator should route on;
//   - /debug/pprof/: Go's profiles of the running broker (CPU, heap,
//     allocations, goroutines, mutex and block contention, traces).
//     Contention is not sampled while nobody asks (it costs on every
//     lock): /debug/pprof/block?seconds=N and /debug/pprof/mutex?seconds=N
//     turn sampling on for those N seconds and return what they saw.
type Server struct {
	ln   net.Listener
	http *http.Server
	done chan struct{}
}

// Ready reports why the broker does not serve now, nil when it does.
type Ready func() error

// Listen binds addr (host:port; port 0 picks one) and serves m there
// until Close. ready answers /readyz.
func Listen(addr string, m *Metrics, ready Ready, logger zerolog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listener %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		ErrorLog:      promLogger{logger},
		ErrorHandling: promhttp.ContinueOnError,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := ready(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready:", err)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	mux.Handle("GET /debug/pprof/block", &contention.block)
	mux.Handle("GET /debug/pprof/mutex", &contention.mutex)
	s := &Server{
		ln:   ln,
		http: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error().Err(err).Msg("metrics listener stopped")
		}
	}()
	return s, nil
}

// Addr is the address bound, dialable from this host: a listener on
// every interface is reached on the loopback address.
func (s *Server) Addr() string {
	tcp, ok := s.ln.Addr().(*net.TCPAddr)
	if !ok {
		return s.ln.Addr().String()
	}
	if tcp.IP == nil || tcp.IP.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", fmt.Sprint(tcp.Port))
	}
	return tcp.String()
}

// Port is the port bound.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Close stops serving: scrapes in flight get a second to finish.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := s.http.Shutdown(ctx)
	if err != nil {
		err = s.http.Close()
	}
	<-s.done
	return err
}

// promLogger passes promhttp's errors (a collector that failed) to the
// broker's log.
type promLogger struct{ l zerolog.Logger }

func (p promLogger) Println(v ...any) { p.l.Warn().Msg(fmt.Sprint(v...)) }

// contentionProfile serves the block or mutex profile, sampling while at
// least one request with seconds=N is in progress (the profile is then
// the difference over those N seconds), and not otherwise.
type contentionProfile struct {
	name    string
	setRate func(on bool)

	mu      sync.Mutex
	readers int
}

// contention holds the process's two contention profiles: the sampling
// rates are process-wide, so every metrics listener shares them.
var contention = struct{ block, mutex contentionProfile }{
	block: contentionProfile{name: "block", setRate: func(on bool) {
		rate := 0
		if on {
			rate = 1000 // one sample per microsecond spent blocked, on average
		}
		runtime.SetBlockProfileRate(rate)
	}},
	mutex: contentionProfile{name: "mutex", setRate: func(on bool) {
		fraction := 0
		if on {
			fraction = 10 // one contended hand-off in ten
		}
		runtime.SetMutexProfileFraction(fraction)
	}},
}

func (c *contentionProfile) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.FormValue("seconds") != "" {
		c.mu.Lock()
		if c.readers == 0 {
			c.setRate(true)
		}
		c.readers++
		c.mu.Unlock()
		defer func() {
			c.mu.Lock()
			c.readers--
			if c.readers == 0 {
				c.setRate(false)
			}
			c.mu.Unlock()
		}()
	}
	pprof.Handler(c.name).ServeHTTP(w, r)
}
