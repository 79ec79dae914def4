package replica

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/samsa-io/samsa/controller"
)

func TestASyncCutShortByItsContextFinishesInTheBackground(t *testing.T) {
	// The client of a CreateTopics of thousands of partitions left (or
	// the broker stops): the request stops opening logs at once, and the
	// table still gets every log, in the background.
	tt := newTestTable(t)
	if _, err := tt.store.CreateTopic(context.Background(), controller.CreateTopicRequest{
		Name: "big", Partitions: 50, ReplicationFactor: 1,
	}); err != nil {
		t.Fatal(err)
	}
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	if err := tt.SyncContext(gone); !errors.Is(err, ErrSyncCut) {
		t.Fatalf("a Sync whose context had ended returned %v, want ErrSyncCut", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		hosted := 0
		for i := int32(0); i < 50; i++ {
			if _, err := tt.Lookup("big", i); err == nil {
				hosted++
			}
		}
		if hosted == 50 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 50 partitions hosted 10 s after the cut Sync", hosted)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
