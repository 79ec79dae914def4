package groupcoord

import (
	"bytes"
	"testing"
)

// scribble overwrites b in place, as the broker's next request overwrites
// the recycled frame a decoded request's byte fields alias.
func scribble(b []byte) {
	for i := range b {
		b[i] = 0xee
	}
}

// Regression: the coordinator kept the JoinGroup protocol metadata and the
// leader's SyncGroup assignments as the request's slices. Served by the
// broker, those alias a frame reused for the connection's next request, so
// DescribeGroups, the leader's member list and the stored assignment showed
// whatever bytes came next (kadm decoded empty assignments; a leader could
// balance on garbage subscriptions).
func TestGroupKeepsCopiesOfRequestBytes(t *testing.T) {
	h := newHarness(t, nil)
	a, b := h.member("g", "a", "t"), h.member("g", "b", "t")
	wantMeta := consumerMetadata("t")
	assign := map[string][]byte{
		"a": assignmentOf(map[string][]int32{"t": {0, 1}}),
		"b": assignmentOf(map[string][]int32{"t": {2}}),
	}
	wantAssign := map[string][]byte{"a": bytes.Clone(assign["a"]), "b": bytes.Clone(assign["b"])}
	h.formGroup([]*tm{a, b}, assign)

	// The requests' buffers are reused once the calls have returned.
	for _, m := range []*tm{a, b} {
		scribble(m.protocols[0].Metadata)
	}
	for _, v := range assign {
		scribble(v)
	}

	d := h.describe("g")
	if d.State != "Stable" || len(d.Members) != 2 {
		t.Fatalf("group is %s with %d members, want Stable with 2", d.State, len(d.Members))
	}
	byID := map[string]string{a.id: "a", b.id: "b"}
	for _, m := range d.Members {
		if !bytes.Equal(m.ProtocolMetadata, wantMeta) {
			t.Errorf("DescribeGroups: %s's metadata is %x, want %x", byID[m.MemberID], m.ProtocolMetadata, wantMeta)
		}
		if want := wantAssign[byID[m.MemberID]]; !bytes.Equal(m.MemberAssignment, want) {
			t.Errorf("DescribeGroups: %s's assignment is %x, want %x", byID[m.MemberID], m.MemberAssignment, want)
		}
	}

	// A follower syncing again in the Stable group gets its assignment
	// as stored.
	follower := b
	if b.isLeader() {
		follower = a
	}
	r := recv(t, follower.syncAsync(nil))
	if want := wantAssign[follower.clientID]; r.ErrorCode != 0 || !bytes.Equal(r.MemberAssignment, want) {
		t.Errorf("%s's SyncGroup in Stable: error %d, assignment %x, want %x", follower.clientID, r.ErrorCode, r.MemberAssignment, want)
	}

}
