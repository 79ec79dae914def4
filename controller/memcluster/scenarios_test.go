package memcluster

import (
	"testing"

	"github.com/samsa-io/samsa/controller/storetest"
)

// The scenarios the ZooKeeper store passes against a real ZooKeeper, on
// the twin.
func TestScenarios(t *testing.T) {
	storetest.Run(t, newScenarioCluster, nil)
}
