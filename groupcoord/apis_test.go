package groupcoord

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestRegisterAPIRefusesAKeyDeclaredTwice(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("registerAPI accepted Heartbeat declared twice")
		}
	}()
	registerAPI(apis[kmsg.Heartbeat])
}

func TestAPIsListsEveryGroupAPIInKeyOrder(t *testing.T) {
	var keys []kmsg.Key
	for _, a := range APIs() {
		keys = append(keys, a.Key)
	}
	want := []kmsg.Key{kmsg.OffsetCommit, kmsg.OffsetFetch, kmsg.JoinGroup, kmsg.Heartbeat, kmsg.LeaveGroup,
		kmsg.SyncGroup, kmsg.DescribeGroups, kmsg.ListGroups, kmsg.TxnOffsetCommit, kmsg.DeleteGroups, kmsg.OffsetDelete}
	if len(keys) != len(want) {
		t.Fatalf("APIs() = %v, want %v", keys, want)
	}
	for i := range want {
		if keys[i] != want[i] {
			t.Fatalf("APIs() = %v, want %v", keys, want)
		}
	}
}
