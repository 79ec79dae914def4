package compattests

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// runSamsaTool runs the samsa binary as an operator would, with env
// added to the process's environment, and returns what it printed and
// its exit status.
func runSamsaTool(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, samsaBinary, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatalf("run samsa %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errOut.String(), code
}

// The admin commands are in the one binary, find the cluster through
// --bootstrap-server or $SAMSA_BOOTSTRAP_SERVER, and fail in one line
// with a non-zero status.
func TestSamsaBinaryTopicsConfigsAndClusterCommands(t *testing.T) {
	skipOnKfake(t, "runs the samsa binary's operator commands")
	b := startBroker(t)

	out, errOut, code := runSamsaTool(t, nil, "--bootstrap-server", b.Addr(), "topics", "create", "tool-orders", "--partitions", "2", "--config", "retention.ms=60000")
	if code != 0 || out != "Created topic tool-orders.\n" {
		t.Fatalf("topics create: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	topics, err := b.admin(t).ListTopics(testContext(t, 10*time.Second), "tool-orders")
	if err != nil || len(topics["tool-orders"].Partitions) != 2 {
		t.Fatalf("the broker's view of tool-orders: %+v, %v", topics["tool-orders"], err)
	}

	viaEnv := []string{"SAMSA_BOOTSTRAP_SERVER=" + b.Addr()}
	out, errOut, code = runSamsaTool(t, viaEnv, "-o", "json", "topics", "describe", "tool-orders")
	var described struct {
		Topics []struct {
			Name           string `json:"name"`
			PartitionCount int    `json:"partition_count"`
			Configs        []struct {
				Name  string `json:"name"`
				Value string `json:"value"`
			} `json:"configs"`
		} `json:"topics"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &described) != nil || len(described.Topics) != 1 ||
		described.Topics[0].PartitionCount != 2 || len(described.Topics[0].Configs) != 1 || described.Topics[0].Configs[0].Value != "60000" {
		t.Errorf("topics describe via $SAMSA_BOOTSTRAP_SERVER: exit %d, stdout %s, stderr %q", code, out, errOut)
	}

	out, errOut, code = runSamsaTool(t, viaEnv, "configs", "alter", "--entity-type", "topics", "--entity-name", "tool-orders", "--add-config", "retention.ms=soon")
	if code != 1 || out != "" || !strings.HasPrefix(errOut, "samsa configs alter: alter configs of topic tool-orders: INVALID_CONFIG: ") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("an invalid config value: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	out, errOut, code = runSamsaTool(t, viaEnv, "-o", "json", "cluster")
	var cluster struct {
		ClusterID string `json:"cluster_id"`
		Brokers   []struct {
			Host string `json:"host"`
			Port int    `json:"port"`
		} `json:"brokers"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &cluster) != nil || cluster.ClusterID == "" || len(cluster.Brokers) != 1 ||
		net.JoinHostPort(cluster.Brokers[0].Host, strconv.Itoa(cluster.Brokers[0].Port)) != b.Addr() {
		t.Errorf("cluster: exit %d, stdout %s, stderr %q; want one broker at %s", code, out, errOut, b.Addr())
	}

	out, errOut, code = runSamsaTool(t, viaEnv, "topics", "describe", "tool-missing")
	if code != 1 || out != "" || errOut != "samsa topics describe: topic \"tool-missing\" does not exist\n" {
		t.Errorf("a missing topic: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nobody := l.Addr().String()
	l.Close()
	out, errOut, code = runSamsaTool(t, nil, "--bootstrap-server", nobody, "--timeout", "5s", "topics", "list")
	if code != 1 || out != "" || !strings.HasPrefix(errOut, "samsa topics list: cannot reach a broker at "+nobody+": ") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("an unreachable broker: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
