package broker

import (
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/samsa-io/samsa/broker/config"
	"github.com/samsa-io/samsa/controller"
	plog "github.com/samsa-io/samsa/log"
)

// newTestBroker starts a broker with the default configuration on a fresh
// log directory, with the single-broker metadata store. Everything is
// closed when the test ends.
func newTestBroker(t testing.TB) *Broker {
	t.Helper()
	return newTestBrokerWith(t)
}

// newTestBrokerWith is newTestBroker with static config overrides
// ("key=value", as the --override flag takes them).
func newTestBrokerWith(t testing.TB, overrides ...string) *Broker {
	t.Helper()
	return newTestBrokerFrom(t, nil, overrides...)
}

// newTestBrokerFrom is newTestBrokerWith with a last say over the
// broker's Options (setup may be nil): a test wraps the store or sets
// the inter-broker dialer there. The test's end closes the LocalStore
// made here, not a wrapper setup put around it.
//
// The broker's own tests build the broker by hand, not with package
// broker/node: node imports broker, so broker's in-package tests cannot
// import it. They drive handlers through ServeKafka and need no
// listener; node's tests cover the wiring over the network.
func newTestBrokerFrom(t testing.TB, setup func(*Options), overrides ...string) *Broker {
	t.Helper()
	cfg, _, err := config.Load("", append([]string{"log.dirs=" + t.TempDir()}, overrides...))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	logs, err := plog.OpenManager(plog.ManagerConfig{
		Dirs:                   cfg.LogDirs,
		RetentionCheckInterval: time.Hour,
		FlushCheckInterval:     time.Second,
		Logger:                 zerolog.Nop(),
		Now:                    time.Now,
	})
	if err != nil {
		t.Fatalf("open logs: %v", err)
	}
	self := controller.Broker{ID: cfg.BrokerID, Host: "127.0.0.1", Port: 9092}
	store, err := controller.NewLocalStore(cfg.LogDirs[0], cfg.BrokerID, self, zerolog.Nop())
	if err != nil {
		logs.Close()
		t.Fatalf("open store: %v", err)
	}
	opts := Options{Config: cfg, Store: store, Logs: logs, Logger: zerolog.Nop(), Now: time.Now}
	if setup != nil {
		setup(&opts)
	}
	b, err := New(opts)
	if err != nil {
		logs.Close()
		store.Close()
		t.Fatalf("new broker: %v", err)
	}
	t.Cleanup(func() {
		b.Close()
		if err := logs.Close(); err != nil {
			t.Errorf("close logs: %v", err)
		}
		if err := store.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return b
}

// checkFor polls fn until it returns nil, failing the test with fn's last
// error after wait.
func checkFor(t testing.TB, wait time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
