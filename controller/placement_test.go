package controller

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

func brokersWithRacks(racks ...string) []Broker {
	out := make([]Broker, len(racks))
	for i, r := range racks {
		out[i] = Broker{ID: int32(i), Host: "h", Port: 9092, Rack: r}
	}
	return out
}

// Kafka's AdminUtils documents this layout for 5 brokers, 10 partitions,
// 3 replicas, start index 0 and shift 0.
func TestReplicaPlacementMatchesKafkasLayout(t *testing.T) {
	brokers := arrangeBrokers(brokersWithRacks("", "", "", "", ""))
	got := assignReplicasToBrokers(brokers, 10, 3, 0, 0, 0)
	want := [][]int32{
		{0, 1, 2}, {1, 2, 3}, {2, 3, 4}, {3, 4, 0}, {4, 0, 1},
		{0, 2, 3}, {1, 3, 4}, {2, 4, 0}, {3, 0, 1}, {4, 1, 2},
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("placement\n got %v\nwant %v", got, want)
	}
}

func TestRackAlternatedBrokerOrder(t *testing.T) {
	// Kafka's example: racks r1 {0,1,2}, r2 {3,4,5}, r3 {6,7,8}.
	live := []Broker{{ID: 0, Rack: "r1"}, {ID: 1, Rack: "r1"}, {ID: 2, Rack: "r1"}, {ID: 3, Rack: "r2"}, {ID: 4, Rack: "r2"}, {ID: 5, Rack: "r2"}, {ID: 6, Rack: "r3"}, {ID: 7, Rack: "r3"}, {ID: 8, Rack: "r3"}}
	var got []int32
	for _, b := range arrangeBrokers(live) {
		got = append(got, b.id)
	}
	if want := []int32{0, 3, 6, 1, 4, 7, 2, 5, 8}; !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}

func TestReplicaPlacementSpreadsLeadersAndRacks(t *testing.T) {
	for _, tc := range []struct {
		name  string
		racks []string
	}{
		{"no racks", []string{"", "", "", "", "", ""}},
		{"three racks", []string{"a", "a", "b", "b", "c", "c"}},
		{"uneven racks", []string{"a", "a", "a", "b", "b", "c"}},
		{"some racks missing (placed without racks)", []string{"a", "", "b", "", "c", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			live := brokersWithRacks(tc.racks...)
			for run := 0; run < 20; run++ { // random start and shift
				assignment, err := placeReplicas(live, 12, 3, nil, 0, -1, 0)
				if err != nil {
					t.Fatal(err)
				}
				leaders := map[int32]int{}
				replicas := map[int32]int{}
				for p, rs := range assignment {
					if len(rs) != 3 {
						t.Fatalf("partition %d has %v", p, rs)
					}
					seen := map[int32]bool{}
					racks := map[string]bool{}
					for _, id := range rs {
						if seen[id] {
							t.Fatalf("partition %d lists broker %d twice: %v", p, id, rs)
						}
						seen[id] = true
						racks[live[id].Rack] = true
						replicas[id]++
					}
					leaders[rs[0]]++
					if tc.racks[0] != "" && tc.racks[1] != "" && len(racks) != 3 {
						t.Fatalf("partition %d spans racks %v (replicas %v), want all three", p, racks, rs)
					}
				}
				for id := range live {
					if leaders[int32(id)] != 2 {
						t.Fatalf("leaders per broker %v: want 2 each (12 partitions on 6 brokers)", leaders)
					}
					if tc.name != "uneven racks" && replicas[int32(id)] != 6 {
						t.Fatalf("replicas per broker %v: want 6 each", replicas)
					}
				}
			}
		})
	}
}

func TestAddedPartitionsContinueFromPartitionZero(t *testing.T) {
	live := brokersWithRacks("", "", "", "", "")
	// Partition 0's first replica is broker 2: Kafka starts the new
	// partitions' placement from its index, numbering from the current
	// count, as if the topic had been created with them.
	got, err := placeReplicas(live, 3, 2, nil, 5, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	all := assignReplicasToBrokers(arrangeBrokers(live), 8, 2, 2, 2, 0)
	if want := all[5:]; !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("new partitions %v, want %v", got, want)
	}
}

func TestPlacementErrors(t *testing.T) {
	live := brokersWithRacks("", "", "")
	for _, tc := range []struct {
		partitions int32
		rf         int16
		explicit   [][]int32
		wantRF     int
		want       error
	}{
		{0, 1, nil, 0, ErrInvalidPartitions},
		{MaxPartitionsPerTopic + 1, 1, nil, 0, ErrInvalidPartitions},
		{1, 0, nil, 0, ErrInvalidReplication},
		{1, 4, nil, 0, ErrInvalidReplication},
		{0, 0, [][]int32{{0, 0}}, 0, ErrInvalidAssignment},
		{0, 0, [][]int32{{7}}, 0, ErrInvalidAssignment},
		{0, 0, [][]int32{{}}, 0, ErrInvalidAssignment},
		{0, 0, [][]int32{{0, 1}, {2}}, 0, ErrInvalidAssignment},
		{0, 0, [][]int32{{0}}, 2, ErrInvalidAssignment},
	} {
		_, err := placeReplicas(live, tc.partitions, tc.rf, tc.explicit, 0, -1, tc.wantRF)
		if !errors.Is(err, tc.want) {
			t.Errorf("placeReplicas(%d, %d, %v, rf %d) = %v, want %v", tc.partitions, tc.rf, tc.explicit, tc.wantRF, err, tc.want)
		}
	}
	if got, err := placeReplicas(live, 0, 0, [][]int32{{2, 0}, {1, 2}}, 0, -1, 0); err != nil || fmt.Sprint(got) != "[[2 0] [1 2]]" {
		t.Errorf("explicit assignment: %v, %v", got, err)
	}
}
