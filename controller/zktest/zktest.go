// Package zktest runs a real ZooKeeper server for tests: a standalone
// server from the ZooKeeper jars installed on the machine (Debian's
// zookeeper package), in a temporary directory, on a free port.
//
// When java or the jars are missing, Start skips the test, unless the CI
// environment variable is set: then it fails it, so that CI cannot pass by
// skipping the ZooKeeper tests.
package zktest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// Classpath is where the server's classes are looked for; the
// ZOOKEEPER_CLASSPATH environment variable replaces it.
const Classpath = "/usr/share/java/zookeeper.jar:/usr/share/java/*:/etc/zookeeper/conf"

// Server is a running ZooKeeper server.
type Server struct {
	// Addr is host:port for zookeeper.connect.
	Addr string

	dir     string
	cfgPath string
	logPath string
	tb      testing.TB // nil for servers from Launch

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan error // receives the process's end
}

// ErrUnavailable is returned by Launch when java or the ZooKeeper jars
// are missing.
var ErrUnavailable = errors.New("zktest: java or the ZooKeeper jars are not installed")

// Start runs a server for the test and stops it when the test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s, err := Launch(tb.TempDir())
	if errors.Is(err, ErrUnavailable) {
		Unavailable(tb, err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	s.tb = tb
	tb.Cleanup(s.Stop)
	return s
}

// Unavailable skips the test because ZooKeeper cannot run here, or fails
// it when the CI environment variable is set.
func Unavailable(tb testing.TB, err error) {
	tb.Helper()
	if os.Getenv("CI") != "" {
		tb.Fatalf("ZooKeeper tests cannot run in CI: %v (install the zookeeper package)", err)
	}
	tb.Skipf("skipping: %v", err)
}

// Launch runs a server with its files in dir, for callers without a
// testing.TB (a TestMain); the caller stops it.
func Launch(dir string) (*Server, error) {
	classpath := os.Getenv("ZOOKEEPER_CLASSPATH")
	if classpath == "" {
		classpath = Classpath
		if _, err := os.Stat(strings.SplitN(Classpath, ":", 2)[0]); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
	}
	if _, err := exec.LookPath("java"); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Server{
		Addr:    net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		dir:     dir,
		cfgPath: filepath.Join(dir, "zoo.cfg"),
		logPath: filepath.Join(dir, "zookeeper.log"),
	}
	// A short tick lets sessions as short as 400 ms be negotiated (tests
	// use timeouts of a few seconds); the admin server would take a port.
	cfg := fmt.Sprintf(`tickTime=200
initLimit=10
syncLimit=5
dataDir=%s
clientPort=%d
clientPortAddress=127.0.0.1
admin.enableServer=false
minSessionTimeout=400
maxSessionTimeout=60000
maxClientCnxns=0
4lw.commands.whitelist=*
`, filepath.Join(dir, "data"), port)
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(s.cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	if err := s.start(classpath); err != nil {
		return nil, err
	}
	return s, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("zktest: find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) start(classpath string) error {
	logFile, err := os.OpenFile(s.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command("java",
		"-Xms32m", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
		"-Dzookeeper.admin.enableServer=false",
		"-cp", classpath,
		"org.apache.zookeeper.server.quorum.QuorumPeerMain", s.cfgPath)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Dir = s.dir
	setParentDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("zktest: start ZooKeeper: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	if err := waitServing(s.Addr, 30*time.Second, exited); err != nil {
		cmd.Process.Kill()
		log, _ := os.ReadFile(s.logPath)
		return fmt.Errorf("zktest: ZooKeeper at %s did not come up: %v\n%s", s.Addr, err, tail(log, 4000))
	}
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	return nil
}

// waitServing waits until a ZooKeeper client gets a session.
func waitServing(addr string, timeout time.Duration, exited <-chan error) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("the server exited: %v", err)
		default:
		}
		if err := trySession(addr); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("no session within %v", timeout)
}

func trySession(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	c.Close()
	conn, events, err := zk.Connect([]string{addr}, 4*time.Second, zk.WithLogger(quiet{}))
	if err != nil {
		return err
	}
	defer conn.Close()
	timeout := time.After(3 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				return nil
			}
		case <-timeout:
			return errors.New("no session")
		}
	}
}

type quiet struct{}

func (quiet) Printf(string, ...any) {}

// Stop kills the server (as a crash would: no clean shutdown), keeping
// its data for Restart. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd, s.exited = nil, nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill()
	// Once the process is gone its port is free for a Restart.
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
	}
}

// Restart stops the server if it runs and starts it again on the same
// port with the same data.
func (s *Server) Restart() {
	s.Stop()
	classpath := os.Getenv("ZOOKEEPER_CLASSPATH")
	if classpath == "" {
		classpath = Classpath
	}
	if err := s.start(classpath); err != nil {
		if s.tb != nil {
			s.tb.Fatal(err)
		}
		panic(err)
	}
}

// Log returns the server's log, for failure messages.
func (s *Server) Log() string {
	data, _ := os.ReadFile(s.logPath)
	return string(data)
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
