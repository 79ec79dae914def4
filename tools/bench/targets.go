package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/samsa-io/samsa/controller/zktest"
)

// kfakeSubcommand is the hidden subcommand (and kfakeEnv the environment
// variable, for test binaries) under which the bench binary serves a kfake
// cluster instead of benchmarking: kfake then runs in a process of its own,
// so its CPU is measured apart from the producer's, as Samsa's is.
const (
	kfakeSubcommand = "serve-kfake"
	kfakeEnv        = "SAMSA_BENCH_SERVE_KFAKE"
)

// serveKfake runs a one-broker kfake cluster on a free loopback port,
// prints its address on stdout and serves until SIGTERM or stdin closes.
func serveKfake() int {
	// A port the kernel picks, on loopback only.
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.ListenFn(func(network, _ string) (net.Listener, error) {
		return net.Listen(network, "127.0.0.1:0")
	}))
	if err != nil {
		fmt.Fprintln(os.Stderr, "kfake:", err)
		return 1
	}
	defer c.Close()
	fmt.Println(c.ListenAddrs()[0])
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() { io.Copy(io.Discard, os.Stdin); stop <- syscall.SIGTERM }()
	<-stop
	return 0
}

// target is a broker under test: its processes (whose CPU is counted)
// and the addresses clients bootstrap from.
type target struct {
	name  string
	addrs []string
	pids  []int
	stop  func()
}

func (t *target) cpu() (time.Duration, error) { return cpuOf(t.pids) }

// startKfake re-executes the bench binary as a kfake server.
func startKfake() (*target, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, kfakeSubcommand)
	cmd.Env = append(os.Environ(), kfakeEnv+"=1")
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start kfake: %w", err)
	}
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("kfake did not print its address: %w", err)
	}
	return &target{
		name:  "kfake",
		addrs: []string{strings.TrimSpace(addr)},
		pids:  []int{cmd.Process.Pid},
		stop: func() {
			stdin.Close()
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
		},
	}, nil
}

// samsaProcess is one bin/samsa broker on a temporary data directory and
// a free port, written to its ready file once it serves.
type samsaProcess struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once cmd.Wait returns
	dir    string
	addr   string
}

func startSamsaProcess(bin, dir string, overrides ...string) (*samsaProcess, error) {
	p, err := launchSamsa(bin, dir, append([]string{"listeners=PLAINTEXT://127.0.0.1:0"}, overrides...)...)
	if err != nil {
		return nil, err
	}
	if err := p.waitReady(30 * time.Second); err != nil {
		return nil, err
	}
	return p, nil
}

// launchSamsa starts a broker on dir (its data in dir/data, its log in
// dir/broker.log) with overrides, and returns without waiting for it.
func launchSamsa(bin, dir string, overrides ...string) (*samsaProcess, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	args := []string{"broker",
		"--override", "log.dirs=" + filepath.Join(dir, "data"),
		"--ready-file", filepath.Join(dir, "ready"), "--log-level", "warn"}
	for _, kv := range overrides {
		args = append(args, "--override", kv)
	}
	// A ready file left by a broker that was killed is not this one's.
	if err := os.Remove(filepath.Join(dir, "ready")); err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	logFile, err := os.OpenFile(filepath.Join(dir, "broker.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	return &samsaProcess{cmd: cmd, exited: exited, dir: dir}, nil
}

// waitReady waits for the broker's ready file and takes its first address.
func (p *samsaProcess) waitReady(timeout time.Duration) error {
	ready := filepath.Join(p.dir, "ready")
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(ready); err == nil && len(b) > 0 && b[len(b)-1] == '\n' {
			p.addr = strings.Fields(string(b))[0]
			return nil
		}
		select {
		case <-p.exited:
			log, _ := os.ReadFile(filepath.Join(p.dir, "broker.log"))
			return fmt.Errorf("samsa broker exited before it was ready:\n%s", log)
		case <-time.After(5 * time.Millisecond):
		}
	}
	p.kill()
	return fmt.Errorf("samsa broker not ready within %v", timeout)
}

// kill ends the broker with SIGKILL, as a crash would, and waits for it.
func (p *samsaProcess) kill() {
	p.cmd.Process.Kill()
	<-p.exited
}

func (p *samsaProcess) stop() { p.stopWithin(20 * time.Second) }

// stopWithin sends SIGTERM and waits up to d for the broker to exit, then
// kills it; it says whether the broker exited by itself.
func (p *samsaProcess) stopWithin(d time.Duration) bool {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return true
	case <-time.After(d):
		p.kill()
		return false
	}
}

// startSamsa starts one broker.
func startSamsa(bin, dir string) (*target, error) {
	p, err := startSamsaProcess(bin, dir)
	if err != nil {
		return nil, err
	}
	return &target{name: "samsa", addrs: []string{p.addr}, pids: []int{p.cmd.Process.Pid}, stop: p.stop}, nil
}

// launchZooKeeper starts a ZooKeeper with its data under dir/zookeeper;
// zktest.ErrUnavailable when ZooKeeper is not installed.
func launchZooKeeper(dir string) (*zktest.Server, error) {
	zkDir := filepath.Join(dir, "zookeeper")
	if err := os.MkdirAll(zkDir, 0o755); err != nil {
		return nil, err
	}
	return zktest.Launch(zkDir)
}

// startSamsaCluster starts ZooKeeper and three brokers (IDs 1-3), set as
// tools/run-cluster.sh sets them (RF 3 by default, min.insync.replicas 2).
// It returns zktest.ErrUnavailable when ZooKeeper is not installed.
func startSamsaCluster(bin, dir string) (*target, error) {
	zk, err := launchZooKeeper(dir)
	if err != nil {
		return nil, err
	}
	t := &target{name: "samsa×3"}
	var brokers []*samsaProcess
	t.stop = func() {
		// Brokers before ZooKeeper: a controlled shutdown goes through it.
		for _, b := range brokers {
			b.cmd.Process.Signal(syscall.SIGTERM)
		}
		for _, b := range brokers {
			b.stop()
		}
		zk.Stop()
	}
	for id := 1; id <= 3; id++ {
		b, err := startSamsaProcess(bin, filepath.Join(dir, "broker-"+strconv.Itoa(id)),
			"broker.id="+strconv.Itoa(id),
			"zookeeper.connect="+zk.Addr,
			"default.replication.factor=3",
			"min.insync.replicas=2",
			"offsets.topic.replication.factor=3")
		if err != nil {
			t.stop()
			return nil, err
		}
		brokers = append(brokers, b)
		t.addrs = append(t.addrs, b.addr)
		t.pids = append(t.pids, b.cmd.Process.Pid)
	}
	return t, nil
}
