package compattests

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

// TestFranzGoTransactionalIntegrationSuite runs franz-go's own
// transactional integration test (kgo's TestTxnEtl: a chain of
// exactly-once consume-transform-produce stages whose members come and
// go, checked record by record) against a Samsa broker, as `make
// test-kgo` runs the whole kgo suite.
func TestFranzGoTransactionalIntegrationSuite(t *testing.T) {
	skipOnKfake(t, "runs franz-go's suite against the samsa binary")
	if testing.Short() {
		t.Skip("franz-go's transactional suite takes about a minute")
	}
	b := startBroker(t, withOverride("num.partitions", "1"))
	cmd := exec.Command("go", "test", "-count=1", "-timeout", "8m", "-run", "^TestTxnEtl$", "github.com/twmb/franz-go/pkg/kgo")
	cmd.Env = append(os.Environ(), "KGO_SEEDS="+b.Addr(), "KGO_TEST_RF=1", "KGO_LOG_LEVEL=none")
	began := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("franz-go's TestTxnEtl against samsa: %v\n%s", err, out)
	}
	t.Logf("franz-go's TestTxnEtl passed in %v:\n%s", time.Since(began).Round(time.Second), out)
}
