package controller

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
)

// Replica placement follows Kafka's AdminUtils.assignReplicasToBrokers so
// that a topic created on Samsa is laid out as Kafka would lay it out:
//
//   - The first replica of partition p goes to broker (start + p) mod n of
//     the broker list, so leaders spread round-robin from a random start.
//   - Every other replica sits at a distance 1 + (shift + j) mod (n-1) from
//     the first, with shift random at first and bumped after each full
//     round of n partitions, so followers do not pile up in a fixed
//     pattern behind the leaders.
//   - When every broker has a rack, the broker list alternates racks
//     (rack1's first broker, rack2's first, ..., rack1's second, ...) and a
//     replica is skipped while its rack or broker already holds one of the
//     partition's replicas, unless every rack (or broker) already does, so
//     a partition spans as many racks as it can. A mix of brokers with and
//     without racks is placed without racks (Kafka's "safe" rack mode).
//
// Adding partitions (CreatePartitions) starts at the broker of partition
// 0's first replica and numbers from the current partition count, as
// Kafka's AdminZkClient does, so old and new partitions interleave.

// PlaceNewTopic places the partitions of a new topic (CreateTopics) on
// the live brokers: the explicit assignment when not empty, after
// checking it, else partitions × rf replicas placed as Kafka places them.
func PlaceNewTopic(live []Broker, partitions int32, rf int16, explicit [][]int32) ([][]int32, error) {
	return placeReplicas(live, partitions, rf, explicit, 0, -1, 0)
}

// PlaceAddedPartitions places adding partitions added to a topic that has
// have partitions, the first on partition0 (CreatePartitions): the
// explicit assignment when not empty, after checking it, else replicas
// placed from partition 0's first replica onwards, as Kafka's
// AdminZkClient.addPartitions does. Either way the new partitions have
// partition 0's replication factor.
func PlaceAddedPartitions(live []Broker, partition0 []int32, have, adding int32, explicit [][]int32) ([][]int32, error) {
	rf := len(partition0)
	return placeReplicas(live, adding, int16(rf), explicit, have, partition0[0], rf)
}

// placeReplicas returns the replicas of each new partition: the explicit
// assignment after checking it against the live brokers, or a placement of
// partitions × rf replicas on them. first is the index of the first new
// partition; anchor, when not -1, is the first replica of partition 0 of
// the topic being grown (placement continues from it). wantRF, when
// positive, is the replication factor an explicit assignment must have.
func placeReplicas(live []Broker, partitions int32, rf int16, explicit [][]int32, first, anchor int32, wantRF int) ([][]int32, error) {
	if len(explicit) > 0 {
		if err := checkAssignment(live, explicit, first, wantRF); err != nil {
			return nil, err
		}
		if int64(first)+int64(len(explicit)) > MaxPartitionsPerTopic {
			return nil, fmt.Errorf("%w: a topic may have at most %d partitions", ErrInvalidPartitions, MaxPartitionsPerTopic)
		}
		out := make([][]int32, len(explicit))
		for i, r := range explicit {
			out[i] = slices.Clone(r)
		}
		return out, nil
	}
	if partitions < 1 {
		return nil, fmt.Errorf("%w: %d; a topic needs at least 1", ErrInvalidPartitions, partitions)
	}
	if int64(first)+int64(partitions) > MaxPartitionsPerTopic {
		return nil, fmt.Errorf("%w: a topic may have at most %d partitions", ErrInvalidPartitions, MaxPartitionsPerTopic)
	}
	if rf < 1 {
		return nil, fmt.Errorf("%w: %d; it must be at least 1", ErrInvalidReplication, rf)
	}
	if int(rf) > len(live) {
		return nil, fmt.Errorf("%w: %d is larger than the %d available broker(s)", ErrInvalidReplication, rf, len(live))
	}
	brokers := arrangeBrokers(live)
	var start, shift int
	if anchor >= 0 {
		// Kafka: the index of the first broker whose ID is at least the
		// anchor's, in ID order; both start and shift take it.
		byID := slices.Clone(live)
		slices.SortFunc(byID, func(a, b Broker) int { return cmp.Compare(a.ID, b.ID) })
		start = max(0, slices.IndexFunc(byID, func(b Broker) bool { return b.ID >= anchor }))
		shift = start
	} else {
		start, shift = rand.IntN(len(brokers)), rand.IntN(len(brokers))
	}
	return assignReplicasToBrokers(brokers, partitions, int(rf), start, shift, first), nil
}

// checkAssignment checks an explicit assignment in Kafka's order
// (AdminZkClient.validateReplicaAssignment): each partition has replicas,
// no broker twice and only live brokers; then all partitions have the
// same number of replicas (wantRF when positive).
func checkAssignment(live []Broker, explicit [][]int32, first int32, wantRF int) error {
	isLive := make(map[int32]bool, len(live))
	for _, b := range live {
		isLive[b.ID] = true
	}
	for i, replicas := range explicit {
		p := first + int32(i)
		if len(replicas) == 0 {
			return fmt.Errorf("%w: partition %d has no replicas", ErrInvalidAssignment, p)
		}
		seen := make(map[int32]bool, len(replicas))
		for _, id := range replicas {
			if seen[id] {
				return fmt.Errorf("%w: partition %d lists broker %d twice", ErrInvalidAssignment, p, id)
			}
			seen[id] = true
			if !isLive[id] {
				return fmt.Errorf("%w: broker %d of partition %d is not a live broker", ErrInvalidAssignment, id, p)
			}
		}
	}
	width := wantRF
	for i, replicas := range explicit {
		if width > 0 && len(replicas) != width {
			return fmt.Errorf("%w: partition %d has %d replicas, other partitions have %d (inconsistent replication factor)", ErrInvalidAssignment, first+int32(i), len(replicas), width)
		}
		width = len(replicas)
	}
	return nil
}

// placedBroker is a broker in placement order with its rack ("" when the
// placement ignores racks).
type placedBroker struct {
	id   int32
	rack string
}

// arrangeBrokers orders the brokers for placement: by ID without racks;
// alternating racks (racks in name order, brokers by ID within a rack)
// when every broker has one.
func arrangeBrokers(live []Broker) []placedBroker {
	byID := slices.Clone(live)
	slices.SortFunc(byID, func(a, b Broker) int { return cmp.Compare(a.ID, b.ID) })
	rackAware := len(byID) > 0
	for _, b := range byID {
		if b.Rack == "" {
			rackAware = false
		}
	}
	out := make([]placedBroker, 0, len(byID))
	if !rackAware {
		for _, b := range byID {
			out = append(out, placedBroker{id: b.ID})
		}
		return out
	}
	perRack := map[string][]int32{}
	for _, b := range byID {
		perRack[b.Rack] = append(perRack[b.Rack], b.ID)
	}
	racks := make([]string, 0, len(perRack))
	for r := range perRack {
		racks = append(racks, r)
	}
	slices.Sort(racks)
	next := make(map[string]int, len(racks))
	for i := 0; len(out) < len(byID); i = (i + 1) % len(racks) {
		r := racks[i]
		if n := next[r]; n < len(perRack[r]) {
			out = append(out, placedBroker{id: perRack[r][n], rack: r})
			next[r] = n + 1
		}
	}
	return out
}

// assignReplicasToBrokers is the placement itself (see the top of this
// file), deterministic given start and shift; rf must not exceed
// len(brokers).
func assignReplicasToBrokers(brokers []placedBroker, partitions int32, rf, start, shift int, first int32) [][]int32 {
	n := len(brokers)
	racks := map[string]bool{}
	for _, b := range brokers {
		racks[b.rack] = true
	}
	rackAware := n > 0 && brokers[0].rack != ""
	out := make([][]int32, 0, partitions)
	for p := int(first); p < int(first)+int(partitions); p++ {
		if p > 0 && p%n == 0 {
			shift++
		}
		firstIndex := (p + start) % n
		leader := brokers[firstIndex]
		replicas := []int32{leader.id}
		if !rackAware {
			for j := 0; j < rf-1; j++ {
				replicas = append(replicas, brokers[replicaIndex(firstIndex, shift, j, n)].id)
			}
			out = append(out, replicas)
			continue
		}
		usedRacks := map[string]bool{leader.rack: true}
		usedBrokers := map[int32]bool{leader.id: true}
		k := 0
		for len(replicas) < rf {
			b := brokers[replicaIndex(firstIndex, shift*len(racks), k, n)]
			k++
			if (!usedRacks[b.rack] || len(usedRacks) == len(racks)) && (!usedBrokers[b.id] || len(usedBrokers) == n) {
				replicas = append(replicas, b.id)
				usedRacks[b.rack] = true
				usedBrokers[b.id] = true
			}
		}
		out = append(out, replicas)
	}
	return out
}

// replicaIndex is the position of the j-th follower of a partition whose
// first replica is at firstIndex.
func replicaIndex(firstIndex, shift, j, n int) int {
	if n == 1 {
		return firstIndex
	}
	return (firstIndex + 1 + (shift+j)%(n-1)) % n
}

// NewPartition is a partition as placed, before any election: its first
// replica leads and every replica is in sync.
func NewPartition(index int32, replicas []int32) Partition {
	return Partition{
		Partition: index,
		Replicas:  slices.Clone(replicas),
		ISR:       slices.Clone(replicas),
		Leader:    replicas[0],
	}
}
